"""Line diff and three-way merge, in pure Python (no pycrdt): a port of git's xdiff.

- :func:`split_lines` splits on ``"\\n"`` only and keeps the line endings (``"\\r\\n"`` stays
  on its line); a final line without ``"\\n"`` is a line.
- :func:`diff_lines` is a minimal line diff done the way git's xdiff does it, so that merges
  agree with ``git merge-file`` even where the alignment is ambiguous (repeated blank lines):
  common prefix/suffix lines trimmed, lines that cannot match set aside
  (``xdl_cleanup_records``), Myers' O(ND) bisection on interned line ids (``xdl_split``), then
  hunk compaction (``xdl_change_compact``: slide a hunk down as far as equal lines allow, or
  back to line up with a hunk of the other file). git's own speed heuristics (which only start
  past an edit cost of 256) are not reproduced; instead the work is capped at
  :data:`MAX_DIFF_COST` steps, past which the trimmed middle becomes one replace hunk. That diff
  is not minimal, but no input (a fully rewritten 100 KB cell) can make it quadratic.
- :func:`merge3` is diff3 with ``git merge-file --diff3`` semantics (merge level EAGER): a
  change of mine and a change of theirs conflict when their base ranges overlap or touch; one
  change made identically by both sides is clean.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import NamedTuple

__all__ = [
    "MAX_DIFF_COST",
    "ConflictHunk",
    "Hunk",
    "Merge3Result",
    "diff_lines",
    "merge3",
    "split_lines",
]

#: Work budget of one line diff (diagonal steps of the bisection); past it the trimmed middle is
#: one replace block. About 0.1 s of CPU; ordinary cell edits use a few hundred.
MAX_DIFF_COST = 200_000
#: Up to this many changed lines (both sides, prefix and suffix trimmed), each is counted in the
#: other file with ``list.count`` instead of counting every line of both files.
SMALL_MIDDLE = 16


@dataclass(frozen=True)
class ConflictHunk:
    """One conflicting region, in 0-based line numbers, end exclusive."""

    base_start: int
    base_end: int
    mine_start: int
    mine_end: int
    theirs_start: int
    theirs_end: int


class Hunk(NamedTuple):
    """Lines ``old[old_start:old_end]`` became ``new[new_start:new_end]`` (0-based)."""

    old_start: int
    old_end: int
    new_start: int
    new_end: int


def split_lines(text: str) -> list[str]:
    """Lines of ``text`` with their endings kept; ``"a\\nb"`` -> ``["a\\n", "b"]``."""
    if not text:
        return []
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


# --------------------------------------------------------------------------------------------
# Line diff


def _intern(*seqs: Sequence[str]) -> list[list[int]]:
    table = {line: k for k, line in enumerate(dict.fromkeys(chain.from_iterable(seqs)))}
    return [list(map(table.__getitem__, seq)) for seq in seqs]


def _bogosqrt(n: int) -> int:
    i = 1
    while n > 0:
        n >>= 2
        i <<= 1
    return i


def _clean_mmatch(dis: list[int], i: int, s: int, e: int) -> bool:
    """git's ``xdl_clean_mmatch``: discard a many-times-matching line inside unmatched runs."""
    s = max(s, i - 100)
    e = min(e, i + 100)
    rdis0, rpdis0 = 0, 1
    r = 1
    while i - r >= s:
        if not dis[i - r]:
            rdis0 += 1
        elif dis[i - r] == 2:
            rpdis0 += 1
        else:
            break
        r += 1
    if rdis0 == 0:
        return False
    rdis1, rpdis1 = 0, 1
    r = 1
    while i + r <= e:
        if not dis[i + r]:
            rdis1 += 1
        elif dis[i + r] == 2:
            rpdis1 += 1
        else:
            break
        r += 1
    if rdis1 == 0:
        return False
    rdis1 += rdis0
    rpdis1 += rpdis0
    return rpdis1 * 4 < rpdis1 + rdis1


class _CostExceeded(Exception):
    pass


