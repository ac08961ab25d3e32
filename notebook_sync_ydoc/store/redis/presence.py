"""Presence of students: the ``session:{CODE}:presence`` sorted set and this server's heartbeat.

Each ``set(online=True)`` adds a member ``[student_id, server_id, conn_id]`` scored
``now + lifetime`` (Redis server time, so server clocks do not matter); a heartbeat task
re-scores this server's connections every ``interval``. A killed server stops heartbeating and
its students go offline after at most ``lifetime``. :meth:`Presence.withdraw` (called by the
store's ``stop()``) removes this server's members at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import redis.asyncio as aioredis

from ..base import SessionGone, StoreError
from .connection import RedisConnection
from .keys import KeySpace
from .records import compact_json, text

log = logging.getLogger(__name__)


class Presence:
    """This server's presence members, their heartbeat, and who is online in a session."""

    def __init__(
        self,
        conn: RedisConnection,
        keys: KeySpace,
        server_id: str,
        *,
        interval: float,
        lifetime: float,
    ) -> None:
        self._conn = conn
        self._keys = keys
        self._server_id = server_id
        self.interval = interval
        self.lifetime = lifetime
        self.local: dict[str, set[str]] = {}  # code -> members on this server
        self.task: asyncio.Task[None] | None = None  # the heartbeat, while started

    @property
    def _lifetime_ms(self) -> int:
        return int(self.lifetime * 1000)

    def member(self, student_id: str, conn_id: str) -> str:
        return compact_json([student_id, self._server_id, conn_id])

    async def mark(self, code: str, student_id: str, conn_id: str, online: bool) -> None:
        """Mark one connection online or offline; SessionGone when going online in none."""
        member = self.member(student_id, conn_id)
        keys = [self._keys.session(code), self._keys.presence(code)]
        args = [member, "1" if online else "0", self._lifetime_ms]
        status = text(await self._conn.run("set_presence", keys, args))
        if status == "gone":
            raise SessionGone(f"session {code} does not exist")
        local = self.local.setdefault(code, set())
        if online:
            local.add(member)
        else:
            local.discard(member)
            if not local:
                del self.local[code]

    async def online(self, code: str) -> set[str]:
        """The ids of the students of ``code`` with a live member on any server."""
        members = await self._conn.run("online", [self._keys.presence(code)], [])
        out = set()
        for m in members:
            try:
                out.add(str(json.loads(text(m))[0]))
            except (ValueError, IndexError, TypeError):
                log.warning("redis store: ignoring a malformed presence member in %s", code)
        return out

    async def heartbeat(self) -> None:
        """Re-score this server's members (the heartbeat task calls this)."""
        for code, members in list(self.local.items()):
            if not members:
                continue
            keys = [self._keys.session(code), self._keys.presence(code)]
            n = await self._conn.run("heartbeat", keys, [self._lifetime_ms, *sorted(members)])
            if int(n) == 0:
                # the session is gone: nothing to keep online
                self.local.pop(code, None)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.heartbeat()
            except StoreError as exc:
                log.warning("redis store: presence heartbeat failed: %s", exc)
            except Exception:
                log.exception("redis store: unexpected error in the presence heartbeat")

    # lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the heartbeat task (idempotent)."""
        if self.task is None:
            self.task = asyncio.create_task(self._heartbeat_loop(), name="nbsync-redis-presence")

    async def stop(self) -> None:
        """Stop the heartbeat; this server's members stay until :meth:`withdraw`."""
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def withdraw(self) -> None:
        """Remove this server's members now: its students go offline at once."""
        for code, members in list(self.local.items()):
            if not members:
                continue
            key = self._keys.presence(code)

            async def clear(
                client: aioredis.Redis, key: str = key, gone: set[str] = members
            ) -> None:
                await client.zrem(key, *sorted(gone))

            try:
                await self._conn.call(key, clear)
            except StoreError as exc:
                log.warning("redis store: could not clear presence of %s at stop: %s", code, exc)
        self.local.clear()
