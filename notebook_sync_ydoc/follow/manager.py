"""The follow rooms of one server: who may follow (admission), rooms by session code, and the
store events that feed them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..protocol import CLOSE_SESSION_ENDED, CLOSE_SHUTDOWN, ProtocolError
from ..store import StoreEvent, StoreUnavailable
from .admission import Admission, FollowRefused
from .room import Follower, FollowRoom, FollowTransport

if TYPE_CHECKING:
    from ..session import SyncService

__all__ = ["FollowManager"]

# the HTTP status of a refused follow handshake, by the protocol's error code
REFUSAL_STATUS = {
    "session_not_found": 404,
    "forbidden": 403,
    "session_ended": 410,
    "rate_limited": 429,
}


class FollowManager:
    """The follow rooms of this server: admission, rooms by code, store events to rooms.

    ``start()`` registers with the service; ``stop()`` closes every follower and room."""

    def __init__(
        self, service: SyncService, log: logging.Logger, *, load_timeout: float = 10.0
    ) -> None:
        self.service = service
        self.log = log
        self.load_timeout = load_timeout
        self.rooms: dict[str, FollowRoom] = {}
        self.counters: dict[str, int] = dict.fromkeys(
            (
                "admitted",
                "refused",
                "reloads",
                "dropped_updates",
                "dropped_awareness",
                "message_errors",
            ),
            0,
        )
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._remove_listener: Callable[[], None] | None = None

    def start(self) -> None:
        if self._remove_listener is None:
            self._remove_listener = self.service.add_event_listener(self)

    async def stop(self) -> None:
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        for room in list(self.rooms.values()):
            for follower in list(room.followers):
                follower.transport.close(CLOSE_SHUTDOWN, "server shutting down")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for code, room in list(self.rooms.items()):
            del self.rooms[code]
            await room.stop()

    # admission ----------------------------------------------------------------------------------
    async def admit(self, code: str, key: str, identity: str) -> Admission:
        """Check that ``key`` is the teacher key or a student key of session ``code``, with the
        same checks and the same failure limit as joining (:class:`..session.access.Access`).
        Raises :class:`FollowRefused` (403 wrong or missing key, 404 no such session, 410
        ended, 429 too many failures, 503 store unavailable). Never logs the key."""
        try:
            holder = await self.service.access.key_holder(identity, code, key)
        except ProtocolError as exc:
            self.counters["refused"] += 1
            raise FollowRefused(REFUSAL_STATUS.get(exc.code, 403), exc.message) from exc
        except StoreUnavailable as exc:
            self.counters["refused"] += 1
            raise FollowRefused(503, "the session store is unreachable") from exc
        self.counters["admitted"] += 1
        session, student = holder.session, holder.student
        if student is None:
            return Admission(session.code, "teacher", None, "Teacher", identity)
        return Admission(session.code, "student", student.student_id, student.name, identity)

    # followers ----------------------------------------------------------------------------------
    async def attach(self, admission: Admission, transport: FollowTransport) -> Follower:
        """The follower's place in its session's room (started on first use), once the room
        has loaded (bounded by ``load_timeout``; it fills in later if the store is slow)."""
        code = admission.code
        async with self._lock:
            room = self.rooms.get(code)
            if room is None:
                await self.service.hold_session(code)  # subscribed before the first read
                room = FollowRoom(code, self.service, self.log, self.counters)
                self.rooms[code] = room
                try:
                    await room.start()
                except BaseException:
                    del self.rooms[code]
                    await room.stop()
                    await self.service.release_session(code)
                    raise
            follower = Follower(room, admission, transport)
            room.followers.add(follower)
        try:
            await asyncio.wait_for(room.loaded.wait(), self.load_timeout)
        except TimeoutError:
            self.log.warning("notebook-sync: follow room %s not loaded yet; serving anyway", code)
        return follower

    async def serve(self, follower: Follower) -> None:
        """Serve one follower until its connection closes, then detach it."""
        try:
            if follower.room.ended:
                follower.transport.close(CLOSE_SESSION_ENDED, "session ended")
            else:
                await follower.room.yroom.serve(follower)
        finally:
            await self._detach(follower)

    async def _detach(self, follower: Follower) -> None:
        room = follower.room
        room.followers.discard(follower)
        await room.forget(follower)
        async with self._lock:
            if room.followers or self.rooms.get(room.code) is not room:
                return
            del self.rooms[room.code]
        await room.stop()
        await self.service.release_session(room.code)

    def track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # store events (StoreListener) ---------------------------------------------------------------
    async def on_store_event(self, event: StoreEvent) -> None:
        room = self.rooms.get(event.code)
        if room is not None:
            room.notify(event)

    async def on_store_resync(self, code: str) -> None:
        room = self.rooms.get(code)
        if room is not None:
            room.reload()

    def status(self) -> dict[str, Any]:
        return {
            "rooms": len(self.rooms),
            "followers": sum(len(r.followers) for r in self.rooms.values()),
            **self.counters,
        }
