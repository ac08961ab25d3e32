"""Flat push cost and flat memory (issue 16, item 2): the teacher's cell document stays decoded
between pushes (a cache used only while the store holds exactly what this engine wrote), a
push's full state is spliced instead of re-encoded, and a cell whose state outgrew its text is
compacted. A student whose base was taken before a compaction still pulls the right text, with
an ``update`` that brings their base to it. Real pycrdt throughout; no timing here (the figures
are tests/benchmarks/push_history.py's)."""

from __future__ import annotations

import base64
import json
import logging
import random
from pathlib import Path
from typing import Any

import pytest

from notebook_sync_ydoc.clients import StudentClient, TeacherClient
from notebook_sync_ydoc.engines import CellDocCache, JsonEngine, load_engine
from notebook_sync_ydoc.engines.delta import apply_delta
from notebook_sync_ydoc.engines.doc_cache import HotCell
from notebook_sync_ydoc.engines.splice import var_uint
from notebook_sync_ydoc.engines.ydoc_engine import (
    YDocEngine,
    cell_text,
    contains,
    encode_cell,
    load_cell,
    set_text,
)
from notebook_sync_ydoc.engines.ytext import VarReader, state_vector
from notebook_sync_ydoc.merge import MergeOutcome, PullInput
from notebook_sync_ydoc.session import ServiceConfig, SyncService
from notebook_sync_ydoc.store.memory import MemoryStore

KEY = ("ABCDEF", "c1")
LINES = "".join(f"value_{k} = compute({k})  # line {k}\n" for k in range(40))  # ~1.3 KB
SNIPPET = "result = model.predict(features)  # é 😀\n"


