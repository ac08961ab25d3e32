"""Help requests and pull marks in Redis: a mixin of :class:`~.store.RedisStore`.

Both live in the student's hash (``student:{CODE}:<student_id>``): ``h:<cell_id>`` the request
as JSON (``HelpRequest.to_json``), ``m:<cell_id>`` the last pull mark. So they have the
student's lifetime, which is the session's (every session script refreshes it), are in the
session's slot (Redis Cluster), and go when the session goes. Every write is one Lua script
(``lua/put_help.lua``, ``lua/delete_help.lua``, ``lua/mark_pull.lua``) given every key it
touches; the help scripts publish ``help`` (student id and cell id, never content) in the same
step.
"""

from __future__ import annotations

from ..base import HelpRequest, PullMark, SessionGone, StoreError
from .connection import RedisConnection
from .keys import KeySpace
from .members import SessionScripts
from .records import RawHash, compact_json, help_requests, mark_json, text


class RedisHelp:
    """The help and progress operations of the :class:`~..base.Store` interface on Redis."""

    keys: KeySpace
    _conn: RedisConnection
    _scripts: SessionScripts

    async def mark_pull(self, code: str, student_id: str, cell_id: str, mark: PullMark) -> None:
        own = self.keys.student(code, student_id)
        args = [student_id, cell_id, mark_json(mark)]
        status = text(await self._scripts.run("mark_pull", code, own, args))
        if status == "gone":
            raise SessionGone(f"session {code} does not exist")
        if status == "unknown":
            raise StoreError(f"unknown student in session {code}")

    async def put_help(self, code: str, request: HelpRequest, expect_id: str | None = None) -> bool:
        own = self.keys.student(code, request.student_id)
        args = [
            request.student_id,
            request.cell_id,
            compact_json(request.to_json()),
            expect_id or "",
        ]
        status = text(await self._scripts.run("put_help", code, own, args))
        if status == "gone":
            raise SessionGone(f"session {code} does not exist")
        if status == "ended":
            raise SessionGone(f"session {code} has ended")
        if status == "unknown":
            raise StoreError(f"unknown student in session {code}")
        return status == "ok"

    async def delete_help(
        self, code: str, student_id: str, cell_id: str, expect_id: str | None = None
    ) -> bool:
        own = self.keys.student(code, student_id)
        args = [student_id, cell_id, expect_id or ""]
        status = text(await self._scripts.run("delete_help", code, own, args))
        if status == "gone":
            raise SessionGone(f"session {code} does not exist")
        if status == "ended":
            raise SessionGone(f"session {code} has ended")
        return status == "ok"

    async def get_help(self, code: str, student_id: str, cell_id: str) -> HelpRequest | None:
        key = self.keys.student(code, student_id)
        field = f"h:{cell_id}"
        raw = await self._conn.call(key, lambda c: c.hget(key, field))
        if raw is None:
            return None
        return help_requests({field.encode(): raw.encode() if isinstance(raw, str) else raw})[0]

    async def list_help(self, code: str, student_id: str | None = None) -> list[HelpRequest]:
        if student_id is not None:
            keys = [self.keys.student(code, student_id)]
        else:
            ids = await self._conn.zrange_withscores(self.keys.students(code), 0, -1)
            keys = [self.keys.student(code, text(sid)) for sid, _score in ids]
        if not keys:
            return []
        hashes: list[RawHash] = await self._conn.pipelined(keys, lambda p, k: p.hgetall(k))
        out = [r for h in hashes for r in help_requests(h)]
        out.sort(key=lambda r: (r.opened, r.student_id, r.cell_id))
        return out