class _Bisect:
    """git's ``xdl_recs_cmp``/``xdl_split`` (linear-space Myers), without the heuristics git
    switches on past an edit cost of 256; a work budget replaces them."""

    def __init__(
        self,
        ha1: list[int],
        ha2: list[int],
        chg1: list[bool],
        chg2: list[bool],
        rindex1: list[int],
        rindex2: list[int],
        budget: int,
    ) -> None:
        self.ha1, self.ha2 = ha1, ha2
        self.chg1, self.chg2 = chg1, chg2
        self.rindex1, self.rindex2 = rindex1, rindex2
        self.budget = budget
        self.off = len(ha2) + 1
        size = len(ha1) + len(ha2) + 3
        self.kvdf = [0] * size
        self.kvdb = [0] * size

    def split(self, off1: int, lim1: int, off2: int, lim2: int) -> tuple[int, int]:
        ha1, ha2, kvdf, kvdb, o = self.ha1, self.ha2, self.kvdf, self.kvdb, self.off
        dmin, dmax = off1 - lim2, lim1 - off2
        fmid, bmid = off1 - off2, lim1 - lim2
        odd = (fmid - bmid) & 1
        fmin = fmax = fmid
        bmin = bmax = bmid
        kvdf[fmid + o] = off1
        kvdb[bmid + o] = lim1
        big = len(ha1) + len(ha2) + 1
        budget = self.budget
        while True:
            budget -= (fmax - fmin) + (bmax - bmin) + 4
            if budget < 0:
                raise _CostExceeded
            if fmin > dmin:
                fmin -= 1
                kvdf[fmin - 1 + o] = -1
            else:
                fmin += 1
            if fmax < dmax:
                fmax += 1
                kvdf[fmax + 1 + o] = -1
            else:
                fmax -= 1
            for d in range(fmax, fmin - 1, -2):
                if kvdf[d - 1 + o] >= kvdf[d + 1 + o]:
                    i1 = kvdf[d - 1 + o] + 1
                else:
                    i1 = kvdf[d + 1 + o]
                i2 = i1 - d
                prev1 = i1
                while i1 < lim1 and i2 < lim2 and ha1[i1] == ha2[i2]:
                    i1 += 1
                    i2 += 1
                budget -= i1 - prev1
                kvdf[d + o] = i1
                if odd and bmin <= d <= bmax and kvdb[d + o] <= i1:
                    self.budget = budget
                    return i1, i2
            if bmin > dmin:
                bmin -= 1
                kvdb[bmin - 1 + o] = big
            else:
                bmin += 1
            if bmax < dmax:
                bmax += 1
                kvdb[bmax + 1 + o] = big
            else:
                bmax -= 1
            for d in range(bmax, bmin - 1, -2):
                if kvdb[d - 1 + o] < kvdb[d + 1 + o]:
                    i1 = kvdb[d - 1 + o]
                else:
                    i1 = kvdb[d + 1 + o] - 1
                i2 = i1 - d
                prev1 = i1
                while i1 > off1 and i2 > off2 and ha1[i1 - 1] == ha2[i2 - 1]:
                    i1 -= 1
                    i2 -= 1
                budget -= prev1 - i1
                kvdb[d + o] = i1
                if not odd and fmin <= d <= fmax and i1 <= kvdf[d + o]:
                    self.budget = budget
                    return i1, i2

    def compare(self, off1: int, lim1: int, off2: int, lim2: int) -> None:
        ha1, ha2 = self.ha1, self.ha2
        stack = [(off1, lim1, off2, lim2)]
        while stack:
            off1, lim1, off2, lim2 = stack.pop()
            while off1 < lim1 and off2 < lim2 and ha1[off1] == ha2[off2]:
                off1 += 1
                off2 += 1
            while off1 < lim1 and off2 < lim2 and ha1[lim1 - 1] == ha2[lim2 - 1]:
                lim1 -= 1
                lim2 -= 1
            if off1 == lim1:
                for k in range(off2, lim2):
                    self.chg2[self.rindex2[k]] = True
            elif off2 == lim2:
                for k in range(off1, lim1):
                    self.chg1[self.rindex1[k]] = True
            else:
                s1, s2 = self.split(off1, lim1, off2, lim2)
                stack.append((s1, lim1, s2, lim2))
                stack.append((off1, s1, off2, s2))


