"""The SQLite store's work off the event loop: WAL flushes (``synchronous=FULL``) and
checkpoints, in the store's own worker threads.

- :class:`WalFlusher`: with ``FULL``, a write is answered only once the WAL file holding its
  commit has been flushed to the disk (``fsync``). One flush covers every commit before it, so a
  burst of writes shares a few flushes (group commit), and the event loop never waits on the disk.
- :class:`Checkpointer`: copies the WAL back into the database file (SQLite's ``PASSIVE``
  checkpoint, on its own connection: it never blocks a writer) once the WAL has grown, so the
  commits on the event loop never run one.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path

from ..base import StoreUnavailable
from .schema import connect, fsync_dir

CHECKPOINT_WAL_BYTES = 16 * 1024 * 1024  # checkpoint once the WAL is this large (a cell pushed
# again and again is copied into the database once per checkpoint, not once per push)
FLUSH_ROUNDS = 3  # a flush under way may predate a commit; the next one covers it


class WalFlusher:
    """Group fsync of the WAL file (see the module docstring). Made after the store file is
    open (the WAL file exists then); :meth:`close` before the connection is closed."""

    def __init__(self, wal_path: Path, executor: Executor, commits: Callable[[], int]) -> None:
        self._fd: int | None = os.open(wal_path, os.O_RDONLY)
        fsync_dir(wal_path.parent)  # the WAL file's directory entry, once
        self._executor = executor
        self._commits = commits  # how many commits the journal has made so far
        self._flushed = 0  # commits known to be on the disk
        self._round: asyncio.Future[None] | None = None
        self.flushes = 0

    async def flush(self, commits: int) -> None:
        """Return once the first ``commits`` commits are on the disk."""
        for _ in range(FLUSH_ROUNDS):
            if self._flushed >= commits:
                return
            if self._round is None:
                self._round = asyncio.ensure_future(self._flush())
            await asyncio.shield(self._round)
        if self._flushed < commits:  # not reached: each round covers the commits before it
            raise StoreUnavailable("the store file could not be flushed to the disk")

    async def _flush(self) -> None:
        fd, upto = self._fd, self._commits()  # every commit so far is in the file: one flush
        try:
            if fd is None:
                raise StoreUnavailable("the store is closed")
            try:
                await asyncio.get_running_loop().run_in_executor(self._executor, os.fsync, fd)
            except OSError as exc:
                raise StoreUnavailable(
                    f"could not flush the store file to the disk: {exc}"
                ) from exc
            self._flushed = max(self._flushed, upto)
            self.flushes += 1
        finally:
            self._round = None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Checkpointer:
    """PASSIVE checkpoints on a connection of their own; every method runs in a worker thread
    (one at a time: the caller awaits each)."""

    def __init__(self, path: Path, wal_bytes: int = CHECKPOINT_WAL_BYTES) -> None:
        self.path = path
        self.wal_bytes = wal_bytes
        self.wal_path = path.with_name(path.name + "-wal")
        self._conn: sqlite3.Connection | None = None
        self.checkpoints = 0

    def due(self) -> bool:
        try:
            return self.wal_path.stat().st_size >= self.wal_bytes
        except FileNotFoundError:
            return False

    def run(self) -> tuple[int, int]:
        """One PASSIVE checkpoint: (frames in the WAL, frames copied into the database)."""
        if self._conn is None:
            self._conn = connect(self.path)
        _busy, frames, copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.checkpoints += 1
        return int(frames), int(copied)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
