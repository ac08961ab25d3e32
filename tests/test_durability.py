"""The default store (SQLite) in real server processes: a class survives ``kill -9`` of its
server; one file serves one server; a damaged file leaves the server up and says so.

The durability promise (README, "Durability"): once a push, toggle, removal, join or pull has
been answered with success, it survives kill -9 of the server process.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError

from notebook_sync_ydoc.clients import StudentClient, SyncError, TeacherClient
from notebook_sync_ydoc.testing import JupyterServerProcess

Factory = Any
Connector = Any

CELLS = [f"c{i}" for i in range(6)]
STUDENTS = ["ada", "bo", "cy"]
GONE = (ConnectionError, TimeoutError, WebSocketClosedError, StreamClosedError)


def version(cell: str, n: int | str) -> str:
    """The teacher's text of a cell: only the first line changes from push to push."""
    body = "".join(f"{cell}_{k} = {k}\n" for k in range(6))
    return f"# {cell}, push {n}\n{body}"


def with_edit(text: str, student: str) -> str:
    """A student's own edit: the last line (five untouched lines from the teacher's)."""
    lines = text.splitlines(keepends=True)
    return "".join(lines[:-1]) + f"{student}_own = 1\n"


@dataclass
class Ledger:
    """What the clients sent and what the server acknowledged, as the clients saw it."""

    sent: dict[int, tuple[str, str]] = field(default_factory=dict)  # push no -> (cell, source)
    acked: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # cell -> (seq, no)
    pulled: dict[str, dict[str, int]] = field(default_factory=dict)  # student -> cell -> seq
    pulling: dict[str, str | None] = field(default_factory=dict)  # student -> cell in flight
    pulls_acked: int = 0


async def teacher_stream(teacher: TeacherClient, ledger: Ledger, rng: random.Random) -> None:
    """Pushes, three in flight at a time, until the server goes away."""
    n = 0
    for _ in range(10_000):
        batch = []
        for _ in range(3):
            n += 1
            cell = rng.choice(CELLS)
            ledger.sent[n] = (cell, version(cell, n))
            batch.append((n, cell))
        replies = await asyncio.gather(
            *(teacher.push_cell(c, ledger.sent[i][1], metadata={"push": i}) for i, c in batch),
            return_exceptions=True,
        )
        for (i, cell), reply in zip(batch, replies, strict=True):
            if isinstance(reply, dict):
                ledger.acked.setdefault(cell, []).append((int(reply["seq"]), i))
            elif not isinstance(reply, GONE):
                raise reply
        if any(isinstance(r, BaseException) for r in replies):
            return
        await asyncio.sleep(0.03)  # pacing: a teacher's pushes, under the per-connection limit


async def student_stream(
    student: StudentClient, name: str, ledger: Ledger, rng: random.Random
) -> None:
    """Pulls one cell after another until the server goes away."""
    for _ in range(10_000):
        cell = rng.choice(CELLS)
        ledger.pulling[name] = cell
        try:
            reply = await student.pull(cell)
        except SyncError as exc:
            if exc.code != "no_update":
                raise
            ledger.pulling[name] = None
        except GONE:
            return
        else:
            ledger.pulling[name] = None
            assert reply["status"] == "merged", reply  # the teacher's line and the student's
            ledger.pulled[name][cell] = int(reply["seq"])
            ledger.pulls_acked += 1
        await asyncio.sleep(rng.uniform(0.02, 0.06))  # pacing: a student's clicks


async def classroom(
    connect: Connector, server: JupyterServerProcess
) -> tuple[TeacherClient, str, dict[str, StudentClient]]:
    """A session with every cell pushed, pulled by every student and edited by each."""
    teacher: TeacherClient = await connect(server, TeacherClient)
    code = (await teacher.create_session("durability"))["session_code"]
    for cell in CELLS:
        await teacher.push_cell(cell, version(cell, 0), metadata={"push": 0})
    students: dict[str, StudentClient] = {}
    for name in STUDENTS:
        student: StudentClient = await connect(server, StudentClient)
        await student.join(code, name=name)
        for cell in CELLS:
            await student.wait_for_update(cell)
            await student.pull(cell)
            student.edit_cell(cell, with_edit(version(cell, 0), name))
        students[name] = student
    return teacher, code, students


