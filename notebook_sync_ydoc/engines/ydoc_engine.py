"""YDoc mode: each cell is its own pycrdt document holding the source as Text (key "source").

Client ids:

- The teacher's pushes use one client id per cell document: drawn at random when the document
  is created (and again when it is compacted, below), then read back from the stored state on
  every later push. The state vector does not grow per push, and two documents created
  independently for one cell (e.g. after a JSON-mode server wrote it) cannot clash on (client,
  clock) ids.
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

Pushes (issue 16, item 2) keep the cost flat:

- The teacher's document stays decoded between pushes in a :class:`.doc_cache.CellDocCache`
  (given to the engine by its maker), reused only while the store holds exactly the state this
  engine last produced for that cell; otherwise the stored state is decoded, once (the teacher's
  client id is read from the update's header, not from a second decode).
- The new full state is the previous one with the push's structs and the new delete set spliced
  in (:mod:`.splice`), not a re-encoding of the document: yrs encodes a ``Text`` at about a
  microsecond per KB, more than the rest of a typing push to a 100 KB cell.
- A cell whose stored state outgrew its text (``compact_factor`` times the text's UTF-8 size
  plus ``compact_floor`` bytes) is *compacted*: its new state is a fresh document holding the
  text in one insert, under a new teacher client id (never an old id with a restarted clock,
  which would alias old structs). A student's base taken before a compaction is then not
  contained in the teacher's state (its state vector shows it), and a pull builds the teacher's
  side from the base plus the text change instead of sending a delta between unrelated
  histories (:meth:`YDocEngine._update`). Delta pulls (:mod:`.delta`) start from base *text*
  and never see stored states.

Pulls (issue 16, item 3) decode no more than they must: after a push a whole class pulls the same
teacher state from the same base, so the decode of a state (its text and state vector), the
teacher's delta from a base (read from the stored update, no document), a fast-forward's update
and a delta pull's update are kept in small memos (:mod:`.recent`) keyed by the exact bytes and
texts they come from. A merge forks the base from its stored bytes (not a re-encoding) and
applies the teacher's delta; only anything unusual builds every document
(:meth:`YDocEngine._rebuilt`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import pycrdt

from ..merge import MergeOutcome, PullInput, PullPlan, plan_pull, text_check, text_edits
from .delta import make_delta
from .doc_cache import CacheKey, CellDocCache, HotCell
from .recent import Recent, TheirsDiffs
from .splice import layout_of, splice
from .ytext import VarReader, apply_text_edits, state_vector

__all__ = [
    "REPAIR_CLIENT_ID",
    "SOURCE_KEY",
    "STUDENT_CLIENT_ID",
    "SYNTHETIC_CLIENT_ID",
    "YDocEngine",
    "cell_text",
    "contains",
    "encode_cell",
    "fresh_cell",
    "load_cell",
    "set_text",
    "utf8_len",
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


def set_text(doc: pycrdt.Doc[Any], source: str, current: str | None = None) -> bool:
    """Edit the document's source to ``source`` with minimal edits, in one transaction.
    ``current``: what the document reads now, when the caller knows it (saves reading it).

    Returns whether anything changed."""
    text = doc.get(SOURCE_KEY, type=pycrdt.Text)
    edits = text_edits(str(text) if current is None else current, source, unit="utf-8")
    if not edits:  # no transaction at all: opening one costs as much as a small edit
        return False
    with doc.transaction():
        apply_text_edits(text, edits)
    return True


def utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def contains(state_vector_of: dict[int, int], other: dict[int, int]) -> bool:
    """Whether a document with state vector ``state_vector_of`` holds every struct counted by
    ``other`` (ids are never reused, so then it descends from that document)."""
    return all(state_vector_of.get(client, 0) >= clock for client, clock in other.items())


def _new_teacher_id() -> int:
    return _FIRST_TEACHER_ID + secrets.randbelow(_ID_LIMIT - _FIRST_TEACHER_ID)


def _sole_client(state: bytes) -> int | None:
    """The client of an update whose structs are all one client's (every teacher state this
    engine writes), read from the update's header; None for any other update."""
    try:
        reader = VarReader(state)
        if reader.var_uint() != 1:  # number of clients with structs
            return None
        reader.var_uint()  # that client's number of structs
        return reader.var_uint()
    except (IndexError, ValueError):
        return None


def _teacher_id(state: bytes | None) -> int:
    """The teacher's client id in a stored cell state, or a new one for a new document."""
    if state is not None:
        sole = _sole_client(state)
        if sole is not None and sole not in _RESERVED:
            return sole
        clocks = state_vector(load_cell(state, REPAIR_CLIENT_ID).get_state())
        candidates = [
            (clock, client) for client, clock in clocks.items() if client not in _RESERVED
        ]
        if candidates:
            return max(candidates)[1]
    return _new_teacher_id()


def fresh_cell(source: str) -> HotCell:
    """A new teacher document holding ``source`` in one insert, under a new client id."""
    doc = load_cell(None, _new_teacher_id())
    if source:
        doc.get(SOURCE_KEY, type=pycrdt.Text).insert(0, source)
    return encode_cell(doc, source)


