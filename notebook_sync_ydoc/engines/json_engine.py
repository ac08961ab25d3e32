"""JSON mode: the cell engine without CRDTs; pulls are :func:`..merge.plan_pull` on text."""

from __future__ import annotations

from ..merge import MergeOutcome, PullInput, plan_pull, text_check
from .base import CellKey
from .recent import TheirsDiffs

__all__ = ["JsonEngine"]


class JsonEngine:
    """JSON mode: pushes keep no CRDT state; pulls merge text (:func:`plan_pull`)."""

    mode = "json"

    def __init__(self) -> None:
        self.theirs_diffs = TheirsDiffs()

    def push(
        self,
        state: bytes | None,
        previous_source: str | None,
        source: str,
        key: CellKey | None = None,
    ) -> bytes | None:
        """JSON mode stores only the source: no state."""
        return None

    def pull(self, request: PullInput) -> MergeOutcome:
        """The merge rules on text; ``update`` is always None."""
        return plan_pull(request, self.theirs_diffs).outcome()

    def text_delta(self, base: str, theirs: str) -> bytes | None:
        """No CRDT in JSON mode: delta-pull clients get the full text."""
        return None

    def text_check(self, text: str) -> str:
        return text_check(text)