def check_pushes(ledger: Ledger, final: dict[str, dict[str, Any]]) -> tuple[int, int]:
    """Every acknowledged push is there (or a later push of its cell is); the version there is
    one whole push: its source and its metadata from the same push. (checked, lost)"""
    checked = lost = 0
    for cell in CELLS:
        got = final[cell]
        no = int(got["content"]["metadata"]["push"])
        assert got["content"]["source"] == (ledger.sent[no][1] if no else version(cell, 0))
        if no:
            assert ledger.sent[no][0] == cell
        acked = ledger.acked.get(cell, [])
        for seq, _ in acked:
            checked += 1
            lost += int(got["seq"] < seq)
        if acked:
            last_seq, last_no = max(acked)
            if got["seq"] == last_seq:
                assert no == last_no
            else:  # a later push, sent but never answered, made it whole
                assert got["seq"] > last_seq and no not in {i for _, i in acked}
    return checked, lost


@pytest.mark.parametrize("seed", [11, 23, 37])
async def test_kill_9_mid_stream_loses_nothing_acknowledged(
    nbsync_server_factory: Factory,
    connect: Connector,
    figures: dict[str, float],
    seed: int,
) -> None:
    rng = random.Random(seed)
    server: JupyterServerProcess = nbsync_server_factory()
    teacher, code, students = await classroom(connect, server)
    teacher_key = teacher.teacher_key
    assert teacher_key is not None
    keys = {name: s.student_key for name, s in students.items()}
    ledger = Ledger(pulled={name: {} for name in STUDENTS})
    for name in STUDENTS:
        for cell in CELLS:
            ledger.pulled[name][cell] = students[name].cells[cell].pulled_seq

    streams = [asyncio.ensure_future(teacher_stream(teacher, ledger, rng))]
    streams += [
        asyncio.ensure_future(student_stream(s, name, ledger, random.Random(seed + i)))
        for i, (name, s) in enumerate(students.items())
    ]
    await asyncio.sleep(rng.uniform(0.3, 1.5))  # the random point of the kill, in the stream
    await asyncio.to_thread(server.kill)
    await asyncio.wait_for(asyncio.gather(*streams), 30)
    assert ledger.acked, "the stream pushed before the kill"
    in_flight = dict(ledger.pulling)

    started = time.monotonic()
    await asyncio.to_thread(server.start)
    figures["restart to ready, s"] = time.monotonic() - started
    store = (await asyncio.to_thread(server.status))["store"]
    assert store["ok"] is True and store["loaded"]["sessions"] == 1, store
    figures["store load at start, ms"] = store["loaded"]["ms"]

    # the teacher's browser resumes with its key; a fresh student sees what is there
    back: TeacherClient = await connect(server, TeacherClient)
    resumed = await back.resume_session(code, teacher_key)
    index = {c["cell_id"]: int(c["seq"]) for c in resumed["cells"]}
    assert set(index) == set(CELLS)
    auditor: StudentClient = await connect(server, StudentClient)
    await auditor.join(code, name="auditor")
    final = {cell: await auditor.pull(cell) for cell in CELLS}
    assert {cell: int(r["seq"]) for cell, r in final.items()} == index
    checked, lost = check_pushes(ledger, final)
    assert lost == 0
    figures["acknowledged pushes checked"] = checked
    figures["acknowledged pushes lost"] = lost

    # students rejoin with their keys: their pulls are there, and their merge bases
    rejoined: dict[str, StudentClient] = {}
    pulls_lost = 0
    for name, old in students.items():
        again: StudentClient = await connect(server, StudentClient)
        again.notebook, again.cells = old.notebook, old.cells  # the browser kept its notebook
        joined = await again.join(code, student_key=keys[name])
        assert joined["resumed"] is True and joined["name"] == name
        for c in joined["cells"]:
            acked_seq = ledger.pulled[name][c["cell_id"]]
            pulls_lost += int(c["pulled_seq"] < acked_seq)
            assert c["pulled_seq"] <= index[c["cell_id"]]
        rejoined[name] = again
    assert pulls_lost == 0
    figures["acknowledged pulls checked"] = ledger.pulls_acked + len(STUDENTS) * len(CELLS)
    figures["acknowledged pulls lost"] = pulls_lost

    # the class goes on: a new version of every cell merges with each student's own edit
    for cell in CELLS:
        await back.push_cell(cell, version(cell, "final"), metadata={"push": 0})
    for name, student in rejoined.items():
        for cell in CELLS:
            reply = await student.pull(cell)
            if reply["status"] == "conflict":
                # only where a pull was under way at the kill: the server kept it (the base
                # moved on), the browser never applied it; nothing of it is half there
                assert in_flight.get(name) == cell, reply
                continue
            assert reply["status"] == "merged", reply
            assert student.source(cell) == with_edit(version(cell, "final"), name)


