"""Hostile input against a real server (docs/architecture.md, "Security"): frames that once broke
a class (lone surrogates, deep nesting, NaN, huge source arrays), per-connection rate limits,
and a seeded protocol fuzzer in both roles. Every frame must get a clear answer, change
nothing, and leave the connection (and everyone else) working; every frame out must be strict
JSON; no traceback and no token may reach the server log."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest
from helpers import classroom
from tornado.websocket import WebSocketClosedError

from notebook_sync_ydoc.clients import StudentClient, SyncConnection, TeacherClient
from notebook_sync_ydoc.protocol import CLOSE_POLICY, load_schema
from notebook_sync_ydoc.testing import JupyterServerProcess

WAIT = 5.0
MUTATIONS_PER_ROLE = 400
SEED = 20261201


def _strict(name: str) -> Any:
    raise ValueError(f"{name} in a server frame")


class StrictConnection(SyncConnection):
    """Keeps every frame as received and checks it is strict JSON."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.violations: list[str] = []
        super().__init__(*args, **kwargs)

    def on_message(self, message: dict[str, Any]) -> None:
        try:
            json.loads(json.dumps(message, allow_nan=True), parse_constant=_strict)
            json.dumps(message, ensure_ascii=False).encode("utf-8")
        except (ValueError, UnicodeEncodeError) as exc:
            self.violations.append(f"{exc}: {str(message)[:200]}")


async def next_error(client: SyncConnection) -> dict[str, Any]:
    async with asyncio.timeout(WAIT):
        while True:
            message = await client.inbox.get()
            if message["type"] == "error":
                return message


async def refused(client: SyncConnection, raw: str) -> str:
    """Send ``raw``; the error code of the answer, after checking the connection still works."""
    await client.send_raw(raw)
    error = await next_error(client)
    assert (await client.request("ping"))["type"] == "pong"
    return str(error["code"])


def push_frame(source: str = '"x"', extra: str = "") -> str:
    return '{"type":"push_cell","cell_id":"c1","content":{"source":' + source + extra + "}}"


async def test_frames_that_broke_a_class_are_refused_and_change_nothing(
    server: JupyterServerProcess, connect: Any
) -> None:
    teacher, code, (student,) = await classroom(connect, server)
    # a lone surrogate in a student's name: refused, and never stored
    newcomer = await connect(server, StudentClient)
    join = '{"type":"join_session","session_code":"' + code + '","name":"\\ud800"}'
    assert await refused(newcomer, join) == "invalid_message"
    assert await refused(teacher, '{"type":"create_session","title":"a\\udfffb"}') == (
        "invalid_message"
    )
    assert await refused(teacher, '{"type":"ping","req_id":"\\ud800"}') == "invalid_message"
    # nesting: the parser's own recursion, and free-form metadata past the bound
    assert await refused(teacher, "[" * 1000 + "]" * 1000) == "invalid_message"
    deep = ',"metadata":{"a":' + "[" * 600 + "]" * 600 + "}"
    assert await refused(teacher, push_frame(extra=deep)) == "invalid_message"
    # NaN is not JSON; a source array past the bound is refused before any schema walk
    assert await refused(teacher, push_frame(extra=',"metadata":{"n":NaN}')) == ("invalid_message")
    assert await refused(teacher, push_frame(source=json.dumps(["a"] * 500_000))) == (
        "invalid_message"
    )
    # nothing changed: no cell, and the roster shows the one student who really joined
    first = await teacher.request("push_cell", cell_id="c2", content={"source": "y"})
    assert first["seq"] == 1
    second_tab = await connect(server, TeacherClient)
    resumed = await second_tab.resume_session(code, teacher.teacher_key)
    assert [c["cell_id"] for c in resumed["cells"]] == ["c2"]
    roster = await second_tab.next_message("roster_update")
    assert [s["name"] for s in roster["students"]] == ["student0"]
    assert (await student.request("request_sync", cell_id="c2"))["content"]["source"] == "y"
    # a source as an nbformat array of lines still works
    lines = await teacher.request("push_cell", cell_id="c3", content={"source": ["a\n", "b"]})
    assert (await student.request("request_sync", cell_id="c3"))["content"]["source"] == "a\nb"
    assert lines["seq"] == 2
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "Uncaught exception" not in log