def _change_flags(a: list[int], b: list[int], max_cost: int) -> tuple[list[bool], list[bool]]:
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
    if pre + suf in (n, m):  # a pure insertion or deletion: the rest of the other side changed
        a_chg[pre : n - suf] = [True] * (n - suf - pre)
        b_chg[pre : m - suf] = [True] * (m - suf - pre)
        return a_chg, b_chg
    if (n - suf - pre) + (m - suf - pre) <= SMALL_MIDDLE:  # a few lines: count each in C
        count_a: Mapping[int, int] = {x: a.count(x) for x in b[pre : m - suf]}
        count_b: Mapping[int, int] = {x: b.count(x) for x in a[pre : n - suf]}
    else:
        count_a, count_b = Counter(a), Counter(b)
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


class _File:
    """One side of a diff for compaction: records and change flags with sentinels.

    ``chg[i + 1]`` is the flag (0 or 1) of line ``i``; ``chg[0]`` and ``chg[n + 1]`` stay 0. A
    bytearray, so that the next changed line is one ``find`` (C) away.
    """

    __slots__ = ("chg", "n", "recs")

    def __init__(self, recs: list[int], changed: list[bool]) -> None:
        self.recs = recs
        self.n = len(recs)
        self.chg = bytearray(len(recs) + 2)
        self.chg[1 : self.n + 1] = bytes(changed)

    def next_change(self, line: int) -> int:
        """The first changed line after ``line``, or ``n``."""
        found = self.chg.find(1, line + 2)
        return self.n if found < 0 else found - 1


def _compact(xdf: _File, xdfo: _File) -> None:
    """git's ``xdl_change_compact`` without the indent heuristic (what merge-file uses).

    The group of ``xdf`` is lines ``g0..g1-1`` (changed), that of ``xdfo`` ``o0..o1-1``; xdiff's
    group_next/group_previous/slide_up/slide_down are written out inline. Every line unchanged
    on both sides is an empty group of each file, which xdiff steps through one at a time; runs
    of them are skipped here in one step (the same groups, nothing to do in any of them).
    tests/test_perf_diff3.py compares this with the step-by-step port on random inputs."""
    chg, recs, n = xdf.chg, xdf.recs, xdf.n
    ochg, on = xdfo.chg, xdfo.n
    g0 = g1 = 0
    while chg[g1 + 1]:
        g1 += 1
    o0 = o1 = 0
    while ochg[o1 + 1]:
        o1 += 1
    while True:
        if g1 != g0:
            while True:
                groupsize = g1 - g0
                end_matching_other = -1
                while g0 > 0 and recs[g0 - 1] == recs[g1 - 1]:  # slide up
                    g0 -= 1
                    chg[g0 + 1] = 1
                    g1 -= 1
                    chg[g1 + 1] = 0
                    while chg[g0]:
                        g0 -= 1
                    if o0 == 0:  # the other file's previous group
                        raise RuntimeError("group sync broken sliding up")
                    o1 = o0 = o0 - 1
                    while ochg[o0]:
                        o0 -= 1
                earliest_end = g1
                if o1 > o0:
                    end_matching_other = g1
                while g1 < n and recs[g0] == recs[g1]:  # slide down
                    chg[g0 + 1] = 0
                    g0 += 1
                    chg[g1 + 1] = 1
                    g1 += 1
                    while chg[g1 + 1]:
                        g1 += 1
                    if o1 == on:  # the other file's next group
                        raise RuntimeError("group sync broken sliding down")
                    o0 = o1 = o1 + 1
                    while ochg[o1 + 1]:
                        o1 += 1
                    if o1 > o0:
                        end_matching_other = g1
                if groupsize == g1 - g0:
                    break
            if g1 != earliest_end and end_matching_other != -1:
                while o1 == o0:
                    if not (g0 > 0 and recs[g0 - 1] == recs[g1 - 1]):
                        raise RuntimeError("match disappeared")
                    g0 -= 1
                    chg[g0 + 1] = 1
                    g1 -= 1
                    chg[g1 + 1] = 0
                    while chg[g0]:
                        g0 -= 1
                    if o0 == 0:
                        raise RuntimeError("group sync broken sliding to match")
                    o1 = o0 = o0 - 1
                    while ochg[o0]:
                        o0 -= 1
        elif o1 == o0 and g1 < n and o1 < on:
            # empty on both sides: skip to the next group that is not (k empty groups: k lines
            # unchanged in both files, paired one to one)
            k = min(xdf.next_change(g1) - g1, xdfo.next_change(o1) - o1)
            g0 = g1 = g1 + k
            o0 = o1 = o1 + k
            while chg[g1 + 1]:
                g1 += 1
            while ochg[o1 + 1]:
                o1 += 1
            continue
        if g1 == n:  # the next group
            break
        g0 = g1 = g1 + 1
        while chg[g1 + 1]:
            g1 += 1
        if o1 == on:
            raise RuntimeError("group sync broken moving to next group")
        o0 = o1 = o1 + 1
        while ochg[o1 + 1]:
            o1 += 1


