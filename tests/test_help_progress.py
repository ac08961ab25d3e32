"""Help requests, private suggestions and the progress view (issue 17; docs/architecture.md,
"Help and progress") over real websockets to real jupyter_server processes, in YDoc and JSON
mode; across two servers sharing a real Redis; and privacy: another student, a follower and a
stranger never receive anything of a request, an answer or a suggestion."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import Connector, classroom
from store_contract import new_code, session

from notebook_sync_ydoc.clients import StudentClient, SyncConnection, SyncError, TeacherClient
from notebook_sync_ydoc.clients.follow import FollowClient
from notebook_sync_ydoc.store import HelpRequest, PullMark, StudentRecord
from notebook_sync_ydoc.store.sqlite import SQLiteStore, schema
from notebook_sync_ydoc.testing import JupyterServerProcess

Factory = Callable[..., JupyterServerProcess]

HELP_TYPES = {"help_ack", "help_update", "help_queue", "help_answered"}
SECRET = "SECRET"  # every note, source and suggestion of these tests carries it


def assert_nothing_private(frames: list[dict[str, Any]]) -> None:
    """No frame is a help message, a private update, or carries a note, source or suggestion."""
    for frame in frames:
        assert frame.get("type") not in HELP_TYPES, frame
        assert not frame.get("private"), frame
        assert SECRET not in json.dumps(frame), frame


async def expect_error(conn: SyncConnection, code: str, mtype: str, **fields: Any) -> None:
    with pytest.raises(SyncError) as info:
        await conn.request(mtype, **fields)
    assert info.value.code == code, info.value.reply
    assert (await conn.request("ping"))["type"] == "pong"  # still usable


async def next_where(
    conn: SyncConnection, mtype: str, ready: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The first ``mtype`` message (within 30 of them) that satisfies ``ready``."""
    for _ in range(30):
        message = await conn.next_message(mtype)
        if ready(message):
            return message
    raise AssertionError(f"no {mtype} reached the expected state")


async def fence(teacher: TeacherClient, *students: StudentClient) -> None:
    """A push after everything else: once each student is told of it, every event before it
    has been delivered (a session's events arrive in order)."""
    ack = await teacher.push_cell("zz-fence", "fence\n")
    for student in students:
        await student.wait_for_update("zz-fence", ack["seq"] - 1)


BASE = "a = 1\nb = 20  # SECRET mine\nc = 3\nd = 4\n"


async def asked(
    teacher: TeacherClient, ada: StudentClient, note: str = "stuck on b SECRET"
) -> dict[str, Any]:
    """Ada pulls cell c, edits it to BASE and asks for help; the teacher's help_update."""
    await teacher.push_cell("c", "a = 1\nb = 2\nc = 3\nd = 4\n")
    await ada.wait_for_update("c")
    await ada.pull("c")
    ada.edit_cell("c", BASE)
    ack = await ada.ask_help("c", note)
    assert ack["type"] == "help_ack" and ack["cell_id"] == "c" and ack["withdrawn"] is False
    assert ack["request"]["note"] == note and ack["request"]["answer"] is None
    return await next_where(teacher, "help_update", lambda m: m["request"] is not None)


# --- the whole flow, one server, both modes -------------------------------------------------------