async def test_a_flood_is_answered_rate_limited_then_closed(
    nbsync_server_factory: Any, connect: Any
) -> None:
    server = nbsync_server_factory(rate_limit_messages=5, rate_limit_burst=10)
    client = await connect(server, SyncConnection)
    replies = await asyncio.gather(
        *(client.request("ping") for _ in range(10)), return_exceptions=True
    )
    assert all(isinstance(r, dict) and r["type"] == "pong" for r in replies), replies
    await client.send({"type": "ping", "req_id": "over"})
    assert (await next_error(client))["code"] == "rate_limited"
    for _ in range(30):  # keeps on: more refused frames in a row than its burst
        try:
            await client.send({"type": "ping"})
        except WebSocketClosedError:  # closed by the server while still flooding
            break
    async with asyncio.timeout(WAIT):
        await client.closed.wait()
    assert client.close_code == CLOSE_POLICY
    again = await connect(server, SyncConnection)  # a fresh connection has a fresh budget
    assert (await again.request("ping"))["type"] == "pong"
    assert server.status()["server"]["rate_limited"] > 10  # the burst, then the close


# --- the fuzzer ---------------------------------------------------------------------------------

DEEP: Any = "deep"
for _level in range(40):
    DEEP = [DEEP]

NASTY: list[Any] = [
    "",
    "\ud800",
    "a\udfffb",
    "x" * 70_000,
    float("nan"),
    float("inf"),
    -1,
    2**70,
    0.5,
    True,
    None,
    [],
    {},
    ["a", 1, None],
    {"nested": DEEP},
    "ZZZZZZ",
    "c1",
    "../../etc/passwd",
    "<script>alert(1)</script>",
]


# every message but end_session (the fuzzing teacher would end the class it fuzzes)
TYPES = sorted(set(load_schema()["$defs"]["messages"]) - {"end_session"})