def typing(source: str, pushes: int, at: int | None = None) -> list[str]:
    """A teacher typing at ``at`` (default: the middle), every eighth push a backspace."""
    cursor = source.find("\n", len(source) // 2) + 1 if at is None else at
    out, typed = [], 0
    for n in range(pushes):
        if n % 8 == 7 and typed:
            source = source[: cursor - 1] + source[cursor:]
            cursor, typed = cursor - 1, typed - 1
        else:
            char = SNIPPET[n % len(SNIPPET)]
            source = source[:cursor] + char + source[cursor:]
            cursor, typed = cursor + 1, typed + 1
        out.append(source)
    return out


def random_edits(rng: random.Random, source: str, pushes: int) -> list[str]:
    alphabet = "ab z\n\né😀ß=("
    out = []
    for _ in range(pushes):
        p = rng.randrange(len(source) + 1)
        kind = rng.random()
        piece = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
        if kind < 0.45:
            source = source[:p] + piece + source[p:]
        elif kind < 0.8:
            source = source[:p] + source[p + rng.randint(1, 9) :]
        else:
            source = source[:p] + piece + source[p + rng.randint(1, 6) :]
        out.append(source)
    return out


class Cell:
    """One cell as a store holds it: the state and source of the last accepted push."""

    def __init__(self) -> None:
        self.state: bytes | None = None
        self.source: str | None = None

    def push(self, engine: YDocEngine, source: str, key: tuple[str, str] | None = KEY) -> bytes:
        state = engine.push(self.state, self.source, source, key)
        assert state is not None
        self.state, self.source = state, source
        return state


def text_of(state: bytes) -> str:
    return cell_text(load_cell(state, 99))


def clocks(state: bytes) -> dict[int, int]:
    return state_vector(load_cell(state, 99).get_state())


def descends(state: bytes, ancestor: bytes) -> bool:
    """Whether ``state`` is ``ancestor`` plus later operations: its update from the ancestor's
    state vector brings a holder of the ancestor exactly to it."""
    doc, theirs = load_cell(ancestor, 98), load_cell(state, 99)
    doc.apply_update(theirs.get_update(doc.get_state()))
    return cell_text(doc) == cell_text(theirs) and doc.get_state() == theirs.get_state()


def hot(engine: YDocEngine) -> HotCell:
    assert engine.cache is not None
    entry = engine.cache._entries[KEY]
    return entry


# the cache --------------------------------------------------------------------------------------
def test_pushes_with_and_without_the_cache_store_the_same_text() -> None:
    rng = random.Random(16)
    sources = typing(LINES, 300) + random_edits(rng, LINES, 700)
    cold, warm = YDocEngine(), YDocEngine(CellDocCache())
    a, b = Cell(), Cell()
    for source in sources:
        state_a, state_b = a.push(cold, source, None), b.push(warm, source)
        assert text_of(state_a) == text_of(state_b) == source
        # the decoded document is the one the cache kept: same items, same clocks
        assert state_vector(load_cell(state_b, 9).get_state()) == state_vector(
            hot(warm).doc.get_state()
        )
    assert warm.cache is not None and warm.cache.hits == len(sources) - 1
    assert warm.cache.misses == 1  # the first push of the cell


def test_a_spliced_state_decodes_to_the_teachers_document() -> None:
    """Every hot push's state is the previous one plus the new structs (:mod:`.splice`), not a
    re-encoding; decoded, it is the teacher's document, over thousands of random edits."""
    rng = random.Random(7)
    engine = YDocEngine(CellDocCache())
    cell = Cell()
    cell.push(engine, LINES)
    spliced = 0
    for source in random_edits(rng, LINES, 2000):
        before, compactions = hot(engine), engine.compactions
        state = cell.push(engine, source)
        after = hot(engine)
        assert before.layout is not None and after.layout is not None
        old_body = before.state[before.layout.body_start : before.layout.body_end]
        new_body = state[after.layout.body_start : after.layout.body_end]
        if engine.compactions == compactions:
            assert new_body.startswith(old_body)
            spliced += 1
        doc = load_cell(state, 9)
        assert cell_text(doc) == source
        assert state_vector(doc.get_state()) == state_vector(after.doc.get_state())
        # the state's tail is the document's delete set
        assert doc.get_update(doc.get_state()) == b"\x00" + state[after.layout.body_end :]
    assert spliced > 1500


def test_a_stale_cache_is_never_used() -> None:
    """Server A keeps the cell hot; server B (its own engine, through the shared store) pushes
    in between: A's next push decodes what the store holds and keeps B's change."""
    server_a, server_b = YDocEngine(CellDocCache()), YDocEngine(CellDocCache())
    store = Cell()
    store.push(server_a, LINES)
    store.push(server_a, LINES + "a = 1\n")
    written_by_b = store.push(server_b, "b = 2\n" + LINES + "a = 1\n")  # B's write lands
    assert server_a.cache is not None and server_a.cache.misses == 1
    state = store.push(server_a, "b = 2\n" + LINES + "a = 10\n")
    assert server_a.cache.misses == 2  # A decoded the store's state: its document was stale
    assert text_of(state) == "b = 2\n" + LINES + "a = 10\n"
    # A's state descends from B's (a stale document would have lost B's operations: the text
    # would still be right, but every student who pulled B's state would lose its lineage)
    assert descends(state, written_by_b)
    # the same for a push of A that the store refused: A's cache holds a state nobody stored
    refused = server_a.push(store.state, store.source, "refused\n", KEY)
    assert refused is not None and text_of(refused) == "refused\n"
    written_by_b = store.push(server_b, "b = 3\n" + LINES + "a = 10\n")
    state = store.push(server_a, "b = 3\n" + LINES + "a = 11\n")
    assert text_of(state) == "b = 3\n" + LINES + "a = 11\n"
    assert server_a.cache.misses == 3
    assert descends(state, written_by_b)  # built on the store's state, not on A's refused one
    # and a JSON-mode server that changed the source without a state: the state's text wins
    cold = store.state
    assert cold is not None and server_a.push(cold, "json\n", "b = 3\nz\n", KEY) is not None
    assert server_a.cache.hits == 3  # the state is what A wrote: reused


def test_the_cache_is_bounded() -> None:
    cache = CellDocCache(max_entries=3, max_bytes=200_000)
    engine = YDocEngine(cache)
    for n in range(10):
        engine.push(None, None, LINES, ("S", f"c{n}"))
    assert len(cache) == 3 and cache.evictions == 7
    engine.push(None, None, "x" * 60_000, ("S", "big"))
    assert cache.size <= 200_000
    assert cache.take(("S", "c0"), b"") is None  # evicted long ago


# compaction --------------------------------------------------------------------------------------
def test_compaction_bounds_the_state_over_6000_pushes() -> None:
    engine = YDocEngine(CellDocCache())
    cell = Cell()
    cell.push(engine, LINES)
    sizes = []
    for n, source in enumerate(typing(LINES, 6000)):
        state = cell.push(engine, source)
        sizes.append(len(state))
        if n % 500 == 0:
            assert text_of(state) == source
    assert cell.state is not None and cell.source is not None
    text = len(cell.source.encode())  # the text only grows here: the largest one
    assert engine.compactions >= 3
    assert max(sizes) <= engine.compact_factor * text + engine.compact_floor + 200
    assert len(state_vector(load_cell(cell.state, 9).get_state())) == 1  # one teacher id
    # the state right after a compaction is the text alone
    assert min(sizes[1000:]) < text + 100


def test_a_compacted_state_never_reuses_a_client_id() -> None:
    engine = YDocEngine(CellDocCache(), compact_factor=1.0, compact_floor=64)
    cell = Cell()
    ids = set()
    for source in typing(LINES, 400):
        ids |= set(state_vector(load_cell(cell.push(engine, source), 9).get_state()))
    assert engine.compactions >= 5 and len(ids) == engine.compactions + 1


# pulls across a compaction -----------------------------------------------------------------------
def compacted_lesson() -> tuple[YDocEngine, bytes, str, Cell]:
    """A student's base (state, text) taken, then pushes past at least one compaction."""
    engine = YDocEngine(CellDocCache(), compact_floor=512)
    cell = Cell()
    cell.push(engine, LINES)
    base_state, base_text = cell.push(engine, LINES + "x = 1\n"), LINES + "x = 1\n"
    # the teacher keeps typing at the top of the cell
    for source in typing(base_text, 600, at=0):
        cell.push(engine, source)
    assert engine.compactions >= 1
    assert cell.state is not None
    base_clocks = state_vector(load_cell(base_state, 9).get_state())
    assert not contains(state_vector(load_cell(cell.state, 9).get_state()), base_clocks)
    return engine, base_state, base_text, cell


def pull(engine: YDocEngine, cell: Cell, base: tuple[bytes, str], mine: str | None) -> MergeOutcome:
    assert cell.source is not None
    request = PullInput(
        theirs_source=cell.source,
        theirs_state=cell.state,
        base_source=base[1],
        base_state=base[0],
        mine=mine,
        theirs_seq=10,
        pulled_seq=2,
    )
    return engine.pull(request)


def applied(base_state: bytes, outcome: MergeOutcome) -> str:
    assert outcome.update is not None
    doc = load_cell(base_state, 99)
    doc.apply_update(outcome.update)
    return cell_text(doc)


def test_the_hazard_a_delta_between_unrelated_histories_doubles_the_text() -> None:
    """Why the guard exists: the naive update from an old base to a compacted state."""
    _engine, base_state, base_text, cell = compacted_lesson()
    assert cell.state is not None
    base = load_cell(base_state, 9)
    naive = load_cell(cell.state, 8).get_update(base.get_state())
    base.apply_update(naive)
    assert len(cell_text(base)) > len(base_text) + len(cell.source or "") - 10  # doubled


def test_fast_forward_from_a_base_taken_before_a_compaction() -> None:
    engine, base_state, base_text, cell = compacted_lesson()
    outcome = pull(engine, cell, (base_state, base_text), None)
    assert outcome.status == "fast_forward" and outcome.source == cell.source
    assert applied(base_state, outcome) == cell.source
    assert outcome.update is not None and len(outcome.update) < 2000  # the change, not the cell
    assert engine.reconciled == 0


def test_merge_from_a_base_taken_before_a_compaction() -> None:
    engine, base_state, base_text, cell = compacted_lesson()
    mine = base_text.replace("value_30 = compute(30)", "value_30 = 30  # mine")
    outcome = pull(engine, cell, (base_state, base_text), mine)
    assert cell.source is not None
    expected = cell.source.replace("value_30 = compute(30)", "value_30 = 30  # mine")
    assert outcome.status == "merged" and outcome.source == expected
    assert applied(base_state, outcome) == expected
    assert engine.reconciled == 0


def test_conflict_and_strategies_from_a_base_taken_before_a_compaction() -> None:
    engine, base_state, base_text, cell = compacted_lesson()
    mine = "mine = 0\n" + base_text  # the teacher typed at the top too
    outcome = pull(engine, cell, (base_state, base_text), mine)
    assert outcome.status == "conflict" and outcome.update is None
    assert cell.source is not None
    for strategy, status, text in (("theirs", "replaced", cell.source), ("mine", "kept", mine)):
        request = PullInput(
            theirs_source=cell.source,
            theirs_state=cell.state,
            base_source=base_text,
            base_state=base_state,
            mine=mine,
            strategy=strategy,  # type: ignore[arg-type]
        )
        resolved = engine.pull(request)
        assert resolved.status == status and resolved.source == text
        assert applied(base_state, resolved) == text


def test_delta_pulls_start_from_base_text_and_ignore_compactions() -> None:
    engine, _base_state, base_text, cell = compacted_lesson()
    assert cell.source is not None
    delta = engine.text_delta(base_text, cell.source)
    assert delta is not None and apply_delta(base_text, delta) == cell.source
    assert len(delta) < 2000


def test_a_base_taken_after_a_compaction_gets_the_teachers_own_delta() -> None:
    """After a compaction the next bases descend from the compacted state again: the update is
    the teacher's operations (no rebuild, nothing reconciled)."""
    engine, _base_state, _base_text, cell = compacted_lesson()
    assert cell.state is not None and cell.source is not None
    base = (cell.state, cell.source)
    cell.push(engine, cell.source + "y = 2\n")
    outcome = pull(engine, cell, base, None)
    assert applied(base[0], outcome) == cell.source and engine.reconciled == 0
    assert outcome.update is not None and len(outcome.update) < 100


def test_a_header_with_one_client_names_the_teacher() -> None:
    engine = YDocEngine()
    state = engine.push(None, None, "a\n")
    assert state is not None
    reader = VarReader(state)
    assert reader.var_uint() == 1
    reader.var_uint()
    client = reader.var_uint()
    assert set(state_vector(load_cell(state, 9).get_state())) == {client}
    assert var_uint(client) in state[:12]
    again = engine.push(state, "a\n", "a\nb\n")  # a cold push keeps that id
    assert again is not None
    assert set(state_vector(load_cell(again, 9).get_state())) == {client}


# memory while students pull ---------------------------------------------------------------------
async def test_students_who_pulled_one_version_share_one_stored_state() -> None:
    """The embedded store keeps one state per pulled version, not a copy per student: each
    student's base is the very bytes object of the cell's state (what a pull recorded)."""
    from test_session_units import Client

    store = MemoryStore(server_id="unit")
    service = SyncService(
        store,
        load_engine(True, logging.getLogger("u"))[0],
        ServiceConfig(rate_limits=None),
        logging.getLogger("u"),
    )
    await service.start()
    try:
        teacher = Client(service, "teacher")
        code = (await teacher.ok("create_session", title="memory"))["session_code"]
        for source in [LINES, *typing(LINES, 200)]:
            await teacher.ok("push_cell", cell_id="c", content={"source": source})
        bases = []
        for n in range(30):
            student = Client(service, f"student{n}")
            await student.ok("join_session", session_code=code, name=f"S{n}")
            assert student.member.student_id is not None
            await student.ok("request_sync", cell_id="c")
            record = await store.get_student(code, student.member.student_id)
            assert record is not None
            bases.append(record.pulled["c"].base_state)
        cell = await store.get_cell(code, "c")
        assert cell is not None and cell.crdt_state is not None
        assert all(base is cell.crdt_state for base in bases)
    finally:
        await service.stop()


# a real server -----------------------------------------------------------------------------------
async def test_thousands_of_pushes_to_one_cell_then_students_pull(
    nbsync_server_factory: Any, connect: Any
) -> None:
    nbsync_server = nbsync_server_factory(rate_limit_messages=0)  # 2,500 pushes at full speed
    teacher: TeacherClient = await connect(nbsync_server, TeacherClient)
    code = (await teacher.create_session("history"))["session_code"]
    old: StudentClient = await connect(nbsync_server, StudentClient)  # the `update` reply
    old.delta_pulls = False
    merging: StudentClient = await connect(nbsync_server, StudentClient)
    delta: StudentClient = await connect(nbsync_server, StudentClient)
    for name, student in (("Old", old), ("Merging", merging), ("Delta", delta)):
        await student.join(code, name=name)
    small = LINES[:400]
    await teacher.push_cell("c", small)
    for student in (old, merging, delta):
        await student.wait_for_update("c")
    first = await old.pull("c")
    base = load_cell(base64.b64decode(first["update"]), 99)  # a first pull: the whole state
    await merging.pull("c")
    await delta.pull("c")
    before = nbsync_server.status()["crdt_compactions"]
    sources = typing(small, 2500, at=0)
    for source in sources:
        ack = await teacher.push_cell("c", source)
    assert nbsync_server.status()["crdt_compactions"] > before
    await old.wait_for_update("c", ack["seq"] - 1)
    reply = await old.pull("c")
    assert reply["status"] == "fast_forward" and old.source("c") == sources[-1]
    base.apply_update(base64.b64decode(reply["update"]))
    assert cell_text(base) == sources[-1]
    merging.edit_cell("c", small.replace("value_9 = compute(9)", "value_9 = 9"))
    merged = await merging.pull("c")
    assert merged["status"] == "merged"
    assert merging.source("c") == sources[-1].replace("value_9 = compute(9)", "value_9 = 9")
    pulled = await delta.pull("c")
    assert pulled["delta"] is True and delta.source("c") == sources[-1]


@pytest.mark.redis
async def test_two_servers_pushing_one_cell_never_use_a_stale_document(
    nbsync_server_factory: Any, redis_url: str, redis_prefix: str, connect: Any
) -> None:
    """The teacher's two tabs on two servers push one cell in turn (each server keeps the
    cell hot); a student's ``update`` still brings their base to the teacher's text and no
    pull needed reconciling (a stale document would break the CRDT lineage: the text would
    be repaired, and counted)."""
    shared = {"redis_url": redis_url, "key_prefix": redis_prefix}
    server_a, server_b = nbsync_server_factory(**shared), nbsync_server_factory(**shared)
    tab_a: TeacherClient = await connect(server_a, TeacherClient)
    code = (await tab_a.create_session("two tabs"))["session_code"]
    tab_b: TeacherClient = await connect(server_b, TeacherClient)
    await tab_b.resume_session(code, tab_a.teacher_key or "")
    student: StudentClient = await connect(server_a, StudentClient)
    student.delta_pulls = False
    await student.join(code, name="Ada")
    text = LINES
    ack = await tab_a.push_cell("c", text)
    await student.wait_for_update("c")
    base = load_cell(base64.b64decode((await student.pull("c"))["update"]), 99)
    reconciled = server_a.status()["crdt_reconciled"]
    for n in range(12):
        tab = (tab_a, tab_b)[n % 2]
        text = text.replace(f"value_{n} = compute({n})", f"value_{n} = {n}  # tab {n % 2}")
        ack = await tab.push_cell("c", text)
        if n % 3 == 2:  # now and then the student pulls
            await student.wait_for_update("c", ack["seq"] - 1)
            reply = await student.pull("c")
            assert reply["status"] == "fast_forward" and student.source("c") == text
            base.apply_update(base64.b64decode(reply["update"]))
            assert cell_text(base) == text
            # the next update is from the state the server recorded for this pull
            base = load_cell(base.get_update(), 99)
    assert server_a.status()["crdt_reconciled"] == reconciled


def test_the_engine_defaults_are_the_documented_ones() -> None:
    engine = YDocEngine()
    assert engine.compact_factor == 1.5 and engine.compact_floor == 8192
    assert engine.cache is None
    served, _reason = load_engine(True, logging.getLogger("test"))
    assert isinstance(served, YDocEngine) and isinstance(served.cache, CellDocCache)
    assert JsonEngine().push(None, None, "x", KEY) is None  # the key is only a hint


# what the browser decodes -----------------------------------------------------------------------
SPLICED = Path(__file__).parents[1] / "src" / "__tests__" / "fixtures" / "spliced-states.json"
SPLICED_CLIENT = 123_456_789


def spliced_states() -> list[dict[str, str]]:
    """A teacher document's full states over a series of pushes, each spliced onto the one
    before (inserts inside older items, deletions across them, emoji, a deletion-only push):
    deterministic, so the bytes can be compared with the fixture the browser is tested with."""
    sources = [
        "a = 1\nb = 2\n",
        "a = 1\nx = 0\nb = 2\n",
        "a = 10\nx = 0\nb = 2\nprint(a + b)\n",
        "a = 10\nb = 2\nprint(a + b)\n",  # deletion only
        "# café 🎉\na = 10\nb = 2\nprint(a + b)\n",
        "# café 🎉\na = 10\nb = 20\nprint(a * b)  # 🧪\n",
        "b = 20\nprint(a * b)  # 🧪\n",
    ]
    doc = load_cell(None, SPLICED_CLIENT)
    cell = encode_cell(doc, "")
    out = []
    for source in sources:
        set_text(doc, source, cell.text)
        cell = encode_cell(doc, source, cell)
        out.append({"text": source, "state": base64.b64encode(cell.state).decode()})
    return out


def test_the_engine_still_makes_the_spliced_states_the_browser_is_tested_with() -> None:
    """src/__tests__/splice.test.ts applies these full states with Yjs (a student with no base
    receives the teacher's stored state as is): the same bytes from the engine here, each
    decoding to its text in pycrdt too."""
    made = spliced_states()
    assert made == json.loads(SPLICED.read_text())["states"]
    for entry in made:
        assert cell_text(load_cell(base64.b64decode(entry["state"]), 9)) == entry["text"]
