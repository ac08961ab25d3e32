"""Minimal text edits: :func:`text_edits` turns ``old`` into ``new`` with few, small edits
(common prefix and suffix trimmed, then one edit per line hunk of :func:`.diff3.diff_lines`), in
code points, UTF-8 bytes (pycrdt) or UTF-16 units (Yjs); :func:`apply_edits` applies them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

from .diff3 import diff_lines, split_lines

__all__ = ["Edit", "Unit", "apply_edits", "text_edits"]

Unit = Literal["codepoint", "utf-8", "utf-16"]


class Edit(NamedTuple):
    """Delete ``delete`` units at ``position``, then insert ``insert`` there."""

    position: int
    delete: int
    insert: str


def _prefix_len(a: str, b: str) -> int:
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:  # invariant: a[:lo] == b[:lo]
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _suffix_len(a: str, b: str, limit: int) -> int:
    la, lb = len(a), len(b)
    lo, hi = 0, limit
    while lo < hi:  # invariant: the last lo characters are equal
        mid = (lo + hi + 1) // 2
        if a[la - mid : la - lo] == b[lb - mid : lb - lo]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _unit_len(text: str, unit: Unit) -> int:
    if unit == "codepoint" or text.isascii():
        return len(text)
    if unit == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def text_edits(old: str, new: str, *, unit: Unit = "codepoint") -> list[Edit]:
    """Edits that turn ``old`` into ``new``: common prefix and suffix trimmed (then widened to
    whole lines), then one edit per line hunk of the middle, each trimmed again to the
    characters that changed, so separate changes stay separate edits.

    Positions index ``old`` in ``unit``s: ``"codepoint"`` (Python ``str``), ``"utf-8"`` (pycrdt
    ``Text``) or ``"utf-16"`` (Yjs in the browser). Edits come in descending position order and
    do not overlap: apply them in list order, each as "delete, then insert at the same position".
    """
    if old == new:
        return []
    pre = _prefix_len(old, new)
    suf = _suffix_len(old, new, min(len(old), len(new)) - pre)
    # Widen the middle to whole lines of both texts, so that the line diff sees the lines as
    # they are and an inserted line lands at a line boundary (as the line merge places it).
    pre = old.rfind("\n", 0, pre) + 1
    tail_old, tail_new = len(old) - suf, len(new) - suf
    if suf and not (
        (tail_old == 0 or old[tail_old - 1] == "\n")
        and (tail_new == 0 or new[tail_new - 1] == "\n")
    ):
        newline = old.find("\n", tail_old)  # the suffix then starts after its first newline
        suf = 0 if newline < 0 else len(old) - newline - 1
    old_mid = old[pre : len(old) - suf]
    new_mid = new[pre : len(new) - suf]
    pairs: list[tuple[int, str, str]] = []  # (offset in old_mid, old text, new text) per hunk
    if "\n" not in old_mid[:-1] and "\n" not in new_mid[:-1]:
        pairs.append((0, old_mid, new_mid))  # at most one line each: one hunk
    else:
        a_lines, b_lines = split_lines(old_mid), split_lines(new_mid)
        a_pos = [0]
        for line in a_lines:
            a_pos.append(a_pos[-1] + len(line))
        b_pos = [0]
        for line in b_lines:
            b_pos.append(b_pos[-1] + len(line))
        for h in diff_lines(a_lines, b_lines):
            pairs.append(
                (
                    a_pos[h.old_start],
                    old_mid[a_pos[h.old_start] : a_pos[h.old_end]],
                    new_mid[b_pos[h.new_start] : b_pos[h.new_end]],
                )
            )
    spans: list[tuple[int, int, str]] = []  # (start, end) in old, code points; inserted text
    for offset, a_text, b_text in pairs:
        p = _prefix_len(a_text, b_text)
        s = _suffix_len(a_text, b_text, min(len(a_text), len(b_text)) - p)
        start = pre + offset + p
        spans.append((start, start + len(a_text) - p - s, b_text[p : len(b_text) - s]))
    if unit == "codepoint" or old.isascii():
        return [Edit(s, e - s, ins) for s, e, ins in reversed(spans)]
    edits: list[Edit] = []
    cp = units = 0
    for s, e, ins in spans:  # ascending: convert positions incrementally
        units += _unit_len(old[cp:s], unit)
        edits.append(Edit(units, _unit_len(old[s:e], unit), ins))
        cp = s
    edits.reverse()
    return edits


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply :func:`text_edits` output (code point units) to ``text``."""
    for pos, delete, insert in edits:
        text = text[:pos] + insert + text[pos + delete :]
    return text


_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def text_check(text: str) -> str:
    """FNV-1a (32 bit) of the UTF-8 text, 8 hex digits: the delta-pull reply's check that the
    client rebuilt the teacher's text. It detects a wrong base, not an attacker (the server is
    trusted), and is cheap in a browser without SubtleCrypto (plain-http hubs lack it):
    src/logic/delta.ts computes the same."""
    value = _FNV_OFFSET
    for byte in text.encode("utf-8", "surrogatepass"):
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return f"{value:08x}"
