"""Property tests: merge3 against real ``git merge-file``, and the YDoc and JSON engines against
each other.

What is generated: a base of Python-like lines (``def func_N(x):``, ``    value_N = compute(N)``,
comments, ``    return value_N``) where every such line is unique (N comes from a per-example
counter), plus repeated lines on purpose: blank lines and a bare ``    return``. Each side makes
1-4 edits: modify a line (a new unique line), insert 1-3 lines (unique ones, blank lines or
``    return``), delete 1-3 lines; no moves. Repeated lines make the LCS ambiguous; the diff of
merge/diff3.py follows git's xdiff (cleanup, bisection, hunk compaction), so git and it align
them the same way and the comparison below is exact, repeated lines included.
"""

from __future__ import annotations

import subprocess
from itertools import count
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notebook_sync_ydoc.engines import JsonEngine
from notebook_sync_ydoc.engines.recent import TheirsDiffs
from notebook_sync_ydoc.engines.ydoc_engine import YDocEngine, cell_text, load_cell
from notebook_sync_ydoc.merge import PullInput, merge3, plan_pull, split_lines

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


GIT_MERGE_FILE = ("git", "merge-file", "-p", "--diff3", "-L", "mine", "-L", "base", "-L", "theirs")


def fresh_line(draw: st.DrawFn, counter: count[int]) -> str:
    n = next(counter)
    kind = draw(
        st.sampled_from(["value", "value", "value", "def", "comment", "ret", "blank", "bare"])
    )
    return {
        "value": f"    value_{n} = compute({n})\n",
        "def": f"def func_{n}(x):\n",
        "comment": f"    # step {n}\n",
        "ret": f"    return value_{n}\n",
        "blank": "\n",
        "bare": "    return\n",
    }[kind]


def edit(draw: st.DrawFn, counter: count[int], lines: list[str]) -> list[str]:
    lines = list(lines)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["modify", "insert", "delete"]))
        at = draw(st.integers(0, len(lines)))
        if op == "modify" and at < len(lines):
            lines[at] = fresh_line(draw, counter)
        elif op == "insert" or not lines:
            lines[at:at] = [fresh_line(draw, counter) for _ in range(draw(st.integers(1, 3)))]
        else:
            del lines[at : at + draw(st.integers(1, 3))]
    return lines


@st.composite
def three_way(draw: st.DrawFn) -> tuple[str, str, str]:
    counter = count(1)
    base = [fresh_line(draw, counter) for _ in range(draw(st.integers(0, 20)))]
    mine = edit(draw, counter, base)
    theirs = edit(draw, counter, base)
    return "".join(base), "".join(mine), "".join(theirs)


@st.composite
def teacher_history(draw: st.DrawFn) -> tuple[str, list[str], str]:
    """base, the teacher's pushes after it (some revert to an earlier version), mine."""
    counter = count(1)
    base = [fresh_line(draw, counter) for _ in range(draw(st.integers(0, 15)))]
    versions = [base]
    for _ in range(draw(st.integers(1, 4))):
        if len(versions) > 1 and draw(st.booleans()) and draw(st.booleans()):
            versions.append(versions[draw(st.integers(0, len(versions) - 2))])  # a revert
        else:
            versions.append(edit(draw, counter, versions[-1]))
    mine = edit(draw, counter, base)
    return "".join(base), ["".join(v) for v in versions[1:]], "".join(mine)


def git_merge(tmp: Path, base: str, mine: str, theirs: str) -> tuple[int, str]:
    for name, text in (("mine", mine), ("base", base), ("theirs", theirs)):
        (tmp / name).write_bytes(text.encode())
    proc = subprocess.run(
        [*GIT_MERGE_FILE, "mine", "base", "theirs"],  # current, base, other
        cwd=tmp,
        capture_output=True,
        check=False,
    )
    assert proc.returncode >= 0
    return proc.returncode, proc.stdout.decode()


def git_conflict_base_sections(output: str) -> list[list[str]]:
    """The base section of each conflict in git's diff3 output."""
    sections: list[list[str]] = []
    current: list[str] | None = None
    for line in split_lines(output):
        if line.startswith("||||||| base"):
            current = []
        elif line == "=======\n" and current is not None:
            sections.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return sections


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("merge-file")


@SETTINGS
@given(three_way())
def test_merge3_agrees_with_git_merge_file(workdir: Path, texts: tuple[str, str, str]) -> None:
    base, mine, theirs = texts
    code, output = git_merge(workdir, base, mine, theirs)
    result = merge3(base, mine, theirs)
    assert result.clean == (code == 0)
    if result.clean:
        assert result.text == output
        return
    assert len(result.conflicts) == code  # git exits with the number of conflicts
    assert git_conflict_base_sections(output) == [
        list(result.base_lines[h.base_start : h.base_end]) for h in result.conflicts
    ]
    assert result.render() == output  # the whole diff3 output, markers included


@SETTINGS
@given(three_way(), three_way())
def test_a_class_sharing_the_teachers_diff_merges_as_each_alone(
    texts: tuple[str, str, str], other: tuple[str, str, str]
) -> None:
    """Engines keep the line diff of base and theirs for a whole class (TheirsDiffs): every
    merge with it, a hit or not, is the merge computed alone, conflicts and chunks included."""
    base, mine, theirs = texts
    shared = TheirsDiffs()
    students = [mine, other[1], base + other[2], mine]  # the last: a hit for the same student
    for student in students:
        alone = merge3(base, student, theirs)
        with_shared = merge3(base, student, theirs, theirs_hunks=shared(base, theirs))
        assert with_shared == alone
        request = PullInput(theirs_source=theirs, theirs_state=None, base_source=base,
                            base_state=None, mine=student)  # fmt: skip
        assert plan_pull(request, shared) == plan_pull(request)
    assert shared.recent.misses == 1  # one computation for the whole class


@SETTINGS
@given(three_way())
def test_ydoc_and_json_agree_on_one_push(texts: tuple[str, str, str]) -> None:
    base, mine, theirs = texts
    check_modes(base, [theirs], mine)


@SETTINGS
@given(teacher_history())
def test_ydoc_and_json_agree_on_push_histories(case: tuple[str, list[str], str]) -> None:
    base, pushes, mine = case
    check_modes(base, pushes, mine)


def check_modes(base: str, pushes: list[str], mine: str) -> None:
    ydoc = YDocEngine()
    base_state = ydoc.push(None, None, base)
    state, previous = base_state, base
    for source in pushes:
        state, previous = ydoc.push(state, previous, source), source
    assert state is not None and cell_text(load_cell(state, 99)) == previous
    request = PullInput(previous, state, base, base_state, mine)
    got, expected = ydoc.pull(request), JsonEngine().pull(request)
    assert (got.status, got.source, got.conflicts) == (
        expected.status,
        expected.source,
        expected.conflicts,
    )
    if got.update is not None:
        doc = load_cell(base_state, 98)
        doc.apply_update(got.update)
        assert cell_text(doc) == got.source
