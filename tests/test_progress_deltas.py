"""The progress view's deltas (issue 17, docs/architecture.md "Help and progress"): a teacher
connection that merges its ``progress_snapshot`` and every ``progress_update`` since holds what
a fresh snapshot says, after joins, pulls, conflicts, help requests, a removed cell and a new
order; two connections watching from different moments are each consistent; nothing changed,
nothing sent; in YDoc and JSON mode and across two servers sharing Redis. Also
``session_joined``'s help requests (the student's own, not resolved) after a reconnect. The diff
itself, and the Python client's merge, on random views."""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import Connector, class_on_two_servers, classroom, teacher_tab
from test_session_units import Client

from notebook_sync_ydoc.clients import StudentClient, TeacherClient
from notebook_sync_ydoc.clients.sync import apply_progress_update, decode_progress
from notebook_sync_ydoc.engines import JsonEngine
from notebook_sync_ydoc.protocol.messages import (
    PROGRESS_CODES,
    ProgressRow,
    progress_snapshot,
    progress_update,
)
from notebook_sync_ydoc.session import ServiceConfig, SyncService
from notebook_sync_ydoc.session.progress import ProgressView, diff_views
from notebook_sync_ydoc.store import HelpRequest, StudentRecord
from notebook_sync_ydoc.store.memory import MemoryStore
from notebook_sync_ydoc.testing import JupyterServerProcess

Factory = Callable[..., JupyterServerProcess]


def normal(matrix: dict[str, Any]) -> dict[str, Any]:
    """A matrix without what may differ between equal views: the version, students' order."""
    return {
        "cells": matrix["cells"],
        "students": sorted(
            (
                {**s, "cells": dict(sorted(s["cells"].items())), "user": s.get("user") or ""}
                for s in matrix["students"]
            ),
            key=lambda s: s["student_id"],
        ),
    }


async def settled(watcher: TeacherClient, checker: TeacherClient) -> dict[str, Any]:
    """Once ``watcher``'s merged matrix is what a fresh snapshot (on ``checker``'s connection,
    maybe another server) says; a fresh snapshot is taken again until both agree."""
    fresh: dict[str, Any] = {}
    for _ in range(20):
        fresh = normal(await checker.progress())
        try:
            await watcher.wait_progress(lambda m, f=fresh: normal(m) == f, timeout=1.0)
        except TimeoutError:
            continue
        assert watcher.progress_gaps == []
        return fresh
    assert watcher.progress_matrix is not None
    assert normal(watcher.progress_matrix) == fresh
    raise AssertionError("unreachable")


def updates_of(teacher: TeacherClient) -> list[dict[str, Any]]:
    return [m for m in teacher.history if m["type"] == "progress_update"]


def snapshots_of(teacher: TeacherClient) -> list[dict[str, Any]]:
    return [m for m in teacher.history if m["type"] == "progress_snapshot"]


def status(matrix: dict[str, Any], name: str, cell_id: str) -> str | None:
    for s in matrix["students"]:
        if s["name"] == name and cell_id in s["cells"]:
            return str(s["cells"][cell_id]["status"])
    return None


async def lesson(
    teacher: TeacherClient, students: list[StudentClient], middle: Callable[[], Any] | None = None
) -> None:
    """Joins, pushes, pulls (fast-forward, conflict, kept), help requests, a removed cell and a
    new order; ``middle`` runs half-way."""
    ada, bob, cy = students
    for cid in ("p1", "p2", "p3"):
        await teacher.push_cell(cid, "a = 1\nb = 2\n")
    for s in students:
        await s.wait_for_update("p3")
    for cid in ("p1", "p2", "p3"):
        await ada.pull(cid)
    await bob.pull("p1")
    await cy.pull("p2")
    ada.edit_cell("p2", "a = 1\nb = 20\n")
    bob.edit_cell("p1", "a = 1\nb = 30\n")
    ack = await teacher.push_cell("p2", "a = 1\nb = 200\n")
    await teacher.push_cell("p1", "a = 1\nb = 300\n")
    await ada.wait_for_update("p2", ack["seq"] - 1)
    await bob.wait_for_update("p1", ack["seq"])
    assert (await ada.pull("p2"))["status"] == "conflict"
    assert (await bob.pull("p1"))["status"] == "conflict"
    if middle is not None:
        await middle()
    assert (await bob.pull("p1", strategy="mine"))["status"] == "kept"
    await ada.ask_help("p3", "stuck")
    await cy.ask_help("p2", "why")
    await cy.withdraw_help("p2")
    await teacher.remove_cell("p2")
    await teacher.push_cell("p4", "new\n")
    assert await teacher.reorder(["p4", "p3", "p1"]) == ["p4", "p3", "p1"]
    await ada.pull("p1")