async def test_ended_and_removed_survive_a_restart(
    nbsync_server_factory: Factory, connect: Connector
) -> None:
    """Toggles, removals and the end of a session are answered only once in the file too."""
    server: JupyterServerProcess = nbsync_server_factory(use_ydoc=False)
    teacher, code, students = await classroom(connect, server)
    await teacher.toggle_sync("c1", False)
    await teacher.remove_cell("c2")
    other: TeacherClient = await connect(server, TeacherClient)
    ended = (await other.create_session("ends"))["session_code"]
    await other.push_cell("x", "x = 1\n")
    await other.end_session()
    await asyncio.to_thread(server.kill)
    await asyncio.to_thread(server.start)

    student: StudentClient = await connect(server, StudentClient)
    joined = await student.join(code, student_key=students["ada"].student_key)
    cells = {c["cell_id"]: c for c in joined["cells"]}
    assert "c2" not in cells and cells["c1"]["sync_allowed"] is False
    with pytest.raises(SyncError) as info:
        await student.pull("c1")
    assert info.value.code == "sync_not_allowed"
    late: StudentClient = await connect(server, StudentClient)
    with pytest.raises(SyncError) as info:
        await late.join(ended)
    assert info.value.code == "session_ended"


async def test_the_follow_room_rebuilds_from_the_store(
    nbsync_server_factory: Factory, connect: Connector
) -> None:
    from notebook_sync_ydoc.clients.follow import FollowClient

    server: JupyterServerProcess = nbsync_server_factory()
    assert (await asyncio.to_thread(server.status))["follow"]["available"] is True
    _teacher, code, students = await classroom(connect, server)
    await asyncio.to_thread(server.kill)
    await asyncio.to_thread(server.start)
    key = students["bo"].student_key
    assert key is not None
    follower = await FollowClient.connect(server.base_url, code, key, token=server.token)
    try:
        await follower.wait_until(lambda: len(follower.order()) == len(CELLS), timeout=10)
        assert follower.order() == CELLS
        assert follower.sources() == {cell: version(cell, 0) for cell in CELLS}
    finally:
        await follower.close()


