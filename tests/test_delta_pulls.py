"""Delta pulls (issue 16, item 1): a client that holds the text it last pulled gets only the
CRDT update to the teacher's text; the server falls back to the full text, and says why,
whenever it cannot (no base, a base it does not hold, JSON mode); a wrong base is caught by the
check, never written into a notebook; old clients get the reply they always had."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from notebook_sync_ydoc.clients import StudentClient, TeacherClient
from notebook_sync_ydoc.engines.delta import apply_delta, make_delta
from notebook_sync_ydoc.merge import text_check

VECTORS = Path(__file__).parents[1] / "src" / "__tests__" / "fixtures" / "delta-vectors.json"
BIG = "".join(f"value_{k} = {k} * 2  # a line of a long cell\n" for k in range(240))  # ~10 KB


def wire_bytes(frame: dict[str, Any]) -> int:
    return len(json.dumps(frame, ensure_ascii=False, separators=(",", ":")).encode())


def test_the_server_still_makes_the_vectors_the_browser_is_tested_with() -> None:
    """src/__tests__/delta.test.ts applies these with Yjs: the same bytes from pycrdt here."""
    vectors = json.loads(VECTORS.read_text())["vectors"]
    for v in vectors:
        assert base64.b64encode(make_delta(v["base"], v["theirs"])).decode() == v["delta"]
        assert apply_delta(v["base"], base64.b64decode(v["delta"])) == v["theirs"]
        assert text_check(v["theirs"]) == v["check"]


async def _lesson(server: Any, connect: Any) -> tuple[TeacherClient, StudentClient]:
    teacher: TeacherClient = await connect(server, TeacherClient)
    code = (await teacher.create_session("delta"))["session_code"]
    student: StudentClient = await connect(server, StudentClient)
    await student.join(code, name="Ada")
    return teacher, student


async def test_a_typing_sized_pull_of_a_10_kb_cell_is_a_small_delta(
    nbsync_server: Any, connect: Any
) -> None:
    teacher, student = await _lesson(nbsync_server, connect)
    await teacher.push_cell("c", BIG)
    await student.wait_for_update("c")
    first = await student.pull("c")
    assert (
        first["delta"] is False
        and first["full_reason"] == "this client holds no base of the cell yet"
    )
    assert student.source("c") == BIG
    edited = BIG.replace("value_7 = 7", "value_7 = 77")
    ack = await teacher.push_cell("c", edited)
    await student.wait_for_update("c", ack["seq"] - 1)
    reply = await student.pull("c")
    assert reply["delta"] is True and reply["status"] == "fast_forward"
    assert student.source("c") == edited
    raw = dict(reply)
    raw["content"] = {k: v for k, v in reply["content"].items() if k != "source"}  # as sent
    assert "source" not in [k for k in raw["content"]] and wire_bytes(raw) <= 300, raw
    figures = f"{wire_bytes(raw)} bytes (full: {wire_bytes(first)})"
    print(f"\n[figures] delta pull of a 10 KB cell: {figures}")


async def test_merges_kept_and_the_next_delta(nbsync_server: Any, connect: Any) -> None:
    teacher, student = await _lesson(nbsync_server, connect)
    await teacher.push_cell("c", "a = 1\nb = 2\nc = 3\n")
    await student.wait_for_update("c")
    await student.pull("c")
    student.edit_cell("c", "a = 1\nb = 2\nc = 30\n")  # the student's own edit
    ack = await teacher.push_cell("c", "a = 10\nb = 2\nc = 3\n")
    await student.wait_for_update("c", ack["seq"] - 1)
    merged = await student.pull("c")
    assert merged["delta"] is True and merged["status"] == "merged"
    assert student.source("c") == "a = 10\nb = 2\nc = 30\n"
    assert student.bases["c"] == (ack["seq"], "a = 10\nb = 2\nc = 3\n")  # the teacher's text
    # a conflict, kept as mine: the base still moves on to the teacher's text
    ack = await teacher.push_cell("c", "a = 10\nb = 2\nc = 4\n")
    await student.wait_for_update("c", ack["seq"] - 1)
    assert (await student.pull("c"))["status"] == "conflict"
    kept = await student.pull("c", strategy="mine")
    assert kept["delta"] is True and kept["status"] == "kept"
    assert student.source("c") == "a = 10\nb = 2\nc = 30\n"
    assert student.bases["c"] == (ack["seq"], "a = 10\nb = 2\nc = 4\n")
    ack = await teacher.push_cell("c", "a = 11\nb = 2\nc = 4\n")
    await student.wait_for_update("c", ack["seq"] - 1)
    again = await student.pull("c")
    assert again["delta"] is True and again["status"] == "merged"
    assert student.source("c") == "a = 11\nb = 2\nc = 30\n"


async def test_a_base_the_server_does_not_hold_gets_the_full_text_and_why(
    nbsync_server: Any, connect: Any
) -> None:
    teacher, student = await _lesson(nbsync_server, connect)
    await teacher.push_cell("c", "x = 1\n")
    await student.wait_for_update("c")
    await student.pull("c")
    ack = await teacher.push_cell("c", "x = 2\n")
    await student.wait_for_update("c", ack["seq"] - 1)
    student.bases["c"] = (ack["seq"] + 5, "x = 1\n")  # a base seq the server never gave
    reply = await student.pull("c")
    assert reply["delta"] is False
    assert (
        reply["full_reason"]
        == f"your base is #{ack['seq'] + 5}, the server holds #{ack['seq'] - 1} as yours"
    )
    assert student.source("c") == "x = 2\n"


async def test_a_wrong_base_text_is_caught_not_written(nbsync_server: Any, connect: Any) -> None:
    """The right seq with a damaged copy of its text: the check fails, the client takes the
    teacher's text from a preview; the notebook holds the right text."""
    teacher, student = await _lesson(nbsync_server, connect)
    await teacher.push_cell("c", "x = 1\ny = 1\n")
    await student.wait_for_update("c")
    await student.pull("c")
    seq, _text = student.bases["c"]
    student.bases["c"] = (seq, "x = 1\ny = 1\nDAMAGED\n")
    ack = await teacher.push_cell("c", "x = 2\ny = 1\n")
    await student.wait_for_update("c", ack["seq"] - 1)
    reply = await student.pull("c")
    assert reply["delta"] is True
    assert student.source("c") == "x = 2\ny = 1\n"
    assert student.bases["c"] == (ack["seq"], "x = 2\ny = 1\n")