# --- one server, both modes -----------------------------------------------------------------------


async def test_deltas_merge_to_the_fresh_snapshot(
    server: JupyterServerProcess, connect: Connector
) -> None:
    teacher, code, students = await classroom(connect, server, students=3)
    checker = await teacher_tab(connect, server, teacher, code)
    first = await teacher.progress()
    assert [s["name"] for s in first["students"]] == ["student0", "student1", "student2"]
    raw = snapshots_of(teacher)[0]
    assert raw["version"] == first["version"] and raw["cells"] == []
    assert all(s["entries"] == [] for s in raw["students"])

    await lesson(teacher, students)
    final = await settled(teacher, checker)
    assert final["cells"] == ["p4", "p3", "p1"]
    by_name = {s["name"]: s["cells"] for s in final["students"]}
    assert {c: v["status"] for c, v in by_name["student0"].items()} == {
        "p4": "never_pulled", "p3": "up_to_date", "p1": "up_to_date"
    }  # fmt: skip
    assert by_name["student0"]["p3"]["help"] is True
    assert by_name["student1"]["p1"]["status"] == "kept_mine"
    assert {c: v["status"] for c, v in by_name["student2"].items()} == {
        "p4": "never_pulled", "p3": "never_pulled", "p1": "never_pulled"
    }  # fmt: skip

    # the teacher was sent one snapshot (its reply), then only deltas, each from the last
    assert len(snapshots_of(teacher)) == 1
    updates = updates_of(teacher)
    assert updates, "no progress_update"
    version = raw["version"]
    for update in updates:
        assert update["base"] == version and update["version"] > version
        version = update["version"]
        for s in update["students"]:
            assert set(s) <= {"student_id", "name", "user", "online", "cells"}
            for entry in s.get("cells", {}).values():
                assert entry[0] in PROGRESS_CODES.values() and entry[2] in (0, 1)
    reorders = [u["cells"] for u in updates if "cells" in u]
    assert reorders[-1] == ["p4", "p3", "p1"]
    assert any("p2" not in order for order in reorders)  # the removed cell left the order


async def test_a_delta_carries_only_what_changed_and_nothing_is_sent_for_no_change(
    server: JupyterServerProcess, connect: Connector
) -> None:
    teacher, _code, (ada, _bob) = await classroom(connect, server, students=2)
    for cid in ("p1", "p2"):
        await teacher.push_cell(cid, "x = 1\n")
    await ada.wait_for_update("p2")
    await teacher.progress()
    ada_id = next(
        s["student_id"] for s in (await teacher.progress())["students"] if s["name"] == "student0"
    )
    mark = len(teacher.history)
    await ada.pull("p2")
    matrix = await teacher.wait_progress(lambda m: status(m, "student0", "p2") == "up_to_date")
    (update,) = [m for m in teacher.history[mark:] if m["type"] == "progress_update"]
    seq = ada.cells["p2"].seq
    assert update["students"] == [{"student_id": ada_id, "cells": {"p2": ["u", seq, 0]}}]
    assert update["removed"] == [] and "cells" not in update
    assert status(matrix, "student1", "p2") == "never_pulled"

    # a lock and an unlock change nothing the view shows: no progress_update at all
    mark = len(teacher.history)
    await teacher.toggle_sync("p1", False)
    await teacher.toggle_sync("p1", True)
    await asyncio.sleep(0.5)  # five coalescing intervals
    assert [m for m in teacher.history[mark:] if m["type"].startswith("progress")] == []
    assert status(await teacher.progress(), "student1", "p1") == "never_pulled"


async def test_two_teacher_tabs_watching_from_different_moments(
    server: JupyterServerProcess, connect: Connector
) -> None:
    """Each connection merges what it was sent: the first from the start, the second from
    half-way (while changes are still coming); both agree with a fresh snapshot."""
    teacher, code, students = await classroom(connect, server, students=3)
    assert teacher.teacher_key is not None
    early: TeacherClient = await connect(server, TeacherClient)
    await early.resume_session(code, teacher.teacher_key)
    await early.progress()
    late: TeacherClient = await connect(server, TeacherClient)
    await late.resume_session(code, teacher.teacher_key)

    async def middle() -> None:
        await late.progress()

    await lesson(teacher, students, middle)
    final = await settled(early, teacher)
    assert await settled(late, teacher) == final
    for tab in (early, late):
        assert len(snapshots_of(tab)) == 1, snapshots_of(tab)
        version = snapshots_of(tab)[0]["version"]
        for update in updates_of(tab):
            assert update["base"] == version
            version = update["version"]
    # the late tab's snapshot came after changes the early tab was sent as deltas
    assert snapshots_of(late)[0]["version"] > snapshots_of(early)[0]["version"]


