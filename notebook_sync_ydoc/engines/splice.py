"""A teacher cell's full state after a push without re-encoding the whole document.

Encoding a pycrdt document costs about a microsecond per KB of ``Text`` (yrs walks every string
for its UTF-16 length), so re-encoding a 100 KB cell on every typing push would cost more than
the push itself. A teacher's cell document has one client (the teacher's id) and the state
this engine wrote is a Yjs v1 update laid out as::

    varUint(1) varUint(structs) varUint(client) varUint(first clock) <structs> <delete set>

After an edit, the document's update from the old state vector holds the new structs of that
client, from the old end clock on, then the document's whole delete set. The new full state is
the old structs followed by the new ones (the same client, clocks contiguous) and the new delete
set: what Yjs' ``mergeUpdates`` makes of the two. Decoding it integrates the same items (a new
item whose origin lies inside an older one splits it, as applying the two updates in turn
would). Deleted text stays in the older structs (the delete set marks it): the state grows a
little faster than a canonical encoding, and the engine's compaction bounds it.

Anything else (more than one client, clocks that do not follow on, a delete set that is not the
update's tail) answers None and the engine encodes the document the ordinary way. Only bytes
here: the caller passes the encoded pieces (pycrdt is imported with :mod:`.ytext`, so only the
YDoc engine imports this module).
"""

from __future__ import annotations

from dataclasses import dataclass

from .ytext import VarReader

__all__ = ["Layout", "layout_of", "splice", "var_uint"]


def var_uint(value: int) -> bytes:
    """lib0's varUint encoding."""
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


@dataclass(frozen=True)
class Layout:
    """Where the structs of a one-client full state lie in its bytes."""

    client: int
    count: int  # structs
    first: int  # the first struct's clock
    end: int  # the clock after the last struct: the client's entry in the state vector
    body_start: int  # the structs, in the state's bytes
    body_end: int  # the delete set starts here

    def state_vector(self) -> bytes:
        """The encoded state vector of the document whose full state this is."""
        return var_uint(1) + var_uint(self.client) + var_uint(self.end)


def _header(data: bytes) -> tuple[int, int, int, int] | None:
    """(structs, client, first clock, header length) of a one-client update, else None."""
    try:
        reader = VarReader(data)
        if reader.var_uint() != 1:
            return None
        count, client, first = reader.var_uint(), reader.var_uint(), reader.var_uint()
    except (IndexError, ValueError):
        return None
    return count, client, first, reader.pos


def layout_of(state: bytes, delete_set: bytes, clocks: dict[int, int]) -> Layout | None:
    """The layout of ``state``, the full state of a document whose delete set encodes to
    ``delete_set`` and whose state vector is ``clocks``; None unless it has one client."""
    header = _header(state)
    if header is None or not state.endswith(delete_set):
        return None
    count, client, first, start = header
    if len(clocks) != 1 or client not in clocks:
        return None
    return Layout(client, count, first, clocks[client], start, len(state) - len(delete_set))


def splice(
    state: bytes, layout: Layout, delta: bytes, delete_set: bytes, end: int
) -> tuple[bytes, Layout] | None:
    """The full state after an edit, and its layout. ``state``/``layout``: the full state
    before; ``delta``: the document's update from ``layout.state_vector()``; ``delete_set``:
    the document's delete set now; ``end``: the client's clock now. None where the pieces do
    not fit together as described above."""
    if not delta.endswith(delete_set):
        return None
    old_body = memoryview(state)[layout.body_start : layout.body_end]
    if end == layout.end:  # deletions only: no new structs
        if delta[:1] != b"\x00":
            return None
        count, new_body = layout.count, memoryview(b"")
    else:
        header = _header(delta)
        if header is None:
            return None
        added, client, first, start = header
        if client != layout.client or first != layout.end or end <= first:
            return None
        count, new_body = layout.count + added, memoryview(delta)[start : -len(delete_set)]
    head = var_uint(1) + var_uint(count) + var_uint(layout.client) + var_uint(layout.first)
    new_state = b"".join((head, old_body, new_body, delete_set))
    body_end = len(new_state) - len(delete_set)
    return new_state, Layout(layout.client, count, layout.first, end, len(head), body_end)
