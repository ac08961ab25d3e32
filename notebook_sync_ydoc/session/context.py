"""What every use case shares: its dependencies (store, engine, limits, clock, rooms, access,
background tasks, counters) and the checks they all make."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..engines import CellEngine
from ..protocol import Message, ProtocolError
from ..protocol.messages import reply_to
from ..store import SessionRecord, Store, StoreEvent
from .access import Access
from .limits import RateLimits
from .members import Member, Role
from .rooms import RoomRegistry
from .tasks import TaskSet

__all__ = ["COUNTERS", "Context", "ServiceConfig"]

COUNTERS = ("pushes", "pulls", "conflicts", "errors", "resyncs", "rate_limited")


@dataclass
class ServiceConfig:
    max_message_bytes: int = 4 * 1024 * 1024
    max_source_bytes: int = 1024 * 1024
    max_cells_per_session: int = 1000
    max_output_bytes: int = 256 * 1024  # a cell's shared outputs (over it: placeholders)
    teacher_users: frozenset[str] = frozenset()
    teacher_groups: frozenset[str] = frozenset()
    join_failures_per_minute: int = 10
    code_length: int = 6
    roster_interval: float = 0.1  # at most one roster_update per room per interval
    # why a code may not be found here although it is right (a server that shares no store)
    not_found_hint: str = ""
    rate_limits: RateLimits | None = field(default_factory=RateLimits)  # None: unlimited


@dataclass(eq=False)
class Context:
    store: Store
    engine: CellEngine
    config: ServiceConfig
    log: logging.Logger
    clock: Callable[[], float]
    rooms: RoomRegistry
    access: Access
    tasks: TaskSet
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))

    def reply(self, member: Member, message: Message, payload: dict[str, Any]) -> None:
        """Send ``payload`` as the direct reply to ``message`` (echoing its ``req_id``)."""
        member.send(reply_to(message.req_id, payload))

    def require(self, member: Member, message: Message, role: Role) -> str:
        """The code of the session the member acts in as ``role`` (or not_in_session, forbidden)."""
        if member.code is None or member.role is None:
            raise ProtocolError("not_in_session", "this connection has not joined a session")
        wanted = message.data.get("session_code")
        if isinstance(wanted, str) and wanted.upper() != member.code:
            raise ProtocolError("not_in_session", f"this connection is not in session {wanted}")
        if member.role != role:
            raise ProtocolError("forbidden", f"only the {role} may send {message.type}")
        return member.code

    async def active_session(self, member: Member, code: str) -> SessionRecord:
        """The session, active; a member of an ended or expired one leaves its room."""
        session = await self.store.get_session(code)
        if session is None:
            await self.rooms.drop(member)
            raise ProtocolError("session_not_found", f"session {code} no longer exists")
        if session.status == "ended":
            await self.rooms.drop(member)
            raise ProtocolError("session_ended", f"session {code} has ended")
        return session

    def check_source(self, text: str, what: str) -> None:
        size = len(text.encode("utf-8"))
        if size > self.config.max_source_bytes:
            raise ProtocolError(
                "too_large",
                f"{what} of {size} bytes exceeds the limit of {self.config.max_source_bytes} bytes",
            )

    async def roster_changed(self, code: str) -> None:
        """Tell every server (this one included) that the session's roster changed."""
        await self.store.publish(StoreEvent("roster", code, origin=self.store.server_id))
