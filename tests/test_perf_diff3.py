"""diff3's fast paths (issue 16, lecture-hall scale) against the step-by-step port of git's
xdiff they replaced: the same hunks for many random pairs of texts, fixed seed, bounded.

The reference below is merge/diff3.py's ``_change_flags``, ``_File``, ``_compact`` and ``_hunks``
as they were before (commit 239e31e): xdiff's group walk one line at a time, method by method.
The fast version skips runs of lines unchanged on both sides, writes the walk out inline, and
takes a pure insertion or deletion without counting lines; every difference in hunks would change
a merge. ``merge3`` itself only combines hunks, so equal hunks mean equal merges; a few merges are
compared as well.
"""

from __future__ import annotations

import random

import pytest

from notebook_sync_ydoc.merge import diff3
from notebook_sync_ydoc.merge.diff3 import (
    Hunk,
    _Bisect,
    _bogosqrt,
    _clean_mmatch,
    _CostExceeded,
    _intern,
    diff_lines,
    merge3,
)

# --------------------------------------------------------------------------------------------
# The reference (before): verbatim but for names


def ref_change_flags(a: list[int], b: list[int], max_cost: int) -> tuple[list[bool], list[bool]]:
    """Per-line "changed" flags of a diff ``a`` -> ``b``, prepared as git's xdiff does.

    Common prefix/suffix lines are trimmed; lines with no match on the other side are changed
    outright, and so are lines matching many times when they sit inside unmatched runs
    (``xdl_cleanup_records``); the rest goes to the bisecting Myers. Past ``max_cost`` units of
    work the whole trimmed middle is one replace block.
    """
    n, m = len(a), len(b)
    a_chg = [False] * n
    b_chg = [False] * m
    pre = 0
    while pre < n and pre < m and a[pre] == b[pre]:
        pre += 1
    suf = 0
    while suf < n - pre and suf < m - pre and a[n - 1 - suf] == b[m - 1 - suf]:
        suf += 1
    dend1, dend2 = n - suf - 1, m - suf - 1
    count_a: dict[int, int] = {}
    for x in a:
        count_a[x] = count_a.get(x, 0) + 1
    count_b: dict[int, int] = {}
    for y in b:
        count_b[y] = count_b.get(y, 0) + 1
    dis1 = [0] * (n + 1)
    mlim = min(_bogosqrt(n), 1024)
    for i in range(pre, dend1 + 1):
        nm = count_b.get(a[i], 0)
        dis1[i] = 0 if nm == 0 else 2 if nm >= mlim else 1
    dis2 = [0] * (m + 1)
    mlim = min(_bogosqrt(m), 1024)
    for j in range(pre, dend2 + 1):
        nm = count_a.get(b[j], 0)
        dis2[j] = 0 if nm == 0 else 2 if nm >= mlim else 1
    rindex1: list[int] = []
    for i in range(pre, dend1 + 1):
        if dis1[i] == 1 or (dis1[i] == 2 and not _clean_mmatch(dis1, i, pre, dend1)):
            rindex1.append(i)
        else:
            a_chg[i] = True
    rindex2: list[int] = []
    for j in range(pre, dend2 + 1):
        if dis2[j] == 1 or (dis2[j] == 2 and not _clean_mmatch(dis2, j, pre, dend2)):
            rindex2.append(j)
        else:
            b_chg[j] = True
    ha1 = [a[i] for i in rindex1]
    ha2 = [b[j] for j in rindex2]
    bisect = _Bisect(ha1, ha2, a_chg, b_chg, rindex1, rindex2, max_cost)
    try:
        bisect.compare(0, len(ha1), 0, len(ha2))
    except _CostExceeded:  # bounded work: the whole middle becomes one replace block
        for i in range(pre, n - suf):
            a_chg[i] = True
        for j in range(pre, m - suf):
            b_chg[j] = True
    return a_chg, b_chg


class RefFile:
    """One side of a diff for compaction: records and change flags with sentinels.

    ``chg[i + 1]`` is the flag of line ``i``; ``chg[0]`` and ``chg[n + 1]`` stay False.
    """

    __slots__ = ("chg", "n", "recs")

    def __init__(self, recs: list[int], changed: list[bool]) -> None:
        self.recs = recs
        self.n = len(recs)
        self.chg = [False, *changed, False]

    def group_init(self, g: list[int]) -> None:
        g[0] = g[1] = 0
        while self.chg[g[1] + 1]:
            g[1] += 1

    def group_next(self, g: list[int]) -> bool:
        """Move to the next group; True if there is none."""
        if g[1] == self.n:
            return True
        g[0] = g[1] + 1
        g[1] = g[0]
        while self.chg[g[1] + 1]:
            g[1] += 1
        return False

    def group_previous(self, g: list[int]) -> bool:
        if g[0] == 0:
            return True
        g[1] = g[0] - 1
        g[0] = g[1]
        while self.chg[g[0]]:
            g[0] -= 1
        return False

    def slide_down(self, g: list[int]) -> bool:
        if g[1] < self.n and self.recs[g[0]] == self.recs[g[1]]:
            self.chg[g[0] + 1] = False
            g[0] += 1
            self.chg[g[1] + 1] = True
            g[1] += 1
            while self.chg[g[1] + 1]:
                g[1] += 1
            return False
        return True

    def slide_up(self, g: list[int]) -> bool:
        if g[0] > 0 and self.recs[g[0] - 1] == self.recs[g[1] - 1]:
            g[0] -= 1
            self.chg[g[0] + 1] = True
            g[1] -= 1
            self.chg[g[1] + 1] = False
            while self.chg[g[0]]:
                g[0] -= 1
            return False
        return True


