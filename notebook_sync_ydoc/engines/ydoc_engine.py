"""YDoc mode: each cell is its own pycrdt document holding the source as Text (key "source").

Client ids:

- The teacher's pushes use one client id per cell document: drawn at random when the document
  is created, then read back from the stored state on every later push. The state vector does
  not grow per push, and two documents created independently for one cell (e.g. after a
  JSON-mode server wrote it) cannot clash on (client, clock) ids.
- A pull's student operations use :data:`STUDENT_CLIENT_ID`; repairs (a stored state whose text
  is not the source the store says it is) use :data:`REPAIR_CLIENT_ID`; documents built from
  sources alone (JSON-mode data) use :data:`SYNTHETIC_CLIENT_ID`. These never enter a stored
  teacher state. ``MergeOutcome.update`` is therefore only valid for a holder of exactly the
  base state (as the interface says), not for a document that already took an earlier update.

Pulls decide status and source with :func:`..merge.plan_pull` (the JSON-mode rules, conflicts
by line diff3), so both modes agree. A merge forks the base document, applies base -> mine as
line-level student edits, then the teacher's delta, and reads the text. Where that CRDT text
differs from the diff3 text (the teacher's history edited a line and reverted it while the
student edited it, say), the document is edited to the diff3 text so that ``update`` stays a
valid CRDT update, and :attr:`YDocEngine.reconciled` counts it.
"""

from __future__ import annotations

import secrets
from typing import Any

import pycrdt

from ..merge import MergeOutcome, PullInput, PullPlan, plan_pull, text_edits
from .delta import make_delta
from .ytext import apply_text_edits, state_vector

__all__ = [
    "REPAIR_CLIENT_ID",
    "SOURCE_KEY",
    "STUDENT_CLIENT_ID",
    "SYNTHETIC_CLIENT_ID",
    "YDocEngine",
    "cell_text",
    "load_cell",
    "set_text",
]

SOURCE_KEY = "source"
STUDENT_CLIENT_ID = 1
REPAIR_CLIENT_ID = 2
SYNTHETIC_CLIENT_ID = 3
_RESERVED = (STUDENT_CLIENT_ID, REPAIR_CLIENT_ID, SYNTHETIC_CLIENT_ID)
_FIRST_TEACHER_ID = 1 << 10
_ID_LIMIT = 1 << 32  # Yjs client ids are unsigned 32-bit


def load_cell(state: bytes | None, client_id: int) -> pycrdt.Doc[Any]:
    """A cell document acting as ``client_id``, holding ``state`` (None: empty)."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=client_id)
    doc.get(SOURCE_KEY, type=pycrdt.Text)
    if state is not None:
        doc.apply_update(state)
    return doc


def cell_text(doc: pycrdt.Doc[Any]) -> str:
    return str(doc.get(SOURCE_KEY, type=pycrdt.Text))


def set_text(doc: pycrdt.Doc[Any], source: str) -> bool:
    """Edit the document's source to ``source`` with minimal edits, in one transaction.

    Returns whether anything changed."""
    text = doc.get(SOURCE_KEY, type=pycrdt.Text)
    edits = text_edits(str(text), source, unit="utf-8")
    if not edits:  # no transaction at all: opening one costs as much as a small edit
        return False
    with doc.transaction():
        apply_text_edits(text, edits)
    return True


def _teacher_id(state: bytes | None) -> int:
    """The teacher's client id in a stored cell state, or a new one for a new document."""
    if state is not None:
        clocks = state_vector(load_cell(state, REPAIR_CLIENT_ID).get_state())
        candidates = [
            (clock, client) for client, clock in clocks.items() if client not in _RESERVED
        ]
        if candidates:
            return max(candidates)[1]
    return _FIRST_TEACHER_ID + secrets.randbelow(_ID_LIMIT - _FIRST_TEACHER_ID)


class YDocEngine:
    """YDoc mode. ``reconciled`` counts pulls whose CRDT text had to be edited to the
    authoritative text (the diff3 merge, or a source the stored state did not match); it is a
    plain int, read it for metrics."""

    mode = "ydoc"

    def __init__(self) -> None:
        self.reconciled = 0

    def push(self, state: bytes | None, previous_source: str | None, source: str) -> bytes | None:
        """The cell's new full state. The stored text, not ``previous_source``, is edited to
        ``source``: if a JSON-mode server changed the source meanwhile, the sources win."""
        doc = load_cell(state, _teacher_id(state))
        set_text(doc, source)
        return doc.get_update()

    def text_delta(self, base: str, theirs: str) -> bytes | None:
        """The delta-pull update from ``base`` to ``theirs`` (:mod:`.delta`)."""
        return make_delta(base, theirs)

    def pull(self, request: PullInput) -> MergeOutcome:
        """The pull rules (:func:`..merge.plan_pull`) plus the CRDT update from the base state."""
        plan = plan_pull(request)
        if plan.status in ("no_update", "conflict") or not (
            plan.text_changed and request.with_update
        ):
            return plan.outcome()
        return plan.outcome(self._update(request, plan))

    def _update(self, request: PullInput, plan: PullPlan) -> bytes:
        if request.base_state is not None:
            base = load_cell(request.base_state, REPAIR_CLIENT_ID)
        else:  # never pulled, or JSON-mode data: a document from the base source alone
            base = load_cell(None, SYNTHETIC_CLIENT_ID)
            set_text(base, plan.base)
        theirs: pycrdt.Doc[Any] | None = None
        if request.base_state is not None and request.theirs_state is not None:
            theirs = load_cell(request.theirs_state, REPAIR_CLIENT_ID)
            if cell_text(theirs) != plan.theirs:
                theirs = None
        if theirs is None:  # theirs as the base plus the teacher's change
            theirs = load_cell(base.get_update(), REPAIR_CLIENT_ID)
            set_text(theirs, plan.theirs)
        base_sv = base.get_state()
        if plan.status in ("fast_forward", "replaced"):
            if request.base_state is None:
                return self._full_theirs(request, plan, theirs)
            result = load_cell(base.get_update(), REPAIR_CLIENT_ID)
            result.apply_update(theirs.get_update(base_sv))
        else:  # kept, merged: the student's edits on a fork of the base
            result = load_cell(base.get_update(), STUDENT_CLIENT_ID)
            set_text(result, plan.mine)
            if plan.status == "merged":
                result.apply_update(theirs.get_update(base_sv))
        if set_text(result, plan.source):
            self.reconciled += 1
        if request.base_state is None:
            return result.get_update()
        return result.get_update(base_sv)

    def _full_theirs(self, request: PullInput, plan: PullPlan, built: pycrdt.Doc[Any]) -> bytes:
        """Full state of the teacher's document, for a student who holds no state."""
        if request.theirs_state is not None:
            doc = load_cell(request.theirs_state, REPAIR_CLIENT_ID)
            if cell_text(doc) == plan.theirs:
                return request.theirs_state
        return built.get_update()
