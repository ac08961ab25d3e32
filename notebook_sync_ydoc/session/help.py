"""Help requests, answers, private suggestions and the progress view: the use cases
(docs/architecture.md, "Help and progress"). Student: ``help_request``, ``help_withdraw``, and
pulling or previewing a suggestion (``request_sync``/``preview`` with ``source:
"suggestion"``). Teacher: ``help_answer``, ``help_list``, ``progress``.

Privacy: a request (note, source, answer, suggestion) is read only by the session's teacher and
the student who asked; nothing of it is logged.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace
from typing import Any

from ..merge import PullInput, plan_pull
from ..protocol import Message, ProtocolError, as_text
from ..protocol import messages as msg
from ..store import CellRecord, HelpRequest
from .context import Context
from .help_feed import HelpFeed
from .members import Member
from .progress import ProgressFeed

__all__ = ["HelpActions"]


class HelpActions:
    def __init__(self, ctx: Context, feed: HelpFeed, progress: ProgressFeed) -> None:
        self.ctx = ctx
        self.feed = feed
        self.progress = progress

    # student ---------------------------------------------------------------------------------
    async def help_request(self, member: Member, message: Message) -> None:
        ctx = self.ctx
        code = ctx.require(member, message, "student")
        assert member.student_id is not None
        cell_id: str = message.data["cell_id"]
        source = as_text(message.data["local_source"]) or ""
        ctx.check_source(source, "local_source")
        note = str(message.data.get("note") or "")
        _session, cell, student = await asyncio.gather(
            ctx.active_session(member, code),
            ctx.store.get_cell(code, cell_id),
            ctx.store.get_student(code, member.student_id),
        )
        if cell is None:
            raise ProtocolError(
                "cell_not_found", f"no cell {cell_id} in session {code}: ask on a teacher's cell"
            )
        if student is None:
            await ctx.rooms.drop(member)
            raise ProtocolError("not_in_session", "your place in this session expired; join again")
        request = HelpRequest(
            student_id=student.student_id,
            cell_id=cell_id,
            request_id=secrets.token_hex(8),
            name=student.name,
            identity=student.identity,
            note=note,
            source=source,
            opened=ctx.clock(),
        )
        await ctx.store.put_help(code, request)
        ctx.reply(member, message, msg.help_ack(cell_id, request))

    async def help_withdraw(self, member: Member, message: Message) -> None:
        ctx = self.ctx
        code = ctx.require(member, message, "student")
        assert member.student_id is not None
        cell_id: str = message.data["cell_id"]
        await ctx.active_session(member, code)
        if not await ctx.store.delete_help(code, member.student_id, cell_id):
            raise ProtocolError("cell_not_found", f"you have no help request on cell {cell_id}")
        ctx.reply(member, message, msg.help_ack(cell_id, None))

    async def suggestion(self, member: Member, message: Message, apply: bool) -> None:
        """``request_sync`` (``apply``) or ``preview`` of the teacher's private suggestion: the
        pull rules with the source the student sent with the request as the base, the
        suggestion as theirs. Applying it uses the suggestion up; the student's pulled state of
        the shared cell is untouched."""
        ctx = self.ctx
        code = ctx.require(member, message, "student")
        assert member.student_id is not None
        cell_id: str = message.data["cell_id"]
        mine = as_text(message.data.get("local_source"))
        if mine is not None:
            ctx.check_source(mine, "local_source")
        _session, cell, request = await asyncio.gather(
            ctx.active_session(member, code),
            ctx.store.get_cell(code, cell_id),
            ctx.store.get_help(code, member.student_id, cell_id),
        )
        if cell is None:
            raise ProtocolError("cell_not_found", f"no cell {cell_id} in session {code}")
        if not cell.sync_allowed:
            raise ProtocolError("sync_not_allowed", f"the teacher has locked cell {cell_id}")
        if request is None or request.suggestion is None:
            raise ProtocolError("no_update", f"no suggestion of the teacher for cell {cell_id}")
        outcome = plan_pull(
            PullInput(
                theirs_source=request.suggestion,
                theirs_state=None,
                base_source=request.source,
                base_state=None,
                mine=mine,
                strategy=message.data.get("strategy") if apply else None,
                with_update=False,
            )
        ).outcome()
        shown = _suggested(cell, request)
        if not apply:
            ctx.reply(member, message, msg.private_content(msg.cell_preview(shown, outcome)))
            return
        if outcome.status != "conflict":
            used = replace(request, suggestion=None)
            if not await ctx.store.put_help(code, used, expect_id=request.request_id):
                raise ProtocolError("no_update", "your help request changed meanwhile")
            if outcome.status == "no_update":
                raise ProtocolError("no_update", "the suggestion is the source you sent")
        reply = msg.cell_content_update(shown, outcome)
        ctx.reply(member, message, msg.private_content(reply))

    # teacher ---------------------------------------------------------------------------------
    async def help_answer(self, member: Member, message: Message) -> None:
        ctx = self.ctx
        code = ctx.require(member, message, "teacher")
        data: dict[str, Any] = message.data
        student_id, cell_id = str(data["student_id"]), str(data["cell_id"])
        note: str | None = data.get("note")
        source = as_text(data.get("source"))
        resolve = bool(data.get("resolve", False))
        if source is not None:
            ctx.check_source(source, "source")
        if note is None and source is None and not resolve:
            raise ProtocolError(
                "invalid_message", "help_answer needs a note, a source or resolve: true"
            )
        await ctx.active_session(member, code)
        request = await ctx.store.get_help(code, student_id, cell_id)
        if request is None:
            raise ProtocolError(
                "cell_not_found", f"no help request of that student on cell {cell_id}"
            )
        answered = replace(
            request,
            answers=request.answers + 1,
            answered=ctx.clock(),
            answer_note=note if note is not None else request.answer_note,
            suggestion=source if source is not None else request.suggestion,
            suggestion_seq=request.suggestion_seq + (1 if source is not None else 0),
            resolved=request.resolved or resolve,
        )
        if not await ctx.store.put_help(code, answered, expect_id=request.request_id):
            raise ProtocolError(
                "cell_not_found", "that help request was withdrawn or replaced meanwhile"
            )
        ctx.reply(member, message, msg.help_update(student_id, cell_id, answered))

    async def help_list(self, member: Member, message: Message) -> None:
        code = self.ctx.require(member, message, "teacher")
        requests = await self.ctx.store.list_help(code)
        reply = msg.help_queue(code, [r for r in requests if not r.resolved])
        self.ctx.reply(member, message, reply)

    async def progress_view(self, member: Member, message: Message) -> None:
        code = self.ctx.require(member, message, "teacher")
        await self.progress.watch(member, code, lambda view: self.ctx.reply(member, message, view))


def _suggested(cell: CellRecord, request: HelpRequest) -> CellRecord:
    """The cell as the suggestion has it: the teacher's cell with the suggested source, its
    seq the suggestion's."""
    assert request.suggestion is not None
    return replace(cell, seq=request.suggestion_seq, source=request.suggestion, crdt_state=None)