async def test_request_answer_suggestion_merges_cleanly(
    server: JupyterServerProcess, connect: Connector
) -> None:
    teacher, _code, (ada, bob) = await classroom(connect, server, students=2)
    stranger: SyncConnection = await connect(server)
    update = await asked(teacher, ada)
    request = update["request"]
    assert update["student_id"] == request["student_id"] == ada.history[0]["student_id"]
    assert (request["name"], request["cell_id"], request["source"]) == ("student0", "c", BASE)
    assert request["note"] == "stuck on b SECRET" and request["resolved"] is False
    assert isinstance(request["opened"], float) and "user" in request
    queue = await teacher.help_list()
    assert [(r["student_id"], r["cell_id"]) for r in queue] == [(request["student_id"], "c")]

    # the teacher suggests a fix of line b; Ada edits line d meanwhile
    suggestion = "a = 1\nb = 2  # SECRET fixed\nc = 3\nd = 4\n"
    reply = await teacher.help_answer(
        request["student_id"], "c", note="look at b SECRET", source=suggestion
    )
    assert reply["type"] == "help_update" and reply["request"]["answer"]["has_suggestion"]
    ada.edit_cell("c", "a = 1\nb = 20  # SECRET mine\nc = 3\nd = 40\n")
    answered = await ada.next_message("help_answered")
    assert answered["cell_id"] == "c" and answered["note"] == "look at b SECRET"
    assert answered["has_suggestion"] is True and answered["resolved"] is False
    assert await ada.wait_for_suggestion("c") == 1
    note = next(m for m in ada.history if m.get("type") == "update_available" and m.get("private"))
    assert note["cell_id"] == "c" and note["seq"] == 1

    preview = await ada.preview_suggestion("c")
    assert preview["type"] == "cell_preview" and preview["private"] is True
    assert preview["status"] == "merged" and preview["base"] == BASE
    shared_seq = next(c for c in ada.cells.values() if c.cell_id == "c").pulled_seq
    pulled = await ada.pull_suggestion("c")
    assert pulled["private"] is True and pulled["status"] == "merged"
    assert ada.source("c") == "a = 1\nb = 2  # SECRET fixed\nc = 3\nd = 40\n"
    assert next(c for c in ada.cells.values() if c.cell_id == "c").pulled_seq == shared_seq
    with pytest.raises(SyncError) as info:
        await ada.pull_suggestion("c")  # used up
    assert info.value.code == "no_update"
    used = await next_where(
        teacher, "help_update", lambda m: not m["request"]["answer"]["has_suggestion"]
    )
    assert used["request"]["answer"]["note"] == "look at b SECRET"

    # the teacher's next push (the fix for everyone) merges against what Ada last pulled of
    # the shared cell: her own line d survives, the same fix of line b is no conflict
    ack = await teacher.push_cell("c", suggestion)
    await ada.wait_for_update("c", ack["seq"] - 1)
    assert (await ada.pull("c"))["status"] == "merged"
    assert ada.source("c") == "a = 1\nb = 2  # SECRET fixed\nc = 3\nd = 40\n"

    # resolved: Ada sees it, it leaves the queue
    await teacher.help_answer(request["student_id"], "c", resolve=True)
    resolved = await next_where(ada, "help_answered", lambda m: m["resolved"])
    assert resolved["has_suggestion"] is False
    assert await teacher.help_list() == []

    await fence(teacher, ada, bob)
    assert_nothing_private(bob.history)
    assert_nothing_private(stranger.history)
    assert SECRET not in server.log_text()


async def test_suggestion_that_conflicts(server: JupyterServerProcess, connect: Connector) -> None:
    teacher, _code, (ada,) = await classroom(connect, server)
    request = (await asked(teacher, ada))["request"]
    suggestion = "a = 1\nb = 2  # SECRET teacher\nc = 3\nd = 4\n"
    await teacher.help_answer(request["student_id"], "c", source=suggestion)
    await ada.wait_for_suggestion("c")
    ada.edit_cell("c", "a = 1\nb = 21  # SECRET mine again\nc = 3\nd = 4\n")
    reply = await ada.pull_suggestion("c")
    assert reply["status"] == "conflict" and reply["private"] is True
    assert (reply["base"], reply["theirs"]) == (BASE, suggestion) and reply["conflicts"]
    assert ada.source("c") == "a = 1\nb = 21  # SECRET mine again\nc = 3\nd = 4\n"
    assert "c" in ada.suggestions  # nothing applied, still there
    reply = await ada.pull_suggestion("c", strategy="theirs")
    assert reply["status"] == "replaced" and ada.source("c") == suggestion
    assert reply["mine"] == "a = 1\nb = 21  # SECRET mine again\nc = 3\nd = 4\n"


