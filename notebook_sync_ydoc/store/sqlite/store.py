"""The SQLite store: the embedded store (one server) written through to a file, so a class
survives a restart, a crash or ``kill -9`` of the server.

It is :class:`~..memory.MemoryStore` with a :class:`~.journal.SQLiteJournal`: reads are served
from memory, and every change is committed to the file (one short transaction) before it is made
in memory, its event dispatched and its answer sent. So once a write has been answered with
success it is in the file, and a write that failed left nothing, in the file or in memory.
Events between "servers" are in-process, as for the memory store: one file serves one server
process (``lock.py``).

At start the file is locked, checked and loaded (in a worker thread); sessions whose lifetime
ended meanwhile are deleted. A file that cannot be used (held by another server, unreadable,
damaged, not a notebook-sync store) does not stop the server: the store reports itself not
healthy with the reason, every operation answers :class:`~..base.StoreUnavailable`, the file is
left as it is, and opening it is tried again every ``retry_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from ..base import StoreSettings, StoreTTL, StoreUnavailable
from ..journal import Journal, SessionState
from ..memory import MemoryStore
from .durability import CHECKPOINT_WAL_BYTES, Checkpointer, WalFlusher
from .journal import SQLiteJournal
from .load import Loaded, load
from .lock import StoreLock
from .schema import StoreFileError, open_store

log = logging.getLogger(__name__)

Synchronous = Literal["NORMAL", "FULL"]
SYNCHRONOUS: tuple[Synchronous, ...] = ("NORMAL", "FULL")
NOT_STARTED = "the store is not started"


class SQLiteStore(MemoryStore):
    """The durable embedded store (kind ``"sqlite"``); see the module docstring."""

    kind = "sqlite"

    def __init__(
        self,
        path: str | Path,
        *,
        server_id: str | None = None,
        ttl: StoreTTL | None = None,
        synchronous: str = "NORMAL",
        sweep_interval: float = 60.0,
        retry_interval: float = 5.0,
        checkpoint_interval: float = 1.0,
        checkpoint_bytes: int = CHECKPOINT_WAL_BYTES,
    ) -> None:
        super().__init__(server_id=server_id, ttl=ttl, sweep_interval=sweep_interval)
        mode = synchronous.strip().upper()
        if mode not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
        self.synchronous: Synchronous = "FULL" if mode == "FULL" else "NORMAL"
        self.path = Path(path).expanduser().absolute()
        self.retry_interval = retry_interval
        self.checkpoint_interval = checkpoint_interval
        self._lock = StoreLock(self.path)
        self._sqlite: SQLiteJournal | None = None
        self._checkpointer = Checkpointer(self.path, checkpoint_bytes)
        self._failure: str | None = NOT_STARTED
        # one thread for the file (open, load, checkpoint, close: in the order submitted), one
        # for the WAL flushes of synchronous=FULL (threads are made on first use)
        self._executor: ThreadPoolExecutor | None = None
        self._flush_executor: ThreadPoolExecutor | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._retrying: asyncio.Task[None] | None = None
        self._loaded: dict[str, Any] = {}

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> SQLiteStore:
        if not settings.path:
            raise ValueError("the SQLite store needs a file (store_path is empty)")
        return cls(
            settings.path,
            server_id=settings.server_id,
            ttl=settings.ttl,
            synchronous=settings.synchronous,
        )

    def describe(self) -> str:
        return (
            f"SQLite store {self.path} (synchronous={self.synchronous}; one server; set "
            "redis_url for many)"
        )

    # lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="nbsync-sqlite")
        self._flush_executor = ThreadPoolExecutor(1, thread_name_prefix="nbsync-sqlite-flush")
        await super().start()
        if not await self._open():
            self._retry_later()
        self._tasks.append(
            asyncio.create_task(self._checkpoint_loop(), name="nbsync-sqlite-checkpoint")
        )

    async def stop(self) -> None:
        if self._executor is None:
            return
        for task in [*self._tasks, self._retrying]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks, self._retrying = [], None
        await super().stop()  # delivers the events already queued (their handlers may read)
        self._failure = "the store is stopped"
        await self._in_thread(self._close, self._detach())
        for executor in (self._executor, self._flush_executor):
            if executor is not None:
                executor.shutdown(wait=False)  # idle: every job was awaited
        self._executor = self._flush_executor = None

    async def _in_thread(self, fn: Any, *args: Any) -> Any:
        assert self._executor is not None
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # opening ---------------------------------------------------------------------------------
    def _open_file(self) -> tuple[Any, dict[str, SessionState], Loaded]:
        """In a worker thread: lock, open and check, load. Raises StoreFileError."""
        self._lock.acquire()
        try:
            conn = open_store(self.path)
            try:
                sessions, loaded = load(conn)
            except Exception:
                conn.close()
                raise
        except StoreFileError:
            self._lock.release()
            raise
        except Exception as exc:  # sqlite3.Error, OSError: the file could not be read
            self._lock.release()
            raise StoreFileError(f"{self.path} could not be read: {exc}") from exc
        return conn, sessions, loaded

    async def _open(self) -> bool:
        started = time.perf_counter()
        assert self._executor is not None and self._flush_executor is not None
        opening = asyncio.get_running_loop().run_in_executor(self._executor, self._open_file)
        try:
            conn, sessions, loaded = await asyncio.shield(opening)
        except StoreFileError as exc:
            self._unusable(str(exc))
            return False
        except asyncio.CancelledError:  # stop() during the open: close what it opens
            opening.add_done_callback(_close_unadopted)
            raise
        for code, state in sessions.items():  # a reopen: who is connected is not in the file
            if (old := self._sessions.get(code)) is not None:
                state.presence, state.online = old.presence, old.online
        journal = SQLiteJournal(conn, self.path, loaded.wall_deadlines, self._damaged)
        if self.synchronous == "FULL":
            wal = self.path.with_name(self.path.name + "-wal")
            try:
                journal.flusher = await self._in_thread(
                    WalFlusher, wal, self._flush_executor, lambda: journal.commits
                )
            except OSError as exc:
                await self._in_thread(self._close, journal)
                self._unusable(f"cannot open the WAL file {wal} to flush it: {exc}")
                return False
        self._sessions = sessions
        self._sqlite = self._journal = journal
        recovered, self._failure = self._failure not in (None, NOT_STARTED), None
        took = time.perf_counter() - started
        self._loaded = {
            "sessions": loaded.sessions,
            "cells": loaded.cells,
            "students": loaded.students,
            "pulls": loaded.pulls,
            "expired": loaded.expired,
            "ms": round(took * 1e3, 1),
        }
        log.log(
            logging.WARNING if recovered else logging.INFO,
            "notebook-sync: store %s open: %d session(s), %d cell(s), %d student(s) loaded, "
            "%d expired session(s) deleted, in %.0f ms",
            self.path,
            loaded.sessions,
            loaded.cells,
            loaded.students,
            loaded.expired,
            took * 1e3,
        )
        return True

    def _unusable(self, reason: str) -> None:
        if reason != self._failure:
            log.error(
                "notebook-sync: the store file cannot be used, the server runs without it "
                "(every session operation answers store_unavailable; the file is left as it "
                "is; retrying every %.0f s): %s",
                self.retry_interval,
                reason,
            )
        self._failure = reason

    def _damaged(self, reason: str) -> None:
        """The journal found the file damaged: stop serving, reopen (which checks it) later."""
        self._unusable(reason)
        self._retry_later()

    def _retry_later(self) -> None:
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.ensure_future(self._retry_loop())

    async def _retry_loop(self) -> None:
        await self._in_thread(self._close, self._detach())
        while self._failure is not None:  # ends with a successful open, or stop() cancels it
            await asyncio.sleep(self.retry_interval)
            await self._open()

    def _detach(self) -> SQLiteJournal | None:
        """Take the file's journal out of service (on the event loop), for :meth:`_close`."""
        journal, self._sqlite = self._sqlite, None
        self._journal = Journal()
        return journal

    def _close(self, journal: SQLiteJournal | None) -> None:
        """In the file's thread: close the file (the last connection checkpoints it), unlock."""
        self._checkpointer.close()
        if journal is not None:
            journal.close()
        self._lock.release()

    # checkpoints -----------------------------------------------------------------------------
    async def _checkpoint_loop(self) -> None:
        checked_at = -1
        while True:
            await asyncio.sleep(self.checkpoint_interval)
            journal = self._sqlite
            if journal is None or journal.commits == checked_at or not self._checkpointer.due():
                continue
            checked_at = journal.commits
            try:
                frames, copied = await self._in_thread(self._checkpointer.run)
                log.debug("sqlite store: checkpoint copied %d of %d WAL frames", copied, frames)
            except Exception as exc:  # sqlite3.Error: the WAL keeps the data; tried again later
                log.warning("notebook-sync: store checkpoint failed: %s", exc)

    # serving ---------------------------------------------------------------------------------
    def _get(self, code: str) -> SessionState | None:
        if self._failure is not None:
            raise StoreUnavailable(self._failure)
        return super()._get(code)

    def sweep(self) -> int:
        if self._failure is not None:
            return 0
        return super().sweep()

    async def health(self) -> dict[str, Any]:
        running = self._executor is not None and self._events.running
        journal = self._sqlite
        error = self._failure or (journal.last_error if journal is not None else None)
        if not running:
            error = error or "store not started"
        health: dict[str, Any] = {
            "ok": running and error is None,
            "kind": self.kind,
            "path": str(self.path),
            "synchronous": self.synchronous,
            "sessions": len(self._sessions),
            "error": error,
            "loaded": dict(self._loaded),
        }
        if journal is not None:
            health.update(journal.times.summary(), checkpoints=self._checkpointer.checkpoints)
            if journal.flushes is not None:
                health["flushes"] = journal.flushes
        return health


def _close_unadopted(opening: asyncio.Future[Any]) -> None:
    """An open that finished after its caller was cancelled: close its connection."""
    if opening.cancelled() or opening.exception() is not None:
        return
    conn = opening.result()[0]
    conn.close()
