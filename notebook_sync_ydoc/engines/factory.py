"""Which engine a server runs: YDoc unless switched off or pycrdt is unimportable."""

from __future__ import annotations

import logging

from .base import CellEngine
from .doc_cache import CellDocCache
from .json_engine import JsonEngine

__all__ = ["load_engine"]


def load_engine(use_ydoc: bool, log: logging.Logger) -> tuple[CellEngine, str]:
    """The engine for this server and a one-line reason for the choice (the app logs it once)."""
    if not use_ydoc:
        return (
            JsonEngine(),
            "JSON mode: YDoc switched off (use_ydoc=False / NOTEBOOK_SYNC_USE_YDOC)",
        )
    try:
        from .ydoc_engine import YDocEngine
    except ImportError as exc:  # pycrdt missing or broken: serve the same protocol without it
        return JsonEngine(), f"JSON mode: YDoc unavailable ({exc.__class__.__name__}: {exc})"
    # the teacher's cell documents stay decoded between pushes (bounded; one per engine)
    return YDocEngine(CellDocCache()), "YDoc mode: per-cell pycrdt documents"