async def test_replace_and_withdraw(server: JupyterServerProcess, connect: Connector) -> None:
    teacher, _code, (ada,) = await classroom(connect, server)
    first = (await asked(teacher, ada))["request"]
    sid = first["student_id"]
    ada.edit_cell("c", "changed SECRET\n")
    await ada.ask_help("c", "second SECRET")  # replaces the open one
    second = await next_where(
        teacher, "help_update", lambda m: m["request"] and m["request"]["note"] == "second SECRET"
    )
    assert second["request"]["source"] == "changed SECRET\n"
    assert [r["note"] for r in await teacher.help_list()] == ["second SECRET"]
    withdrawn = await ada.withdraw_help("c")
    assert withdrawn == {
        "type": "help_ack", "cell_id": "c", "withdrawn": True, "req_id": withdrawn["req_id"]
    }  # fmt: skip
    gone = await next_where(teacher, "help_update", lambda m: m["request"] is None)
    assert (gone["student_id"], gone["cell_id"]) == (sid, "c")
    assert await teacher.help_list() == []
    await expect_error(ada, "cell_not_found", "help_withdraw", cell_id="c")
    await expect_error(teacher, "cell_not_found", "help_answer", student_id=sid, cell_id="c",
                       note="too late")  # fmt: skip


async def test_roles_bounds_and_bad_input(server: JupyterServerProcess, connect: Connector) -> None:
    teacher, _code, (ada,) = await classroom(connect, server)
    stranger: SyncConnection = await connect(server)
    await teacher.push_cell("c", "x = 1\n")
    await ada.wait_for_update("c")
    sid = ada.history[0]["student_id"]
    # who may send what
    await expect_error(stranger, "not_in_session", "help_request", cell_id="c", local_source="")
    await expect_error(stranger, "not_in_session", "help_list")
    await expect_error(stranger, "not_in_session", "progress")
    await expect_error(ada, "forbidden", "help_answer", student_id=sid, cell_id="c", note="x")
    await expect_error(ada, "forbidden", "help_list")
    await expect_error(ada, "forbidden", "progress")
    await expect_error(teacher, "forbidden", "help_request", cell_id="c", local_source="")
    await expect_error(teacher, "forbidden", "help_withdraw", cell_id="c")
    await expect_error(ada, "not_in_session", "help_list", session_code="ZZZZZZ")
    # bad input
    await expect_error(ada, "invalid_message", "help_request", cell_id="c")  # no local_source
    await expect_error(ada, "invalid_message", "help_request", cell_id="c", local_source="x",
                       note="n" * 501)  # fmt: skip
    await expect_error(ada, "invalid_message", "help_request", cell_id="bad id", local_source="")
    await expect_error(ada, "too_large", "help_request", cell_id="c",
                       local_source="x" * (1024 * 1024 + 1))  # fmt: skip
    await expect_error(ada, "cell_not_found", "help_request", cell_id="nope", local_source="")
    await expect_error(ada, "invalid_message", "request_sync", cell_id="c", source="elsewhere")
    await expect_error(ada, "no_update", "request_sync", cell_id="c", source="suggestion")
    await expect_error(ada, "no_update", "preview", cell_id="c", source="suggestion")
    await expect_error(ada, "cell_not_found", "request_sync", cell_id="no", source="suggestion")
    await ada.ask_help("c", "help SECRET")
    await expect_error(teacher, "invalid_message", "help_answer", student_id=sid, cell_id="c")
    await expect_error(teacher, "invalid_message", "help_answer", student_id="not-an-id",
                       cell_id="c", note="x")  # fmt: skip
    await expect_error(teacher, "cell_not_found", "help_answer", student_id="0" * 24,
                       cell_id="c", note="x")  # fmt: skip
    await expect_error(teacher, "too_large", "help_answer", student_id=sid, cell_id="c",
                       source="y" * (1024 * 1024 + 1))  # fmt: skip
    # nothing changed by the refused answers
    (request,) = await teacher.help_list()
    assert request["answer"] is None and request["note"] == "help SECRET"
    # a locked cell's suggestion is not served
    await teacher.help_answer(sid, "c", source="x = 2  # SECRET\n")
    await ada.wait_for_suggestion("c")
    await teacher.toggle_sync("c", False)
    await expect_error(ada, "sync_not_allowed", "request_sync", cell_id="c", source="suggestion")
    await teacher.end_session()
    await expect_error(teacher, "not_in_session", "help_list")
    assert_nothing_private(stranger.history)