# --- two servers sharing Redis --------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.parametrize("student_ydoc", [True, False], ids=["ydoc", "json"])
async def test_deltas_across_two_servers(
    nbsync_server_factory: Factory,
    redis_url: str,
    redis_prefix: str,
    connect: Connector,
    student_ydoc: bool,
) -> None:
    a = nbsync_server_factory(redis_url=redis_url, key_prefix=redis_prefix)
    b = nbsync_server_factory(redis_url=redis_url, key_prefix=redis_prefix, use_ydoc=student_ydoc)
    teacher, _code, students, tab, checkers = await class_on_two_servers(connect, a, b)
    await teacher.progress()
    await tab.progress()
    await lesson(teacher, students)
    on_a = await settled(teacher, checkers[1])  # a's merged view = b's fresh snapshot
    on_b = await settled(tab, checkers[0])  # and the other way round
    assert on_a == on_b and on_a["cells"] == ["p4", "p3", "p1"]
    assert len(snapshots_of(teacher)) == 1 and len(snapshots_of(tab)) == 1
    assert updates_of(teacher) and updates_of(tab)


# --- session_joined carries the student's own help requests ---------------------------------------


async def test_a_rejoining_student_gets_its_open_requests(
    server: JupyterServerProcess, connect: Connector
) -> None:
    teacher, code, (ada, bob) = await classroom(connect, server, students=2)
    for cid in ("c", "d", "e"):
        await teacher.push_cell(cid, "x = 1\n")
    await ada.wait_for_update("e")
    await ada.ask_help("c", "stuck on c")
    await ada.ask_help("d", "and d")
    await ada.ask_help("e", "and e")
    await bob.ask_help("c", "bob's own")
    sid = next(r["student_id"] for r in await teacher.help_list() if r["name"] == "student0")
    await teacher.help_answer(sid, "c", note="look at x")
    await teacher.help_answer(sid, "e", note="done", resolve=True)
    await ada.withdraw_help("d")
    await ada.close()

    back: StudentClient = await connect(server, StudentClient)
    joined = await back.join(code, student_key=ada.student_key)
    # open (answered or not) and not resolved: c only (d withdrawn, e resolved); never Bob's
    assert [r["cell_id"] for r in joined["help"]] == ["c"]
    (request,) = joined["help"]
    assert request["note"] == "stuck on c" and request["resolved"] is False
    assert request["answer"]["note"] == "look at x" and request["answer"]["seq"] == 1
    assert request["answer"]["has_suggestion"] is False
    assert set(request) == {"cell_id", "note", "opened", "resolved", "answer"}
    assert back.help_requests == {"c": request}
    assert "bob's own" not in str(joined)

    # a new student has none; Bob, rejoining, his own only
    new: StudentClient = await connect(server, StudentClient)
    assert (await new.join(code, name="new"))["help"] == []
    await bob.close()
    bob_again: StudentClient = await connect(server, StudentClient)
    joined = await bob_again.join(code, student_key=bob.student_key)
    assert [(r["cell_id"], r["note"], r["answer"]) for r in joined["help"]] == [
        ("c", "bob's own", None)
    ]


# --- in-process: what a round reads -----------------------------------------------------------


class CountingStore(MemoryStore):
    """Counts the whole-class reads (``list_students``) and the single request reads."""

    def __init__(self) -> None:
        super().__init__(server_id="unit")
        self.class_reads = 0
        self.request_reads = 0

    async def list_students(self, code: str) -> list[StudentRecord]:
        self.class_reads += 1
        return await super().list_students(code)

    async def get_help(self, code: str, student_id: str, cell_id: str) -> HelpRequest | None:
        self.request_reads += 1
        return await super().get_help(code, student_id, cell_id)


