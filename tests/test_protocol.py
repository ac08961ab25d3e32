"""The protocol (docs/architecture.md, "Protocol") over real websockets to real jupyter_server
processes, in YDoc and JSON mode: every message, every error code reachable without Redis,
roles and bad input."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from helpers import Connector, RawWebSocket, classroom
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from notebook_sync_ydoc.clients import StudentClient, SyncConnection, SyncError, TeacherClient
from notebook_sync_ydoc.testing import JupyterServerProcess


async def still_usable(conn: SyncConnection) -> None:
    """After an error the same connection answers the next request."""
    assert (await conn.request("ping"))["type"] == "pong"


async def expect_error(
    conn: SyncConnection, code: str, mtype: str, **fields: Any
) -> dict[str, Any]:
    with pytest.raises(SyncError) as info:
        await conn.request(mtype, **fields)
    assert info.value.code == code, info.value.reply
    assert info.value.reply["req_id"], "the error echoes req_id"
    await still_usable(conn)
    return info.value.reply


# --- the seed README's client, unchanged ---------------------------------------------------------


async def test_seed_client_examples_work_unchanged(
    server: JupyterServerProcess, connect: Connector
) -> None:
    """Frames exactly as the seed README wrote them: no req_id, no session_code on pushes."""
    teacher: SyncConnection = await connect(server)
    student: SyncConnection = await connect(server)

    await teacher.send({"type": "create_session"})
    created = await teacher.next_message("session_created")
    code = created["session_code"]
    assert len(code) >= 6

    await teacher.send(
        {
            "type": "push_cell",
            "cell_id": "cell_001",
            "content": {"source": 'print("Hello, students!")'},
            "metadata": {"sync_allowed": True},
        }
    )
    assert (await teacher.next_message("push_ack"))["cell_id"] == "cell_001"

    await student.send({"type": "join_session", "session_code": code})
    assert (await student.next_message("session_joined"))["session_code"] == code
    note = await student.next_message("update_available")
    assert note["cell_id"] == "cell_001" and isinstance(note["timestamp"], float)

    await student.send({"type": "request_sync", "cell_id": "cell_001"})
    update = await student.next_message("cell_content_update")
    assert update["content"]["source"] == 'print("Hello, students!")'

    await teacher.send({"type": "toggle_sync", "cell_id": "cell_001", "sync_allowed": False})
    assert (await teacher.next_message("sync_allowed_update"))["sync_allowed"] is False
    assert (await student.next_message("sync_allowed_update"))["sync_allowed"] is False

    await teacher.send({"type": "end_session"})
    assert (await teacher.next_message("session_ended"))["session_code"] == code
    assert (await student.next_message("session_ended"))["session_code"] == code


# --- one test per message ----------------------------------------------------------------------


async def test_create_session_returns_code_and_key(
    server: JupyterServerProcess, connect: Connector
) -> None:
    teacher: TeacherClient = await connect(server, TeacherClient)
    reply = await teacher.create_session("Week 1")
    assert reply["title"] == "Week 1"
    assert reply["mode"] == (
        "ydoc" if server is not None and server.options["use_ydoc"] else "json"
    )
    assert set(reply["session_code"]) <= set("23456789ABCDEFGHJKLMNPQRSTUVWXYZ")
    assert len(reply["teacher_key"]) >= 24


async def test_resume_session_from_a_second_connection(
    server: JupyterServerProcess, connect: Connector
) -> None:
    teacher, code, (student,) = await classroom(connect, server)
    await teacher.push_cell("c1", "a = 1\n")
    assert teacher.teacher_key is not None
    second: TeacherClient = await connect(server, TeacherClient)
    reply = await second.resume_session(code, teacher.teacher_key)
    assert reply["type"] == "session_resumed" and reply["status"] == "active"
    assert [c["cell_id"] for c in reply["cells"]] == ["c1"]
    roster = await second.next_message("roster_update")
    assert roster["full"] is True  # a resumed connection holds no roster yet
    assert [s["name"] for s in roster["students"]] == ["student0"]
    ack = await second.push_cell("c1", "a = 2\n")
    assert ack["seq"] > 1
    await student.wait_for_update("c1", 1)


async def test_push_cell_ack_seq_order_and_unchanged(
    server: JupyterServerProcess, connect: Connector
) -> None:
    teacher, code, (student,) = await classroom(connect, server)
    first = await teacher.push_cell("b", "x = 1\n", index=1)
    second = await teacher.push_cell("a", "# Title\n", cell_type="markdown", index=0)
    assert second["seq"] > first["seq"]
    again = await teacher.push_cell("b", "x = 1\n")
    assert again == {**again, "seq": first["seq"], "unchanged": True}
    late: StudentClient = await connect(server, StudentClient)
    joined = await late.join(code)
    assert [(c["cell_id"], c["cell_type"], c["index"]) for c in joined["cells"]] == [
        ("a", "markdown", 0),
        ("b", "code", 1),
    ]
    await student.wait_for_update("a")
    await student.wait_for_update("b")
    await student.pull_all()
    assert student.cell_ids() == ["a", "b"]


async def test_toggle_sync_locks_and_unlocks(
    server: JupyterServerProcess, connect: Connector
) -> None:
    teacher, _code, (student,) = await classroom(connect, server)
    await teacher.push_cell("c", "secret = 42\n", sync_allowed=False)
    await teacher.push_cell("open", "x = 1\n")
    await student.wait_for_update("open")
    assert "c" not in student.available, "a locked cell is never announced"
    await expect_error(student, "sync_not_allowed", "request_sync", cell_id="c")
    await expect_error(student, "sync_not_allowed", "preview", cell_id="c")
    reply = await teacher.toggle_sync("c", True)
    assert reply["sync_allowed"] is True
    await student.wait_for_update("c")
    assert (await student.pull("c"))["content"]["source"] == "secret = 42\n"


async def test_remove_cell(server: JupyterServerProcess, connect: Connector) -> None:
    teacher, _code, (student,) = await classroom(connect, server)
    await teacher.push_cell("gone", "x = 1\n")
    await student.wait_for_update("gone")
    reply = await teacher.remove_cell("gone")
    assert reply["type"] == "cell_removed"
    assert (await student.next_message("cell_removed"))["cell_id"] == "gone"
    await expect_error(student, "cell_not_found", "request_sync", cell_id="gone")
    await expect_error(teacher, "cell_not_found", "remove_cell", cell_id="gone")


async def test_end_session_reaches_everyone_and_stops_writes(
    server: JupyterServerProcess, connect: Connector
) -> None:
    teacher, code, (student,) = await classroom(connect, server)
    key = teacher.teacher_key
    await teacher.end_session()
    assert (await student.next_message("session_ended"))["session_code"] == code
    await expect_error(student, "not_in_session", "request_sync", cell_id="x")
    late: StudentClient = await connect(server, StudentClient)
    await expect_error(late, "session_ended", "join_session", session_code=code)
    again: TeacherClient = await connect(server, TeacherClient)
    await expect_error(again, "session_ended", "resume_session", session_code=code, teacher_key=key)


async def test_join_lists_cells_and_announces_each_unpulled_cell(
    server: JupyterServerProcess, connect: Connector
) -> None:
    teacher, code, _ = await classroom(connect, server, students=0)
    for i in range(3):
        await teacher.push_cell(f"c{i}", f"v = {i}\n", index=i)
    await teacher.push_cell("locked", "no\n", sync_allowed=False, index=3)
    student: StudentClient = await connect(server, StudentClient)
    joined = await student.join(code, name="Ada")
    assert joined["name"] == "Ada" and joined["resumed"] is False
    assert len(joined["student_key"]) >= 24
    assert [c["cell_id"] for c in joined["cells"]] == ["c0", "c1", "c2", "locked"]
    assert {c["cell_id"]: c["sync_allowed"] for c in joined["cells"]}["locked"] is False
    announced = [(await student.next_message("update_available"))["cell_id"] for _ in range(3)]
    assert announced == ["c0", "c1", "c2"]
    roster = await teacher.next_message("roster_update")
    assert [(s["name"], s["online"]) for s in roster["students"]] == [("Ada", True)]


async def test_rejoin_with_student_key_resumes_pulled_state(
    server: JupyterServerProcess, connect: Connector
) -> None:
    teacher, code, (student,) = await classroom(connect, server)
    await teacher.push_cell("a", "x = 1\n")
    await teacher.push_cell("b", "y = 1\n")
    await student.wait_for_update("b")
    await student.pull("a")
    key = student.student_key
    await student.close()
    await teacher.push_cell("b", "y = 2\n")
    back: StudentClient = await connect(server, StudentClient)
    joined = await back.join(code, student_key=key)
    assert joined["resumed"] is True and joined["name"] == "student0"
    pulled = {c["cell_id"]: c["pulled_seq"] for c in joined["cells"]}
    assert pulled["a"] > 0 and pulled["b"] == 0
    note = await back.next_message("update_available")
    assert note["cell_id"] == "b", "only what was not pulled is announced"
    with pytest.raises(asyncio.TimeoutError):
        await back.next_message("update_available", timeout=0.3)


async def test_students_sharing_one_identity_stay_apart(
    server: JupyterServerProcess, connect: Connector
) -> None:
    """A workshop on one token-protected server: every student is the same Jupyter user."""
    teacher, _code, (ada, bob) = await classroom(connect, server, students=2)
    assert ada.student_key != bob.student_key
    await teacher.push_cell("c", "x = 1\n")
    await ada.wait_for_update("c")
    await bob.wait_for_update("c")
    await ada.pull("c")
    await teacher.push_cell("c", "x = 2\n")
    await ada.wait_for_update("c", 1)
    bob_reply = await bob.pull("c")
    assert bob_reply["status"] == "fast_forward" and bob.source("c") == "x = 2\n"
    ada_reply = await ada.pull("c")
    assert ada_reply["status"] == "fast_forward" and ada.source("c") == "x = 2\n"


async def test_request_sync_statuses(server: JupyterServerProcess, connect: Connector) -> None:
    teacher, _code, (student,) = await classroom(connect, server)
    # the reply of clients before delta pulls (tests/test_delta_pulls.py has the others')
    student.delta_pulls = False
    base = "def f(x):\n    return x\n\n\nprint(f(1))\n"
    await teacher.push_cell("c", base)
    await student.wait_for_update("c")
    first = await student.pull("c")
    assert first["status"] == "fast_forward" and student.source("c") == base
    if server.options["use_ydoc"]:
        assert base64.b64decode(first["update"])
    else:
        assert "update" not in first

    # a clean merge: the student edits the last line, the teacher the first
    student.edit_cell("c", base.replace("print(f(1))", "print(f(2))"))
    await teacher.push_cell("c", base.replace("def f(x):", "def f(x: int):"))
    await student.wait_for_update("c", first["seq"])
    merged = await student.pull("c")
    assert merged["status"] == "merged"
    assert student.source("c") == "def f(x: int):\n    return x\n\n\nprint(f(2))\n"

    # nothing new
    await expect_error(student, "no_update", "request_sync", cell_id="c")

    # a conflict, resolved with "mine" then (after a new push) with "theirs"
    student.edit_cell("c", "def f(x: int):\n    return x + 1\n\n\nprint(f(2))\n")
    await teacher.push_cell("c", "def f(x: int):\n    return 2 * x\n\n\nprint(f(1))\n")
    await student.wait_for_update("c", merged["seq"])
    conflict = await student.pull("c")
    assert conflict["status"] == "conflict"
    assert conflict["mine"] == student.source("c")
    assert conflict["theirs"].startswith("def f(x: int):\n    return 2 * x")
    assert conflict["base"] == "def f(x: int):\n    return x\n\n\nprint(f(1))\n"
    assert conflict["conflicts"][0]["base_start"] == 1
    assert student.source("c") == "def f(x: int):\n    return x + 1\n\n\nprint(f(2))\n"
    kept = await student.pull("c", strategy="mine")
    assert kept["status"] == "kept"
    assert student.source("c") == "def f(x: int):\n    return x + 1\n\n\nprint(f(2))\n"

    await teacher.push_cell("c", "def f(x: int):\n    return 3 * x\n\n\nprint(f(1))\n")
    await student.wait_for_update("c", kept["seq"])
    assert (await student.pull("c"))["status"] == "conflict"
    replaced = await student.pull("c", strategy="theirs")
    assert replaced["status"] == "replaced"
    assert replaced["mine"] == "def f(x: int):\n    return x + 1\n\n\nprint(f(2))\n"
    assert student.source("c") == "def f(x: int):\n    return 3 * x\n\n\nprint(f(1))\n"


async def test_character_merge_never_invents_text(
    server: JupyterServerProcess, connect: Connector
) -> None:
    """x = 2 (student) and x = 3 (teacher) from x = 1 must conflict, never give x = 32."""
    teacher, _code, (student,) = await classroom(connect, server)
    await teacher.push_cell("c", "x = 1\n")
    await student.wait_for_update("c")
    await student.pull("c")
    student.edit_cell("c", "x = 2\n")
    ack = await teacher.push_cell("c", "x = 3\n")
    await student.wait_for_update("c", ack["seq"] - 1)
    reply = await student.pull("c")
    assert reply["status"] == "conflict"
    assert student.source("c") == "x = 2\n"


async def test_preview_changes_nothing(server: JupyterServerProcess, connect: Connector) -> None:
    teacher, _code, (student,) = await classroom(connect, server)
    await teacher.push_cell("c", "a = 1\nb = 2\nc = 3\n")
    await student.wait_for_update("c")
    preview = await student.preview("c")
    assert preview["type"] == "cell_preview" and preview["status"] == "fast_forward"
    assert preview["content"]["source"] == "a = 1\nb = 2\nc = 3\n"
    assert student.source("c") is None
    assert (await student.pull("c"))["status"] == "fast_forward", "preview recorded no pull"
    student.edit_cell("c", "a = 1\nb = 2\nc = 30\n")
    await teacher.push_cell("c", "a = 10\nb = 2\nc = 3\n")
    await student.wait_for_update("c", 1)
    shown = await student.preview("c")
    assert shown["status"] == "merged" and shown["source"] == "a = 10\nb = 2\nc = 30\n"
    assert student.source("c") == "a = 1\nb = 2\nc = 30\n"


async def test_leave_session_and_ping(server: JupyterServerProcess, connect: Connector) -> None:
    teacher, code, (student,) = await classroom(connect, server)
    await teacher.next_message("roster_update")
    reply = await student.leave()
    assert reply == {**reply, "type": "session_left", "session_code": code}
    await teacher.next_message("roster_update")
    assert [s["online"] for s in teacher.roster or []] == [False] and not teacher.roster_gaps
    await expect_error(student, "not_in_session", "request_sync", cell_id="x")
    await expect_error(student, "not_in_session", "leave_session")


async def test_roster_shows_pulls(server: JupyterServerProcess, connect: Connector) -> None:
    teacher, _code, (student,) = await classroom(connect, server)
    ack = await teacher.push_cell("c", "x = 1\n")
    await student.wait_for_update("c")
    await student.pull("c")
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        await teacher.next_message("roster_update")
        assert teacher.roster is not None and not teacher.roster_gaps
        if teacher.roster[0]["pulled"].get("c") == ack["seq"]:
            break
        assert asyncio.get_running_loop().time() < deadline


async def test_new_teacher_cells_go_in_teacher_order(
    server: JupyterServerProcess, connect: Connector
) -> None:
    teacher, _code, (student,) = await classroom(connect, server)
    await teacher.push_cell("first", "1\n", index=0)
    await teacher.push_cell("third", "3\n", index=2)
    await student.wait_for_update("third")
    await student.pull_all()
    student.edit_cell("own", "# my notes\n")
    await teacher.push_cell("second", "2\n", index=1)
    await student.wait_for_update("second")
    await student.pull("second")
    assert student.cell_ids() == ["first", "second", "third", "own"]


# --- error codes and bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "invalid_message"),
        ("[1, 2]", "invalid_message"),
        ('"just a string"', "invalid_message"),
        ('{"no_type": 1}', "invalid_message"),
        ('{"type": 7}', "invalid_message"),
        ('{"type": "launch_rockets"}', "unknown_type"),
        ('{"type": "push_cell", "cell_id": 5, "content": {"source": "x"}}', "invalid_message"),
        ('{"type": "push_cell", "cell_id": "c"}', "invalid_message"),
        ('{"type": "push_cell", "cell_id": "c", "content": {"source": 1}}', "invalid_message"),
        ('{"type": "toggle_sync", "cell_id": "c", "sync_allowed": "yes"}', "invalid_message"),
        ('{"type": "join_session", "session_code": "no"}', "invalid_message"),
        ('{"type": "join_session"}', "invalid_message"),
        ('{"type": "request_sync", "cell_id": "c", "strategy": "both"}', "invalid_message"),
        ('{"type": "request_sync", "cell_id": "../../etc"}', "invalid_message"),
        ('{"type": "ping", "req_id": 12}', "invalid_message"),
    ],
)
async def test_bad_frames_get_an_error_and_the_connection_stays(
    ydoc_server: JupyterServerProcess, connect: Connector, frame: str, code: str
) -> None:
    conn: SyncConnection = await connect(ydoc_server)
    await conn.send_raw(frame)
    error = await conn.next_message("error")
    assert error["code"] == code, error
    assert "Traceback" not in error["message"]
    await still_usable(conn)


async def test_binary_frame_is_answered(
    ydoc_server: JupyterServerProcess, connect: Connector
) -> None:
    conn: SyncConnection = await connect(ydoc_server)
    await conn.send_raw(b"\xff\xfe\x00garbage")
    assert (await conn.next_message("error"))["code"] == "invalid_message"
    await still_usable(conn)


async def test_req_id_is_echoed_on_errors(
    ydoc_server: JupyterServerProcess, connect: Connector
) -> None:
    conn: SyncConnection = await connect(ydoc_server)
    await conn.send({"type": "request_sync", "cell_id": "c", "req_id": "abc"})
    error = await conn.next_message("error")
    assert error == {**error, "code": "not_in_session", "req_id": "abc"}


async def test_session_not_found(ydoc_server: JupyterServerProcess, connect: Connector) -> None:
    student: StudentClient = await connect(ydoc_server, StudentClient)
    await expect_error(student, "session_not_found", "join_session", session_code="ZZZZZZ")
    teacher: TeacherClient = await connect(ydoc_server, TeacherClient)
    await expect_error(
        teacher, "session_not_found", "resume_session", session_code="ZZZZZZ", teacher_key="k" * 32
    )


async def test_roles_are_enforced(server: JupyterServerProcess, connect: Connector) -> None:
    teacher, code, (student,) = await classroom(connect, server)
    await teacher.push_cell("c", "x = 1\n")
    push = {"cell_id": "c", "content": {"source": "hacked"}}
    await expect_error(student, "forbidden", "push_cell", **push)
    await expect_error(student, "forbidden", "toggle_sync", cell_id="c", sync_allowed=False)
    await expect_error(student, "forbidden", "remove_cell", cell_id="c")
    await expect_error(student, "forbidden", "end_session")
    await expect_error(teacher, "forbidden", "request_sync", cell_id="c")
    outsider: SyncConnection = await connect(server)
    await expect_error(outsider, "not_in_session", "push_cell", **push)
    await expect_error(outsider, "not_in_session", "end_session")
    await expect_error(
        outsider, "forbidden", "resume_session", session_code=code, teacher_key="x" * 32
    )
    await expect_error(teacher, "not_in_session", "push_cell", session_code="ZZZZZZ", **push)
    assert (await student.pull("c"))["content"]["source"] == "x = 1\n"


async def test_student_cannot_read_another_session(
    server: JupyterServerProcess, connect: Connector
) -> None:
    teacher_a, _code_a, (student_a,) = await classroom(connect, server)
    teacher_b, code_b, _ = await classroom(connect, server, students=0)
    await teacher_b.push_cell("secret", "answer = 42\n")
    await expect_error(
        student_a, "not_in_session", "request_sync", cell_id="secret", session_code=code_b
    )
    await expect_error(student_a, "cell_not_found", "request_sync", cell_id="secret")
    assert teacher_a.session_code != code_b


async def test_limits_answer_too_large(nbsync_server_factory: Any, connect: Connector) -> None:
    server = nbsync_server_factory(
        max_message_bytes=20_000, max_source_bytes=1_000, max_cells_per_session=2
    )
    teacher, _code, (student,) = await classroom(connect, server)
    await expect_error(
        teacher, "too_large", "push_cell", cell_id="c", content={"source": "x" * 1_001}
    )
    await teacher.push_cell("a", "1")
    await teacher.push_cell("b", "2")
    await expect_error(teacher, "too_large", "push_cell", cell_id="c", content={"source": "3"})
    await teacher.push_cell("a", "still fine to change an existing cell")
    await expect_error(student, "too_large", "request_sync", cell_id="a", local_source="y" * 1_001)
    # a frame over max_message_bytes (but under the hard cap) is answered, not closed
    await student.send_raw(json.dumps({"type": "ping", "pad": "z" * 30_000}))
    assert (await student.next_message("error"))["code"] == "too_large"
    await still_usable(student)


async def test_join_failures_are_rate_limited(
    nbsync_server_factory: Any, connect: Connector
) -> None:
    server = nbsync_server_factory(join_failures_per_minute=3)
    teacher, code, _ = await classroom(connect, server, students=0)
    student: StudentClient = await connect(server, StudentClient)
    for _ in range(3):
        await expect_error(student, "session_not_found", "join_session", session_code="ZZZZZZ")
    reply = await expect_error(student, "rate_limited", "join_session", session_code=code)
    assert "try again" in reply["message"]
    assert teacher.session_code == code


async def test_teacher_users_restrict_who_creates_sessions(
    nbsync_server_factory: Any, connect: Connector
) -> None:
    server = nbsync_server_factory(teacher_users=["professor"])
    conn: TeacherClient = await connect(server, TeacherClient)
    await expect_error(conn, "forbidden", "create_session")


# --- transport and security ----------------------------------------------------------------------


async def test_websocket_requires_authentication(ydoc_server: JupyterServerProcess) -> None:
    request = HTTPRequest(ydoc_server.ws_url)
    with pytest.raises(HTTPClientError) as info:
        await websocket_connect(request)
    assert info.value.code == 403


async def test_cross_origin_websocket_is_refused(ydoc_server: JupyterServerProcess) -> None:
    """Jupyter's rule: a browser (cookie-authenticated) socket from another origin is refused.
    (Token-authenticated requests skip the origin check in Jupyter: no cookie, no CSRF.)"""
    login = await AsyncHTTPClient().fetch(
        ydoc_server.base_url + "api/status",
        headers={"Authorization": f"token {ydoc_server.token}"},
    )
    cookies = [c.split(";", 1)[0] for c in login.headers.get_list("Set-Cookie")]
    assert cookies, "the token login sets a cookie"
    browser = {"Cookie": "; ".join(cookies)}
    evil = {**browser, "Origin": "http://evil.example"}
    with pytest.raises(HTTPClientError) as info:
        await websocket_connect(HTTPRequest(ydoc_server.ws_url, headers=evil))
    assert info.value.code == 403
    same = {**browser, "Origin": f"http://127.0.0.1:{ydoc_server.port}"}
    ws = await websocket_connect(HTTPRequest(ydoc_server.ws_url, headers=same))
    ws.write_message(json.dumps({"type": "ping", "req_id": "p"}))
    assert json.loads(await ws.read_message())["type"] == "pong"
    ws.close()


async def test_status_reports_mode_and_store_without_secrets(
    server: JupyterServerProcess, connect: Connector
) -> None:
    teacher, _code, _ = await classroom(connect, server, students=0)
    status = await asyncio.to_thread(server.status)
    assert status["mode"] == ("ydoc" if server.options["use_ydoc"] else "json")
    # the default store without Redis: SQLite, in the file the test server was given
    assert status["store"]["kind"] == "sqlite" and status["store"]["ok"] is True
    assert status["store"]["path"] == server.options["store_path"]
    assert status["version"]
    assert status["server"]["teachers"] >= 1
    assert teacher.teacher_key is not None and teacher.teacher_key not in json.dumps(status)


async def test_status_requires_authentication(ydoc_server: JupyterServerProcess) -> None:
    with pytest.raises(HTTPClientError) as info:
        await AsyncHTTPClient().fetch(ydoc_server.base_url + "notebook-sync/status")
    assert info.value.code == 403


async def test_slow_client_is_closed_not_buffered(
    nbsync_server_factory: Any, connect: Connector
) -> None:
    """A client that stops reading fills its bounded queue and is closed; others carry on."""
    server = nbsync_server_factory(send_queue_size=4)
    teacher, code, (other,) = await classroom(connect, server)
    await teacher.push_cell("big", "x = '" + "y" * 900_000 + "'\n")
    slow = RawWebSocket(server)
    await asyncio.to_thread(slow.open)
    before = (await asyncio.to_thread(server.status))["server"]["connections"]
    await asyncio.to_thread(
        slow.send_text, json.dumps({"type": "join_session", "session_code": code})
    )
    for _ in range(40):  # ~100 MB of replies that are never read
        await asyncio.to_thread(slow.send_text, json.dumps({"type": "preview", "cell_id": "big"}))
    deadline = asyncio.get_running_loop().time() + 30
    while "closing slow connection" not in server.log_text():
        assert asyncio.get_running_loop().time() < deadline, server.log_tail()
        await asyncio.sleep(0.05)  # polling the server log with a deadline
    ack = await teacher.push_cell("small", "ok = 1\n")
    await other.wait_for_update("small")
    assert (await other.pull("small"))["status"] == "fast_forward"
    while (await asyncio.to_thread(server.status))["server"]["connections"] >= before:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    slow.close()
    assert ack["seq"] > 0
