"""Cell order and cell moves in the embedded stores (memory, SQLite): a mixin of
:class:`~.memory.MemoryStore`, written like its other writes (journal first, then the change in
memory and its event in one synchronous step; docs/architecture.md, "Order and outputs")."""

from __future__ import annotations

from dataclasses import replace

from .base import CellRecord, CellWrite, Outputs, StoreEvent
from .frozen import freeze
from .journal import EmbeddedPart, SessionState


def new_outputs(cell: CellWrite, old: CellRecord | None) -> Outputs | None:
    """The outputs a write leaves stored (``CellWrite.share_outputs``)."""
    if cell.share_outputs is None:  # kept: frozen, shared with the old record
        return freeze(old.outputs) if old is not None and old.outputs is not None else None
    if not cell.share_outputs:
        return None
    outputs: Outputs = freeze(cell.outputs or [])
    return outputs


def full_order(s: SessionState, order: list[str]) -> list[str]:
    """The named cells first, then the session's others in their present (index, seq) order."""
    named = set(order)
    rest = sorted(
        (c for c in s.cells.values() if c.cell_id not in named), key=lambda c: (c.index, c.seq)
    )
    return [*order, *(c.cell_id for c in rest)]


class EmbeddedOrder(EmbeddedPart):
    """``reorder_cells`` and ``move_cell`` of the :class:`~.base.Store` interface, on the
    embedded store's :class:`~.journal.SessionState`."""

    async def reorder_cells(self, code: str, order: list[str]) -> list[str] | None:
        s = self._writable(code)
        if s is None or any(cell_id not in s.cells for cell_id in order):
            return None
        full = full_order(s, order)
        indexes = {c: i for i, c in enumerate(full) if s.cells[c].index != i}
        expires = self._deadline(s.record.status)
        self._journal.reorder_cells(code, indexes, expires)
        for cell_id, index in indexes.items():
            s.cells[cell_id].index = index
        s.expires = expires
        self._emit(
            StoreEvent(type="order", code=code, seq=s.seq, origin=self.server_id, order=tuple(full))
        )
        await self._journal.durable()
        return full

    async def move_cell(self, code: str, from_id: str, to_id: str) -> CellRecord | None:
        s = self._writable(code)
        if s is None or from_id not in s.cells or to_id in s.cells:
            return None
        expires = self._deadline(s.record.status)
        self._journal.move_cell(code, from_id, to_id, expires)
        record = replace(s.cells.pop(from_id), cell_id=to_id)
        s.cells[to_id] = record
        for student in s.students.values():
            if from_id in student.pulled:
                student.pulled[to_id] = student.pulled.pop(from_id)
            if from_id in student.marks:
                student.marks[to_id] = student.marks.pop(from_id)
            request = s.help.pop((student.student_id, from_id), None)
            if request is not None:
                s.help[(student.student_id, to_id)] = replace(request, cell_id=to_id)
        s.expires = expires
        self._emit(
            StoreEvent(
                type="moved",
                code=code,
                cell_id=to_id,
                from_id=from_id,
                seq=record.seq,
                sync_allowed=record.sync_allowed,
                origin=self.server_id,
                index=record.index,
                cell_type=record.cell_type,
            )
        )
        await self._journal.durable()
        # metadata and outputs: frozen when written (.frozen), shared, not copied
        return replace(record, metadata=freeze(record.metadata), outputs=freeze(record.outputs))
