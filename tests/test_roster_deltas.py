"""The roster's deltas (docs/architecture.md, "Protocol"): a teacher connection that merges its
first (full) ``roster_update`` and every delta since holds what a fresh full roster says, after
joins, pulls, a leave and a lost connection, on one server and across two sharing Redis; two
connections from different moments each stay consistent; a pull sends that one student's row;
nothing changed, nothing sent; the kept rows go with the last teacher. Also the bytes the
teacher receives, full rosters against deltas (the ``[figures]`` line)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from helpers import Connector, class_on_two_servers, classroom, teacher_tab
from test_session_units import Client, RecordingPeer

from notebook_sync_ydoc.clients import StudentClient, TeacherClient
from notebook_sync_ydoc.clients.sync import apply_roster_update
from notebook_sync_ydoc.engines import JsonEngine
from notebook_sync_ydoc.protocol.messages import encode
from notebook_sync_ydoc.session import ServiceConfig, SyncService
from notebook_sync_ydoc.store import PulledCell, StudentRecord
from notebook_sync_ydoc.store.memory import MemoryStore
from notebook_sync_ydoc.testing import JupyterServerProcess

Factory = Callable[..., JupyterServerProcess]
ROW = {"student_id", "name", "user", "online", "pulled"}


def normal(roster: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """A roster without what may differ between equal ones: the students' order."""
    return sorted(roster or [], key=lambda s: str(s["student_id"]))


def rosters_of(teacher: TeacherClient) -> list[dict[str, Any]]:
    return [m for m in teacher.history if m["type"] == "roster_update"]


async def settled(watcher: TeacherClient, checker: TeacherClient) -> list[dict[str, Any]]:
    """Once ``watcher``'s merged roster is what a fresh full roster (asked on ``checker``'s
    connection, maybe on another server) says; asked again until both agree."""
    fresh: list[dict[str, Any]] = []
    for _ in range(20):
        fresh = normal(await checker.request_roster())
        if normal(watcher.roster) == fresh:
            break
        try:
            await watcher.next_message("roster_update", timeout=1.0)
        except TimeoutError:
            continue
    assert watcher.roster_gaps == []
    assert normal(watcher.roster) == fresh
    return fresh


def assert_chain(teacher: TeacherClient) -> None:
    """One full roster first, then deltas each from the version before (no gap, no resend);
    a full roster later only as the reply to ``roster``."""
    updates = rosters_of(teacher)
    assert updates and updates[0]["full"] is True, updates[:1]
    version = updates[0]["version"]
    for update in updates[1:]:
        if "req_id" in update:
            assert update["full"] is True and update["version"] >= version
            version = update["version"]
            continue
        assert "full" not in update and update["base"] == version, update
        assert update["version"] == version + 1
        assert update["students"] or update["removed"]  # never an empty delta
        assert all(set(s) == ROW for s in update["students"])
        version = update["version"]


async def lesson(
    teacher: TeacherClient, students: list[StudentClient], middle: Callable[[], Any] | None = None
) -> None:
    """Pushes, pulls, ``middle`` half-way, more pulls, a student leaving, one disconnecting."""
    ada, bob, cy = students
    for cid in ("p1", "p2"):
        await teacher.push_cell(cid, "a = 1\n")
    for s in students:
        await s.wait_for_update("p2")
    await ada.pull("p1")
    await bob.pull("p2")
    if middle is not None:
        await middle()
    await ada.pull("p2")
    ack = await teacher.push_cell("p1", "a = 2\n")
    await cy.wait_for_update("p1", ack["seq"] - 1)
    await cy.pull("p1")
    await bob.leave()
    await cy.close()


# --- one server, both modes -----------------------------------------------------------------------


async def test_the_merged_roster_is_the_fresh_one(
    server: JupyterServerProcess, connect: Connector
) -> None:
    teacher, code, students = await classroom(connect, server, students=3)
    checker = await teacher_tab(connect, server, teacher, code)
    await lesson(teacher, students)
    final = await settled(teacher, checker)
    assert [(s["name"], s["online"]) for s in sorted(final, key=lambda s: s["name"])] == [
        ("student0", True), ("student1", False), ("student2", False)
    ]  # fmt: skip
    by_name = {s["name"]: s["pulled"] for s in final}
    assert set(by_name["student0"]) == {"p1", "p2"} and set(by_name["student2"]) == {"p1"}
    assert_chain(teacher)
    assert_chain(checker)


