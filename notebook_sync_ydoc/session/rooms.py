"""This server's rooms: the connections of each session here, and the store subscriptions
they (and other holders, such as the follow rooms) keep open."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..store import CellRecord, Store, StoreEvent
from .members import Member, Role

__all__ = ["Room", "RoomRegistry"]


@dataclass(eq=False)
class Room:
    """The connections of one session on this server."""

    code: str
    teachers: set[Member] = field(default_factory=set)
    students: set[Member] = field(default_factory=set)
    roster_pending: bool = False
    # The roster last sent to the teachers here (student id -> row) and its version: a
    # roster_update carries what changed since (docs/architecture.md, "Protocol"). None: not
    # kept (no teacher here); the version keeps counting. One read-and-send at a time.
    roster_rows: dict[str, dict[str, Any]] | None = None
    roster_version: int = 0
    roster_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    online: frozenset[str] | None = None  # who was online at the last presence recheck
    # The last record this server wrote per cell: a teacher's next push writes against its seq
    # with no read first (a stale entry fails the store's seq check, and the push re-reads).
    # Kept coherent by the session's events; gone with the room.
    written: dict[str, CellRecord] = field(default_factory=dict)
    # student id -> that student's connections here (other_tabs runs on every pull: it is not
    # a walk over the whole class unless the student has more than one)
    tabs: dict[str, int] = field(default_factory=dict)

    @property
    def members(self) -> list[Member]:
        return [*self.teachers, *self.students]

    def other_tabs(self, member: Member) -> list[Member]:
        """The same person's other connections here: the teacher's other tabs (every teacher
        connection holds the one teacher key), or the student's (the same student key). Two
        tabs of one notebook are served by the server that holds the notebook, so this one."""
        if member.role == "teacher":
            return [m for m in self.teachers if m is not member]
        if member.student_id is None or self.tabs.get(member.student_id, 0) < 2:
            return []
        return [m for m in self.students if m is not member and m.student_id == member.student_id]


class RoomRegistry:
    """Rooms by session code. The store is subscribed to a session while it has a room here or
    a holder (:meth:`hold`); subscribing comes before any read of the index, so no event falls
    in between."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.rooms: dict[str, Room] = {}
        self._lock = asyncio.Lock()
        self._held: dict[str, int] = {}  # code -> holders keeping the store subscribed

    def get(self, code: str) -> Room | None:
        return self.rooms.get(code)

    def __iter__(self) -> Iterator[Room]:
        return iter(list(self.rooms.values()))

    def __len__(self) -> int:
        return len(self.rooms)

    async def enter(self, member: Member, code: str, role: Role, student_id: str | None) -> Room:
        """Put ``member`` in the room of ``code`` (leaving any other first)."""
        await self.leave(member)
        async with self._lock:
            room = self.rooms.get(code)
            if room is None:
                await self.store.subscribe(code)
                room = Room(code=code)
                self.rooms[code] = room
        member.code, member.role, member.student_id = code, role, student_id
        member.pulled, member.notified = {}, {}
        member.roster_version = -1
        if role == "teacher":
            room.teachers.add(member)
        elif member not in room.students:
            room.students.add(member)
            if student_id is not None:
                room.tabs[student_id] = room.tabs.get(student_id, 0) + 1
        return room

    async def drop(self, member: Member) -> Room | None:
        """Forget the member's place in its room (no store writes but unsubscribe)."""
        code, student_id = member.code, member.student_id
        room = self.rooms.get(code) if code else None
        member.code, member.role, member.student_id = None, None, None
        member.joining = member.missed = False
        member.roster_version = -1
        if room is None:
            return None
        room.teachers.discard(member)
        if not room.teachers:
            room.roster_rows = None  # kept for the teachers here only
        if member in room.students:
            room.students.discard(member)
            if student_id is not None:
                left = room.tabs.get(student_id, 1) - 1
                if left > 0:
                    room.tabs[student_id] = left
                else:
                    room.tabs.pop(student_id, None)
        if not room.teachers and not room.students:
            async with self._lock:
                if self.rooms.get(room.code) is room and not room.members:
                    del self.rooms[room.code]
                    if room.code not in self._held:
                        await self.store.unsubscribe(room.code)
        return room

    async def leave(self, member: Member) -> None:
        """Drop the member; a student also goes offline (and the roster changes)."""
        code, role, student_id = member.code, member.role, member.student_id
        if code is None:
            return
        await self.drop(member)
        if role == "student" and student_id is not None:
            await self.store.set_presence(code, student_id, member.peer.conn_id, False)
            await self.store.publish(StoreEvent("roster", code, origin=self.store.server_id))

    async def hold(self, code: str) -> None:
        """Keep the store subscribed to ``code`` until a matching :meth:`release` (counted),
        whether or not members are connected. Returns once subscribed."""
        async with self._lock:
            count = self._held.get(code, 0)
            if count == 0 and code not in self.rooms:
                await self.store.subscribe(code)
            self._held[code] = count + 1

    async def release(self, code: str) -> None:
        async with self._lock:
            count = self._held.get(code, 0) - 1
            if count > 0:
                self._held[code] = count
                return
            self._held.pop(code, None)
            if code not in self.rooms:
                await self.store.unsubscribe(code)