def _hunks(a: list[int], b: list[int], max_cost: int) -> list[Hunk]:
    a_chg, b_chg = _change_flags(a, b, max_cost)
    fa, fb = _File(a, a_chg), _File(b, b_chg)
    _compact(fa, fb)
    _compact(fb, fa)
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
        else:  # lines unchanged on both sides, paired: skip the run of them
            k = min(fa.next_change(i) - i, fb.next_change(j) - j)
            i += max(k, 1)
            j += max(k, 1)
    return hunks


def diff_lines(
    old: Sequence[str], new: Sequence[str], *, max_cost: int = MAX_DIFF_COST
) -> list[Hunk]:
    """Hunks of a minimal line diff ``old`` -> ``new`` (lines as from :func:`split_lines`)."""
    a, b = _intern(old, new)
    return _hunks(a, b, max_cost)


# --------------------------------------------------------------------------------------------
# Three-way merge

_Chunk = tuple[str, ...] | ConflictHunk


@dataclass(frozen=True)
class Merge3Result:
    """A three-way merge: ``text`` when clean, else None and ``conflicts`` (line ranges)."""

    text: str | None
    conflicts: tuple[ConflictHunk, ...]
    base_lines: tuple[str, ...]
    mine_lines: tuple[str, ...]
    theirs_lines: tuple[str, ...]
    chunks: tuple[_Chunk, ...]  # merged lines, or a conflict, in order

    @property
    def clean(self) -> bool:
        return not self.conflicts

    def render(self, mine: str = "mine", base: str = "base", theirs: str = "theirs") -> str:
        """The merge with diff3 conflict markers, as ``git merge-file -p --diff3`` prints it."""
        out: list[str] = []
        for chunk in self.chunks:
            if not isinstance(chunk, ConflictHunk):
                out.extend(chunk)
                continue
            eol = "\r\n" if self._needs_cr(chunk) else "\n"
            for marker, label, lines in (
                ("<<<<<<<", mine, self.mine_lines[chunk.mine_start : chunk.mine_end]),
                ("|||||||", base, self.base_lines[chunk.base_start : chunk.base_end]),
                ("=======", None, self.theirs_lines[chunk.theirs_start : chunk.theirs_end]),
            ):
                out.append(f"{marker} {label}{eol}" if label is not None else f"{marker}{eol}")
                out.extend(lines)
                if lines and not lines[-1].endswith("\n"):
                    out.append(eol)
            out.append(f">>>>>>> {theirs}{eol}")
        return "".join(out)

    def _needs_cr(self, hunk: ConflictHunk) -> bool:
        # git's is_cr_needed: follow the line ending of the lines just before the conflict.
        needs = _is_eol_crlf(self.mine_lines, hunk.mine_start - 1 if hunk.mine_start else 0)
        if needs:
            needs = _is_eol_crlf(
                self.theirs_lines, hunk.theirs_start - 1 if hunk.theirs_start else 0
            )
        if needs:
            needs = _is_eol_crlf(self.base_lines, 0)
        return needs is True


