"""Help requests and pull marks in the embedded stores (memory, SQLite): a mixin of
:class:`~.memory.MemoryStore`, written like its other writes (journal first, then the change in
memory and its event in one synchronous step; docs/architecture.md, "Help and progress")."""

from __future__ import annotations

from dataclasses import replace

from .base import HelpRequest, PullMark, SessionGone, StoreError, StoreEvent
from .journal import EmbeddedPart, SessionState


class EmbeddedHelp(EmbeddedPart):
    """The help and progress operations of the :class:`~.base.Store` interface, on the
    embedded store's :class:`~.journal.SessionState`."""

    def _student_session(self, code: str, student_id: str, write: bool) -> SessionState:
        s = self._writable(code) if write else self._get(code)
        if s is None:
            raise SessionGone(f"session {code} does not exist")
        if student_id not in s.students:
            raise StoreError(f"unknown student in session {code}")
        return s

    def _help_event(self, code: str, student_id: str, cell_id: str) -> StoreEvent:
        return StoreEvent(
            type="help", code=code, origin=self.server_id, student_id=student_id, help_cell=cell_id
        )

    async def mark_pull(self, code: str, student_id: str, cell_id: str, mark: PullMark) -> None:
        s = self._student_session(code, student_id, write=False)
        expires = self._deadline(s.record.status)
        self._journal.mark_pull(code, student_id, cell_id, mark, expires)
        s.students[student_id].marks[cell_id] = mark
        s.expires = expires
        await self._journal.durable()

    async def put_help(self, code: str, request: HelpRequest, expect_id: str | None = None) -> bool:
        s = self._student_session(code, request.student_id, write=True)
        key = (request.student_id, request.cell_id)
        old = s.help.get(key)
        if expect_id is not None and (old is None or old.request_id != expect_id):
            return False
        stored, expires = replace(request), self._deadline(s.record.status)
        self._journal.put_help(code, stored, expires)
        s.help[key] = stored
        s.expires = expires
        self._emit(self._help_event(code, request.student_id, request.cell_id))
        await self._journal.durable()
        return True

    async def delete_help(
        self, code: str, student_id: str, cell_id: str, expect_id: str | None = None
    ) -> bool:
        s = self._writable(code)
        if s is None:
            raise SessionGone(f"session {code} does not exist")
        old = s.help.get((student_id, cell_id))
        if old is None or (expect_id is not None and old.request_id != expect_id):
            return False
        expires = self._deadline(s.record.status)
        self._journal.delete_help(code, student_id, cell_id, expires)
        del s.help[(student_id, cell_id)]
        s.expires = expires
        self._emit(self._help_event(code, student_id, cell_id))
        await self._journal.durable()
        return True

    async def get_help(self, code: str, student_id: str, cell_id: str) -> HelpRequest | None:
        s = self._get(code)
        found = s.help.get((student_id, cell_id)) if s is not None else None
        return replace(found) if found is not None else None

    async def list_help(self, code: str, student_id: str | None = None) -> list[HelpRequest]:
        s = self._get(code)
        if s is None:
            return []
        out = [
            replace(r)
            for (sid, _cid), r in s.help.items()
            if student_id is None or sid == student_id
        ]
        out.sort(key=lambda r: (r.opened, r.student_id, r.cell_id))
        return out