async def test_two_teacher_tabs_from_different_moments(
    server: JupyterServerProcess, connect: Connector
) -> None:
    """The first tab from the start, the second from half-way (while changes still come): each
    is sent one full roster, then deltas; both agree with a fresh one."""
    teacher, code, students = await classroom(connect, server, students=3)
    assert teacher.teacher_key is not None
    early: TeacherClient = await connect(server, TeacherClient)
    await early.resume_session(code, teacher.teacher_key)
    late: TeacherClient = await connect(server, TeacherClient)

    async def middle() -> None:
        assert teacher.teacher_key is not None
        await late.resume_session(code, teacher.teacher_key)

    await lesson(teacher, students, middle)
    final = await settled(early, teacher)
    assert await settled(late, teacher) == final
    for tab in (teacher, early, late):
        assert_chain(tab)
    assert rosters_of(late)[0]["version"] > rosters_of(early)[0]["version"]


async def test_a_pull_sends_that_student_alone(
    server: JupyterServerProcess, connect: Connector
) -> None:
    teacher, _code, (ada, _bob, _cy) = await classroom(connect, server, students=3)
    await teacher.push_cell("p1", "x = 1\n")
    await ada.wait_for_update("p1")
    await teacher.next_message("roster_update")  # the joins
    while len(teacher.roster or []) < 3:
        await teacher.next_message("roster_update")
    mark = len(teacher.history)
    await ada.pull("p1")
    while not any(s["pulled"] for s in teacher.roster or []):
        await teacher.next_message("roster_update")
    (update,) = [m for m in teacher.history[mark:] if m["type"] == "roster_update"]
    (row,) = update["students"]
    assert row["name"] == "student0" and row["pulled"] == {"p1": ada.cells["p1"].seq}
    assert update["removed"] == [] and "full" not in update
    assert_chain(teacher)


# --- two servers sharing Redis --------------------------------------------------------------------


@pytest.mark.redis
async def test_deltas_across_two_servers(
    nbsync_server_factory: Factory, redis_url: str, redis_prefix: str, connect: Connector
) -> None:
    a = nbsync_server_factory(redis_url=redis_url, key_prefix=redis_prefix)
    b = nbsync_server_factory(redis_url=redis_url, key_prefix=redis_prefix)
    teacher, _code, students, tab, checkers = await class_on_two_servers(connect, a, b)
    await lesson(teacher, students)
    on_a = await settled(teacher, checkers[1])  # a's merged roster = b's fresh one
    on_b = await settled(tab, checkers[0])  # and the other way round
    assert on_a == on_b and len(on_a) == 3
    assert sum(s["online"] for s in on_a) == 1
    assert_chain(teacher)
    assert_chain(tab)


# --- in process: nothing changed, memory, the bytes -----------------------------------------------


class CountingPeer(RecordingPeer):
    """A recording peer that also counts the bytes of the roster_update frames it is sent."""

    def __init__(self, identity: str) -> None:
        super().__init__(identity)
        self.roster_bytes = 0

    def send_text(self, text: str) -> None:
        if json.loads(text)["type"] == "roster_update":
            self.roster_bytes += len(text.encode())
        super().send_text(text)


@pytest.fixture
async def service() -> AsyncIterator[SyncService]:
    config = ServiceConfig(roster_interval=0.01, rate_limits=None)
    svc = SyncService(
        MemoryStore(server_id="unit"), JsonEngine(), config, logging.getLogger("unit")
    )
    await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()


def counted(service: SyncService, identity: str) -> tuple[Client, CountingPeer]:
    client = Client(service, identity)
    peer = CountingPeer(identity)
    client.peer = peer
    client.member.peer = peer
    return client, peer