async def test_a_burst_of_help_requests_reads_only_the_requests() -> None:
    store = CountingStore()
    config = ServiceConfig(roster_interval=0.05, rate_limits=None)
    service = SyncService(store, JsonEngine(), config, logging.getLogger("unit"))
    await service.start()
    try:
        teacher = Client(service, "teacher")
        created = await teacher.ok("create_session", title="burst")
        code, teacher_key = created["session_code"], created["teacher_key"]
        await teacher.ok("push_cell", cell_id="c", content={"source": "x = 1\n"})
        students = [Client(service, f"s{i}") for i in range(30)]
        for i, s in enumerate(students):
            await s.ok("join_session", session_code=code, name=f"s{i}")
        snapshot = await teacher.ok("progress")
        await asyncio.sleep(0.2)  # the joins' rounds are over
        before = store.class_reads
        for s in students:  # a burst: every student asks at once
            await s.ok("help_request", cell_id="c", local_source="x = 2\n")
        matrix = decode_progress(snapshot)

        def merged() -> dict[str, Any]:
            m = matrix
            for frame in teacher.peer.of("progress_update"):
                if frame["base"] == m["version"]:
                    m = apply_progress_update(m, frame)
            return m

        for _ in range(100):
            if all(row["cells"]["c"]["help"] for row in merged()["students"]):
                break
            await asyncio.sleep(0.02)
        assert all(row["cells"]["c"]["help"] for row in merged()["students"])
        assert store.class_reads == before, "a help event read the whole class"
        assert store.request_reads >= len(students)
        # a withdrawal is a help event too; a pull is not (the whole class again)
        await students[0].ok("help_withdraw", cell_id="c")
        await students[1].ok("request_sync", cell_id="c")
        for _ in range(100):
            m = merged()
            row0 = next(r for r in m["students"] if r["name"] == "s0")
            row1 = next(r for r in m["students"] if r["name"] == "s1")
            if not row0["cells"]["c"]["help"] and row1["cells"]["c"]["status"] == "up_to_date":
                break
            await asyncio.sleep(0.02)
        assert not row0["cells"]["c"]["help"] and row1["cells"]["c"]["status"] == "up_to_date"
        assert store.class_reads > before
        fresh = decode_progress(await teacher.ok("progress"))
        assert normal(merged()) == normal(fresh)

        # the kept view goes with the last connection watching it
        feed = service.fanout.progress
        assert feed.kept(code) is not None
        tab = Client(service, "teacher")
        await tab.ok("resume_session", session_code=code, teacher_key=teacher_key)
        await tab.ok("progress")
        await service.disconnect(teacher.member)
        gc.collect()
        assert feed.kept(code) is not None  # the other tab still watches
        await tab.ok("leave_session")
        await students[2].ok("request_sync", cell_id="c")  # an event: the round lets go
        await asyncio.sleep(0.2)
        gc.collect()
        assert feed.kept(code) is None
    finally:
        await service.stop()


# --- the diff and the client's merge on random views ----------------------------------------------


def random_view(rng: random.Random, ids: list[str], cells: list[str]) -> ProgressView:
    codes = list(PROGRESS_CODES.values())
    order = tuple(c for c in rng.sample(cells, len(cells)) if rng.random() < 0.8)
    rows: dict[str, ProgressRow] = {}
    for sid in ids:
        if rng.random() < 0.15:
            continue  # not in this view (new, or removed)
        entries = tuple(
            (rng.choice(codes), rng.randrange(3), int(rng.random() < 0.1)) for _ in order
        )
        rows[sid] = (rng.choice(["Ada", "Bob"]), rng.choice(["", "u"]), rng.random() < 0.5, entries)
    return order, rows


def evolve(
    rng: random.Random, view: ProgressView, ids: list[str], cells: list[str]
) -> ProgressView:
    """A step of a lesson: a few entries change; sometimes a student comes, goes, is renamed or
    goes offline; sometimes a cell is removed, added or the order changes."""
    codes = list(PROGRESS_CODES.values())
    order, rows = list(view[0]), dict(view[1])
    entries_of = {sid: dict(zip(order, row[3], strict=True)) for sid, row in rows.items()}
    if rng.random() < 0.2 and order:
        order.remove(rng.choice(order))
    if rng.random() < 0.2 and len(order) < len(cells):
        order.insert(
            rng.randrange(len(order) + 1), rng.choice([c for c in cells if c not in order])
        )
    if rng.random() < 0.2:
        rng.shuffle(order)
    if rng.random() < 0.2 and rows:
        del rows[rng.choice(list(rows))]
    if rng.random() < 0.3 and len(rows) < len(ids):
        sid = rng.choice([i for i in ids if i not in rows])
        rows[sid] = ("New", "", True, ())
        entries_of[sid] = {}
    for sid in list(rows):
        name, user, online, _ = rows[sid]
        if rng.random() < 0.1:
            name = name + "!"
        if rng.random() < 0.1:
            online = not online
        mine = entries_of.get(sid, {})
        row = []
        for c in order:
            entry = mine.get(c, ("n", 0, 0))
            if rng.random() < 0.2:
                entry = (rng.choice(codes), rng.randrange(4), int(rng.random() < 0.2))
            row.append(entry)
        rows[sid] = (name, user, online, tuple(row))
    return tuple(order), rows