def mutate(rng: random.Random, frame: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    out = dict(frame)
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if roll < 0.45 and fields:
            out[rng.choice(fields)] = rng.choice(NASTY)
        elif roll < 0.6 and out:
            out.pop(rng.choice(sorted(out)))
        elif roll < 0.75:
            out[rng.choice(["extra", "metadata", "content", "req_id"])] = rng.choice(NASTY)
        elif roll < 0.9 and isinstance(out.get("content"), dict):
            content = dict(out["content"])
            content[rng.choice(["source", "cell_type", "metadata"])] = rng.choice(NASTY)
            out["content"] = content
        else:
            out["type"] = rng.choice([*TYPES, "fly", 3, None])
    return out


def base_frames(code: str) -> list[dict[str, Any]]:
    """One well-formed frame of every message a connection can send in a running session."""
    return [
        {"type": "push_cell", "cell_id": "c1", "content": {"source": "x = 1\n"}, "index": 0},
        {"type": "toggle_sync", "cell_id": "c1", "sync_allowed": True},
        {"type": "remove_cell", "cell_id": "c9"},
        {"type": "request_sync", "cell_id": "c1", "local_source": "x = 2\n"},
        {"type": "preview", "cell_id": "c1"},
        {"type": "join_session", "session_code": code, "name": "fuzz"},
        {"type": "resume_session", "session_code": code, "teacher_key": "k" * 32},
        {"type": "create_session", "title": "fuzz"},
        {"type": "ping"},
    ]


def encode_frame(rng: random.Random, frame: dict[str, Any]) -> str:
    text = json.dumps(frame, allow_nan=True)  # NaN goes out raw, surrogates as \\u escapes
    return text if rng.random() > 0.05 else text[: rng.randint(0, len(text))]  # or cut short


async def fuzz(client: StrictConnection, code: str, rng: random.Random) -> int:
    """Send mutated frames; after each, a ping must come back within WAIT with the frame's
    own answer before it. Returns the frames sent."""
    frames = base_frames(code)
    for i in range(MUTATIONS_PER_ROLE):
        base = rng.choice(frames)
        fields = [k for k in base if k != "type"]
        frame = mutate(rng, base, fields)
        req_id = f"f{i}"
        if rng.random() < 0.9:
            frame["req_id"] = req_id
        before = len(client.history)
        await client.send_raw(encode_frame(rng, frame))
        pong = await asyncio.wait_for(client.request("ping"), WAIT)  # no stall, no drop
        assert pong["type"] == "pong"
        answers = client.history[before:-1]
        if "req_id" in frame:  # no silent frame: its reply (a refusal too), under its req_id
            own = frame["req_id"]  # a mutation may have left another one than ours
            valid = isinstance(own, str) and 0 < len(own) <= 64
            # or an error without one: the frame was refused before its req_id could be read
            assert any(
                (valid and a.get("req_id") == own) or (a["type"] == "error" and "req_id" not in a)
                for a in answers
            ), (frame, answers)
        else:
            assert answers, frame
    return MUTATIONS_PER_ROLE


async def test_fuzzed_frames_in_both_roles(nbsync_server_factory: Any, connect: Any) -> None:
    server = nbsync_server_factory(rate_limit_messages=0)
    teacher = await connect(server, TeacherClient)
    code = (await teacher.create_session("fuzz"))["session_code"]
    await teacher.push_cell("c1", "x = 1\n")
    fuzz_teacher = await connect(server, StrictConnection)  # a second tab of the teacher
    await fuzz_teacher.request("resume_session", session_code=code, teacher_key=teacher.teacher_key)
    fuzz_student = await connect(server, StrictConnection)
    await fuzz_student.request("join_session", session_code=code, name="fuzzer")
    rng = random.Random(SEED)
    sent = await fuzz(fuzz_teacher, code, rng) + await fuzz(fuzz_student, code, rng)
    assert sent == 2 * MUTATIONS_PER_ROLE
    assert fuzz_teacher.violations == [] and fuzz_student.violations == []
    # everyone else is unaffected: a real student still joins, pulls, and is on the roster
    bystander = await connect(server, StudentClient)
    await bystander.join(code, name="bystander")
    assert (await bystander.request("ping"))["type"] == "pong"
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "Uncaught exception" not in log, log[-4000:]
    assert server.token not in log


@pytest.mark.parametrize("case", ["lone surrogate name", "NaN metadata"])
async def test_a_record_stored_bad_by_an_older_version_breaks_nothing(case: str) -> None:
    """Data this version would refuse, put into the store directly (as an older version could
    have): rosters, resumes and fan-out still encode, scrubbed."""
    import logging

    from test_session_units import Client

    from notebook_sync_ydoc.engines import JsonEngine
    from notebook_sync_ydoc.session import ServiceConfig, SyncService
    from notebook_sync_ydoc.store import CellWrite, StudentRecord
    from notebook_sync_ydoc.store.memory import MemoryStore

    store = MemoryStore(server_id="old")
    svc = SyncService(store, JsonEngine(), ServiceConfig(), logging.getLogger("old"))
    await svc.start()
    try:
        teacher = Client(svc, "teacher")
        created = await teacher.ok("create_session")
        code, key = created["session_code"], created["teacher_key"]
        if case == "lone surrogate name":
            bad = StudentRecord(student_id="s" * 24, identity="old", name="\ud800", joined=0.0)
            await store.put_student(code, bad)
        else:
            write = CellWrite("c1", "x", metadata={"n": float("nan")}, sync_allowed=True, index=0)
            await store.write_cell(code, write, 0)
        again = Client(svc, "teacher")
        resumed = await again.ok("resume_session", session_code=code, teacher_key=key)
        assert resumed["type"] == "session_resumed"
        roster = await again.peer.wait_for("roster_update")
        student = Client(svc, "student")
        await student.ok("join_session", session_code=code, name="new")
        if case == "NaN metadata":
            pulled = await student.ok("request_sync", cell_id="c1")
            assert pulled["content"]["metadata"] == {"n": None}
        else:
            assert roster["students"][0]["name"] == "\ufffd"
    finally:
        await svc.stop()


async def test_a_follower_flooding_awareness_is_cut_off_and_the_room_goes_on(
    ydoc_server: JupyterServerProcess, connect: Any
) -> None:
    """Every awareness update goes to every follower: past its budget (10 a second, 30 at
    once) a follower's updates are dropped and counted; the room keeps serving everyone."""
    from test_follow import status, wait_status

    from notebook_sync_ydoc.clients.follow import FollowClient

    teacher, code, (mallory, bob) = await classroom(connect, ydoc_server, students=2)
    await teacher.push_cell("a", "x = 1\n")
    flooder = await FollowClient.connect(
        ydoc_server.base_url, code, mallory.student_key, token=ydoc_server.token
    )
    watcher = await FollowClient.connect(
        ydoc_server.base_url, code, bob.student_key, token=ydoc_server.token
    )
    try:
        before = (await status(ydoc_server))["follow"]["dropped_awareness"]
        for i in range(200):
            await flooder.set_awareness({"user": {"name": f"m{i}"}})
        after = await wait_status(
            ydoc_server, lambda s: s["follow"]["dropped_awareness"] >= before + 150
        )
        assert after["follow"]["message_errors"] == 0
        await teacher.push_cell("a", "x = 2\n")
        await watcher.wait_until(lambda: watcher.sources().get("a") == "x = 2\n")
    finally:
        await flooder.close()
        await watcher.close()