def encode_cell(doc: pycrdt.Doc[Any], text: str, before: HotCell | None = None) -> HotCell:
    """The document (reading ``text``) with its full state: spliced onto ``before`` (the same
    document's previous state, :mod:`.splice`) where possible, else encoded in full."""
    with doc.transaction():  # one transaction for every read below
        vector = doc.get_state()
        clocks = state_vector(vector)
        empty = doc.get_update(vector)  # no structs, then the delete set
        deletes = empty[1:] if empty[:1] == b"\x00" else None
        if deletes is None:
            return HotCell(doc, text, doc.get_update())
        layout = before.layout if before is not None else None
        if layout is not None and before is not None and layout.client in clocks:
            if len(clocks) == 1:
                delta = doc.get_update(layout.state_vector())
                spliced = splice(before.state, layout, delta, deletes, clocks[layout.client])
                if spliced is not None:
                    return HotCell(doc, text, *spliced)
        state = doc.get_update()
    return HotCell(doc, text, state, layout_of(state, deletes, clocks))


def _fork(state: bytes, client_id: int) -> tuple[pycrdt.Doc[Any], pycrdt.Text]:
    """A pull's document holding ``state`` as ``client_id``, and its source Text (got once: a
    ``Doc.get`` costs as much as applying a small state)."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=client_id)
    text = doc.get(SOURCE_KEY, type=pycrdt.Text)
    doc.apply_update(state)
    return doc, text


def _edit(doc: pycrdt.Doc[Any], text: pycrdt.Text, current: str, source: str) -> bool:
    """:func:`set_text` on a Text in hand that reads ``current``: whether anything changed."""
    edits = text_edits(current, source, unit="utf-8")
    if not edits:
        return False
    with doc.transaction():
        apply_text_edits(text, edits)
    return True


@dataclass(frozen=True)
class Decoded:
    """A stored state as pulls read it: its text and its state vector (encoded, and as clocks)."""

    text: str
    vector: bytes
    clocks: dict[int, int]


@dataclass(frozen=True)
class Forward:
    """A fast-forward's update (``reconciled``: the base plus the teacher's delta did not read
    ``source`` and was edited to it)."""

    source: str
    update: bytes
    reconciled: bool


class YDocEngine:
    """YDoc mode. ``reconciled`` counts pulls whose CRDT text had to be edited to the
    authoritative text (the diff3 merge, or a source the stored state did not match); it is a
    plain int, read it for metrics."""

    mode = "ydoc"

    def __init__(
        self,
        cache: CellDocCache | None = None,
        compact_factor: float = 1.5,
        compact_floor: int = 8192,
    ) -> None:
        self.reconciled = 0
        self.compactions = 0  # pushes whose state was compacted (read it for metrics)
        self.cache = cache
        self.compact_factor = compact_factor
        self.compact_floor = compact_floor
        # What pulls compute once for a whole class (issue 16, item 3; :mod:`.recent`): keyed
        # by the exact state bytes and texts, bounded.
        self._states: Recent[bytes, Decoded] = Recent()
        self._deltas: Recent[tuple[bytes, bytes], tuple[bytes | None]] = Recent()
        self._forwards: Recent[tuple[bytes, bytes], Forward] = Recent()
        self._text_deltas: Recent[tuple[str, str], bytes] = Recent()
        # the teacher's text -> its text_check (pure Python, a byte at a time: 0.7 ms for 10 KB)
        self._text_checks: Recent[str, str] = Recent()
        self.theirs_diffs = TheirsDiffs()  # the teacher's side of a class's merges

    def push(
        self,
        state: bytes | None,
        previous_source: str | None,
        source: str,
        key: CacheKey | None = None,
    ) -> bytes | None:
        """The cell's new full state. The stored text, not ``previous_source``, is edited to
        ``source``: if a JSON-mode server changed the source meanwhile, the sources win.
        ``key`` (session code, cell id) lets the engine's cache keep the document hot."""
        hot = None
        if self.cache is not None and key is not None:
            hot = self.cache.take(key, state)
        if hot is None:
            doc = load_cell(state, _teacher_id(state))
            hot = HotCell(doc, cell_text(doc), state if state is not None else b"")
        if set_text(hot.doc, source, hot.text) or state is None:
            hot = encode_cell(hot.doc, source, hot)
        if self._outgrown(len(hot.state), source):
            hot = fresh_cell(source)
            self.compactions += 1
        if self.cache is not None and key is not None:
            self.cache.put(key, hot)
        return hot.state

    def _outgrown(self, size: int, source: str) -> bool:
        """Whether a state of ``size`` bytes for ``source`` is due for a compaction (the code
        point count first: a lower bound of the UTF-8 size, without encoding the text)."""
        factor, floor = self.compact_factor, self.compact_floor
        return size > factor * len(source) + floor and size > factor * utf8_len(source) + floor

    def text_delta(self, base: str, theirs: str) -> bytes | None:
        """The delta-pull update from ``base`` to ``theirs`` (:mod:`.delta`); a class pulling
        the same change computes it once."""
        key = (base, theirs)
        delta = self._text_deltas.get(key)
        if delta is None:
            delta = make_delta(base, theirs)
            self._text_deltas.put(key, delta, len(base) + len(theirs) + len(delta))
        return delta

    def text_check(self, text: str) -> str:
        """:func:`..merge.text_check`, computed once per teacher's text while it is recent
        (keyed by the text itself)."""
        check = self._text_checks.get(text)
        if check is None:
            check = text_check(text)
            self._text_checks.put(text, check, len(text) + 64)
        return check

    def pull(self, request: PullInput) -> MergeOutcome:
        """The pull rules (:func:`..merge.plan_pull`) plus the CRDT update from the base state."""
        plan = plan_pull(request, self.theirs_diffs)
        if plan.status in ("no_update", "conflict") or not (
            plan.text_changed and request.with_update
        ):
            return plan.outcome()
        return plan.outcome(self._update(request, plan))

    def _update(self, request: PullInput, plan: PullPlan) -> bytes:
        """The update from the student's base state: the teacher's delta from the base (the
        same for every student who pulled that base), then, for a merge, the student's edits
        on a fork of the base. Anything unusual (no base state, a teacher state the store did
        not mean or from before a compaction) takes :meth:`_rebuilt`."""
        base_state, theirs_state = request.base_state, request.theirs_state
        if theirs_state is None:
            return self._rebuilt(request, plan)
        theirs = self._decode(theirs_state)
        if theirs.text != plan.theirs:  # a state the store did not mean
            return self._rebuilt(request, plan)
        if base_state is None:
            if plan.status in ("fast_forward", "replaced"):
                return theirs_state  # the full teacher state, for a student who holds none
            return self._rebuilt(request, plan)
        base = self._decode(base_state)
        delta = self._delta(base_state, base, theirs_state, theirs)
        if delta is None:  # a base from before a compaction
            return self._rebuilt(request, plan)
        if plan.status in ("fast_forward", "replaced"):
            return self._forward(base_state, base, theirs_state, delta, plan.source)
        result, text = _fork(base_state, STUDENT_CLIENT_ID)  # kept, merged: the student's fork
        _edit(result, text, base.text, plan.mine)
        if plan.status == "merged":
            result.apply_update(delta)
        if _edit(result, text, str(text), plan.source):
            self.reconciled += 1
        return result.get_update(base.vector)

    def _decode(self, state: bytes) -> Decoded:
        """What ``state`` reads and its state vector (decoded once while it is recent)."""
        decoded = self._states.get(state)
        if decoded is None:
            doc, text = _fork(state, REPAIR_CLIENT_ID)
            with doc.transaction():
                vector = doc.get_state()
                decoded = Decoded(str(text), vector, state_vector(vector))
            self._states.put(state, decoded, len(state) + len(decoded.text) + len(vector))
        return decoded

    def _delta(
        self, base_state: bytes, base: Decoded, theirs_state: bytes, theirs: Decoded
    ) -> bytes | None:
        """The teacher's structs and deletions since ``base``, or None when the teacher's
        state does not hold the base's (a compaction in between)."""
        key = (base_state, theirs_state)
        known = self._deltas.get(key)
        if known is None:
            delta = None
            if contains(theirs.clocks, base.clocks):
                delta = pycrdt.get_update(theirs_state, base.vector)
            known = (delta,)
            weight = len(base_state) + len(theirs_state) + (len(delta) if delta else 0)
            self._deltas.put(key, known, weight)
        return known[0]

    def _forward(
        self, base_state: bytes, base: Decoded, theirs_state: bytes, delta: bytes, source: str
    ) -> bytes:
        """A fast-forward's (or replace's) update: the base plus the teacher's delta, edited to
        ``source`` if it does not read it (counted in :attr:`reconciled`)."""
        key = (base_state, theirs_state)
        known = self._forwards.get(key)
        if known is None or known.source != source:
            result, text = _fork(base_state, REPAIR_CLIENT_ID)
            result.apply_update(delta)
            changed = _edit(result, text, str(text), source)
            known = Forward(source, result.get_update(base.vector), changed)
            weight = len(base_state) + len(theirs_state) + len(source) + len(known.update)
            self._forwards.put(key, known, weight)
        if known.reconciled:
            self.reconciled += 1
        return known.update

    def _rebuilt(self, request: PullInput, plan: PullPlan) -> bytes:
        """The update computed from documents built for this pull (see :meth:`_update`)."""
        if request.base_state is not None:
            base = load_cell(request.base_state, REPAIR_CLIENT_ID)
        else:  # never pulled, or JSON-mode data: a document from the base source alone
            base = load_cell(None, SYNTHETIC_CLIENT_ID)
            set_text(base, plan.base)
        theirs: pycrdt.Doc[Any] | None = None
        if request.base_state is not None and request.theirs_state is not None:
            theirs = load_cell(request.theirs_state, REPAIR_CLIENT_ID)
            if cell_text(theirs) != plan.theirs or not contains(
                state_vector(theirs.get_state()), state_vector(base.get_state())
            ):  # a state the store did not mean, or a base from before a compaction
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
            if self._decode(request.theirs_state).text == plan.theirs:
                return request.theirs_state
        return built.get_update()
