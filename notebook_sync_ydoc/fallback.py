"""JSON mode: the cell engine without CRDTs. Pulls follow DESIGN §5 on text with :mod:`.merge`.

:func:`plan_pull` holds the rules and is shared with the YDoc engine, so both modes decide
the same status and source for every pull; the YDoc engine only adds the CRDT ``update``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .engine import ConflictHunk, MergeOutcome, PullInput, PullStatus
from .merge import merge3

__all__ = ["JsonEngine", "PullPlan", "plan_pull"]


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


def plan_pull(request: PullInput) -> PullPlan:
    """DESIGN §5. An explicit strategy always wins ("theirs": replaced, "mine": kept); then:
    never pulled and no/empty/equal local source -> fast_forward; theirs == base -> no_update;
    mine == base or mine == theirs -> fast_forward; else diff3 (never pulled: base "") ->
    merged, or conflict with the student's source untouched."""
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
        return plan("no_update", mine)
    if mine in (base, theirs):
        return plan("fast_forward", theirs)
    result = merge3(base, mine, theirs)
    if result.text is not None:
        return plan("merged", result.text)
    return plan("conflict", mine, result.conflicts)


class JsonEngine:
    """JSON mode: pushes keep no CRDT state; pulls merge text (:func:`plan_pull`)."""

    mode = "json"

    def push(self, state: bytes | None, previous_source: str | None, source: str) -> bytes | None:
        """JSON mode stores only the source: no state."""
        return None

    def pull(self, request: PullInput) -> MergeOutcome:
        """DESIGN §5 on text; ``update`` is always None."""
        return plan_pull(request).outcome()
