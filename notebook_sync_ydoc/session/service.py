"""The session service: every use case of the protocol, independent of Tornado.

A transport (the websocket handler, or a test) wraps each connection in a :class:`Peer` and calls
:meth:`SyncService.connect`, :meth:`SyncService.handle` for each frame, and
:meth:`SyncService.disconnect`. The service keeps only this server's connections in memory;
everything shared lives in the :class:`~notebook_sync_ydoc.store.Store`, whose events (hints)
fan out here to this server's sockets.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Protocol

from ..engines import CellEngine
from ..merge import ConflictHunk, MergeOutcome, PullInput, Strategy
from ..protocol import (
    Message,
    MessageValidator,
    ProtocolError,
    as_text,
    encode,
    error_message,
)
from ..store import (
    CellIndexEntry,
    CellRecord,
    CellWrite,
    PulledCell,
    SeqConflict,
    SessionGone,
    SessionRecord,
    Store,
    StoreEvent,
    StoreUnavailable,
    StudentRecord,
)
from .access import JoinLimiter, hash_key, new_session_code, student_id_for

Role = Literal["teacher", "student"]


class Peer(Protocol):
    """One client connection, as the transport provides it."""

    conn_id: str
    identity: str  # the Jupyter user name
    display_name: str
    groups: frozenset[str]

    def send_text(self, text: str) -> None:
        """Queue one frame; never blocks (a full queue closes the connection)."""


@dataclass
class ServiceConfig:
    max_message_bytes: int = 4 * 1024 * 1024
    max_source_bytes: int = 1024 * 1024
    max_cells_per_session: int = 1000
    teacher_users: frozenset[str] = frozenset()
    teacher_groups: frozenset[str] = frozenset()
    join_failures_per_minute: int = 10
    code_length: int = 6
    roster_interval: float = 0.1  # at most one roster_update per room per interval


@dataclass(eq=False)
class Member:
    """This server's view of one connection."""

    peer: Peer
    role: Role | None = None
    code: str | None = None
    student_id: str | None = None
    name: str = ""
    pulled: dict[str, int] = field(default_factory=dict)  # cell -> seq pulled
    notified: dict[str, int] = field(default_factory=dict)  # cell -> seq announced (dedupe)
    joining: bool = False  # events are held back until session_joined has been sent
    missed: bool = False  # an event arrived while joining: catch up again

    def send(self, message: dict[str, Any]) -> None:
        self.peer.send_text(encode(message))


@dataclass(eq=False)
class Room:
    """The connections of one session on this server."""

    code: str
    teachers: set[Member] = field(default_factory=set)
    students: set[Member] = field(default_factory=set)
    roster_pending: bool = False
    # The last record this server wrote per cell: a teacher's next push writes against its seq
    # with no read first (a stale entry fails the store's seq check, and the push re-reads).
    # Kept coherent by the session's events; gone with the room.
    written: dict[str, CellRecord] = field(default_factory=dict)

    @property
    def members(self) -> list[Member]:
        return [*self.teachers, *self.students]


Handler = Callable[[Member, Message], Awaitable[None]]


class StoreListener(Protocol):
    """Another consumer of this server's store events (the follow rooms, :mod:`.follow`).

    Registered with :meth:`SyncService.add_event_listener`, it sees every event of every session
    the store is subscribed to (before the JSON fan-out), and every re-subscription. It should
    return quickly (queue work, do not wait on the store); an exception it raises is logged.
    """

    async def on_store_event(self, event: StoreEvent) -> None: ...

    async def on_store_resync(self, code: str) -> None: ...


