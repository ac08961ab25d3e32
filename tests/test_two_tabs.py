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


@pytest.mark.parametrize("use_ydoc", [True, False], ids=["ydoc", "json"])
async def test_a_persons_other_tabs_hear_what_one_tab_did(
    nbsync_server_factory: Any, connect: Any, use_ydoc: bool
) -> None:
    """The teacher's other tab is told what the server now holds of a pushed cell (its
    "changed since push" and auto-push compare with that), a student's other tab that a cell
    was pulled (its badge goes); nobody else hears either."""
    server = nbsync_server_factory(use_ydoc=use_ydoc)
    teacher: TeacherClient = await connect(server, TeacherClient)
    created = await teacher.create_session("tabs")
    code = created["session_code"]
    teacher2: TeacherClient = await connect(server, TeacherClient)
    await teacher2.resume_session(code, created["teacher_key"])
    ada: StudentClient = await connect(server, StudentClient)
    await ada.join(code, name="Ada")
    ada2: StudentClient = await connect(server, StudentClient)
    await ada2.join(code, name="Ada", student_key=ada.student_key)
    bob: StudentClient = await connect(server, StudentClient)
    await bob.join(code, name="Bob")

    ack = await teacher.push_cell("c", "x = 1\n")
    pushed = await teacher2.next_message("cell_pushed")
    assert pushed == {"type": "cell_pushed", "cell_id": "c", "seq": ack["seq"], "source": "x = 1\n"}
    for tab in (ada, ada2, bob):
        await tab.wait_for_update("c", 0)
    reply = await ada.request("request_sync", cell_id="c")
    assert reply["status"] == "fast_forward"
    pulled = await ada2.next_message("cell_pulled")
    assert pulled == {"type": "cell_pulled", "cell_id": "c", "seq": ack["seq"]}
    with pytest.raises(SyncError) as again:  # the other tab has nothing left to pull
        await ada2.request("request_sync", cell_id="c")
    assert again.value.code == "no_update"
    # Bob's own pull still applies; nobody else heard Ada's or the pusher's own events
    assert (await bob.request("request_sync", cell_id="c"))["status"] == "fast_forward"
    await teacher.request("ping")
    await bob.request("ping")
    await ada.request("ping")
    assert not [m for m in teacher.history if m["type"] == "cell_pushed"]
    assert not [m for m in bob.history if m["type"] in ("cell_pulled", "cell_pushed")]
    assert [m for m in ada.history if m["type"] == "cell_pulled"] == []  # Bob's pull
