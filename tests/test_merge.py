"""Hand-written cases: line splitting, line diff, diff3, text edits, and the pull rules
(docs/architecture.md, "Merge rules") in both engines."""

from __future__ import annotations

import time

import pytest

from notebook_sync_ydoc.engines import CellEngine, JsonEngine
from notebook_sync_ydoc.engines.ydoc_engine import YDocEngine
from notebook_sync_ydoc.merge import (
    ConflictHunk,
    PullInput,
    apply_edits,
    diff_lines,
    merge3,
    split_lines,
    text_edits,
)

BASE = "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n"


# --- split_lines -----------------------------------------------------------------------------


def test_split_lines_keeps_endings_and_a_final_line_without_newline() -> None:
    assert split_lines("") == []
    assert split_lines("\n") == ["\n"]
    assert split_lines("a\nb") == ["a\n", "b"]
    assert split_lines("a\r\nb\r\n") == ["a\r\n", "b\r\n"]
    assert split_lines("a\rb\x0cc\u2028d\n") == ["a\rb\x0cc\u2028d\n"]  # only "\n" ends a line


# --- diff_lines ------------------------------------------------------------------------------


def test_diff_is_minimal_where_a_greedy_matcher_is_not() -> None:
    old = split_lines("a\nb\nc\nd\n")
    new = split_lines("b\nc\nd\na\n")
    hunks = diff_lines(old, new)
    changed = sum((h.old_end - h.old_start) + (h.new_end - h.new_start) for h in hunks)
    assert changed == 2  # delete "a", insert "a": b, c, d are kept


def test_diff_slides_a_blank_line_hunk_down_like_git() -> None:
    # Deleting one of two blank lines: git reports the second one.
    hunks = diff_lines(split_lines("x\n\n\ny\n"), split_lines("x\n\ny\n"))
    assert [(h.old_start, h.old_end, h.new_start, h.new_end) for h in hunks] == [(2, 3, 2, 2)]


def test_diff_past_the_cost_cap_is_one_replace_block() -> None:
    old = split_lines("".join(f"{i % 3}\nkeep\n" for i in range(40)))
    new = split_lines("".join(f"{(i + 1) % 3}\nkeep\n" for i in range(40)))
    assert len(diff_lines(old, new)) > 1
    (hunk,) = diff_lines(old, new, max_cost=10)
    assert hunk.old_end - hunk.old_start == len(old) - 1  # the common last line is trimmed


def test_diff_of_a_rewritten_100k_cell_stays_fast() -> None:
    # Shared blank and "return" lines at different rhythms: a costly alignment problem.
    old = "".join(
        ("\n", "    return\n", f"    old_value_{i} = f({i})\n")[i % 3] for i in range(8000)
    )
    new = "".join(
        ("    return\n", f"    new_value_{i} = g({i})\n", "\n")[i % 4 % 3] for i in range(8000)
    )
    assert len(old) > 100_000
    start = time.perf_counter()
    edits = text_edits(old, new)
    assert time.perf_counter() - start < 2.0
    assert apply_edits(old, edits) == new


# --- merge3 ----------------------------------------------------------------------------------


def test_separate_changes_merge_cleanly() -> None:
    result = merge3(BASE, BASE.replace("a = 1", "a = 10"), BASE.replace("e = 5", "e = 50"))
    assert result.clean
    assert result.text == "a = 10\nb = 2\nc = 3\nd = 4\ne = 50\n"


def test_x2_vs_x3_conflicts_and_never_gives_x32() -> None:
    result = merge3("x = 1\n", "x = 2\n", "x = 3\n")
    assert result.text is None
    assert result.conflicts == (ConflictHunk(0, 1, 0, 1, 0, 1),)
    assert "x = 32" not in result.render()


def test_changes_on_adjacent_lines_conflict() -> None:
    result = merge3(BASE, BASE.replace("b = 2", "b = 20"), BASE.replace("c = 3", "c = 30"))
    assert result.conflicts == (ConflictHunk(1, 3, 1, 3, 1, 3),)