# --- progress -------------------------------------------------------------------------------------


def cells_of(matrix: dict[str, Any], name: str) -> dict[str, Any]:
    (row,) = [s for s in matrix["students"] if s["name"] == name]
    return {cid: (c["status"], c["help"]) for cid, c in row["cells"].items()}


def status_of(matrix: dict[str, Any], name: str, cell_id: str) -> str | None:
    """A student's status of a cell in a matrix (None: not in it)."""
    for s in matrix["students"]:
        if s["name"] == name and cell_id in s["cells"]:
            return str(s["cells"][cell_id]["status"])
    return None


async def test_progress_matrix_and_live_updates(
    server: JupyterServerProcess, connect: Connector
) -> None:
    teacher, _code, (ada, bob) = await classroom(connect, server, students=2)
    for cid in ("p1", "p2", "p3"):
        await teacher.push_cell(cid, "a = 1\nb = 2\n")
    await ada.wait_for_update("p3")
    await bob.wait_for_update("p3")
    for cid in ("p1", "p2", "p3"):
        await ada.pull(cid)
    await bob.pull("p1")
    ada.edit_cell("p2", "a = 1\nb = 20\n")
    bob.edit_cell("p1", "a = 1\nb = 30\n")
    ack = await teacher.push_cell("p2", "a = 1\nb = 200\n")
    await teacher.push_cell("p1", "a = 1\nb = 300\n")
    await ada.wait_for_update("p2", ack["seq"] - 1)
    await bob.wait_for_update("p1", ack["seq"])
    assert (await ada.pull("p2"))["status"] == "conflict"
    assert (await bob.pull("p1"))["status"] == "conflict"
    assert (await bob.pull("p1", strategy="mine"))["status"] == "kept"
    await ada.ask_help("p3", "SECRET")

    snapshot = await teacher.progress()
    assert snapshot["type"] == "progress_snapshot" and snapshot["cells"] == ["p1", "p2", "p3"]
    assert cells_of(snapshot, "student0") == {
        "p1": ("behind", False), "p2": ("conflict", False), "p3": ("up_to_date", True)
    }  # fmt: skip
    assert cells_of(snapshot, "student1") == {
        "p1": ("kept_mine", False), "p2": ("never_pulled", False), "p3": ("never_pulled", False)
    }  # fmt: skip
    assert SECRET not in json.dumps(snapshot)

    # live: Ada resolves her conflict, pulls p1, withdraws her request
    await ada.pull("p2", strategy="theirs")
    await ada.pull("p1")
    await ada.withdraw_help("p3")

    def settled(m: dict[str, Any]) -> bool:
        return cells_of(m, "student0") == {
            "p1": ("up_to_date", False), "p2": ("up_to_date", False), "p3": ("up_to_date", False)
        }  # fmt: skip

    await teacher.wait_progress(settled)
    # a cell pushed since shows as never pulled for both: the update names the new order and
    # gives each student the new cell's entry
    await teacher.push_cell("p4", "new\n")
    merged = await teacher.wait_progress(lambda m: "p4" in m["cells"])
    assert cells_of(merged, "student1")["p4"] == ("never_pulled", False)
    update = [m for m in teacher.history if m["type"] == "progress_update" and "cells" in m][-1]
    assert update["cells"] == ["p1", "p2", "p3", "p4"]
    assert sorted(s["cells"]["p4"] for s in update["students"]) == [["n", 0, 0], ["n", 0, 0]]
    assert teacher.progress_gaps == []
    await fence(teacher, bob)
    assert_nothing_private(bob.history)