class SyncService:
    """The classroom use cases: create, resume, push, toggle, remove, end, join, pull, preview."""

    def __init__(
        self,
        store: Store,
        engine: CellEngine,
        config: ServiceConfig,
        log: logging.Logger,
        validator: MessageValidator | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.engine = engine
        self.config = config
        self.log = log
        self.validator = validator or MessageValidator()
        self.clock = clock
        self.rooms: dict[str, Room] = {}
        self.members: set[Member] = set()
        self.counters: dict[str, int] = dict.fromkeys(
            ("pushes", "pulls", "conflicts", "errors", "resyncs"), 0
        )
        self._limiter = JoinLimiter(config.join_failures_per_minute)
        self._room_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = False
        self._start_lock = asyncio.Lock()
        self._listeners: list[StoreListener] = []
        self._held: dict[str, int] = {}  # code -> holders keeping the store subscribed
        self._handlers: dict[str, Handler] = {
            "create_session": self._create_session,
            "resume_session": self._resume_session,
            "push_cell": self._push_cell,
            "toggle_sync": self._toggle_sync,
            "remove_cell": self._remove_cell,
            "end_session": self._end_session,
            "join_session": self._join_session,
            "request_sync": self._request_sync,
            "preview": self._preview,
            "leave_session": self._leave_session,
            "ping": self._ping,
        }
        missing = self.validator.types ^ set(self._handlers)
        if missing:
            raise RuntimeError(f"schema and service disagree on message types: {sorted(missing)}")
        store.set_handlers(self._on_event, self._on_resync)

    # lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the store (idempotent; also called lazily by the handlers)."""
        async with self._start_lock:
            if not self._started:
                await self.store.start()
                self._started = True

    async def ensure_started(self) -> None:
        if not self._started:
            await self.start()

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.store.stop()

    def _spawn(self, coro: Awaitable[None], what: str) -> None:
        async def runner() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except StoreUnavailable as exc:
                self.log.warning("notebook-sync: %s failed, store unavailable: %s", what, exc)
            except Exception:
                self.log.exception("notebook-sync: %s failed", what)

        self.track(asyncio.ensure_future(runner()))

    def track(self, task: asyncio.Task[None]) -> None:
        """Keep a reference to a background task until it ends; stop() cancels it."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # transport entry points --------------------------------------------------------------------
    def connect(self, peer: Peer) -> Member:
        member = Member(peer=peer)
        self.members.add(member)
        return member

    async def disconnect(self, member: Member) -> None:
        self.members.discard(member)
        try:
            await self._leave(member)
        except StoreUnavailable as exc:
            self.log.warning("notebook-sync: leave on disconnect failed: %s", exc)

    async def handle(self, member: Member, raw: str | bytes) -> None:
        """Answer one frame. Never raises: every failure becomes an ``error`` reply."""
        req_id: str | None = None
        try:
            if len(raw) > self.config.max_message_bytes:
                raise ProtocolError(
                    "too_large",
                    f"message of {len(raw)} bytes exceeds the limit of "
                    f"{self.config.max_message_bytes} bytes",
                )
            message = self.validator.parse(raw)
            req_id = message.req_id
            await self._handlers[message.type](member, message)
        except ProtocolError as exc:
            self.counters["errors"] += 1
            member.send(error_message(exc.code, exc.message, req_id))
        except (StoreUnavailable, SessionGone) as exc:
            self.counters["errors"] += 1
            if isinstance(exc, SessionGone):
                member.send(
                    error_message("session_not_found", "the session no longer exists", req_id)
                )
            else:
                self.log.warning("notebook-sync: store unavailable: %s", exc)
                member.send(
                    error_message(
                        "store_unavailable",
                        "the session store is unreachable; nothing was changed, try again",
                        req_id,
                    )
                )
        except Exception:
            self.counters["errors"] += 1
            self.log.exception("notebook-sync: internal error handling a message")
            member.send(error_message("internal", "internal server error (logged)", req_id))

    # helpers -----------------------------------------------------------------------------------
    def _reply(self, member: Member, message: Message, payload: dict[str, Any]) -> None:
        if message.req_id is not None:
            payload["req_id"] = message.req_id
        member.send(payload)

    def _require(self, member: Member, message: Message, role: Role) -> str:
        if member.code is None or member.role is None:
            raise ProtocolError("not_in_session", "this connection has not joined a session")
        wanted = message.data.get("session_code")
        if isinstance(wanted, str) and wanted.upper() != member.code:
            raise ProtocolError("not_in_session", f"this connection is not in session {wanted}")
        if member.role != role:
            raise ProtocolError("forbidden", f"only the {role} may send {message.type}")
        return member.code

    async def _active_session(self, member: Member, code: str) -> SessionRecord:
        session = await self.store.get_session(code)
        if session is None:
            await self._drop_room_member(member)
            raise ProtocolError("session_not_found", f"session {code} no longer exists")
        if session.status == "ended":
            await self._drop_room_member(member)
            raise ProtocolError("session_ended", f"session {code} has ended")
        return session

    def _check_source(self, text: str, what: str) -> None:
        size = len(text.encode("utf-8"))
        if size > self.config.max_source_bytes:
            raise ProtocolError(
                "too_large",
                f"{what} of {size} bytes exceeds the limit of {self.config.max_source_bytes} bytes",
            )

    def _may_teach(self, peer: Peer) -> bool:
        users, groups = self.config.teacher_users, self.config.teacher_groups
        if not users and not groups:
            return True
        return peer.identity in users or bool(groups & peer.groups)

    async def _enter(self, member: Member, code: str, role: Role, student_id: str | None) -> Room:
        await self._leave(member)
        async with self._room_lock:
            room = self.rooms.get(code)
            if room is None:
                await self.store.subscribe(code)
                room = Room(code=code)
                self.rooms[code] = room
        member.code, member.role, member.student_id = code, role, student_id
        member.pulled, member.notified = {}, {}
        (room.teachers if role == "teacher" else room.students).add(member)
        return room

    async def _drop_room_member(self, member: Member) -> Room | None:
        """Forget the member's place in its room (no store writes but unsubscribe)."""
        code = member.code
        room = self.rooms.get(code) if code else None
        member.code, member.role, member.student_id = None, None, None
        member.joining = member.missed = False
        if room is None:
            return None
        room.teachers.discard(member)
        room.students.discard(member)
        if not room.teachers and not room.students:
            async with self._room_lock:
                if self.rooms.get(room.code) is room and not room.members:
                    del self.rooms[room.code]
                    if room.code not in self._held:
                        await self.store.unsubscribe(room.code)
        return room

    async def _leave(self, member: Member) -> None:
        code, role, student_id = member.code, member.role, member.student_id
        if code is None:
            return
        await self._drop_room_member(member)
        if role == "student" and student_id is not None:
            await self.store.set_presence(code, student_id, member.peer.conn_id, False)
            await self.store.publish(StoreEvent("roster", code, origin=self.store.server_id))

    def _cell_info(self, entry: CellIndexEntry) -> dict[str, Any]:
        return {
            "cell_id": entry.cell_id,
            "seq": entry.seq,
            "cell_type": entry.cell_type,
            "sync_allowed": entry.sync_allowed,
            "index": entry.index,
        }

    def _update_available(self, code: str, entry: CellIndexEntry) -> str:
        return encode(
            {
                "type": "update_available",
                "session_code": code,
                "cell_id": entry.cell_id,
                "seq": entry.seq,
                "cell_type": entry.cell_type,
                "index": entry.index,
                "timestamp": self.clock(),
            }
        )

    def _catch_up(
        self,
        member: Member,
        entries: Iterable[CellIndexEntry],
        texts: dict[tuple[str, str, int], str] | None = None,
    ) -> int:
        """Send ``update_available`` for every allowed cell newer than what the member has.

        ``texts``: a cache shared over one fan-out, so a broadcast is encoded once, not once
        per student."""
        sent = 0
        code = member.code
        if code is None:
            return 0
        for entry in entries:
            if not entry.sync_allowed:
                continue
            if entry.seq <= member.pulled.get(entry.cell_id, 0):
                continue
            if entry.seq <= member.notified.get(entry.cell_id, 0):
                continue
            member.notified[entry.cell_id] = entry.seq
            if texts is None:
                text = self._update_available(code, entry)
            else:
                key = (code, entry.cell_id, entry.seq)
                text = texts.get(key)
                if text is None:
                    text = texts[key] = self._update_available(code, entry)
            member.peer.send_text(text)
            sent += 1
        return sent

    async def _roster(self, code: str) -> dict[str, Any]:
        students = await self.store.list_students(code)
        return {
            "type": "roster_update",
            "session_code": code,
            "students": [
                {
                    "student_id": s.student_id,
                    "name": s.name,
                    "user": s.identity,
                    "online": s.online,
                    "pulled": {cid: p.seq for cid, p in s.pulled.items()},
                }
                for s in students
            ],
        }

    def _schedule_roster(self, room: Room) -> None:
        if room.roster_pending or not room.teachers:
            return
        room.roster_pending = True

        async def send_roster() -> None:
            try:
                await asyncio.sleep(self.config.roster_interval)  # coalesce a burst of joins/pulls
            finally:
                room.roster_pending = False
            if not room.teachers:
                return
            text = encode(await self._roster(room.code))
            for teacher in list(room.teachers):
                teacher.peer.send_text(text)

        self._spawn(send_roster(), "roster update")

    # teacher -------------------------------------------------------------------------------------
    async def _create_session(self, member: Member, message: Message) -> None:
        if not self._may_teach(member.peer):
            raise ProtocolError("forbidden", "you are not allowed to create sessions")
        title = str(message.data.get("title") or "").strip() or "Untitled session"
        teacher_key = secrets.token_urlsafe(24)
        now = self.clock()
        for _ in range(20):
            code = new_session_code(self.config.code_length)
            record = SessionRecord(
                code=code,
                teacher_identity=member.peer.identity,
                teacher_key_hash=hash_key(teacher_key),
                title=title,
                mode=self.engine.mode,
                created=now,
                updated=now,
            )
            if await self.store.create_session(record):
                break
        else:
            raise ProtocolError("internal", "could not find a free session code")
        await self._enter(member, code, "teacher", None)
        self.log.info("notebook-sync: session %s created by %s", code, member.peer.identity)
        self._reply(
            member,
            message,
            {
                "type": "session_created",
                "session_code": code,
                "teacher_key": teacher_key,
                "title": title,
                "mode": self.engine.mode,
            },
        )

    async def _find_session(self, member: Member, message: Message) -> SessionRecord:
        """The session a join or resume names; failed attempts count against the identity."""
        identity, now = member.peer.identity, self.clock()
        self._limiter.check(identity, now)
        code = message.data["session_code"].upper()
        session = await self.store.get_session(code)
        if session is None:
            self._limiter.failed(identity, now)
            raise ProtocolError("session_not_found", f"no session with code {code}")
        if message.type == "resume_session" and not hmac.compare_digest(
            hash_key(message.data["teacher_key"]), session.teacher_key_hash
        ):
            self._limiter.failed(identity, now)
            raise ProtocolError("forbidden", "that teacher key does not belong to this session")
        return session

    async def _resume_session(self, member: Member, message: Message) -> None:
        session = await self._find_session(member, message)
        code, now = session.code, self.clock()
        if session.status == "ended":
            raise ProtocolError("session_ended", f"session {code} has ended")
        await self._enter(member, code, "teacher", None)
        await self.store.touch_session(code, now)
        entries = await self.store.list_cells(code)
        self._reply(
            member,
            message,
            {
                "type": "session_resumed",
                "session_code": code,
                "title": session.title,
                "mode": self.engine.mode,
                "status": session.status,
                "cells": [self._cell_info(e) for e in entries],
            },
        )
        member.send(await self._roster(code))

    async def _push_cell(self, member: Member, message: Message) -> None:
        code = self._require(member, message, "teacher")
        data = message.data
        content: dict[str, Any] = data["content"]
        source = as_text(content["source"]) or ""
        self._check_source(source, "cell source")
        cell_id: str = data["cell_id"]
        cell_type: str | None = content.get("cell_type")
        metadata: dict[str, Any] | None = content.get("metadata")
        sync_allowed: bool | None = data.get("sync_allowed")
        if sync_allowed is None:
            sync_allowed = (data.get("metadata") or {}).get("sync_allowed")
        index: int | None = data.get("index")
        room = self.rooms.get(code)
        current = room.written.get(cell_id) if room is not None else None
        if current is None:
            # The first read of the cell goes together with the session check (one round trip).
            _session, current = await asyncio.gather(
                self._active_session(member, code), self.store.get_cell(code, cell_id)
            )
        for attempt in range(16):
            if attempt:
                current = await self.store.get_cell(code, cell_id)
            if current is None:
                if await self.store.cell_count(code) >= self.config.max_cells_per_session:
                    raise ProtocolError(
                        "too_large",
                        f"a session holds at most {self.config.max_cells_per_session} cells",
                    )
            elif _unchanged(current, source, cell_type, metadata, sync_allowed, index):
                self._reply(
                    member,
                    message,
                    {"type": "push_ack", "cell_id": cell_id, "seq": current.seq, "unchanged": True},
                )
                return
            state = self.engine.push(
                current.crdt_state if current else None,
                current.source if current else None,
                source,
            )
            write = CellWrite(
                cell_id=cell_id,
                source=source,
                cell_type=cell_type or (current.cell_type if current else "code"),
                metadata=metadata
                if metadata is not None
                else (current.metadata if current else {}),
                crdt_state=state,
                sync_allowed=sync_allowed,
                index=index,
            )
            try:
                record = await self.store.write_cell(code, write, current.seq if current else 0)
            except SeqConflict:
                continue  # another push of this cell landed first: rebase on it
            except SessionGone:
                await self._active_session(member, code)  # says which: ended or not found
                raise
            break
        else:
            raise ProtocolError("internal", "the cell is being pushed concurrently; try again")
        if room is not None:
            room.written[cell_id] = record
        self.counters["pushes"] += 1
        self._reply(member, message, {"type": "push_ack", "cell_id": cell_id, "seq": record.seq})

    async def _toggle_sync(self, member: Member, message: Message) -> None:
        code = self._require(member, message, "teacher")
        await self._active_session(member, code)
        cell_id: str = message.data["cell_id"]
        allowed: bool = message.data["sync_allowed"]
        record = await self.store.set_sync_allowed(code, cell_id, allowed)
        if record is None:
            raise ProtocolError("cell_not_found", f"no cell {cell_id} in session {code}")
        room = self.rooms.get(code)
        if room is not None and cell_id in room.written:
            room.written[cell_id] = record
        self._reply(
            member,
            message,
            {
                "type": "sync_allowed_update",
                "cell_id": cell_id,
                "sync_allowed": allowed,
                "seq": record.seq,
                "timestamp": self.clock(),
            },
        )

    async def _remove_cell(self, member: Member, message: Message) -> None:
        code = self._require(member, message, "teacher")
        await self._active_session(member, code)
        cell_id: str = message.data["cell_id"]
        seq = await self.store.remove_cell(code, cell_id)
        if seq is None:
            raise ProtocolError("cell_not_found", f"no cell {cell_id} in session {code}")
        self._reply(member, message, {"type": "cell_removed", "cell_id": cell_id, "seq": seq})

    async def _end_session(self, member: Member, message: Message) -> None:
        code = self._require(member, message, "teacher")
        await self._active_session(member, code)
        record = await self.store.end_session(code, self.clock())
        if record is None:
            raise ProtocolError("session_not_found", f"session {code} no longer exists")
        await self._drop_room_member(member)
        self.log.info("notebook-sync: session %s ended", code)
        self._reply(member, message, {"type": "session_ended", "session_code": code})

    # student -------------------------------------------------------------------------------------
    async def _join_session(self, member: Member, message: Message) -> None:
        session = await self._find_session(member, message)
        code, identity, now = session.code, member.peer.identity, self.clock()
        if session.status == "ended":
            raise ProtocolError("session_ended", f"session {code} has ended")
        name = str(message.data.get("name") or "").strip()
        key: str | None = message.data.get("student_key")
        record: StudentRecord | None = None
        if key is not None:
            record = await self.store.get_student(code, student_id_for(key))
        resumed = record is not None
        if record is None:
            key = secrets.token_urlsafe(24)
            record = StudentRecord(
                student_id=student_id_for(key),
                identity=identity,
                name=name or member.peer.display_name or identity,
                joined=now,
            )
        elif name:
            record.name = name
        assert key is not None
        await self.store.put_student(code, record)
        room = await self._enter(member, code, "student", record.student_id)
        member.name = record.name
        member.joining = True
        try:
            await self.store.set_presence(code, record.student_id, member.peer.conn_id, True)
            await self.store.touch_session(code, now)
            # Subscribed (in _enter) before reading the index: no update can fall in between.
            entries = await self.store.list_cells(code)
            member.pulled = {cid: p.seq for cid, p in record.pulled.items()}
            self._reply(
                member,
                message,
                {
                    "type": "session_joined",
                    "session_code": code,
                    "title": session.title,
                    "mode": self.engine.mode,
                    "student_id": record.student_id,
                    "student_key": key,
                    "name": record.name,
                    "resumed": resumed,
                    "cells": [
                        {**self._cell_info(e), "pulled_seq": member.pulled.get(e.cell_id, 0)}
                        for e in entries
                    ],
                },
            )
            self._catch_up(member, entries)
            while member.missed and member.code == code:
                member.missed = False
                self._catch_up(member, await self.store.list_cells(code))
        finally:
            member.joining = False
        await self.store.publish(StoreEvent("roster", code, origin=self.store.server_id))
        self.log.debug("notebook-sync: %s joined %s (resumed=%s)", record.name, room.code, resumed)

    async def _pull_outcome(
        self, member: Member, message: Message
    ) -> tuple[str, CellRecord, StudentRecord, MergeOutcome]:
        code = self._require(member, message, "student")
        cell_id: str = message.data["cell_id"]
        assert member.student_id is not None
        # Three independent reads, one round trip's wait.
        _session, cell, student = await asyncio.gather(
            self._active_session(member, code),
            self.store.get_cell(code, cell_id),
            self.store.get_student(code, member.student_id),
        )
        if cell is None:
            raise ProtocolError("cell_not_found", f"no cell {cell_id} in session {code}")
        if not cell.sync_allowed:
            raise ProtocolError("sync_not_allowed", f"the teacher has locked cell {cell_id}")
        mine = as_text(message.data.get("local_source"))
        if mine is not None:
            self._check_source(mine, "local_source")
        if student is None:
            await self._drop_room_member(member)
            raise ProtocolError("not_in_session", "your place in this session expired; join again")
        pulled = student.pulled.get(cell_id)
        strategy: Strategy | None = message.data.get("strategy")
        outcome = self.engine.pull(
            PullInput(
                theirs_source=cell.source,
                theirs_state=cell.crdt_state,
                base_source=pulled.base_source if pulled else None,
                base_state=pulled.base_state if pulled else None,
                mine=mine,
                strategy=strategy,
            )
        )
        if outcome.status == "no_update" and (pulled is None or cell.seq > pulled.seq):
            # The source is what the student pulled, but the cell moved on (type or metadata
            # changed, or the teacher reverted): deliver it, keeping the student's text.
            status = "fast_forward" if mine is None or mine == outcome.base else "merged"
            outcome = MergeOutcome(
                status=status,
                source=mine if mine is not None else cell.source,
                base=outcome.base,
                mine=outcome.mine,
                theirs=outcome.theirs,
            )
        return code, cell, student, outcome

    async def _request_sync(self, member: Member, message: Message) -> None:
        code, cell, student, outcome = await self._pull_outcome(member, message)
        if outcome.status == "no_update":
            raise ProtocolError(
                "no_update", f"you already have the latest version of {cell.cell_id}"
            )
        reply: dict[str, Any] = {
            "type": "cell_content_update",
            "cell_id": cell.cell_id,
            "seq": cell.seq,
            "status": outcome.status,
            "content": {
                "source": outcome.source,
                "cell_type": cell.cell_type,
                "metadata": cell.metadata,
            },
        }
        if outcome.status == "conflict":
            self.counters["conflicts"] += 1
            reply.update(
                base=outcome.base,
                mine=outcome.mine,
                theirs=outcome.theirs,
                conflicts=[_hunk(h) for h in outcome.conflicts],
            )
            self._reply(member, message, reply)
            return
        await self.store.record_pull(
            code,
            student.student_id,
            cell.cell_id,
            PulledCell(seq=cell.seq, base_source=cell.source, base_state=cell.crdt_state),
        )
        member.pulled[cell.cell_id] = cell.seq
        self.counters["pulls"] += 1
        if outcome.update is not None:
            reply["update"] = base64.b64encode(outcome.update).decode("ascii")
        if outcome.status == "replaced":
            reply["mine"] = outcome.mine
        self._reply(member, message, reply)
        await self.store.publish(StoreEvent("roster", code, origin=self.store.server_id))

    async def _preview(self, member: Member, message: Message) -> None:
        _code, cell, _student, outcome = await self._pull_outcome(member, message)
        reply: dict[str, Any] = {
            "type": "cell_preview",
            "cell_id": cell.cell_id,
            "seq": cell.seq,
            "status": outcome.status,
            "source": outcome.source,
            "base": outcome.base,
            "content": {
                "source": cell.source,
                "cell_type": cell.cell_type,
                "metadata": cell.metadata,
            },
        }
        if outcome.status == "conflict":
            reply["conflicts"] = [_hunk(h) for h in outcome.conflicts]
        self._reply(member, message, reply)

    async def _leave_session(self, member: Member, message: Message) -> None:
        code = member.code
        if code is None:
            raise ProtocolError("not_in_session", "this connection has not joined a session")
        await self._leave(member)
        self._reply(member, message, {"type": "session_left", "session_code": code})

    async def _ping(self, member: Member, message: Message) -> None:
        self._reply(member, message, {"type": "pong"})

    # events from the store -----------------------------------------------------------------------
    async def _on_event(self, event: StoreEvent) -> None:
        await self._notify_listeners(event, None)
        room = self.rooms.get(event.code)
        if room is None:
            return
        if event.type == "roster":
            self._schedule_roster(room)
            return
        if event.type == "ended":
            text = encode({"type": "session_ended", "session_code": event.code})
            for member in room.members:
                member.peer.send_text(text)
                await self._drop_room_member(member)
            return
        written = room.written.get(event.cell_id) if event.cell_id is not None else None
        if written is not None:  # keep this server's last-written records true to the store
            if event.type == "sync" and event.seq == written.seq:
                written.sync_allowed = bool(event.sync_allowed)
            elif event.type != "cell" or event.seq != written.seq:
                room.written.pop(written.cell_id, None)
        if event.type == "removed" and event.cell_id is not None:
            text = encode({"type": "cell_removed", "cell_id": event.cell_id, "seq": event.seq})
            for member in list(room.students):
                member.notified.pop(event.cell_id, None)
                member.pulled.pop(event.cell_id, None)
                member.peer.send_text(text)
            return
        if event.type == "sync" and event.cell_id is not None:
            text = encode(
                {
                    "type": "sync_allowed_update",
                    "cell_id": event.cell_id,
                    "sync_allowed": bool(event.sync_allowed),
                    "seq": event.seq,
                    "timestamp": self.clock(),
                }
            )
            for member in list(room.students):
                member.peer.send_text(text)
        # "cell", or "sync" that may have unlocked a cell: announce what students miss
        students = [m for m in room.students]
        if not students:
            return
        carried = event.entry()
        if carried is not None:
            wanted = [carried]
        else:
            entries = await self.store.list_cells(event.code)
            wanted = [e for e in entries if e.cell_id == event.cell_id]
        texts: dict[tuple[str, str, int], str] = {}  # encoded once for all students
        for member in students:
            if member.joining:
                member.missed = True
                continue
            self._catch_up(member, wanted, texts)

    async def _on_resync(self, code: str) -> None:
        """After a (re)subscription: events may have been lost, so compare with the index."""
        await self._notify_listeners(None, code)
        room = self.rooms.get(code)
        if room is None:
            return
        self.counters["resyncs"] += 1
        session = await self.store.get_session(code)
        if session is None or session.status == "ended":
            await self._on_event(StoreEvent("ended", code))
            return
        entries = await self.store.list_cells(code)
        for member in list(room.students):
            if member.joining:
                member.missed = True
                continue
            self._catch_up(member, entries)
        self._schedule_roster(room)

    # other listeners of store events (follow rooms) ----------------------------------------------
    def add_event_listener(self, listener: StoreListener) -> Callable[[], None]:
        """Let ``listener`` see the store events of subscribed sessions; returns its remover.

        Events arrive only for sessions the store is subscribed to: those with a JSON-protocol
        member on this server, and those held with :meth:`hold_session`."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    async def hold_session(self, code: str) -> None:
        """Keep the store subscribed to ``code`` until a matching :meth:`release_session`
        (counted), whether or not JSON-protocol members are connected. Returns once subscribed:
        a caller that reads the index afterwards misses no event."""
        async with self._room_lock:
            count = self._held.get(code, 0)
            if count == 0 and code not in self.rooms:
                await self.store.subscribe(code)
            self._held[code] = count + 1

    async def release_session(self, code: str) -> None:
        async with self._room_lock:
            count = self._held.get(code, 0) - 1
            if count > 0:
                self._held[code] = count
                return
            self._held.pop(code, None)
            if code not in self.rooms:
                await self.store.unsubscribe(code)

    async def _notify_listeners(self, event: StoreEvent | None, resync: str | None) -> None:
        for listener in list(self._listeners):
            try:
                if event is not None:
                    await listener.on_store_event(event)
                elif resync is not None:
                    await listener.on_store_resync(resync)
            except Exception:
                self.log.exception("notebook-sync: a store event listener failed")

    # status --------------------------------------------------------------------------------------
    async def store_health(self) -> dict[str, Any]:
        health = dict(await self.store.health())
        health.setdefault("kind", self.store.kind)
        if health.get("ok"):
            try:
                health["sessions"] = await self.store.count_sessions()
            except StoreUnavailable as exc:
                health.update(ok=False, error=str(exc))
        return health

    def local_counts(self) -> dict[str, int]:
        return {
            "rooms": len(self.rooms),
            "connections": len(self.members),
            "teachers": sum(len(r.teachers) for r in self.rooms.values()),
            "students": sum(len(r.students) for r in self.rooms.values()),
            **self.counters,
        }


def _unchanged(
    current: CellRecord,
    source: str,
    cell_type: str | None,
    metadata: dict[str, Any] | None,
    sync_allowed: bool | None,
    index: int | None,
) -> bool:
    return (
        current.source == source
        and (cell_type is None or cell_type == current.cell_type)
        and (metadata is None or metadata == current.metadata)
        and (sync_allowed is None or sync_allowed == current.sync_allowed)
        and (index is None or index == current.index)
    )


def _hunk(h: ConflictHunk) -> dict[str, int]:
    return {
        "base_start": h.base_start,
        "base_end": h.base_end,
        "mine_start": h.mine_start,
        "mine_end": h.mine_end,
        "theirs_start": h.theirs_start,
        "theirs_end": h.theirs_end,
    }
