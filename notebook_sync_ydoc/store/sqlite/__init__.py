"""The SQLite store: the embedded store (one server) made durable in one file.

``store.py`` (the store), ``journal.py`` (each change as one transaction), ``schema.py`` (the
tables; making, checking and opening a file), ``load.py`` (the file into memory),
``durability.py`` (WAL flushes and checkpoints off the event loop), ``lock.py`` (one file, one
server process).
"""

from __future__ import annotations

from .lock import StoreInUse
from .schema import StoreFileError
from .store import SQLiteStore

__all__ = ["SQLiteStore", "StoreFileError", "StoreInUse"]
