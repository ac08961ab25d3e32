"""The teacher's progress view (docs/architecture.md, "Help and progress"): per student and
shared cell the last pull status and whether a help request is open, built from the store on
any server; ``progress_snapshot`` on request, then ``progress_update`` coalesced as
``roster_update`` is (one per room per ``roster_interval``)."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from ..protocol import messages
from ..protocol.messages import encode
from ..store import CellIndexEntry, HelpRequest, StudentRecord
from .context import Context
from .members import Member

__all__ = ["ProgressFeed", "pull_status"]


def pull_status(student: StudentRecord, entry: CellIndexEntry) -> str:
    """``conflict`` (shown and not resolved since), ``never_pulled``, ``behind`` (a newer seq
    than the one pulled), ``kept_mine`` (the last pull kept the student's text) or
    ``up_to_date``."""
    pulled = student.pulled.get(entry.cell_id)
    mark = student.marks.get(entry.cell_id)
    if mark is not None and mark.status == "conflict" and (pulled is None or mark.seq > pulled.seq):
        return "conflict"
    if pulled is None:
        return "never_pulled"
    if pulled.seq < entry.seq:
        return "behind"
    if mark is not None and mark.status == "kept" and mark.seq == pulled.seq:
        return "kept_mine"
    return "up_to_date"


class ProgressFeed:
    """Which teacher connections here watch the progress view, and their coalesced updates."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._watchers: dict[str, weakref.WeakSet[Member]] = {}
        self._pending: set[str] = set()

    async def matrix(self, code: str, kind: str) -> dict[str, Any]:
        store = self.ctx.store
        entries, students, requests = await asyncio.gather(
            store.list_cells(code), store.list_students(code), store.list_help(code)
        )
        return self.build(kind, code, entries, students, requests)

    @staticmethod
    def build(
        kind: str,
        code: str,
        entries: list[CellIndexEntry],
        students: list[StudentRecord],
        requests: list[HelpRequest],
    ) -> dict[str, Any]:
        status = {(s.student_id, e.cell_id): pull_status(s, e) for s in students for e in entries}
        asking = [(r.student_id, r.cell_id) for r in requests if not r.resolved]
        return messages.progress_matrix(kind, code, entries, students, status, asking)

    def watch(self, member: Member, code: str) -> None:
        self._watchers.setdefault(code, weakref.WeakSet()).add(member)

    def _watching(self, code: str) -> list[Member]:
        watchers = self._watchers.get(code)
        if watchers is None:
            return []
        live = [m for m in watchers if m.code == code and m.role == "teacher"]
        if not live:
            del self._watchers[code]
        return live

    def schedule(self, code: str) -> None:
        """One ``progress_update`` to the watching teachers here soon (a burst coalesced)."""
        if code in self._pending or not self._watching(code):
            return
        self._pending.add(code)

        async def send() -> None:
            try:
                await asyncio.sleep(self.ctx.config.roster_interval)  # coalesce a burst
            finally:
                self._pending.discard(code)
            watching = self._watching(code)
            if not watching:
                return
            text = encode(await self.matrix(code, "progress_update"))
            for member in watching:
                member.peer.send_text(text)

        self.ctx.tasks.spawn(send(), "progress update")
