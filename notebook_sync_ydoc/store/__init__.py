"""Stores: the embedded ones (one server: SQLite, durable, the default; memory) and Redis (many
servers)."""

from __future__ import annotations

from .base import (
    CellIndexEntry,
    CellRecord,
    CellWrite,
    HelpRequest,
    MarkStatus,
    PulledCell,
    PullMark,
    SeqConflict,
    SessionGone,
    SessionRecord,
    Store,
    StoreError,
    StoreEvent,
    StoreSettings,
    StoreTTL,
    StoreUnavailable,
    StudentRecord,
)

__all__ = [
    "CellIndexEntry",
    "CellRecord",
    "CellWrite",
    "HelpRequest",
    "MarkStatus",
    "PullMark",
    "PulledCell",
    "SeqConflict",
    "SessionGone",
    "SessionRecord",
    "Store",
    "StoreError",
    "StoreEvent",
    "StoreSettings",
    "StoreTTL",
    "StoreUnavailable",
    "StudentRecord",
]