async def test_a_second_server_on_the_same_file_is_refused(
    nbsync_server_factory: Factory, connect: Connector
) -> None:
    first: JupyterServerProcess = nbsync_server_factory()
    teacher: TeacherClient = await connect(first, TeacherClient)
    code = (await teacher.create_session("one file"))["session_code"]
    await teacher.push_cell("a", "x = 1\n")
    second: JupyterServerProcess = nbsync_server_factory(store_path=first.options["store_path"])
    store = (await asyncio.to_thread(second.status))["store"]
    assert store["ok"] is False and "in use by another Jupyter server" in store["error"]
    assert f"pid {first.proc.pid if first.proc else '?'}" in store["error"]
    errors = [line for line in second.log_text().splitlines() if line.startswith("[E ")]
    assert any("store file cannot be used" in line and "in use" in line for line in errors)
    other: TeacherClient = await connect(second, TeacherClient)
    with pytest.raises(SyncError) as info:
        await other.create_session("refused")
    assert info.value.code == "store_unavailable"
    student: StudentClient = await connect(second, StudentClient)
    with pytest.raises(SyncError) as info:
        await student.join(code)
    assert info.value.code == "store_unavailable"  # not session_not_found: nothing is forgotten
    # the first server is unaffected
    assert (await teacher.push_cell("a", "x = 2\n"))["seq"] == 2
    assert (await asyncio.to_thread(first.status))["store"]["ok"] is True


def damage_file(path: Path, damage: str) -> bytes:
    """Cut the file in half, or replace it with garbage; what it holds now."""
    good = path.read_bytes()
    bad = good[: len(good) // 2] if damage == "truncated" else random.Random(5).randbytes(8192)
    path.write_bytes(bad)
    return bad


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
async def test_a_damaged_file_leaves_the_server_up_and_says_so(
    nbsync_server_factory: Factory, connect: Connector, damage: str
) -> None:
    server: JupyterServerProcess = nbsync_server_factory()
    teacher: TeacherClient = await connect(server, TeacherClient)
    code = (await teacher.create_session("soon damaged"))["session_code"]
    for i in range(40):
        await teacher.push_cell(f"c{i}", f"line {i}\n" * 300)
    await teacher.close()
    await asyncio.to_thread(server.stop)
    path = Path(server.options["store_path"])
    bad = await asyncio.to_thread(damage_file, path, damage)

    await asyncio.to_thread(server.start)
    status = await asyncio.to_thread(server.status)
    store = status["store"]
    assert store["ok"] is False and str(path) in store["error"], store
    assert ("malformed" if damage == "truncated" else "not a database") in store["error"]
    errors = [line for line in server.log_text().splitlines() if line.startswith("[E ")]
    assert any("store file cannot be used" in line for line in errors), errors
    again: TeacherClient = await connect(server, TeacherClient)
    with pytest.raises(SyncError) as info:
        await again.create_session("refused")
    assert info.value.code == "store_unavailable"
    with pytest.raises(SyncError) as info:
        await again.resume_session(code, "k" * 32)
    assert info.value.code == "store_unavailable"
    assert (await again.request("ping"))["type"] == "pong"  # the connection is usable
    assert await asyncio.to_thread(path.read_bytes) == bad  # never deleted, cut or rewritten


async def test_full_synchronous_flushes_before_answering(
    nbsync_server_factory: Factory, connect: Connector
) -> None:
    server: JupyterServerProcess = nbsync_server_factory(store_synchronous="full")
    teacher: TeacherClient = await connect(server, TeacherClient)
    code = (await teacher.create_session("full"))["session_code"]
    acks = await asyncio.gather(*(teacher.push_cell(f"c{i}", f"x = {i}\n") for i in range(20)))
    store = (await asyncio.to_thread(server.status))["store"]
    assert store["synchronous"] == "FULL" and 1 <= store["flushes"] <= store["writes"], store
    await asyncio.to_thread(server.kill)
    await asyncio.to_thread(server.start)
    back: TeacherClient = await connect(server, TeacherClient)
    assert teacher.teacher_key is not None
    resumed = await back.resume_session(code, teacher.teacher_key)
    assert {c["cell_id"]: c["seq"] for c in resumed["cells"]} == {
        f"c{i}": ack["seq"] for i, ack in enumerate(acks)
    }