@pytest.mark.parametrize("use_ydoc", [False], ids=["json"])
async def test_json_mode_answers_delta_clients_in_full(
    nbsync_server_factory: Any, connect: Any, use_ydoc: bool
) -> None:
    server = nbsync_server_factory(use_ydoc=use_ydoc)
    teacher, student = await _lesson(server, connect)
    await teacher.push_cell("c", "x = 1\n")
    await student.wait_for_update("c")
    await student.pull("c")
    ack = await teacher.push_cell("c", "x = 2\n")
    await student.wait_for_update("c", ack["seq"] - 1)
    reply = await student.pull("c")
    assert reply["delta"] is False and "JSON fallback" in reply["full_reason"]
    assert student.source("c") == "x = 2\n"


async def test_an_old_client_gets_the_reply_it_always_had(nbsync_server: Any, connect: Any) -> None:
    teacher, student = await _lesson(nbsync_server, connect)
    student.delta_pulls = False
    await teacher.push_cell("c", "x = 1\n")
    await student.wait_for_update("c")
    reply = await student.pull("c")
    assert "delta" not in reply and "full_reason" not in reply
    assert reply["content"]["source"] == "x = 1\n" and student.source("c") == "x = 1\n"


@pytest.mark.redis
async def test_delta_pulls_across_two_servers(
    nbsync_server_factory: Any, redis_url: str, redis_prefix: str, connect: Any
) -> None:
    shared = {"redis_url": redis_url, "key_prefix": redis_prefix}
    teacher_server, student_server = (
        nbsync_server_factory(**shared),
        nbsync_server_factory(**shared),
    )
    teacher: TeacherClient = await connect(teacher_server, TeacherClient)
    code = (await teacher.create_session("two"))["session_code"]
    student: StudentClient = await connect(student_server, StudentClient)
    await student.join(code, name="Ada")
    await teacher.push_cell("c", BIG)
    await student.wait_for_update("c")
    await student.pull("c")
    edited = BIG.replace("value_9 = 9", "value_9 = 99")
    ack = await teacher.push_cell("c", edited)
    await student.wait_for_update("c", ack["seq"] - 1)
    reply = await student.pull("c")
    assert reply["delta"] is True and student.source("c") == edited


async def test_a_bad_base_seq_is_refused_under_its_req_id(nbsync_server: Any, connect: Any) -> None:
    from notebook_sync_ydoc.clients import SyncError

    _teacher, student = await _lesson(nbsync_server, connect)
    for bad in (-1, 2**53, "3", 1.5):
        with pytest.raises(SyncError) as refused:  # an answer, not a timeout
            await student.request("request_sync", cell_id="c", base_seq=bad)
        assert refused.value.code == "invalid_message" and "base_seq" in str(refused.value)
