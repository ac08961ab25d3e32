"""Help requests from the store to this server's sockets (docs/architecture.md, "Help and
progress"). A ``help`` store event names a student and a cell, never content: the request is
read from the store and sent to the session's teachers here (``help_update``) and to that
student's own connections (``help_answered``, and a private ``update_available`` for a
suggestion). Nobody else ever receives it: not other students, not the follow rooms."""

from __future__ import annotations

import weakref

from ..protocol import messages
from ..protocol.messages import encode
from ..store import HelpRequest, StoreEvent
from .context import Context
from .members import Member
from .progress import ProgressFeed
from .rooms import Room

__all__ = ["HelpFeed"]


class HelpFeed:
    def __init__(self, ctx: Context, progress: ProgressFeed) -> None:
        self.ctx = ctx
        self.progress = progress
        # per student connection and cell: the request, answers and suggestion seq it was told
        self._told: weakref.WeakKeyDictionary[Member, dict[str, tuple[str, int, int]]] = (
            weakref.WeakKeyDictionary()
        )

    async def on_event(self, room: Room, event: StoreEvent) -> None:
        sid, cell_id = event.student_id, event.help_cell
        if sid is None or cell_id is None:
            self.progress.schedule(room.code)
            return
        self.progress.schedule(room.code, (sid, cell_id))  # only that help flag changed
        teachers = list(room.teachers)
        students = [m for m in room.students if m.student_id == sid and not m.joining]
        if not teachers and not students:
            return
        request = await self.ctx.store.get_help(room.code, sid, cell_id)
        if teachers:
            text = encode(messages.help_update(sid, cell_id, request))
            for teacher in teachers:
                teacher.peer.send_text(text)
        if request is not None:
            for member in students:
                await self.tell_student(member, request)

    async def tell_student(self, member: Member, request: HelpRequest) -> None:
        """The teacher's answer and suggestion, once per connection."""
        code = member.code
        if code is None or request.answers == 0:
            return
        told = self._told.setdefault(member, {})
        rid, answers, suggestions = told.get(request.cell_id, ("", 0, 0))
        if rid != request.request_id:
            answers = suggestions = 0
        if answers >= request.answers:
            return
        told[request.cell_id] = (request.request_id, request.answers, request.suggestion_seq)
        member.send(messages.help_answered(request))
        if request.suggestion is not None and request.suggestion_seq > suggestions:
            entry = next(
                (e for e in await self.ctx.store.list_cells(code) if e.cell_id == request.cell_id),
                None,
            )
            member.send(messages.private_update_available(code, request, entry, self.ctx.clock()))

    async def catch_up_student(self, member: Member) -> None:
        """After a join or a re-subscription: every answer the student has not been told."""
        if member.code is None or member.student_id is None:
            return
        for request in await self.ctx.store.list_help(member.code, member.student_id):
            await self.tell_student(member, request)

    async def send_queue(self, member: Member) -> None:
        """The open requests, oldest first, to one teacher connection."""
        if member.code is None:
            return
        requests = await self.ctx.store.list_help(member.code)
        member.send(messages.help_queue(member.code, [r for r in requests if not r.resolved]))

    async def resync(self, room: Room) -> None:
        """Events may have been lost: the queue again to the teachers, answers to students."""
        for teacher in list(room.teachers):
            await self.send_queue(teacher)
        for student in list(room.students):
            if not student.joining:
                await self.catch_up_student(student)
        self.progress.schedule(room.code)
