"""Cell engines: the interface (:mod:`.base`), the JSON engine, the YDoc engine (pycrdt, imported
only by :func:`.factory.load_engine` so that JSON mode runs without it) and pycrdt helpers."""

from __future__ import annotations

from .base import CellEngine, CellKey
from .doc_cache import CellDocCache
from .factory import load_engine
from .json_engine import JsonEngine

__all__ = ["CellDocCache", "CellEngine", "CellKey", "JsonEngine", "load_engine"]
