"""The pull rules (docs/architecture.md, "Merge rules"), in one place for both engines.

:func:`plan_pull` decides every pull's status and source on text, with conflicts found by
:func:`.diff3.merge3`; the YDoc engine only adds the CRDT ``update``, so both modes agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from .diff3 import ConflictHunk, Hunk, merge3

__all__ = [
    "ConflictHunk",
    "MergeOutcome",
    "PullInput",
    "PullPlan",
    "PullStatus",
    "Strategy",
    "TheirsDiff",
    "plan_pull",
]

PullStatus = Literal["fast_forward", "merged", "replaced", "kept", "conflict", "no_update"]
Strategy = Literal["theirs", "mine"]


@dataclass(frozen=True)
class MergeOutcome:
    status: PullStatus
    # The cell's new source for the student (for ``conflict`` and ``no_update``: mine, untouched).
    source: str
    base: str
    mine: str
    theirs: str
    # YDoc mode: the CRDT update that brings a holder of the base state to ``source``.
    update: bytes | None = None
    conflicts: tuple[ConflictHunk, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class PullInput:
    """Everything a pull needs. States are None in JSON mode, or for data a JSON-mode server
    wrote; an engine that wants a state then builds it from the source."""

    theirs_source: str
    theirs_state: bytes | None
    base_source: str | None  # None: never pulled
    base_state: bytes | None
    mine: str | None  # None: the student sent no local_source (mine = base)
    strategy: Strategy | None = None
    # The cell's seq and the seq the student last pulled (None: never). Only with both known
    # does an unchanged source still deliver a newer seq (rule 3); engine-level callers may
    # leave them out.
    theirs_seq: int | None = None
    pulled_seq: int | None = None
    # False: the caller sends no CRDT update (a preview, a delta-pull reply), so the YDoc
    # engine builds none
    with_update: bool = True


@dataclass(frozen=True)
class PullPlan:
    """The decision for one pull. ``base`` is "" and ``has_base`` False before the first pull;
    ``mine`` is the student's effective source (the base when no ``local_source`` was sent)."""

    status: PullStatus
    source: str
    base: str
    mine: str
    theirs: str
    has_base: bool
    conflicts: tuple[ConflictHunk, ...] = ()
    # False when the text has nothing to merge (rule 3: only type or metadata moved on): the
    # YDoc engine then sends no CRDT update.
    text_changed: bool = True

    def outcome(self, update: bytes | None = None) -> MergeOutcome:
        return MergeOutcome(
            status=self.status,
            source=self.source,
            base=self.base,
            mine=self.mine,
            theirs=self.theirs,
            update=update,
            conflicts=self.conflicts,
        )


# (base, theirs) -> diff_lines of their lines: what an engine shares among a class's pulls
TheirsDiff = Callable[[str, str], Sequence[Hunk]]


def plan_pull(request: PullInput, theirs_diff: TheirsDiff | None = None) -> PullPlan:
    """The merge rules (docs/architecture.md, "Merge rules"). An explicit strategy always wins
    ("theirs": replaced, "mine": kept); then: never pulled and no/empty/equal local source ->
    fast_forward; theirs == base -> no_update, unless the cell's seq is newer than the pulled
    one (its type or metadata changed, or the teacher reverted): then it is delivered keeping
    the student's text; mine == base or mine == theirs -> fast_forward; else diff3 (never
    pulled: base "") -> merged, or conflict with the student's source untouched.
    ``theirs_diff``: where the merge gets the line diff of base and theirs (an engine's cache of
    them); by default it computes it."""
    theirs = request.theirs_source
    has_base = request.base_source is not None
    base = request.base_source if request.base_source is not None else ""
    mine = request.mine if request.mine is not None else base

    def plan(status: PullStatus, source: str, conflicts: tuple[ConflictHunk, ...] = ()) -> PullPlan:
        return PullPlan(status, source, base, mine, theirs, has_base, conflicts)

    if request.strategy == "theirs":
        return plan("replaced", theirs)
    if request.strategy == "mine":
        return plan("kept", mine)
    if not has_base and (not request.mine or request.mine == theirs):
        return plan("fast_forward", theirs)
    if theirs == base:
        if _newer_seq(request):
            status: PullStatus = "fast_forward" if mine == base else "merged"
            return PullPlan(status, mine, base, mine, theirs, has_base, text_changed=False)
        return plan("no_update", mine)
    if mine in (base, theirs):
        return plan("fast_forward", theirs)
    hunks = theirs_diff(base, theirs) if theirs_diff is not None else None
    result = merge3(base, mine, theirs, theirs_hunks=hunks)
    if result.text is not None:
        return plan("merged", result.text)
    return plan("conflict", mine, result.conflicts)


def _newer_seq(request: PullInput) -> bool:
    if request.theirs_seq is None:
        return False
    return request.pulled_seq is None or request.theirs_seq > request.pulled_seq
