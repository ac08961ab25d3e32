"""Many Jupyter servers share one session through a real Redis (docs/architecture.md, "Store"
and "Delivery"): cross-server flow, a killed student server, a Redis outage, a lost pub/sub
message, bad data in the store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import Connector
from redis_fixtures import RedisServer

from notebook_sync_ydoc.clients import StudentClient, SyncError, TeacherClient
from notebook_sync_ydoc.testing import JupyterServerProcess

pytestmark = pytest.mark.redis

Factory = Callable[..., JupyterServerProcess]


def pair(
    factory: Factory, url: str, prefix: str, **student_options: Any
) -> tuple[JupyterServerProcess, JupyterServerProcess]:
    """A teacher's server and a student's server, as JupyterHub gives two users."""
    teacher = factory(redis_url=url, key_prefix=prefix)
    student = factory(redis_url=url, key_prefix=prefix, **{"use_ydoc": True, **student_options})
    return teacher, student


async def test_a_session_spans_two_servers(
    nbsync_server_factory: Factory, redis_url: str, redis_prefix: str, connect: Connector
) -> None:
    a, b = pair(nbsync_server_factory, redis_url, redis_prefix)
    status = await asyncio.to_thread(b.status)
    assert status["store"]["kind"] == "redis" and status["store"]["ok"] is True
    teacher: TeacherClient = await connect(a, TeacherClient)
    code = (await teacher.create_session("two servers"))["session_code"]
    await teacher.push_cell("intro", "# Hello\n", cell_type="markdown", index=0)
    ada: StudentClient = await connect(b, StudentClient)
    joined = await ada.join(code, name="Ada")
    assert [c["cell_id"] for c in joined["cells"]] == ["intro"]
    await ada.wait_for_update("intro")
    roster = await teacher.next_message("roster_update")
    assert [s["name"] for s in roster["students"]] == ["Ada"]

    # a notification crosses servers; a clean merge with Ada's own edit
    ack = await teacher.push_cell("code", "a = 1\nb = 2\nc = 3\n", index=1)
    await ada.wait_for_update("code")
    await ada.pull("code")
    ada.edit_cell("code", "a = 1\nb = 2\nc = 30\n")
    ack = await teacher.push_cell("code", "a = 10\nb = 2\nc = 3\n")
    await ada.wait_for_update("code", ack["seq"] - 1)
    assert (await ada.pull("code"))["status"] == "merged"
    assert ada.source("code") == "a = 10\nb = 2\nc = 30\n"

    # toggles and removals cross servers
    await teacher.toggle_sync("code", False)
    update = await ada.next_message("sync_allowed_update")
    assert update["cell_id"] == "code" and update["sync_allowed"] is False
    with pytest.raises(SyncError) as info:
        await ada.pull("code")
    assert info.value.code == "sync_not_allowed"
    await teacher.remove_cell("intro")
    assert (await ada.next_message("cell_removed"))["cell_id"] == "intro"

    # the teacher resumes on the student's server too (another tab, another machine)
    again: TeacherClient = await connect(b, TeacherClient)
    assert teacher.teacher_key is not None
    resumed = await again.resume_session(code, teacher.teacher_key)
    assert [c["cell_id"] for c in resumed["cells"]] == ["code"]

    await teacher.end_session()
    assert (await ada.next_message("session_ended"))["session_code"] == code


async def test_servers_of_both_modes_share_a_session(
    nbsync_server_factory: Factory, redis_url: str, redis_prefix: str, connect: Connector
) -> None:
    """A YDoc-mode teacher server and a JSON-mode student server: the JSON content is always
    stored, so the same merge result comes out."""
    a, b = pair(nbsync_server_factory, redis_url, redis_prefix, use_ydoc=False)
    assert (await asyncio.to_thread(b.status))["mode"] == "json"
    teacher: TeacherClient = await connect(a, TeacherClient)
    code = (await teacher.create_session())["session_code"]
    await teacher.push_cell("c", "x = 1\ny = 2\nz = 3\n")
    student: StudentClient = await connect(b, StudentClient)
    await student.join(code)
    await student.wait_for_update("c")
    await student.pull("c")
    student.edit_cell("c", "x = 1\ny = 2\nz = 30\n")
    ack = await teacher.push_cell("c", "x = 10\ny = 2\nz = 3\n")
    await student.wait_for_update("c", ack["seq"] - 1)
    reply = await student.pull("c")
    assert reply["status"] == "merged" and student.source("c") == "x = 10\ny = 2\nz = 30\n"


async def test_killed_student_server_comes_back_with_everything(
    nbsync_server_factory: Factory, redis_url: str, redis_prefix: str, connect: Connector
) -> None:
    a, b = pair(nbsync_server_factory, redis_url, redis_prefix)
    teacher: TeacherClient = await connect(a, TeacherClient)
    code = (await teacher.create_session())["session_code"]
    await teacher.push_cell("c", "def f():\n    return 1\n\n\nprint(f())\n")
    student: StudentClient = await connect(b, StudentClient)
    await student.join(code, name="Grace")
    await student.wait_for_update("c")
    await student.pull("c")
    key = student.student_key
    student.edit_cell("c", "def f():\n    return 1\n\n\nprint(f() + 1)\n")  # Grace's own edit

    b.kill()  # SIGKILL: no shutdown hooks, connections cut
    await asyncio.wait_for(student.closed.wait(), 10)
    missed = []
    for i in range(3):
        missed.append(await teacher.push_cell(f"new{i}", f"n = {i}\n"))
    ack = await teacher.push_cell("c", "def f():\n    return 2\n\n\nprint(f())\n")
    killed_at = time.monotonic()
    b.start()
    restarted_in = time.monotonic() - killed_at

    back: StudentClient = await connect(b, StudentClient)
    back.notebook = student.notebook  # the student's own notebook survived in the browser
    back.cells = student.cells
    joined = await back.join(code, student_key=key)
    assert joined["resumed"] is True and joined["name"] == "Grace"
    for i in range(3):
        assert await back.wait_for_update(f"new{i}") == missed[i]["seq"]
    await back.wait_for_update("c", ack["seq"] - 1)
    reply = await back.pull("c")
    assert reply["status"] == "merged", "the merge base survived the crash"
    assert back.source("c") == "def f():\n    return 2\n\n\nprint(f() + 1)\n"
    assert restarted_in < 60
    print(f"\n[figures] kill -9: server back and answering in {restarted_in:.2f} s")


async def test_redis_outage_answers_errors_then_recovers(
    nbsync_server_factory: Factory, redis_server: RedisServer, redis_prefix: str, connect: Connector
) -> None:
    """Redis (appendonly on) stops and starts again: pushes during the outage answer
    store_unavailable within seconds; afterwards everything works and nothing accepted is lost."""
    a, b = pair(nbsync_server_factory, redis_server.url, redis_prefix)
    teacher: TeacherClient = await connect(a, TeacherClient)
    code = (await teacher.create_session())["session_code"]
    student: StudentClient = await connect(b, StudentClient)
    await student.join(code)
    before = await teacher.push_cell("kept", "accepted = True\n")
    await student.wait_for_update("kept")

    redis_server.stop()
    started = time.monotonic()
    with pytest.raises(SyncError) as info:
        await teacher.push_cell("lost", "never stored\n")
    failed_in = time.monotonic() - started
    assert info.value.code == "store_unavailable"
    assert failed_in < 5, f"the push hung for {failed_in:.1f} s"
    assert "nothing was changed" in info.value.message
    status = await asyncio.to_thread(a.status)
    assert status["store"]["ok"] is False
    assert (await teacher.request("ping"))["type"] == "pong", "the connection is still usable"

    redis_server.start()  # returns once Redis answers PING
    back_at = time.monotonic()
    deadline = back_at + 20
    while True:  # the servers reconnect by themselves
        try:
            after = await teacher.push_cell("after", "back = True\n")
            break
        except SyncError as exc:
            assert exc.code == "store_unavailable" and time.monotonic() < deadline
            await asyncio.sleep(0.2)  # retry pacing, not synchronisation
    recovered_in = time.monotonic() - back_at
    await student.wait_for_update("after")
    assert (await student.pull("kept"))["content"]["source"] == "accepted = True\n"
    assert (await student.pull("after"))["seq"] == after["seq"] > before["seq"]
    with pytest.raises(SyncError) as gone:
        await student.pull("lost")
    assert gone.value.code == "cell_not_found", "a refused push left nothing half-written"
    assert recovered_in < 30
    print(
        f"\n[figures] Redis outage: push refused in {failed_in * 1000:.1f} ms; first push "
        f"accepted {recovered_in * 1000:.0f} ms after Redis answered again"
    )


async def test_lost_pubsub_message_is_caught_up(
    nbsync_server_factory: Factory, redis_url: str, redis_prefix: str, connect: Connector
) -> None:
    """The student's server loses its subscriber connection while the teacher pushes: the
    message is gone (pub/sub is at-most-once), the re-subscribe catch-up delivers it."""
    a, b = pair(nbsync_server_factory, redis_url, redis_prefix, redis_reconnect_delay=1.5)
    teacher: TeacherClient = await connect(a, TeacherClient)
    code = (await teacher.create_session())["session_code"]
    student: StudentClient = await connect(b, StudentClient)
    await student.join(code)
    resyncs_before = (await asyncio.to_thread(b.status))["server"]["resyncs"]

    import redis

    raw = redis.Redis.from_url(redis_url)
    killed = raw.client_kill_filter(_type="pubsub")
    raw.close()
    assert killed >= 1
    ack = await teacher.push_cell("during", "published while nobody listened\n")
    lost_at = time.monotonic()
    seq = await student.wait_for_update("during", timeout=15)
    caught_up_in = time.monotonic() - lost_at
    assert seq == ack["seq"]
    print(f"\n[figures] lost pub/sub message delivered by the catch-up {caught_up_in:.2f} s later")
    status = await asyncio.to_thread(b.status)
    assert status["server"]["resyncs"] > resyncs_before, "delivered by the catch-up"


async def test_bad_data_in_the_store_answers_internal(
    nbsync_server_factory: Factory, redis_url: str, redis_prefix: str, connect: Connector
) -> None:
    """A corrupted record (someone edited Redis by hand) is an internal error for that request
    only: logged on the server, no traceback to the client, the connection stays usable."""
    server = nbsync_server_factory(redis_url=redis_url, key_prefix=redis_prefix)
    teacher: TeacherClient = await connect(server, TeacherClient)
    code = (await teacher.create_session())["session_code"]
    await teacher.push_cell("c", "x = 1\n")
    student: StudentClient = await connect(server, StudentClient)
    await student.join(code)
    import redis

    raw = redis.Redis.from_url(redis_url)
    raw.hset(f"{redis_prefix}pending_update:{{{code}}}:c", "metadata", "{not json")
    raw.close()
    with pytest.raises(SyncError) as info:
        await student.pull("c")
    assert info.value.code == "internal"
    assert "Traceback" not in info.value.message
    assert (await student.request("ping"))["type"] == "pong"
    assert "Traceback" in server.log_text()


async def test_password_never_logged_or_shown(
    nbsync_server_factory: Factory, make_redis_server: Callable[..., RedisServer], tmp_path: Path
) -> None:
    secret = "s3cret-pa55word"
    redis_with_auth = make_redis_server(password=secret, appendonly=False)
    server = nbsync_server_factory(redis_url=redis_with_auth.url)
    status = await asyncio.to_thread(server.status)
    assert status["store"]["ok"] is True
    assert secret not in str(status)
    assert secret not in server.log_text()
    assert "***" in server.log_text()


async def test_two_teacher_tabs_on_two_servers_alternate_pushes(
    nbsync_server_factory: Factory, redis_url: str, redis_prefix: str, connect: Connector
) -> None:
    """Each server writes a teacher's push against the last record it wrote; a push from the
    other server in between is caught by the store's seq check and rebased, never lost."""
    a, b = pair(nbsync_server_factory, redis_url, redis_prefix)
    tab1: TeacherClient = await connect(a, TeacherClient)
    code = (await tab1.create_session())["session_code"]
    assert tab1.teacher_key is not None
    tab2: TeacherClient = await connect(b, TeacherClient)
    await tab2.resume_session(code, tab1.teacher_key)
    seqs = []
    for i in range(6):  # no waiting between them: server a's record is often stale
        tab = tab1 if i % 2 == 0 else tab2
        seqs.append((await tab.push_cell("c", f"x = {i}\n"))["seq"])
    assert seqs == sorted(seqs) and len(set(seqs)) == 6
    await tab2.toggle_sync("c", False)
    again = await tab1.push_cell("c", "x = 5\n", sync_allowed=True)  # re-allow, same text
    assert "unchanged" not in again, "server a saw the toggle from server b"
    student: StudentClient = await connect(b, StudentClient)
    await student.join(code)
    await student.wait_for_update("c")
    reply = await student.pull("c")
    assert reply["content"]["source"] == "x = 5\n" and reply["seq"] == again["seq"]
