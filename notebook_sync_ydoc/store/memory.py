"""The embedded store: all state in the server process (one server, no Redis).

Every write-and-notify is one synchronous step (no ``await`` between the data write and the
enqueueing of its event), so the asyncio equivalent of the Redis Lua scripts: no other coroutine
can observe half a write, and no event can be delivered before its data.

Events go through an :class:`asyncio.Queue` consumed by a dispatcher task (started in
:meth:`MemoryStore.start`, stopped in :meth:`MemoryStore.stop`), which calls the event handler in
order, for subscribed sessions only. Session lifetimes use :func:`time.monotonic`: a session
expires lazily when it is accessed after its deadline, and a sweep task removes expired sessions
every ``sweep_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from .base import (
    CellIndexEntry,
    CellRecord,
    CellWrite,
    PulledCell,
    SeqConflict,
    SessionGone,
    SessionRecord,
    Store,
    StoreError,
    StoreEvent,
    StoreSettings,
    StoreTTL,
    StudentRecord,
)

log = logging.getLogger(__name__)

# sentinel put on the queue by stop() so the dispatcher drains what came before it, then ends
_STOP = object()


@dataclass
class _Session:
    record: SessionRecord
    expires: float  # time.monotonic() deadline
    seq: int = 0
    cells: dict[str, CellRecord] = field(default_factory=dict)
    students: dict[str, StudentRecord] = field(default_factory=dict)
    presence: set[tuple[str, str]] = field(default_factory=set)  # (student_id, conn_id)
    online: dict[str, int] = field(default_factory=dict)  # student_id -> connections in presence


def _cell_out(record: CellRecord) -> CellRecord:
    """A caller's copy of a stored cell: only ``metadata`` is mutable (source, state: str/bytes)."""
    return replace(record, metadata=copy.deepcopy(record.metadata) if record.metadata else {})