def ref_compact(xdf: RefFile, xdfo: RefFile) -> None:
    """git's ``xdl_change_compact`` without the indent heuristic (what merge-file uses)."""
    g = [0, 0]
    go = [0, 0]
    xdf.group_init(g)
    xdfo.group_init(go)
    while True:
        if g[1] != g[0]:
            while True:
                groupsize = g[1] - g[0]
                end_matching_other = -1
                while not xdf.slide_up(g):
                    if xdfo.group_previous(go):
                        raise RuntimeError("group sync broken sliding up")
                earliest_end = g[1]
                if go[1] > go[0]:
                    end_matching_other = g[1]
                while not xdf.slide_down(g):
                    if xdfo.group_next(go):
                        raise RuntimeError("group sync broken sliding down")
                    if go[1] > go[0]:
                        end_matching_other = g[1]
                if groupsize == g[1] - g[0]:
                    break
            if g[1] != earliest_end and end_matching_other != -1:
                while go[1] == go[0]:
                    if xdf.slide_up(g):
                        raise RuntimeError("match disappeared")
                    if xdfo.group_previous(go):
                        raise RuntimeError("group sync broken sliding to match")
        if xdf.group_next(g):
            break
        if xdfo.group_next(go):
            raise RuntimeError("group sync broken moving to next group")


def ref_hunks(a: list[int], b: list[int], max_cost: int) -> list[Hunk]:
    a_chg, b_chg = ref_change_flags(a, b, max_cost)
    fa, fb = RefFile(a, a_chg), RefFile(b, b_chg)
    ref_compact(fa, fb)
    ref_compact(fb, fa)
    ca, cb = fa.chg, fb.chg  # offset by one
    n, m = len(a), len(b)
    hunks: list[Hunk] = []
    i = j = 0
    while i < n or j < m:
        if ca[i + 1] or cb[j + 1]:
            si, sj = i, j
            while ca[i + 1]:
                i += 1
            while cb[j + 1]:
                j += 1
            hunks.append(Hunk(si, i, sj, j))
        else:
            i += 1
            j += 1
    return hunks


# --------------------------------------------------------------------------------------------

ALPHABET = ["a\n", "b\n", "c\n", "\n", "\n", "    return\n", "}\n", "x = 1\n", "x = 2\n"]


def random_lines(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(ALPHABET) for _ in range(n)]


def edited(rng: random.Random, lines: list[str]) -> list[str]:
    out = list(lines)
    for _ in range(rng.randint(0, 4)):
        op = rng.random()
        pos = rng.randint(0, len(out))
        if op < 0.35:
            out[pos:pos] = random_lines(rng, rng.randint(1, 4))
        elif op < 0.7:
            del out[pos : pos + rng.randint(1, 4)]
        else:
            out[pos : pos + rng.randint(1, 3)] = random_lines(rng, rng.randint(1, 3))
    return out


def test_fast_hunks_equal_the_step_by_step_port() -> None:
    rng = random.Random(16)
    for case in range(3000):
        old = random_lines(rng, rng.randint(0, 40))
        new = edited(rng, old) if case % 4 else random_lines(rng, rng.randint(0, 40))
        a, b = _intern(old, new)
        assert diff_lines(old, new) == ref_hunks(a, b, diff3.MAX_DIFF_COST), (old, new)


def test_fast_hunks_equal_past_the_cost_budget() -> None:
    rng = random.Random(17)
    for _ in range(300):
        old = random_lines(rng, rng.randint(10, 60))
        new = random_lines(rng, rng.randint(10, 60))
        a, b = _intern(old, new)
        assert diff_lines(old, new, max_cost=50) == ref_hunks(a, b, 50), (old, new)


def test_merges_equal_the_step_by_step_port(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(18)
    cases = []
    for _ in range(600):
        base = random_lines(rng, rng.randint(0, 30))
        cases.append(("".join(base), "".join(edited(rng, base)), "".join(edited(rng, base))))
    fast = [merge3(*case) for case in cases]
    monkeypatch.setattr(diff3, "_hunks", ref_hunks)
    reference = [merge3(*case) for case in cases]
    assert fast == reference
    assert sum(r.clean for r in fast) > 100 and sum(not r.clean for r in fast) > 100
