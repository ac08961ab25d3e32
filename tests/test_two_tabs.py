"""Two tabs of one student (two connections presenting one student key) pull the same cell at
the same instant, round after round, on a server whose store really waits (Redis): exactly one
pull applies the teacher's change, the other is told there is nothing new. Without the
server's per-student, per-cell serialization both fast-forwarded, and a collaborative notebook
showed the change twice."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from notebook_sync_ydoc.clients import StudentClient, SyncError, TeacherClient

pytestmark = pytest.mark.redis
ROUNDS = 40


async def test_two_tabs_pulling_at_once_apply_the_change_once(
    nbsync_server_factory: Any, redis_url: str, redis_prefix: str, connect: Any
) -> None:
    server = nbsync_server_factory(redis_url=redis_url, key_prefix=redis_prefix)
    teacher: TeacherClient = await connect(server, TeacherClient)
    code = (await teacher.create_session("tabs"))["session_code"]
    first: StudentClient = await connect(server, StudentClient)
    await first.join(code, name="Ada")
    second: StudentClient = await connect(server, StudentClient)
    await second.join(code, name="Ada", student_key=first.student_key)
    applied = []
    for k in range(ROUNDS):
        ack = await teacher.push_cell("c", f"x = {k}\n")
        await first.wait_for_update("c", ack["seq"] - 1)
        await second.wait_for_update("c", ack["seq"] - 1)
        replies = await asyncio.gather(
            first.request("request_sync", cell_id="c"),
            second.request("request_sync", cell_id="c"),
            return_exceptions=True,
        )
        ok = [r for r in replies if isinstance(r, dict)]
        refused = [r for r in replies if isinstance(r, SyncError)]
        assert len(ok) == 1 and [e.code for e in refused] == ["no_update"], replies
        applied.append(ok[0]["status"])
    assert set(applied) == {"fast_forward"}