class MemoryStore(Store):
    """The embedded store (kind ``"memory"``); see the module docstring."""

    kind = "memory"

    def __init__(
        self,
        *,
        server_id: str | None = None,
        ttl: StoreTTL | None = None,
        sweep_interval: float = 60.0,
    ) -> None:
        super().__init__(server_id=server_id or f"memory-{uuid.uuid4().hex[:12]}", ttl=ttl)
        self.sweep_interval = sweep_interval
        self._sessions: dict[str, _Session] = {}
        self._subscribed: set[str] = set()
        self._queue: asyncio.Queue[object] | None = None  # made in the running loop
        self._dispatcher: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> MemoryStore:
        return cls(server_id=settings.server_id, ttl=settings.ttl)

    def describe(self) -> str:
        return "embedded store (one server; set redis_url for many)"

    def __repr__(self) -> str:
        return f"MemoryStore(server_id={self.server_id!r}, sessions={len(self._sessions)})"

    # lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._dispatcher is not None:
            return
        self._events()  # events written before start() are kept and delivered now
        self._dispatcher = asyncio.create_task(self._dispatch(), name="nbsync-memory-dispatch")
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="nbsync-memory-sweep")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if self._dispatcher is not None:
            # deliver what was queued before stop(), then end; bounded so a stuck handler
            # cannot block shutdown
            self._events().put_nowait(_STOP)
            try:
                await asyncio.wait_for(asyncio.shield(self._dispatcher), timeout=5.0)
            except TimeoutError:
                log.warning("memory store: event dispatcher did not drain in 5 s; cancelling")
                self._dispatcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._dispatcher
            self._dispatcher = None

    async def health(self) -> dict[str, Any]:
        running = self._dispatcher is not None and not self._dispatcher.done()
        return {
            "ok": running,
            "kind": self.kind,
            "sessions": len(self._sessions),
            "error": None if running else "store not started",
        }

    # internals -------------------------------------------------------------------------------
    def _events(self) -> asyncio.Queue[object]:
        if self._queue is None:
            self._queue = asyncio.Queue()
        return self._queue

    async def _dispatch(self) -> None:
        queue = self._events()
        while True:
            item = await queue.get()
            if item is _STOP:
                return
            assert isinstance(item, StoreEvent)
            handler = self._event_handler
            if handler is None or item.code not in self._subscribed:
                continue
            try:
                await handler(item)
            except Exception:
                log.exception("memory store: event handler failed for %s", item)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                removed = self.sweep()
                if removed:
                    log.debug("memory store: swept %s expired session(s)", removed)
            except Exception:
                log.exception("memory store: sweep failed")

    def sweep(self) -> int:
        """Remove every expired session now; the number removed."""
        now = time.monotonic()
        expired = [code for code, s in self._sessions.items() if s.expires <= now]
        for code in expired:
            del self._sessions[code]
        return len(expired)

    def _get(self, code: str) -> _Session | None:
        s = self._sessions.get(code)
        if s is not None and s.expires <= time.monotonic():
            del self._sessions[code]
            return None
        return s

    def _writable(self, code: str) -> _Session | None:
        """The session for a write: None if absent; SessionGone if ended."""
        s = self._get(code)
        if s is not None and s.record.status == "ended":
            raise SessionGone(f"session {code} has ended")
        return s

    def _refresh(self, s: _Session) -> None:
        lifetime = self.ttl.ended if s.record.status == "ended" else self.ttl.active
        s.expires = time.monotonic() + lifetime

    def _emit(self, event: StoreEvent) -> None:
        self._events().put_nowait(event)

    def _student_out(self, s: _Session, st: StudentRecord) -> StudentRecord:
        # A copy as deep as a deepcopy (the pulled cells' fields are immutable str/bytes/int),
        # without deepcopy's per-object dispatch: this runs on every pull and for every
        # student of a roster.
        return replace(
            st,
            online=st.student_id in s.online,
            pulled={cid: replace(p) for cid, p in st.pulled.items()},
        )

    # events ----------------------------------------------------------------------------------
    async def subscribe(self, code: str) -> None:
        self._subscribed.add(code)

    async def unsubscribe(self, code: str) -> None:
        self._subscribed.discard(code)

    async def publish(self, event: StoreEvent) -> None:
        self._emit(event)

    # sessions --------------------------------------------------------------------------------
    async def create_session(self, session: SessionRecord) -> bool:
        if self._get(session.code) is not None:
            return False
        s = _Session(record=copy.deepcopy(session), expires=0.0)
        self._refresh(s)
        self._sessions[session.code] = s
        return True

    async def get_session(self, code: str) -> SessionRecord | None:
        s = self._get(code)
        return replace(s.record) if s is not None else None  # its fields are immutable

    async def end_session(self, code: str, now: float) -> SessionRecord | None:
        s = self._get(code)
        if s is None:
            return None
        if s.record.status != "ended":
            s.record.status = "ended"
            s.record.updated = now
            self._refresh(s)
            self._emit(StoreEvent(type="ended", code=code, seq=s.seq, origin=self.server_id))
        return copy.deepcopy(s.record)

    async def touch_session(self, code: str, now: float) -> None:
        s = self._get(code)
        if s is None:
            return
        s.record.updated = now
        self._refresh(s)

    # cells -----------------------------------------------------------------------------------
    async def write_cell(self, code: str, cell: CellWrite, expect_seq: int | None) -> CellRecord:
        s = self._writable(code)
        if s is None:
            raise SessionGone(f"session {code} does not exist")
        old = s.cells.get(cell.cell_id)
        current = old.seq if old is not None else 0
        if expect_seq is not None and expect_seq != current:
            raise SeqConflict(f"cell {cell.cell_id}: expected seq {expect_seq}, found {current}")
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
        s.seq += 1
        record = CellRecord(
            cell_id=cell.cell_id,
            seq=s.seq,
            source=cell.source,
            cell_type=cell.cell_type,
            metadata=copy.deepcopy(cell.metadata),
            crdt_state=cell.crdt_state,
            sync_allowed=allowed,
            index=index,
            updated=time.time(),
        )
        s.cells[cell.cell_id] = record
        self._refresh(s)
        self._emit(
            StoreEvent(
                type="cell",
                code=code,
                cell_id=cell.cell_id,
                seq=s.seq,
                sync_allowed=allowed,
                origin=self.server_id,
                index=record.index,
                cell_type=record.cell_type,
            )
        )
        return _cell_out(record)

    async def set_sync_allowed(self, code: str, cell_id: str, allowed: bool) -> CellRecord | None:
        s = self._writable(code)
        if s is None or cell_id not in s.cells:
            return None
        record = s.cells[cell_id]
        record.sync_allowed = allowed
        self._refresh(s)
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
        return _cell_out(record)

    async def remove_cell(self, code: str, cell_id: str) -> int | None:
        s = self._writable(code)
        if s is None or cell_id not in s.cells:
            return None
        del s.cells[cell_id]
        s.seq += 1
        self._refresh(s)
        self._emit(
            StoreEvent(type="removed", code=code, cell_id=cell_id, seq=s.seq, origin=self.server_id)
        )
        return s.seq

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
            new.online = False
            s.students[student.student_id] = new
        else:
            old.identity = student.identity
            old.name = student.name
            old.joined = student.joined
        self._refresh(s)

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
        st.pulled[cell_id] = replace(pulled)
        self._refresh(s)

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