def test_insertion_touching_a_changed_line_conflicts() -> None:
    mine = BASE.replace("c = 3\n", "c = 30\n")  # changes base line 2
    theirs = BASE.replace("d = 4\n", "new = 0\nd = 4\n")  # inserts at base line 3
    result = merge3(BASE, mine, theirs)
    assert result.conflicts == (ConflictHunk(2, 3, 2, 3, 2, 4),)
    # one unchanged line between them: clean
    theirs = BASE.replace("e = 5\n", "new = 0\ne = 5\n")
    assert merge3(BASE, mine, theirs).text == "a = 1\nb = 2\nc = 30\nd = 4\nnew = 0\ne = 5\n"


def test_the_same_change_on_both_sides_is_clean() -> None:
    both = BASE.replace("c = 3", "c = 33")
    assert merge3(BASE, both, both).text == both
    mine = both.replace("a = 1", "a = 11")
    assert merge3(BASE, mine, both).text == mine


def test_both_inserting_different_lines_at_one_place_conflict() -> None:
    result = merge3("a\nb\n", "a\nmine\nb\n", "a\ntheirs\nb\n")
    assert result.conflicts == (ConflictHunk(1, 1, 1, 2, 1, 2),)
    assert (
        result.render()
        == "a\n<<<<<<< mine\nmine\n||||||| base\n=======\ntheirs\n>>>>>>> theirs\nb\n"
    )


def test_conflict_regions_chain_through_touching_changes() -> None:
    base = "1\n2\n3\n4\n5\n6\n"
    mine = "1\nA\n3\nB\n5\n6\n"  # lines 1 and 3
    theirs = "1\n2\nC\n4\n5\n6\n"  # line 2 touches both
    assert merge3(base, mine, theirs).conflicts == (ConflictHunk(1, 4, 1, 4, 1, 4),)


def test_crlf_lines_merge_and_keep_their_endings() -> None:
    base = "a\r\nb\r\nc\r\nd\r\n"
    result = merge3(base, base.replace("a", "A"), base.replace("d", "D"))
    assert result.text == "A\r\nb\r\nc\r\nD\r\n"
    conflict = merge3(base, base.replace("b", "B"), base.replace("b", "BB"))
    assert "<<<<<<< mine\r\n" in conflict.render()


def test_no_final_newline() -> None:
    base = "a\nb\nc"
    assert merge3(base, "A\nb\nc", "a\nb\nC").text == "A\nb\nC"
    # adding a newline at the end changes the last line: conflicts with another change of it
    assert not merge3(base, "a\nb\nc\n", "a\nb\nC").clean
    assert merge3(base, "a\nb\nc\n", "A\nb\nc").text == "A\nb\nc\n"


def test_empty_texts() -> None:
    assert merge3("", "", "").text == ""
    assert merge3("", "", "new\n").text == "new\n"
    assert merge3("", "mine\n", "").text == "mine\n"
    assert not merge3("", "mine\n", "theirs\n").clean
    assert merge3("a\n", "", "a\n").text == ""
    assert not merge3("a\n", "", "b\n").clean


def test_unicode_lines() -> None:
    base = "naïve = 1\nemoji = '😀'\nz = 'ß'\n"
    result = merge3(base, base.replace("1", "2"), base.replace("ß", "🎉"))
    assert result.text == "naïve = 2\nemoji = '😀'\nz = '🎉'\n"


# --- text_edits ------------------------------------------------------------------------------


def test_text_edits_keep_separate_changes_separate_and_descending() -> None:
    old = "".join(f"line {i}\n" for i in range(10))
    new = old.replace("line 2\n", "line two\n").replace("line 7\n", "line seven\n")
    edits = text_edits(old, new)
    assert len(edits) == 2
    assert edits[0].position > edits[1].position
    assert all(len(e.insert) < 10 and e.delete < 3 for e in edits)
    assert apply_edits(old, edits) == new


def test_text_edits_typing_in_a_10k_cell_is_small_and_fast() -> None:
    old = "".join(f"    value_{i} = compute({i})\n" for i in range(400))
    assert len(old) >= 10_000
    new = old[:5000] + "x" + old[5000:]
    assert text_edits(old, new) == [(5000, 0, "x")]
    start = time.perf_counter()
    for _ in range(100):
        text_edits(old, new, unit="utf-8")
    assert (time.perf_counter() - start) / 100 < 0.001