# --- catch-up, restarts ---------------------------------------------------------------------------


async def test_resumed_teacher_and_rejoined_student_catch_up(
    server: JupyterServerProcess, connect: Connector
) -> None:
    teacher, code, (ada,) = await classroom(connect, server)
    request = (await asked(teacher, ada))["request"]
    await ada.close()
    await teacher.help_answer(request["student_id"], "c", note="SECRET hint", source="SECRET\n")
    assert teacher.teacher_key is not None
    second: TeacherClient = await connect(server, TeacherClient)
    await second.resume_session(code, teacher.teacher_key)
    queue = await second.next_message("help_queue")
    assert [r["note"] for r in queue["requests"]] == ["stuck on b SECRET"]
    assert queue["requests"][0]["answer"]["has_suggestion"] is True
    back: StudentClient = await connect(server, StudentClient)
    await back.join(code, student_key=ada.student_key)
    answered = await back.next_message("help_answered")
    assert answered["note"] == "SECRET hint" and answered["has_suggestion"] is True
    assert await back.wait_for_suggestion("c") == 1
    back.edit_cell("c", BASE)
    assert (await back.pull_suggestion("c"))["status"] == "fast_forward"
    assert back.source("c") == "SECRET\n"


async def test_help_and_progress_survive_a_restart(
    nbsync_server_factory: Factory, connect: Connector
) -> None:
    """The embedded store (SQLite, the default) keeps requests, answers and marks."""
    server = nbsync_server_factory()
    teacher, code, (ada,) = await classroom(connect, server)
    request = (await asked(teacher, ada))["request"]
    await teacher.help_answer(request["student_id"], "c", note="SECRET n", source="SECRET s\n")
    ada.edit_cell("c", "other\n")
    await teacher.push_cell("c", "a = 1\nb = 2\nc = 3\nd = 44\n")
    await ada.wait_for_update("c", 1)
    assert (await ada.pull("c"))["status"] == "conflict"
    key, teacher_key = ada.student_key, teacher.teacher_key
    assert teacher_key is not None
    await asyncio.to_thread(server.restart)
    again: TeacherClient = await connect(server, TeacherClient)
    await again.resume_session(code, teacher_key)
    queue = await again.next_message("help_queue")
    assert [(r["note"], r["answer"]["note"]) for r in queue["requests"]] == [
        ("stuck on b SECRET", "SECRET n")
    ]
    assert cells_of(await again.progress(), "student0") == {"c": ("conflict", True)}
    back: StudentClient = await connect(server, StudentClient)
    await back.join(code, student_key=key)
    assert await back.wait_for_suggestion("c") == 1


# --- privacy: a follower --------------------------------------------------------------------------


async def test_a_follower_sees_nothing_of_help(
    ydoc_server: JupyterServerProcess, connect: Connector
) -> None:
    teacher, code, (ada, bob) = await classroom(connect, ydoc_server, students=2)
    follower = await FollowClient.connect(
        ydoc_server.base_url, code, bob.student_key, token=ydoc_server.token
    )
    try:
        request = (await asked(teacher, ada))["request"]
        await teacher.help_answer(request["student_id"], "c", note="SECRET", source="SECRET\n")
        await ada.wait_for_suggestion("c")
        await ada.pull_suggestion("c")
        await teacher.help_answer(request["student_id"], "c", resolve=True)
        await next_where(ada, "help_answered", lambda m: m["resolved"])
        await fence(teacher, bob)
        await follower.wait_until(lambda: follower.sources().get("zz-fence") == "fence\n")
        assert b"SECRET" not in b"".join(follower.frames)
        assert_nothing_private(bob.history)
    finally:
        await follower.close()