def _is_eol_crlf(lines: Sequence[str], i: int) -> bool | None:
    if i < len(lines) - 1:
        return lines[i].endswith("\r\n")
    if not lines:
        return None
    if lines[i].endswith("\n"):
        return lines[i].endswith("\r\n")
    if i == 0:
        return None
    return lines[i - 1].endswith("\r\n")


def merge3(
    base: str,
    mine: str,
    theirs: str,
    *,
    max_cost: int = MAX_DIFF_COST,
    theirs_hunks: Sequence[Hunk] | None = None,
) -> Merge3Result:
    """diff3 merge of ``mine`` and ``theirs`` from ``base`` (git merge-file, EAGER level).

    ``theirs_hunks``: :func:`diff_lines` of ``base`` and ``theirs`` (with ``max_cost``) when the
    caller has it: a class pulling one change shares it (a line diff depends on its two sides
    only, so interning ``mine`` with them changes nothing)."""
    b_lines, m_lines, t_lines = split_lines(base), split_lines(mine), split_lines(theirs)
    b, m, t = _intern(b_lines, m_lines, t_lines)
    hm = _hunks(b, m, max_cost)
    ht = _hunks(b, t, max_cost) if theirs_hunks is None else list(theirs_hunks)
    chunks: list[_Chunk] = []
    conflicts: list[ConflictHunk] = []
    i = j = 0
    pos = 0  # base lines before pos are emitted
    off_m = off_t = 0  # mine/theirs index minus base index, past the processed hunks
    while i < len(hm) or j < len(ht):
        if j >= len(ht) or (i < len(hm) and hm[i].old_start <= ht[j].old_start):
            start = hm[i].old_start
        else:
            start = ht[j].old_start
        end = start
        cm: list[Hunk] = []
        ct: list[Hunk] = []
        grew = True
        while grew:  # gather every hunk that overlaps or touches the region
            grew = False
            while i < len(hm) and hm[i].old_start <= end:
                end = max(end, hm[i].old_end)
                cm.append(hm[i])
                i += 1
                grew = True
            while j < len(ht) and ht[j].old_start <= end:
                end = max(end, ht[j].old_end)
                ct.append(ht[j])
                j += 1
                grew = True
        if pos < start:
            chunks.append(tuple(b_lines[pos:start]))
        m_start, t_start = start + off_m, start + off_t
        off_m += sum((h.new_end - h.new_start) - (h.old_end - h.old_start) for h in cm)
        off_t += sum((h.new_end - h.new_start) - (h.old_end - h.old_start) for h in ct)
        m_end, t_end = end + off_m, end + off_t
        if not ct:
            chunks.append(tuple(m_lines[m_start:m_end]))
        elif not cm:
            chunks.append(tuple(t_lines[t_start:t_end]))
        elif (
            len(cm) == 1
            and len(ct) == 1
            and cm[0].old_start == ct[0].old_start
            and cm[0].old_end == ct[0].old_end
            and m[m_start:m_end] == t[t_start:t_end]
        ):
            chunks.append(tuple(m_lines[m_start:m_end]))  # the same change on both sides
        else:
            hunk = ConflictHunk(start, end, m_start, m_end, t_start, t_end)
            conflicts.append(hunk)
            chunks.append(hunk)
        pos = end
    if pos < len(b_lines):
        chunks.append(tuple(b_lines[pos:]))
    text = None
    if not conflicts:
        text = "".join(line for chunk in chunks for line in chunk)  # type: ignore[union-attr]
    return Merge3Result(
        text=text,
        conflicts=tuple(conflicts),
        base_lines=tuple(b_lines),
        mine_lines=tuple(m_lines),
        theirs_lines=tuple(t_lines),
        chunks=tuple(chunks),
    )