@pytest.mark.parametrize(
    ("unit", "encoding"), [("utf-8", "utf-8"), ("utf-16", "utf-16-le"), ("codepoint", None)]
)
def test_text_edit_units(unit: str, encoding: str | None) -> None:
    old = "é 😀 a\nb 🎉 c\n"
    new = "é 😀 A\nb 🎉 C🙂\n"
    edits = text_edits(old, new, unit=unit)  # type: ignore[arg-type]
    if encoding is None:
        assert apply_edits(old, edits) == new
        return
    width = 2 if unit == "utf-16" else 1
    data = old.encode(encoding)
    for pos, delete, insert in edits:
        data = data[: pos * width] + insert.encode(encoding) + data[(pos + delete) * width :]
    assert data.decode(encoding) == new


def test_text_edits_identity_and_empty() -> None:
    assert text_edits("same", "same") == []
    assert apply_edits("", text_edits("", "new\n")) == "new\n"
    assert apply_edits("old\n", text_edits("old\n", "")) == ""


# --- the pull rules (docs/architecture.md), both engines -----------------------------------


@pytest.fixture(params=["json", "ydoc"])
def engine(request: pytest.FixtureRequest) -> CellEngine:
    return JsonEngine() if request.param == "json" else YDocEngine()


def pull(
    engine: CellEngine,
    theirs: str,
    base: str | None,
    mine: str | None,
    strategy: str | None = None,
) -> tuple[str, str]:
    theirs_state = base_state = None
    if engine.mode == "ydoc" and base is not None:
        base_state = engine.push(None, None, base)
        theirs_state = engine.push(base_state, base, theirs)
    outcome = engine.pull(
        PullInput(theirs, theirs_state, base, base_state, mine, strategy)  # type: ignore[arg-type]
    )
    return outcome.status, outcome.source


@pytest.mark.parametrize("mine", [None, "", "t\n"])
def test_rule1_first_pull_without_own_text_takes_theirs(
    engine: CellEngine, mine: str | None
) -> None:
    assert pull(engine, "t\n", None, mine) == ("fast_forward", "t\n")


def test_first_pull_with_own_text_merges_from_an_empty_base(engine: CellEngine) -> None:
    assert pull(engine, "t\n", None, "m\n") == ("conflict", "m\n")


def test_rule2_unedited_fast_forwards(engine: CellEngine) -> None:
    assert pull(engine, BASE + "f\n", BASE, None) == ("fast_forward", BASE + "f\n")
    assert pull(engine, BASE + "f\n", BASE, BASE) == ("fast_forward", BASE + "f\n")


def test_rule3_nothing_new(engine: CellEngine) -> None:
    assert pull(engine, BASE, BASE, BASE + "mine\n") == ("no_update", BASE + "mine\n")
    assert pull(engine, BASE, BASE, None) == ("no_update", BASE)


def test_mine_equal_to_theirs_fast_forwards(engine: CellEngine) -> None:
    assert pull(engine, "x\n", BASE, "x\n") == ("fast_forward", "x\n")


def test_rule4_three_way_merge(engine: CellEngine) -> None:
    mine = BASE.replace("a = 1", "a = 10")
    theirs = BASE.replace("e = 5", "e = 50")
    assert pull(engine, theirs, BASE, mine) == ("merged", "a = 10\nb = 2\nc = 3\nd = 4\ne = 50\n")


def test_rule5_conflict_keeps_mine_and_carries_all_three(engine: CellEngine) -> None:
    base, mine, theirs = "x = 1\n", "x = 2\n", "x = 3\n"
    base_state = theirs_state = None
    if engine.mode == "ydoc":
        base_state = engine.push(None, None, base)
        theirs_state = engine.push(base_state, base, theirs)
    outcome = engine.pull(PullInput(theirs, theirs_state, base, base_state, mine))
    assert (outcome.status, outcome.source) == ("conflict", mine)
    assert (outcome.base, outcome.mine, outcome.theirs) == (base, mine, theirs)
    assert outcome.conflicts == (ConflictHunk(0, 1, 0, 1, 0, 1),)
    assert outcome.update is None


@pytest.mark.parametrize(
    ("strategy", "expected"), [("theirs", ("replaced", "x = 3\n")), ("mine", ("kept", "x = 2\n"))]
)
def test_strategy_always_wins(engine: CellEngine, strategy: str, expected: tuple[str, str]) -> None:
    assert pull(engine, "x = 3\n", "x = 1\n", "x = 2\n", strategy) == expected
    # even where there is no conflict
    assert pull(engine, "x = 3\n", "x = 1\n", None, strategy)[0] == expected[0]
