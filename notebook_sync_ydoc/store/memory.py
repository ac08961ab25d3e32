"""The embedded store: all state in the server process (one server, no Redis).

Every write-and-notify is one synchronous step (no ``await`` between the data write and the
enqueueing of its event), so the asyncio equivalent of the Redis Lua scripts: no other coroutine
can observe half a write, and no event can be delivered before its data. Each change is first
given to the store's :class:`~.journal.Journal` (this store's keeps nothing; the SQLite store
writes through), then made; a journal that fails leaves the state untouched.

Events are delivered in order by an in-process :class:`~.dispatch.EventDispatcher`, for
subscribed sessions only. Session lifetimes use :func:`time.monotonic`: a session expires lazily
when it is accessed after its deadline, and a sweep task removes expired sessions every
``sweep_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
import uuid
from dataclasses import replace
from typing import Any, TypeVar

from .base import (
    CellIndexEntry,
    CellRecord,
    CellWrite,
    PulledCell,
    SeqConflict,
    SessionGone,
    SessionRecord,
    SessionStatus,
    Store,
    StoreError,
    StoreEvent,
    StoreSettings,
    StoreTTL,
    StudentRecord,
)
from .dispatch import EventDispatcher
from .embedded_help import EmbeddedHelp
from .embedded_order import EmbeddedOrder, new_outputs
from .frozen import freeze, is_frozen
from .journal import Journal, SessionState

log = logging.getLogger(__name__)
R = TypeVar("R")


def _copied(record: R) -> R:
    """A shallow copy of a record (a dataclass without slots): what ``replace(record)`` gives,
    without its introspection of the fields on every call (reads run on every pull)."""
    out: R = object.__new__(type(record))
    out.__dict__.update(record.__dict__)
    return out


def _cell_out(record: CellRecord) -> CellRecord:
    """A caller's copy of a stored cell. Its ``metadata`` and ``outputs`` are the stored ones
    where they are frozen (:mod:`.frozen`: frozen when written, read-only, shared by every read
    instead of deep-copied on each), else deep copies; the record itself is a shallow copy (the
    store changes some of its fields in place: ``sync_allowed``)."""
    out = _copied(record)
    if not is_frozen(record.metadata):
        out.metadata = copy.deepcopy(record.metadata) if record.metadata else {}
    if record.outputs is not None and not is_frozen(record.outputs):
        out.outputs = copy.deepcopy(record.outputs)
    return out


class MemoryStore(EmbeddedHelp, EmbeddedOrder, Store):
    """The embedded store (kind ``"memory"``); see the module docstring."""

    kind = "memory"
    local_reads = True  # every read is served from memory

    def __init__(
        self,
        *,
        server_id: str | None = None,
        ttl: StoreTTL | None = None,
        sweep_interval: float = 60.0,
    ) -> None:
        super().__init__(server_id=server_id or f"{self.kind}-{uuid.uuid4().hex[:12]}", ttl=ttl)
        self.sweep_interval = sweep_interval
        self._sessions: dict[str, SessionState] = {}
        self._journal: Journal = Journal()
        self._events = EventDispatcher(lambda: self._event_handler, f"{self.kind} store")
        self._sweeper: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> MemoryStore:
        return cls(server_id=settings.server_id, ttl=settings.ttl)

    def describe(self) -> str:
        return "in-memory store (one server; nothing survives a restart)"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(server_id={self.server_id!r}, sessions={len(self._sessions)})"
        )

    # lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._sweeper is not None:
            return
        self._events.start()  # events written before start() are kept and delivered now
        self._sweeper = asyncio.create_task(self._sweep_loop(), name=f"nbsync-{self.kind}-sweep")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await self._events.stop()  # delivers what was queued before stop()

    async def health(self) -> dict[str, Any]:
        running = self._events.running
        return {
            "ok": running,
            "kind": self.kind,
            "sessions": len(self._sessions),
            "error": None if running else "store not started",
        }

    # internals -------------------------------------------------------------------------------
    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                removed = self.sweep()
                if removed:
                    log.debug("%s store: swept %s expired session(s)", self.kind, removed)
            except Exception:
                log.exception("%s store: sweep failed", self.kind)

    def sweep(self) -> int:
        """Remove every expired session now; the number removed."""
        now = time.monotonic()
        expired = [code for code, s in self._sessions.items() if s.expires <= now]
        if expired:
            self._journal.drop_sessions(expired)
        for code in expired:
            del self._sessions[code]
        return len(expired)

    def _get(self, code: str) -> SessionState | None:
        s = self._sessions.get(code)
        if s is not None and s.expires <= time.monotonic():
            self._journal.drop_sessions([code])
            del self._sessions[code]
            return None
        return s

    def _writable(self, code: str) -> SessionState | None:
        """The session for a write: None if absent; SessionGone if ended."""
        s = self._get(code)
        if s is not None and s.record.status == "ended":
            raise SessionGone(f"session {code} has ended")
        return s

    def _deadline(self, status: SessionStatus) -> float:
        """A session's deadline if it were refreshed now."""
        return time.monotonic() + (self.ttl.ended if status == "ended" else self.ttl.active)

    def _emit(self, event: StoreEvent) -> None:
        self._events.emit(event)

    def _student_out(self, s: SessionState, st: StudentRecord) -> StudentRecord:
        # A copy as deep as a deepcopy (the pulled cells' fields are immutable str/bytes/int),
        # without deepcopy's per-object dispatch: this runs on every pull and for every
        # student of a roster.
        out = _copied(st)
        out.online = st.student_id in s.online
        out.pulled = {cid: _copied(p) for cid, p in st.pulled.items()}
        out.marks = dict(st.marks)  # PullMark is frozen
        return out

    # events ----------------------------------------------------------------------------------
    async def subscribe(self, code: str) -> None:
        self._events.subscribe(code)

    async def unsubscribe(self, code: str) -> None:
        self._events.unsubscribe(code)

    async def publish(self, event: StoreEvent) -> None:
        self._emit(event)

    # sessions --------------------------------------------------------------------------------
    async def create_session(self, session: SessionRecord) -> bool:
        if self._get(session.code) is not None:
            return False
        s = SessionState(record=copy.deepcopy(session), expires=self._deadline(session.status))
        self._journal.create_session(s)
        self._sessions[session.code] = s
        await self._journal.durable()
        return True

    async def get_session(self, code: str) -> SessionRecord | None:
        s = self._get(code)
        return _copied(s.record) if s is not None else None  # its fields are immutable

    async def end_session(self, code: str, now: float) -> SessionRecord | None:
        s = self._get(code)
        if s is None:
            return None
        if s.record.status != "ended":
            ended = replace(s.record, status="ended", updated=now)
            expires = self._deadline("ended")
            self._journal.update_session(ended, expires)
            s.record, s.expires = ended, expires
            self._emit(StoreEvent(type="ended", code=code, seq=s.seq, origin=self.server_id))
            await self._journal.durable()
        return replace(s.record)

    async def touch_session(self, code: str, now: float) -> None:
        s = self._get(code)
        if s is None:
            return
        touched = replace(s.record, updated=now)
        expires = self._deadline(touched.status)
        self._journal.update_session(touched, expires)
        s.record, s.expires = touched, expires
        await self._journal.durable()

    # cells -----------------------------------------------------------------------------------
    def _new_record(self, s: SessionState, cell: CellWrite, old: CellRecord | None) -> CellRecord:
        if cell.index is not None:
            index = cell.index
        elif old is not None:
            index = old.index
        else:
            index = max((c.index for c in s.cells.values()), default=-1) + 1
        if cell.sync_allowed is not None:
            allowed = cell.sync_allowed
        else:
            allowed = old.sync_allowed if old is not None else True
        return CellRecord(
            cell_id=cell.cell_id,
            seq=s.seq + 1,
            source=cell.source,
            cell_type=cell.cell_type,
            metadata=freeze(cell.metadata),
            crdt_state=cell.crdt_state,
            sync_allowed=allowed,
            index=index,
            updated=time.time(),
            outputs=new_outputs(cell, old),
        )

    async def write_cell(self, code: str, cell: CellWrite, expect_seq: int | None) -> CellRecord:
        s = self._writable(code)
        if s is None:
            raise SessionGone(f"session {code} does not exist")
        old = s.cells.get(cell.cell_id)
        current = old.seq if old is not None else 0
        if expect_seq is not None and expect_seq != current:
            raise SeqConflict(f"cell {cell.cell_id}: expected seq {expect_seq}, found {current}")
        record = self._new_record(s, cell, old)
        expires = self._deadline(s.record.status)
        changed = (
            cell.share_outputs is not None and (old.outputs if old else None) != record.outputs
        )
        self._journal.write_cell(code, record, expires, changed)
        s.seq = record.seq
        s.cells[cell.cell_id] = record
        s.expires = expires
        self._emit(
            StoreEvent(
                type="cell",
                code=code,
                cell_id=cell.cell_id,
                seq=record.seq,
                sync_allowed=record.sync_allowed,
                origin=self.server_id,
                index=record.index,
                cell_type=record.cell_type,
            )
        )
        out = _cell_out(record)
        await self._journal.durable()
        return out

    async def set_sync_allowed(self, code: str, cell_id: str, allowed: bool) -> CellRecord | None:
        s = self._writable(code)
        if s is None or cell_id not in s.cells:
            return None
        expires = self._deadline(s.record.status)
        self._journal.set_sync_allowed(code, cell_id, allowed, expires)
        record = s.cells[cell_id]
        record.sync_allowed = allowed
        s.expires = expires
        self._emit(
            StoreEvent(
                type="sync",
                code=code,
                cell_id=cell_id,
                seq=record.seq,
                sync_allowed=allowed,
                origin=self.server_id,
                index=record.index,
                cell_type=record.cell_type,
            )
        )
        out = _cell_out(record)
        await self._journal.durable()
        return out

    async def remove_cell(self, code: str, cell_id: str) -> int | None:
        s = self._writable(code)
        if s is None or cell_id not in s.cells:
            return None
        seq, expires = s.seq + 1, self._deadline(s.record.status)
        self._journal.remove_cell(code, cell_id, seq, expires)
        del s.cells[cell_id]
        s.seq, s.expires = seq, expires
        self._emit(
            StoreEvent(type="removed", code=code, cell_id=cell_id, seq=seq, origin=self.server_id)
        )
        await self._journal.durable()
        return seq

    async def get_cell(self, code: str, cell_id: str) -> CellRecord | None:
        s = self._get(code)
        if s is None or cell_id not in s.cells:
            return None
        return _cell_out(s.cells[cell_id])

    async def list_cells(self, code: str) -> list[CellIndexEntry]:
        s = self._get(code)
        if s is None:
            return []
        entries = [
            CellIndexEntry(
                cell_id=c.cell_id,
                seq=c.seq,
                index=c.index,
                sync_allowed=c.sync_allowed,
                cell_type=c.cell_type,
            )
            for c in s.cells.values()
        ]
        entries.sort(key=lambda e: (e.index, e.seq))
        return entries

    async def cell_count(self, code: str) -> int:
        s = self._get(code)
        return len(s.cells) if s is not None else 0

    # students --------------------------------------------------------------------------------
    async def put_student(self, code: str, student: StudentRecord) -> None:
        s = self._get(code)
        if s is None:
            raise SessionGone(f"session {code} does not exist")
        old = s.students.get(student.student_id)
        if old is None:
            new = copy.deepcopy(student)
            new.online, new.marks = False, {}
        else:
            new = replace(old, identity=student.identity, name=student.name, joined=student.joined)
        expires = self._deadline(s.record.status)
        self._journal.put_student(code, new, old is None, expires)
        if old is None:
            s.students[student.student_id] = new
        else:
            old.identity, old.name, old.joined = new.identity, new.name, new.joined
        s.expires = expires
        await self._journal.durable()

    async def get_student(self, code: str, student_id: str) -> StudentRecord | None:
        s = self._get(code)
        if s is None or student_id not in s.students:
            return None
        return self._student_out(s, s.students[student_id])

    async def record_pull(
        self, code: str, student_id: str, cell_id: str, pulled: PulledCell
    ) -> None:
        s = self._get(code)
        if s is None:
            raise SessionGone(f"session {code} does not exist")
        st = s.students.get(student_id)
        if st is None:
            raise StoreError(f"unknown student in session {code}")
        entry, expires = replace(pulled), self._deadline(s.record.status)
        self._journal.record_pull(code, student_id, cell_id, entry, expires)
        st.pulled[cell_id] = entry
        s.expires = expires
        await self._journal.durable()

    async def list_students(self, code: str) -> list[StudentRecord]:
        s = self._get(code)
        if s is None:
            return []
        out = [self._student_out(s, st) for st in s.students.values()]
        out.sort(key=lambda st: (st.joined, st.student_id))
        return out

    async def set_presence(self, code: str, student_id: str, conn_id: str, online: bool) -> None:
        s = self._get(code)
        if s is None:
            if online:
                raise SessionGone(f"session {code} does not exist")
            return
        key = (student_id, conn_id)
        if online:
            if key not in s.presence:
                s.presence.add(key)
                s.online[student_id] = s.online.get(student_id, 0) + 1
        elif key in s.presence:
            s.presence.discard(key)
            left = s.online.get(student_id, 1) - 1
            if left > 0:
                s.online[student_id] = left
            else:
                s.online.pop(student_id, None)

    async def count_sessions(self) -> int:
        self.sweep()
        return sum(1 for s in self._sessions.values() if s.record.status == "active")
