"""The cell engine interface: how a push changes a teacher cell and how a pull merges it.

Two implementations share it: :mod:`notebook_sync_ydoc.crdt` (YDoc mode: each cell its own
pycrdt document) and :mod:`notebook_sync_ydoc.fallback` (JSON mode: text only). Both follow the
merge rules of DESIGN §5 and give the same text on every clean merge; conflicts are detected on
lines by :mod:`notebook_sync_ydoc.merge` in both modes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal, Protocol

PullStatus = Literal["fast_forward", "merged", "replaced", "kept", "conflict", "no_update"]
Strategy = Literal["theirs", "mine"]


@dataclass(frozen=True)
class ConflictHunk:
    """One conflicting region, in 0-based line numbers, end exclusive."""

    base_start: int
    base_end: int
    mine_start: int
    mine_end: int
    theirs_start: int
    theirs_end: int


@dataclass(frozen=True)
class MergeOutcome:
    status: PullStatus
    # The cell's new source for the student (for ``conflict`` and ``no_update``: mine, untouched).
    source: str
    base: str
    mine: str
    theirs: str
    # YDoc mode: the CRDT update that brings a holder of the base state to ``source``.
    update: bytes | None = None
    conflicts: tuple[ConflictHunk, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class PullInput:
    """Everything a pull needs. States are None in JSON mode, or for data a JSON-mode server
    wrote; an engine that wants a state then builds it from the source."""

    theirs_source: str
    theirs_state: bytes | None
    base_source: str | None  # None: never pulled
    base_state: bytes | None
    mine: str | None  # None: the student sent no local_source (mine = base)
    strategy: Strategy | None = None


class CellEngine(Protocol):
    mode: str  # "ydoc" | "json"

    def push(self, state: bytes | None, previous_source: str | None, source: str) -> bytes | None:
        """The teacher's cell after its source became ``source``.

        ``state``/``previous_source``: the stored cell (None for a new cell). Returns the new
        CRDT state (YDoc) or None (JSON). Edits are minimal: common prefix and suffix trimmed
        first, then line-level; never a quadratic character diff.
        """
        ...

    def pull(self, request: PullInput) -> MergeOutcome:
        """Apply DESIGN §5 to one cell."""
        ...


def load_engine(use_ydoc: bool, log: logging.Logger) -> tuple[CellEngine, str]:
    """The engine for this server and a one-line reason for the choice (the app logs it once)."""
    from .fallback import JsonEngine

    if not use_ydoc:
        return (
            JsonEngine(),
            "JSON mode: YDoc switched off (use_ydoc=False / NOTEBOOK_SYNC_USE_YDOC)",
        )
    try:
        from .crdt import YDocEngine
    except ImportError as exc:  # pycrdt missing or broken: serve the same protocol without it
        return JsonEngine(), f"JSON mode: YDoc unavailable ({exc.__class__.__name__}: {exc})"
    return YDocEngine(), "YDoc mode: per-cell pycrdt documents"
