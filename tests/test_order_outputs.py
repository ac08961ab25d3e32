"""Issue 12, items 2 and 3 (server side): the teacher's shared outputs, bounded, shown to
followers and pullable, never sent for a locked cell; live order (``reorder_cells``) and cut and
paste (``move_cell``) without a push. Real servers, real websockets, real Redis
(docs/architecture.md, "Order and outputs")."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import Connector, classroom
from store_contract import new_code, session

from notebook_sync_ydoc.clients import StudentClient, SyncError, TeacherClient
from notebook_sync_ydoc.clients.follow import FollowClient
from notebook_sync_ydoc.store.base import (
    CellWrite,
    HelpRequest,
    PulledCell,
    PullMark,
    StudentRecord,
)
from notebook_sync_ydoc.store.sqlite import SQLiteStore
from notebook_sync_ydoc.testing import JupyterServerProcess

Factory = Callable[..., JupyterServerProcess]

PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5Er"
    "kJggg=="
)
OUTPUTS: list[dict[str, Any]] = [
    {"output_type": "stream", "name": "stdout", "text": "hello é 😀\n"},
    {
        "output_type": "execute_result",
        "execution_count": 3,
        "metadata": {},
        "data": {"text/plain": "<Figure>", "image/png": PNG},
    },
]


@pytest.fixture
async def follow() -> Any:
    """``await follow(server, code, key)``: followers closed at the end of the test."""
    opened: list[FollowClient] = []

    async def factory(server: JupyterServerProcess, code: str, key: str | None) -> FollowClient:
        client = await FollowClient.connect(server.base_url, code, key, token=server.token)
        opened.append(client)
        return client

    yield factory
    for client in opened:
        await client.close()


async def error_of(call: Any) -> SyncError:
    with pytest.raises(SyncError) as info:
        await call
    return info.value


def wire(student: StudentClient) -> str:
    """Every frame the student received, as text."""
    return json.dumps(student.history, ensure_ascii=False)


def follower_wire(follower: FollowClient) -> bytes:
    return b"".join(follower.frames)


# outputs ---------------------------------------------------------------------------------------


async def test_outputs_shared_shown_to_followers_and_pullable(
    server: JupyterServerProcess, connect: Connector, follow: Any
) -> None:
    teacher, code, (student,) = await classroom(connect, server)
    follower: FollowClient = await follow(server, code, student.student_key)
    ack = await teacher.push_cell("a", "x = 3\nx\n", outputs=OUTPUTS)
    await teacher.push_cell("b", "y = 1\n")
    await teacher.push_cell("m", "# T", cell_type="markdown")
    await follower.wait_until(lambda: follower.order() == ["a", "b", "m"])
    await follower.wait_until(lambda: follower.outputs().get("a") == OUTPUTS)
    assert follower.outputs()["b"] == []
    # a pull carries them only when asked
    await student.wait_for_update("a")
    plain = await student.pull("a")
    assert "outputs" not in plain["content"]
    await teacher.push_cell("a", "x = 3\nx  # again\n")  # no outputs field: kept
    await student.wait_for_update("a", ack["seq"])
    reply = await student.pull("a", with_outputs=True)
    assert reply["content"]["outputs"] == OUTPUTS
    assert student.outputs["a"] == OUTPUTS
    assert student.notebook.get()["cells"][0]["outputs"] == OUTPUTS
    assert "outputs" not in (await student.pull("b", with_outputs=True))["content"]

    # outputs alone changed: a new seq, announced, and followers see them
    new = [{"output_type": "stream", "name": "stdout", "text": "changed\n"}]
    seq = student.cells["a"].seq
    again = await teacher.push_cell("a", "x = 3\nx  # again\n", outputs=new)
    assert again["seq"] > seq and not again.get("unchanged")
    assert await student.wait_for_update("a", seq) == again["seq"]
    await follower.wait_until(lambda: follower.outputs()["a"] == new)
    same = await teacher.push_cell("a", "x = 3\nx  # again\n", outputs=new)
    assert same.get("unchanged") is True
    # no longer shared: cleared everywhere
    await teacher.push_cell("a", "x = 3\nx  # again\n", share_outputs=False)
    await follower.wait_until(lambda: follower.outputs()["a"] == [])
    await student.wait_for_update("a", again["seq"])
    assert "outputs" not in (await student.pull("a", with_outputs=True))["content"]


async def test_oversized_outputs_are_replaced_by_a_placeholder(
    server: JupyterServerProcess, connect: Connector, follow: Any
) -> None:
    teacher, code, (student,) = await classroom(connect, server)
    small = {"output_type": "stream", "name": "stdout", "text": "fits\n"}
    huge = {
        "output_type": "display_data",
        "metadata": {},
        "data": {"image/png": "A" * 300_000, "text/plain": "<Figure>"},
    }
    await teacher.push_cell("a", "plot()\n", outputs=[small, huge])
    follower: FollowClient = await follow(server, code, student.student_key)
    await follower.wait_until(lambda: len(follower.outputs().get("a", [])) == 2)
    shown = follower.outputs()["a"]
    assert shown[0] == small
    assert shown[1]["output_type"] == "display_data"
    text = shown[1]["data"]["text/plain"]
    assert text.startswith("output too large to share (293 KB; limit 256 KB)"), text
    assert "image/png" not in shown[1]["data"]
    assert b"AAAAAAAAAAAAAAAA" not in follower_wire(follower)
    await student.wait_for_update("a")
    reply = await student.pull("a", with_outputs=True)
    assert reply["content"]["outputs"] == shown
    # many outputs each small, together too large: the first fit, the rest are placeholders
    many = [{"output_type": "stream", "name": "stdout", "text": "x" * 100_000} for _ in range(4)]
    await teacher.push_cell("a", "plot()\n", outputs=many)
    await follower.wait_until(lambda: follower.outputs()["a"] != shown)
    kinds = [o.get("name", "placeholder") for o in follower.outputs()["a"]]
    assert kinds == ["stdout", "stdout", "placeholder", "placeholder"]


async def test_outputs_of_a_locked_cell_never_travel(
    server: JupyterServerProcess, connect: Connector, follow: Any
) -> None:
    teacher, code, (student,) = await classroom(connect, server)
    follower: FollowClient = await follow(server, code, student.student_key)
    first = [{"output_type": "stream", "name": "stdout", "text": "SECRET-ONE\n"}]
    second = [{"output_type": "stream", "name": "stdout", "text": "SECRET-TWO\n"}]
    await teacher.push_cell("open", "1\n", outputs=OUTPUTS)
    await teacher.push_cell("c", "answer = 42\n", sync_allowed=False, outputs=first)
    await follower.wait_until(lambda: follower.order() == ["open", "c"])
    assert follower.outputs()["c"] == [] and "c" in follower.locked()
    for call in (student.pull("c", with_outputs=True), student.preview("c")):
        assert (await error_of(call)).code == "sync_not_allowed"
    assert "SECRET-ONE" not in wire(student)
    assert b"SECRET-ONE" not in follower_wire(follower)

    # unlocked: shown and pullable; locked again: gone, and new outputs pushed meanwhile never
    # travel, not to this follower, a new one, a student joining late, or the teacher's tab
    await teacher.toggle_sync("c", True)
    await follower.wait_until(lambda: follower.outputs()["c"] == first)
    await student.wait_for_update("c")
    assert (await student.pull("c", with_outputs=True))["content"]["outputs"] == first
    await teacher.toggle_sync("c", False)
    await follower.wait_until(lambda: "c" in follower.locked())
    assert follower.outputs()["c"] == []
    await teacher.push_cell("c", "answer = 43\n", outputs=second)
    await teacher.push_cell("open", "2\n")  # a later event: the room has seen the push of c
    await follower.wait_until(lambda: follower.sources()["open"] == "2\n")
    late: StudentClient = await connect(server, StudentClient)
    await late.join(code, name="late")
    later: FollowClient = await follow(server, code, late.student_key)
    for call in (late.pull("c", with_outputs=True), student.pull("c", with_outputs=True)):
        assert (await error_of(call)).code == "sync_not_allowed"
    await late.wait_for_update("open")
    await late.pull("open", with_outputs=True)
    for who in (student, late):
        assert "SECRET-TWO" not in wire(who)
    for viewer in (follower, later):
        assert b"SECRET-TWO" not in follower_wire(viewer)
        assert viewer.outputs()["c"] == []
    assert b"SECRET-ONE" not in follower_wire(later)  # shown once, never to a later follower
    # unlocked again: the outputs kept while locked are restored
    await teacher.toggle_sync("c", True)
    await follower.wait_until(lambda: follower.outputs()["c"] == second)


# order ------------------------------------------------------------------------------------------


async def test_reorder_reaches_students_and_followers_without_a_push(
    server: JupyterServerProcess, connect: Connector, follow: Any
) -> None:
    teacher, code, (student,) = await classroom(connect, server)
    for i, cell_id in enumerate(("a", "b", "c")):
        await teacher.push_cell(cell_id, f"{cell_id} = {i}\n", index=i)
    await teacher.push_cell("locked", "secret\n", sync_allowed=False, index=3)
    follower: FollowClient = await follow(server, code, student.student_key)
    for cell_id in ("a", "b", "c"):
        await student.wait_for_update(cell_id)
        await student.pull(cell_id)
    student.edit_cell("mine", "my own cell\n")  # the student's own cell, last
    assert student.cell_ids() == ["a", "b", "c", "mine"]
    seqs = {c: student.cells[c].seq for c in ("a", "b", "c")}

    order = await teacher.reorder(["c", "a"])
    assert order == ["c", "a", "b", "locked"]
    message = await student.next_message("cells_reordered")
    assert message["order"] == ["c", "a", "b", "locked"]
    assert student.cell_ids() == ["c", "a", "b", "mine"]
    await follower.wait_until(lambda: follower.order() == ["c", "a", "b", "locked"])
    assert follower.sources()["c"] == "c = 2\n" and "locked" in follower.locked()
    assert student.available == {} and {c: student.cells[c].seq for c in seqs} == seqs
    # a late joiner, a rejoiner and a resumed teacher see the order in the indexes
    late: StudentClient = await connect(server, StudentClient)
    joined = await late.join(code)
    assert [(c["cell_id"], c["index"]) for c in joined["cells"]] == [
        ("c", 0), ("a", 1), ("b", 2), ("locked", 3)
    ]  # fmt: skip
    again: StudentClient = await connect(server, StudentClient)
    rejoined = await again.join(code, student_key=student.student_key)
    assert [(c["cell_id"], c["pulled_seq"] > 0) for c in rejoined["cells"]] == [
        ("c", True), ("a", True), ("b", True), ("locked", False)
    ]  # fmt: skip
    other: TeacherClient = await connect(server, TeacherClient)
    assert teacher.teacher_key is not None
    resumed = await other.resume_session(code, teacher.teacher_key)
    assert [c["cell_id"] for c in resumed["cells"]] == ["c", "a", "b", "locked"]
    # a push keeps the order; a pushed index moves the cell as before
    await teacher.push_cell("a", "a = 10\n")
    await follower.wait_until(lambda: follower.sources()["a"] == "a = 10\n")
    assert follower.order() == ["c", "a", "b", "locked"]
    await teacher.reorder(["locked", "b", "a", "c"])
    await follower.wait_until(lambda: follower.order() == ["locked", "b", "a", "c"])
    assert (await student.next_message("cells_reordered"))["order"] == ["locked", "b", "a", "c"]
    assert student.cell_ids() == ["b", "a", "c", "mine"]


async def test_cut_and_paste_keeps_the_students_pulled_state(
    server: JupyterServerProcess, connect: Connector, follow: Any
) -> None:
    teacher, code, (student,) = await classroom(connect, server)
    await teacher.push_cell("intro", "# Intro", cell_type="markdown", index=0)
    await teacher.push_cell("a", "x = 1\ny = 2\nz = 3\n", index=1, outputs=OUTPUTS)
    follower: FollowClient = await follow(server, code, student.student_key)
    await student.wait_for_update("a")
    await student.pull("a")
    student.edit_cell("a", "x = 1\ny = 2\nz = 30\n")  # the student's own edit

    # JupyterLab gave the pasted cell a new id: the teacher's client says it is a move
    reply = await teacher.move_cell("a", "a-pasted")
    assert (reply["type"], reply["from_id"], reply["to_id"]) == ("cell_moved", "a", "a-pasted")
    moved = await student.next_message("cell_moved")
    assert (moved["from_id"], moved["to_id"]) == ("a", "a-pasted")
    assert student.cell_ids() == ["a-pasted"]
    assert set(student.available) == {"intro"}  # no seq changed: nothing new of a
    await teacher.reorder(["a-pasted", "intro"])
    await follower.wait_until(lambda: follower.order() == ["a-pasted", "intro"])
    assert follower.outputs()["a-pasted"] == OUTPUTS
    # the next change merges with the student's edit: the pulled base came along
    ack = await teacher.push_cell("a-pasted", "x = 10\ny = 2\nz = 3\n")
    await student.wait_for_update("a-pasted", ack["seq"] - 1)
    pulled = await student.pull("a-pasted")
    assert pulled["status"] == "merged"
    assert student.source("a-pasted") == "x = 10\ny = 2\nz = 30\n"
    # a rejoin on a new connection finds the pulled state under the new id
    again: StudentClient = await connect(server, StudentClient)
    joined = await again.join(code, student_key=student.student_key)
    assert {c["cell_id"]: c["pulled_seq"] for c in joined["cells"]} == {
        "a-pasted": ack["seq"],
        "intro": 0,
    }
    assert (await error_of(teacher.move_cell("a", "b"))).code == "cell_not_found"


async def test_bad_order_and_outputs_input_answers_errors_and_changes_nothing(
    server: JupyterServerProcess, connect: Connector, follow: Any
) -> None:
    teacher, code, (student,) = await classroom(connect, server)
    for i, cell_id in enumerate(("a", "b", "c")):
        await teacher.push_cell(cell_id, f"{cell_id}\n", index=i)
    follower: FollowClient = await follow(server, code, student.student_key)
    await follower.wait_until(lambda: follower.order() == ["a", "b", "c"])

    bad: list[tuple[str, dict[str, Any], str]] = [
        ("reorder_cells", {"order": ["c", "nope"]}, "cell_not_found"),
        ("reorder_cells", {"order": ["c", "a", "c"]}, "invalid_message"),
        ("reorder_cells", {"order": "c,a"}, "invalid_message"),
        ("reorder_cells", {"order": [1, 2]}, "invalid_message"),
        ("reorder_cells", {"order": ["bad id!"]}, "invalid_message"),
        ("reorder_cells", {}, "invalid_message"),
        ("reorder_cells", {"order": [f"x{i}" for i in range(1001)]}, "too_large"),
        ("move_cell", {"from_id": "nope", "to_id": "z"}, "cell_not_found"),
        ("move_cell", {"from_id": "a", "to_id": "b"}, "invalid_message"),
        ("move_cell", {"from_id": "a", "to_id": "a"}, "invalid_message"),
        ("move_cell", {"from_id": "a"}, "invalid_message"),
        ("move_cell", {"from_id": "a", "to_id": 3}, "invalid_message"),
    ]
    contents: list[dict[str, Any]] = [
        {"content": {"source": "x", "outputs": "text"}},
        {"content": {"source": "x", "outputs": [{"text": "no output_type"}]}},
        {"content": {"source": "x", "outputs": [{"output_type": "bogus"}]}},
        {"content": {"source": "x", "outputs": [3]}},
        {"content": {"source": "x"}, "share_outputs": True},
        {"content": {"source": "x", "outputs": []}, "share_outputs": False},
        {"content": {"source": "x"}, "share_outputs": "yes"},
    ]
    bad += [("push_cell", {"cell_id": "a", **c}, "invalid_message") for c in contents]
    for mtype, fields, expected in bad:
        error = await error_of(teacher.request(mtype, **fields))
        assert error.code == expected, (mtype, fields, error)
        assert error.args and str(error.reply["message"])
    # the other role's messages are refused
    refused: list[tuple[str, dict[str, Any]]] = [
        ("reorder_cells", {"order": ["b"]}),
        ("move_cell", {"from_id": "a", "to_id": "q"}),
    ]
    for mtype, fields in refused:
        assert (await error_of(student.request(mtype, **fields))).code == "forbidden"
    # nothing changed: order, ids, seqs
    other: TeacherClient = await connect(server, TeacherClient)
    assert teacher.teacher_key is not None
    resumed = await other.resume_session(code, teacher.teacher_key)
    assert [(c["cell_id"], c["index"], c["seq"]) for c in resumed["cells"]] == [
        ("a", 0, 1), ("b", 1, 2), ("c", 2, 3)
    ]  # fmt: skip
    assert follower.order() == ["a", "b", "c"] and follower.outputs()["a"] == []
    assert not [m for m in student.history if m["type"] in ("cells_reordered", "cell_moved")]
    assert (await teacher.request("ping"))["type"] == "pong"  # the connection is usable


# the SQLite file ---------------------------------------------------------------------------------
async def test_outputs_order_and_moves_survive_a_reopen(
    tmp_path: Path,
) -> None:
    """Schema 3: shared outputs, a reorder and a move (with the students' state) are in the
    file (docs/architecture.md, "Order and outputs")."""
    path = tmp_path / "store.sqlite"
    store = SQLiteStore(path)
    await store.start()
    code = new_code()
    assert await store.create_session(session(code))
    outputs = [{"output_type": "stream", "name": "stdout", "text": "é 😀\n"}]
    await store.write_cell(code, CellWrite("a", "x", share_outputs=True, outputs=outputs), None)
    await store.write_cell(code, CellWrite("a", "x2"), 1)  # keeps them
    await store.write_cell(code, CellWrite("b", "y", share_outputs=True, outputs=outputs), None)
    await store.write_cell(code, CellWrite("b", "y", share_outputs=False), 3)  # clears them
    await store.write_cell(code, CellWrite("c", "z"), None)
    await store.put_student(code, StudentRecord("s1", "ann", "Ann", joined=5.0))
    await store.record_pull(code, "s1", "a", PulledCell(2, "x2"))
    await store.mark_pull(code, "s1", "a", PullMark("kept", 2, 6.0))
    await store.put_help(code, HelpRequest("s1", "a", "r1", "Ann", "ann", "?", "x2", 7.0))
    assert await store.reorder_cells(code, ["c", "b"]) == ["c", "b", "a"]
    assert await store.move_cell(code, "a", "a2") is not None
    before = (
        await store.list_cells(code),
        [await store.get_cell(code, c) for c in ("a", "a2", "b", "c")],
        await store.get_student(code, "s1"),
        await store.list_help(code),
    )
    await store.stop()

    again = SQLiteStore(path)
    await again.start()
    after = (
        await again.list_cells(code),
        [await again.get_cell(code, c) for c in ("a", "a2", "b", "c")],
        await again.get_student(code, "s1"),
        await again.list_help(code),
    )
    assert after == before
    assert [(e.cell_id, e.index) for e in after[0]] == [("c", 0), ("b", 1), ("a2", 2)]
    moved = after[1][1]
    assert moved is not None and moved.outputs == outputs and after[1][2] is not None
    assert after[1][2].outputs is None and after[1][0] is None
    student = after[2]
    assert student is not None and set(student.pulled) == set(student.marks) == {"a2"}
    assert [(r.cell_id, r.request_id) for r in after[3]] == [("a2", "r1")]
    await again.stop()


# across two servers -----------------------------------------------------------------------------


@pytest.mark.redis
async def test_order_and_outputs_across_two_servers(
    nbsync_server_factory: Factory,
    redis_url: str,
    redis_prefix: str,
    connect: Connector,
    follow: Any,
) -> None:
    """The teacher on a YDoc server, the student and a follower on a JSON server, one Redis."""
    a = nbsync_server_factory(redis_url=redis_url, key_prefix=redis_prefix, use_ydoc=True)
    b = nbsync_server_factory(redis_url=redis_url, key_prefix=redis_prefix, use_ydoc=False)
    teacher: TeacherClient = await connect(a, TeacherClient)
    code = (await teacher.create_session("two servers"))["session_code"]
    await teacher.push_cell("a", "x = 1\ny = 2\nz = 3\n", index=0, outputs=OUTPUTS)
    await teacher.push_cell("b", "b\n", index=1)
    secret = [{"output_type": "stream", "name": "stdout", "text": "SECRET-REMOTE\n"}]
    await teacher.push_cell("s", "s\n", index=2, sync_allowed=False, outputs=secret)
    student: StudentClient = await connect(b, StudentClient)
    await student.join(code, name="Ada")
    follower: FollowClient = await follow(b, code, student.student_key)
    await follower.wait_until(lambda: follower.outputs().get("a") == OUTPUTS)
    assert follower.outputs()["s"] == [] and "s" in follower.locked()
    await student.wait_for_update("a")
    assert (await student.pull("a", with_outputs=True))["content"]["outputs"] == OUTPUTS
    student.edit_cell("a", "x = 1\ny = 2\nz = 30\n")

    await teacher.reorder(["b", "s", "a"])
    assert (await student.next_message("cells_reordered"))["order"] == ["b", "s", "a"]
    await follower.wait_until(lambda: follower.order() == ["b", "s", "a"])
    await teacher.move_cell("a", "a2")
    moved = await student.next_message("cell_moved")
    assert (moved["from_id"], moved["to_id"]) == ("a", "a2")
    await follower.wait_until(lambda: follower.order() == ["b", "s", "a2"])
    assert follower.outputs()["a2"] == OUTPUTS
    ack = await teacher.push_cell("a2", "x = 10\ny = 2\nz = 3\n")
    await student.wait_for_update("a2", ack["seq"] - 1)
    assert (await student.pull("a2"))["status"] == "merged"
    assert student.source("a2") == "x = 10\ny = 2\nz = 30\n"
    # the locked cell's outputs never crossed
    await teacher.toggle_sync("a2", False)
    await follower.wait_until(lambda: "a2" in follower.locked())
    assert follower.outputs()["a2"] == []
    assert "SECRET-REMOTE" not in wire(student)
    assert b"SECRET-REMOTE" not in follower_wire(follower)
    # the student's server serves the teacher too: same order
    again: TeacherClient = await connect(b, TeacherClient)
    assert teacher.teacher_key is not None
    resumed = await again.resume_session(code, teacher.teacher_key)
    assert [c["cell_id"] for c in resumed["cells"]] == ["b", "s", "a2"]
