"""The cell engine interface: how a push changes a teacher cell and how a pull merges it.

Two implementations: :mod:`.ydoc_engine` (YDoc mode: each cell its own pycrdt document) and
:mod:`.json_engine` (JSON mode: text only). Both decide pulls with :func:`..merge.plan_pull`, so
they give the same text on every clean merge.
"""

from __future__ import annotations

from typing import Protocol

from ..merge import MergeOutcome, PullInput

__all__ = ["CellEngine", "CellKey"]

CellKey = tuple[str, str]  # (session code, cell id)


class CellEngine(Protocol):
    mode: str  # "ydoc" | "json"

    def push(
        self,
        state: bytes | None,
        previous_source: str | None,
        source: str,
        key: CellKey | None = None,
    ) -> bytes | None:
        """The teacher's cell after its source became ``source``.

        ``state``/``previous_source``: the stored cell (None for a new cell). Returns the new
        CRDT state (YDoc) or None (JSON). Edits are minimal: common prefix and suffix trimmed
        first, then line-level; never a quadratic character diff. ``key`` names the cell, so
        that an engine may keep its document between pushes (used only while the store holds
        exactly the state the engine returned last for that key).
        """
        ...

    def pull(self, request: PullInput) -> MergeOutcome:
        """Apply the merge rules (docs/architecture.md, "Merge rules") to one cell."""
        ...

    def text_delta(self, base: str, theirs: str) -> bytes | None:
        """The delta-pull update from ``base`` to ``theirs`` (:mod:`.delta`), or None where the
        engine has no CRDT (JSON mode: the client gets the full text)."""
        ...

    def text_check(self, text: str) -> str:
        """:func:`..merge.text_check` of ``text`` (a delta-pull reply's ``theirs_check``); an
        engine may compute it once per teacher's text for the whole class."""
        ...
