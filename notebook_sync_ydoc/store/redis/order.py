"""Cell order and cell moves in Redis: a mixin of :class:`~.store.RedisStore`.

``lua/reorder_cells.lua`` rewrites the ``index`` of every cell whose position changed, in the
index hash and in the cell's pending_update hash, and publishes ``order`` with the full order;
``lua/move_cell.lua`` renames the cell's pending_update key, its index entry and the ``p:``,
``s:``, ``m:`` and ``h:`` fields of every student's hash, and publishes ``moved``. Each is one
script given every key it touches (the session's cell and student keys, :mod:`.members`).
"""

from __future__ import annotations

import json

from ..base import CellRecord, SessionGone
from .keys import KeySpace
from .members import SessionScripts
from .records import cell_from, pairs, text


class RedisOrder:
    """``reorder_cells`` and ``move_cell`` of the :class:`~..base.Store` interface on Redis."""

    keys: KeySpace
    _scripts: SessionScripts

    async def reorder_cells(self, code: str, order: list[str]) -> list[str] | None:
        res = await self._scripts.run("reorder_cells", code, None, [json.dumps(order)])
        status = text(res[0])
        if status == "ended":
            raise SessionGone(f"session {code} has ended")
        if status != "ok":
            return None
        return [text(c) for c in res[1]]

    async def move_cell(self, code: str, from_id: str, to_id: str) -> CellRecord | None:
        own, new = self.keys.pending(code, from_id), self.keys.pending(code, to_id)
        members = self._scripts.members.get(code)
        members.add_cell(to_id)  # as write_cell does: the key this script will write
        res = await self._scripts.run("move_cell", code, own, [from_id, to_id], (new,))
        status = text(res[0])
        if status == "ended":
            raise SessionGone(f"session {code} has ended")
        if status != "ok":
            return None
        members.drop_cell(from_id)
        return cell_from(to_id, pairs(res[1]))