def test_the_merged_diffs_equal_the_snapshots() -> None:
    rng = random.Random(17)
    ids = [f"{i:024x}" for i in range(12)]
    cells = [f"c{j}" for j in range(8)]
    for _ in range(200):
        old = random_view(rng, ids, cells)
        steps = [old]
        for k in range(6):
            steps.append(
                evolve(rng, steps[-1], ids, cells) if k % 2 else random_view(rng, ids, cells)
            )
        matrix = decode_progress(progress_snapshot("CODE", 1, *steps[0]))
        for version, (before, after) in enumerate(itertools.pairwise(steps), 1):
            change = diff_views(before, after)
            if change is None:
                assert before == after
                matrix = {**matrix, "version": version + 1}
                continue
            cells_order, changed, removed = change
            update = progress_update("CODE", version, version + 1, cells_order, changed, removed)
            matrix = apply_progress_update(matrix, update)
            fresh = decode_progress(progress_snapshot("CODE", version + 1, *after))
            assert normal(matrix) == normal(fresh)
        with pytest.raises(ValueError):
            apply_progress_update(matrix, {**update, "base": 999})


def test_the_diff_of_equal_views_is_nothing_and_of_one_cell_one_entry() -> None:
    row: ProgressRow = ("Ada", "", True, (("n", 0, 0), ("u", 2, 0)))
    view: ProgressView = (("a", "b"), {"s1": row, "s2": row})
    assert diff_views(view, (("a", "b"), dict(view[1]))) is None
    moved: ProgressView = (
        ("a", "b"),
        {"s1": row, "s2": ("Ada", "", True, (("b", 0, 1), row[3][1]))},
    )
    assert diff_views(view, moved) == (
        None,
        [{"student_id": "s2", "cells": {"a": ("b", 0, 1)}}],
        [],
    )
    offline: ProgressView = (("a", "b"), {"s1": ("Ada", "", False, row[3])})
    assert diff_views(view, offline) == (None, [{"student_id": "s1", "online": False}], ["s2"])
    swapped: ProgressView = (("b", "a"), {"s1": ("Ada", "", True, row[3][::-1]), "s2": row})
    cells, changed, removed = diff_views(view, swapped) or (None, [], [])
    assert cells == ["b", "a"] and removed == []
    assert changed == [{"student_id": "s2", "cells": {"b": ("n", 0, 0), "a": ("u", 2, 0)}}]


# --- the vectors the browser's merge is tested with -----------------------------------------------

VECTORS = Path(__file__).parents[1] / "src" / "__tests__" / "fixtures" / "progress-vectors.json"


def progress_vectors() -> dict[str, Any]:
    """Sequences of views as the server sends them: the first step's snapshot, then per step
    the ``progress_update`` from the one before (none when nothing changed) and the snapshot a
    fresh watcher would get (src/__tests__/progress.test.ts merges the updates into the first
    snapshot and compares with each)."""
    rng = random.Random(2017)
    ids = [f"s{i}" for i in range(5)]
    cells = ["c1", "c2", "c3", "c4"]
    sequences = []
    for _ in range(3):
        views = [random_view(rng, ids, cells)]
        for _ in range(5):
            views.append(evolve(rng, views[-1], ids, cells))
        views.insert(3, views[2])  # a step where nothing changed
        steps = []
        for version, (before, after) in enumerate(itertools.pairwise(views), 1):
            change = diff_views(before, after)
            update = None
            if change is not None:
                update = progress_update("CODE", version, version + 1, *change)
            snapshot = progress_snapshot("CODE", version + 1, *after)
            steps.append({"update": update, "snapshot": snapshot})
        sequences.append({"first": progress_snapshot("CODE", 1, *views[0]), "steps": steps})
    return json.loads(json.dumps({"sequences": sequences}))


def test_the_server_still_makes_the_vectors_the_browser_is_tested_with() -> None:
    if os.environ.get("NBSYNC_WRITE_FIXTURES"):
        VECTORS.write_text(json.dumps(progress_vectors(), indent=1) + "\n")
    assert json.loads(VECTORS.read_text()) == progress_vectors()