# --- two servers sharing Redis --------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.parametrize("student_ydoc", [True, False], ids=["ydoc", "json"])
async def test_help_across_two_servers(
    nbsync_server_factory: Factory,
    redis_url: str,
    redis_prefix: str,
    connect: Connector,
    student_ydoc: bool,
) -> None:
    a = nbsync_server_factory(redis_url=redis_url, key_prefix=redis_prefix)
    b = nbsync_server_factory(redis_url=redis_url, key_prefix=redis_prefix, use_ydoc=student_ydoc)
    teacher: TeacherClient = await connect(a, TeacherClient)
    code = (await teacher.create_session("redis"))["session_code"]
    ada: StudentClient = await connect(b, StudentClient)
    await ada.join(code, name="Ada")
    bob: StudentClient = await connect(a, StudentClient)  # another student, the teacher's server
    await bob.join(code, name="Bob")
    tab: TeacherClient = await connect(b, TeacherClient)  # the teacher's tab on Ada's server
    assert teacher.teacher_key is not None
    await tab.resume_session(code, teacher.teacher_key)
    await tab.progress()

    request = (await asked(teacher, ada))["request"]
    assert request["name"] == "Ada" and request["source"] == BASE
    await next_where(tab, "help_update", lambda m: m["request"] is not None)
    suggestion = "a = 1\nb = 2  # SECRET fixed\nc = 3\nd = 4\n"
    await teacher.help_answer(request["student_id"], "c", note="SECRET", source=suggestion)
    await ada.wait_for_suggestion("c")
    ada.edit_cell("c", "a = 1\nb = 20  # SECRET mine\nc = 3\nd = 40\n")
    assert (await ada.pull_suggestion("c"))["status"] == "merged"
    assert ada.source("c") == "a = 1\nb = 2  # SECRET fixed\nc = 3\nd = 40\n"
    await teacher.help_answer(request["student_id"], "c", resolve=True)
    await next_where(ada, "help_answered", lambda m: m["resolved"])
    assert await teacher.help_list() == []

    # progress built on either server; live on Ada's
    ack = await teacher.push_cell("c", "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n")
    await ada.wait_for_update("c", ack["seq"] - 1)
    matrix = await teacher.progress()
    assert cells_of(matrix, "Ada") == {"c": ("behind", False)}
    assert cells_of(matrix, "Bob") == {"c": ("never_pulled", False)}
    assert (await ada.pull("c"))["status"] == "conflict"  # Ada's line d touches the new e
    await tab.wait_progress(lambda m: status_of(m, "Ada", "c") == "conflict")
    await ada.pull("c", strategy="theirs")
    await tab.wait_progress(lambda m: status_of(m, "Ada", "c") == "up_to_date")
    assert tab.progress_gaps == []

    await fence(teacher, ada, bob)
    assert_nothing_private(bob.history)
    for server in (a, b):
        assert SECRET not in server.log_text()


# --- the SQLite file ------------------------------------------------------------------------------


async def test_sqlite_keeps_help_and_marks_and_upgrades_schema_1(tmp_path: Path) -> None:
    """A store file of schema 1 (before help requests) is upgraded when opened; requests and
    marks are in the file: a reopened store has them."""
    path = tmp_path / "store.sqlite"
    schema.create(path)
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE help")
    conn.execute("DROP TABLE marks")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    code = new_code()
    request = HelpRequest("s1", "a", "r1", "N", "u", "SECRET", "x = 1\n", opened=5.0)
    store = SQLiteStore(path)
    await store.start()
    try:
        assert (await store.health())["ok"] is True
        await store.create_session(session(code))
        await store.put_student(code, StudentRecord("s1", "u", "N", 1.0))
        await store.put_help(code, request)
        await store.mark_pull(code, "s1", "a", PullMark("conflict", 3, 9.0))
    finally:
        await store.stop()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (schema.SCHEMA_VERSION,)
    again = SQLiteStore(path)
    await again.start()
    try:
        assert await again.list_help(code) == [request]
        student = await again.get_student(code, "s1")
        assert student is not None and student.marks == {"a": PullMark("conflict", 3, 9.0)}
    finally:
        await again.stop()