async def test_nothing_changed_nothing_sent_and_the_rows_go_with_the_teacher(
    service: SyncService,
) -> None:
    teacher, peer = counted(service, "teacher")
    code = (await teacher.ok("create_session", title="t"))["session_code"]
    await teacher.ok("push_cell", cell_id="c0", content={"source": "x"}, index=0)
    student = Client(service, "student")
    await student.ok("join_session", session_code=code, name="Ada")
    full = await teacher.ok("roster")  # the reply: the whole roster
    assert full["full"] is True and [s["name"] for s in full["students"]] == ["Ada"]
    room = service.rooms.get(code)
    assert room is not None
    fanout = service.fanout
    sent = len(peer.frames)
    await fanout.roster_round(room)  # nothing changed since the reply
    await fanout.roster_round(room)
    assert len(peer.frames) == sent
    await student.ok("request_sync", cell_id="c0")
    await fanout.roster_round(room)
    new = [f for f in peer.frames[sent:] if f["type"] == "roster_update"]
    assert new[0]["base"] == full["version"] and [s["pulled"] for s in new[0]["students"]] == [
        {"c0": 1}
    ]
    roster = apply_roster_update(full["students"], full["version"], new[0])
    assert roster == (await teacher.ok("roster"))["students"]
    # the kept rows go with the last teacher; a teacher back gets the whole roster
    assert room.roster_rows is not None
    await teacher.ok("leave_session")
    assert room.roster_rows is None
    again = Client(service, "teacher")
    key = teacher.peer.of("session_created")[0]["teacher_key"]
    await again.ok("resume_session", session_code=code, teacher_key=key)
    first = await again.peer.wait_for("roster_update")
    assert first["full"] is True and first["students"] == roster


async def test_the_bytes_of_the_roster_to_the_teacher(service: SyncService) -> None:
    """200 students who pulled 20 cells with 36-character ids; 60 of them pull one cell again:
    one roster round per pull (pulls more than ``roster_interval`` apart), and all 60 in one."""
    students, cells, pulling = 200, 20, 60
    teacher, peer = counted(service, "teacher")
    code = (await teacher.ok("create_session", title="t"))["session_code"]
    ids = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(cells)]  # JupyterLab's length
    for i, cid in enumerate(ids):
        await teacher.ok("push_cell", cell_id=cid, content={"source": "x"}, index=i)
    store = service.store
    sids = [f"{i:024x}" for i in range(students)]
    for n, sid in enumerate(sids):
        await store.put_student(code, StudentRecord(sid, f"user{n}", f"Student {n}"))
        await store.set_presence(code, sid, f"conn{n}", True)
        for cid in ids:
            await store.record_pull(code, sid, cid, PulledCell(seq=1, base_source="x"))
    await teacher.ok("roster")
    room = service.rooms.get(code)
    assert room is not None
    full_bytes = len(encode(await service.fanout.roster(code)).encode())
    figures = {}
    for mode in ("one round per pull", "one round for all"):
        before = after = 0
        peer.roster_bytes = 0
        for k, sid in enumerate(sids[:pulling]):
            seq = 2 if mode == "one round per pull" else 3
            await store.record_pull(code, sid, ids[k % cells], PulledCell(seq, "x"))
            if mode == "one round per pull":
                await service.fanout.roster_round(room)
                before += full_bytes  # what every round sent: the whole roster
        if mode == "one round for all":
            await service.fanout.roster_round(room)
            before = full_bytes
        after = peer.roster_bytes
        assert after * (10 if mode == "one round per pull" else 3) < before
        figures[mode] = (before, after)
    fresh = (await teacher.ok("roster"))["students"]
    assert len(fresh) == students and len(fresh[0]["pulled"]) == cells
    (b1, a1), (b2, a2) = figures.values()
    print(
        f"\n[figures] roster to the teacher, {students} students x {cells} cells (36-char ids), "
        f"{pulling} pull one cell: a full roster {full_bytes} B; one round per pull "
        f"{b1} B before, {a1} B after ({b1 / a1:.0f}x less); one round for all {b2} B "
        f"before, {a2} B after ({b2 / a2:.1f}x less)"
    )
