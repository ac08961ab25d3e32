"""The YDoc engine's CRDT side: small pushes, a stable state vector, updates that reproduce the
result, UTF-8 positions, JSON-mode data, and agreement with the JSON engine."""

from __future__ import annotations

import logging

import pytest

from notebook_sync_ydoc.engines import JsonEngine, load_engine
from notebook_sync_ydoc.engines.ydoc_engine import YDocEngine, cell_text, load_cell
from notebook_sync_ydoc.engines.ytext import state_vector
from notebook_sync_ydoc.merge import MergeOutcome, PullInput

CELL = "".join(f"    value_{i} = compute({i})\n" for i in range(400))


def history(engine: YDocEngine, *sources: str) -> list[bytes]:
    states: list[bytes] = []
    previous: str | None = None
    for source in sources:
        states.append(engine.push(states[-1] if states else None, previous, source) or b"")
        previous = source
    return states


def delta(old_state: bytes, new_state: bytes) -> bytes:
    old = load_cell(old_state, 7)
    return load_cell(new_state, 8).get_update(old.get_state())


def test_a_one_character_push_to_a_10k_cell_is_a_small_update() -> None:
    assert len(CELL) > 10_000
    engine = YDocEngine()
    first, second = history(engine, CELL, CELL[:5000] + "x" + CELL[5000:])
    assert len(delta(first, second)) < 100
    assert cell_text(load_cell(second, 9)) == CELL[:5000] + "x" + CELL[5000:]


def test_the_state_vector_does_not_grow_per_push() -> None:
    engine = YDocEngine()
    sources = [CELL.replace("value_1 ", f"value_1_{n} ") for n in range(20)]
    states = history(engine, *sources)
    assert len(state_vector(load_cell(states[-1], 9).get_state())) == 1
    assert cell_text(load_cell(states[-1], 9)) == sources[-1]


def test_independent_documents_of_one_cell_get_different_teacher_ids() -> None:
    engine = YDocEngine()
    a, b = engine.push(None, None, "a\n"), engine.push(None, None, "a\n")
    assert a is not None and b is not None
    assert state_vector(load_cell(a, 9).get_state()) != state_vector(load_cell(b, 9).get_state())


def test_push_follows_the_sources_when_a_json_server_changed_the_cell() -> None:
    engine = YDocEngine()
    (state,) = history(engine, "old\n")
    # the store says the source became "json\n" (no state update); now a YDoc push
    new = engine.push(state, "json\n", "json\nydoc\n")
    assert new is not None and cell_text(load_cell(new, 9)) == "json\nydoc\n"


def test_pycrdt_positions_are_utf8_bytes_and_pushes_agree() -> None:
    engine = YDocEngine()
    sources = ["é 😀 a\n", "é 😀 A🎉\nß\n", "😀\nß\n"]
    states = history(engine, *sources)
    assert [cell_text(load_cell(s, 9)) for s in states] == sources


def apply_update(base_state: bytes | None, outcome: MergeOutcome) -> str:
    assert outcome.update is not None
    doc = load_cell(base_state, 99)
    doc.apply_update(outcome.update)
    return cell_text(doc)


BASE = "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n"
CASES = [
    # (theirs, mine, strategy, status)
    (BASE + "f = 6\n", None, None, "fast_forward"),
    (BASE.replace("e = 5", "e = 50"), BASE.replace("a = 1", "a = 10"), None, "merged"),
    (BASE.replace("c = 3", "c = 30"), BASE.replace("c = 3", "c = 31"), None, "conflict"),
    (BASE.replace("c = 3", "c = 30"), BASE.replace("c = 3", "c = 31"), "theirs", "replaced"),
    (BASE.replace("c = 3", "c = 30"), BASE.replace("c = 3", "c = 31"), "mine", "kept"),
    (BASE, BASE + "mine\n", None, "no_update"),
    (BASE.replace("😀", "x") + "é = '😀'\n", BASE.replace("a = 1", "a = 'ß'"), None, "merged"),
]


@pytest.mark.parametrize(("theirs", "mine", "strategy", "status"), CASES)
def test_update_brings_the_base_state_to_the_result_and_modes_agree(
    theirs: str, mine: str | None, strategy: str | None, status: str
) -> None:
    engine = YDocEngine()
    base_state, theirs_state = history(engine, BASE, theirs)
    request = PullInput(theirs, theirs_state, BASE, base_state, mine, strategy)  # type: ignore[arg-type]
    outcome = engine.pull(request)
    json_outcome = JsonEngine().pull(request)
    assert outcome.status == status
    assert (outcome.status, outcome.source, outcome.conflicts) == (
        json_outcome.status,
        json_outcome.source,
        json_outcome.conflicts,
    )
    if status in ("conflict", "no_update"):
        assert outcome.update is None
    else:
        assert apply_update(base_state, outcome) == outcome.source
    assert engine.reconciled == 0


def test_states_missing_json_mode_data_are_built_from_sources() -> None:
    engine = YDocEngine()
    theirs = BASE.replace("e = 5", "e = 50")
    mine = BASE.replace("a = 1", "a = 10")
    outcome = engine.pull(PullInput(theirs, None, BASE, None, mine))
    assert outcome.status == "merged"
    assert apply_update(None, outcome) == "a = 10\nb = 2\nc = 3\nd = 4\ne = 50\n"
    (base_state,) = history(engine, BASE)
    outcome = engine.pull(PullInput(theirs, None, BASE, base_state, None))
    assert outcome.status == "fast_forward"
    assert apply_update(base_state, outcome) == theirs


def test_first_pull_gets_the_full_teacher_state() -> None:
    engine = YDocEngine()
    (theirs_state,) = history(engine, BASE)
    outcome = engine.pull(PullInput(BASE, theirs_state, None, None, None))
    assert outcome.status == "fast_forward"
    assert outcome.update == theirs_state


def test_a_reverted_teacher_edit_is_reconciled_to_the_line_merge() -> None:
    engine = YDocEngine()
    edited = BASE.replace("c = 3", "c = 300")
    # the teacher deletes line c and types it again: the CRDT sees new characters there
    states = history(engine, BASE, BASE.replace("c = 3\n", ""), BASE.replace("e = 5", "e = 50"))
    theirs = BASE.replace("e = 5", "e = 50")
    request = PullInput(theirs, states[-1], BASE, states[0], edited)
    outcome = engine.pull(request)
    assert outcome.status == "merged"
    assert outcome.source == "a = 1\nb = 2\nc = 300\nd = 4\ne = 50\n"
    assert outcome.source == JsonEngine().pull(request).source
    assert apply_update(states[0], outcome) == outcome.source
    assert engine.reconciled == 1


def test_an_identical_change_on_both_sides_is_reconciled_not_doubled() -> None:
    engine = YDocEngine()
    both = BASE.replace("c = 3", "c = 33")
    mine = both.replace("a = 1", "a = 11")
    base_state, theirs_state = history(engine, BASE, both)
    outcome = engine.pull(PullInput(both, theirs_state, BASE, base_state, mine))
    assert (outcome.status, outcome.source) == ("merged", mine)
    assert apply_update(base_state, outcome) == mine


def test_load_engine_picks_the_mode() -> None:
    log = logging.getLogger("test")
    engine, reason = load_engine(True, log)
    assert engine.mode == "ydoc" and "YDoc" in reason
    engine, reason = load_engine(False, log)
    assert engine.mode == "json" and "JSON" in reason
