"""The session service: the one entry point of the use cases, independent of Tornado.

A transport (the websocket handler, or a test) wraps each connection in a :class:`Peer` and calls
:meth:`SyncService.connect`, :meth:`SyncService.handle` for each frame, and
:meth:`SyncService.disconnect`. The service keeps only this server's connections in memory;
everything shared lives in the store, whose events (hints) fan out here to this server's sockets
(:mod:`.fanout`). The use cases themselves are in :mod:`.teacher` and :mod:`.student`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..engines import CellEngine
from ..protocol import CLOSE_POLICY, Message, MessageValidator, ProtocolError
from ..protocol import messages as msg
from ..store import SessionGone, Store, StoreUnavailable
from .access import Access
from .context import Context, ServiceConfig
from .fanout import FanOut, StoreListener
from .help import HelpActions
from .limits import ConnectionBudget
from .members import Member, Peer
from .rooms import RoomRegistry
from .student import StudentActions
from .tasks import TaskSet
from .teacher import TeacherActions

STOP_GRACE_SECONDS = 5.0  # how long a stopping server tries to take its students offline

__all__ = ["Member", "Peer", "ServiceConfig", "StoreListener", "SyncService"]

Handler = Callable[[Member, Message], Awaitable[None]]


def _then(handler: Handler, after: Callable[[Member], Awaitable[None]]) -> Handler:
    """``handler``, then (when it succeeded) ``after`` for the same connection: what a
    resumed teacher (the help queue) or a joined student (their answers) is sent next."""

    async def both(member: Member, message: Message) -> None:
        await handler(member, message)
        await after(member)

    return both


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
        self.clock = clock
        self.clock_monotonic = time.monotonic
        self.validator = validator or MessageValidator()
        access = Access(
            store,
            clock,
            failures_per_minute=config.join_failures_per_minute,
            teacher_users=config.teacher_users,
            teacher_groups=config.teacher_groups,
            not_found_hint=config.not_found_hint,
        )
        self.ctx = Context(
            store, engine, config, log, clock, RoomRegistry(store), access, TaskSet(log)
        )
        self.access = access
        self.rooms = self.ctx.rooms
        self.counters = self.ctx.counters
        self.members: set[Member] = set()
        self.fanout = FanOut(self.ctx)
        self._started = False
        self._start_lock = asyncio.Lock()
        self._handlers = self._route(TeacherActions(self.ctx, self.fanout))
        store.set_handlers(self.fanout.on_event, self.fanout.on_resync)

    def _route(self, teacher: TeacherActions) -> dict[str, Handler]:
        feed = self.fanout.help
        helper = HelpActions(self.ctx, feed, self.fanout.progress)
        student = StudentActions(self.ctx, self.fanout, helper)
        handlers: dict[str, Handler] = {
            "create_session": teacher.create_session,
            "resume_session": _then(teacher.resume_session, feed.send_queue),
            "push_cell": teacher.push_cell,
            "toggle_sync": teacher.toggle_sync,
            "remove_cell": teacher.remove_cell,
            "reorder_cells": teacher.reorder_cells,
            "move_cell": teacher.move_cell,
            "end_session": teacher.end_session,
            "join_session": _then(student.join_session, feed.catch_up_student),
            "request_sync": student.request_sync,
            "preview": student.preview,
            "leave_session": student.leave_session,
            "help_request": helper.help_request,
            "help_withdraw": helper.help_withdraw,
            "help_answer": helper.help_answer,
            "help_list": helper.help_list,
            "progress": helper.progress_view,
            "roster": teacher.roster,
            "ping": self._ping,
        }
        missing = self.validator.types ^ set(handlers)
        if missing:
            raise RuntimeError(f"schema and service disagree on message types: {sorted(missing)}")
        return handlers

    # lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the store (idempotent; also called lazily by the handlers)."""
        async with self._start_lock:
            if not self._started:
                await self.store.start()
                self._started = True
                if self.store.presence_recheck > 0:
                    self.ctx.tasks.spawn(
                        self.fanout.watch_presence(self.store.presence_recheck), "presence recheck"
                    )

    async def ensure_started(self) -> None:
        if not self._started:
            await self.start()

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        await self._students_leave()
        await self.ctx.tasks.stop()
        await self.store.stop()

    async def _students_leave(self) -> None:
        """This server's students go offline on their teachers' rosters now (on other servers
        too, through the store), not when their presence runs out: a stopped server (JupyterHub
        stopping a student's server) is no crash. Bounded, as the store may be why we stop."""
        leaving = [m for m in self.members if m.role == "student"]
        if not leaving:
            return
        try:
            await asyncio.wait_for(
                asyncio.gather(*(self.disconnect(m) for m in leaving)), STOP_GRACE_SECONDS
            )
        except TimeoutError:
            self.log.warning(
                "notebook-sync: %d student(s) still online at stop (the store is slow); "
                "their presence runs out by itself",
                len(leaving),
            )

    def track(self, task: asyncio.Task[None]) -> None:
        """Keep a reference to a background task until it ends; stop() cancels it."""
        self.ctx.tasks.track(task)

    # transport entry points --------------------------------------------------------------------
    def connect(self, peer: Peer) -> Member:
        limits = self.config.rate_limits
        budget = ConnectionBudget(limits, self.clock_monotonic) if limits is not None else None
        member = Member(peer=peer, budget=budget)
        self.members.add(member)
        return member

    async def disconnect(self, member: Member) -> None:
        self.members.discard(member)
        try:
            await self.rooms.leave(member)
        except StoreUnavailable as exc:
            self.log.warning("notebook-sync: leave on disconnect failed: %s", exc)

    async def handle(self, member: Member, raw: str | bytes) -> None:
        """Answer one frame. Never raises: every failure becomes an ``error`` reply."""
        req_id: str | None = None
        if member.budget is not None and not member.budget.admit(len(raw)):
            self._refuse_flood(member)
            return
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
            self._fail(member, exc.code, exc.message, req_id or exc.req_id)
        except SessionGone:
            self._fail(member, "session_not_found", "the session no longer exists", req_id)
        except StoreUnavailable as exc:
            self.log.warning("notebook-sync: store unavailable: %s", exc)
            self._fail(
                member,
                "store_unavailable",
                "the session store is unreachable; nothing was changed, try again",
                req_id,
            )
        except Exception:
            self.log.exception("notebook-sync: internal error handling a message")
            self._fail(member, "internal", "internal server error (logged)", req_id)

    def _refuse_flood(self, member: Member) -> None:
        """A frame past the connection's budget: refused unread; a connection that keeps on
        is closed (it may reconnect, with a fresh budget, once it has slowed down)."""
        assert member.budget is not None and self.config.rate_limits is not None
        self.counters["rate_limited"] += 1
        if member.budget.abusive:
            self.log.warning(
                "notebook-sync: closing connection %s: it kept sending past its rate limit",
                member.peer.conn_id,
            )
            member.peer.close(CLOSE_POLICY, "too many messages; slow down")
            return
        limits = self.config.rate_limits
        self._fail(
            member,
            "rate_limited",
            f"too many messages: at most {limits.messages_per_second:g} a second "
            f"({limits.message_burst} at once); this one was not read",
            None,
        )

    def _fail(self, member: Member, code: str, message: str, req_id: str | None) -> None:
        self.counters["errors"] += 1
        member.send(msg.error_message(code, message, req_id))

    async def _ping(self, member: Member, message: Message) -> None:
        self.ctx.reply(member, message, msg.pong())

    # other listeners of store events (follow rooms) ----------------------------------------------
    def add_event_listener(self, listener: StoreListener) -> Callable[[], None]:
        """Let ``listener`` see the store events of subscribed sessions; returns its remover.

        Events arrive only for sessions the store is subscribed to: those with a JSON-protocol
        member on this server, and those held with :meth:`hold_session`."""
        return self.fanout.add_listener(listener)

    async def hold_session(self, code: str) -> None:
        """Keep the store subscribed to ``code`` until a matching :meth:`release_session`
        (counted), whether or not JSON-protocol members are connected. Returns once subscribed:
        a caller that reads the index afterwards misses no event."""
        await self.rooms.hold(code)

    async def release_session(self, code: str) -> None:
        await self.rooms.release(code)

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
        rooms = list(self.rooms)
        return {
            "rooms": len(rooms),
            "connections": len(self.members),
            "teachers": sum(len(r.teachers) for r in rooms),
            "students": sum(len(r.students) for r in rooms),
            **self.counters,
        }
