"""The student's use cases: join (or rejoin with a key), pull a cell, preview a pull, leave."""

from __future__ import annotations

import asyncio
import base64
import secrets
from typing import Any

from ..merge import MergeOutcome, PullInput, Strategy
from ..protocol import Message, ProtocolError, as_text
from ..protocol import messages as msg
from ..store import (
    CellRecord,
    HelpRequest,
    MarkStatus,
    PulledCell,
    PullMark,
    SessionRecord,
    StudentRecord,
)
from .access import student_id_for
from .context import Context
from .fanout import FanOut
from .help import HelpActions
from .locks import KeyedLocks
from .members import Member

__all__ = ["StudentActions"]


class StudentActions:
    def __init__(self, ctx: Context, fanout: FanOut, help_actions: HelpActions) -> None:
        self.ctx = ctx
        self.fanout = fanout
        self.help = help_actions  # pulls and previews of a private suggestion
        # A student's pulls of one cell, one at a time on this server: two tabs pulling at the
        # same instant would otherwise both read the old base and both fast-forward (doubled
        # text in a collaborative notebook). The second now sees the first's pull: no_update.
        self._pulls = KeyedLocks()

    async def join_session(self, member: Member, message: Message) -> None:
        ctx = self.ctx
        session = await ctx.access.find_session(member.peer.identity, message.data["session_code"])
        code = session.code
        if session.status == "ended":
            raise ProtocolError("session_ended", f"session {code} has ended")
        record, key, resumed = await self._student(member, message, code)
        await ctx.store.put_student(code, record)
        await ctx.rooms.enter(member, code, "student", record.student_id)
        member.name = record.name
        member.joining = True
        try:
            await self._welcome(member, message, session, record, key, resumed)
        finally:
            member.joining = False
        await ctx.roster_changed(code)
        ctx.log.debug("notebook-sync: %s joined %s (resumed=%s)", record.name, code, resumed)

    async def _student(
        self, member: Member, message: Message, code: str
    ) -> tuple[StudentRecord, str, bool]:
        """The student this join is: the one whose key it presents, else a new one."""
        name = str(message.data.get("name") or "").strip()
        key: str | None = message.data.get("student_key")
        if key is not None:
            record = await self.ctx.store.get_student(code, student_id_for(key))
            if record is not None:
                if name:
                    record.name = name
                return record, key, True
        key = secrets.token_urlsafe(24)
        peer = member.peer
        record = StudentRecord(
            student_id=student_id_for(key),
            identity=peer.identity if peer.named else "",
            name=name or peer.display_name or peer.identity,
            joined=self.ctx.clock(),
        )
        return record, key, False

    async def _welcome(
        self,
        member: Member,
        message: Message,
        session: SessionRecord,
        record: StudentRecord,
        key: str,
        resumed: bool,
    ) -> None:
        """``session_joined``, then one ``update_available`` per cell the student lacks."""
        ctx, code = self.ctx, session.code
        await ctx.store.set_presence(code, record.student_id, member.peer.conn_id, True)
        await ctx.store.touch_session(code, ctx.clock())
        # Subscribed (in rooms.enter) before reading the index: no update can fall in between.
        entries, requests = await asyncio.gather(
            ctx.store.list_cells(code),
            # the student's own requests (a new student has none): shown at once after a reload
            ctx.store.list_help(code, record.student_id) if resumed else _no_requests(),
        )
        member.pulled = {cid: p.seq for cid, p in record.pulled.items()}
        reply = msg.session_joined(
            code,
            session.title,
            ctx.engine.mode,
            record,
            key,
            resumed,
            entries,
            member.pulled,
            requests,
        )
        ctx.reply(member, message, reply)
        self.fanout.catch_up(member, entries)
        while member.missed and member.code == code:  # events held back while joining
            member.missed = False
            self.fanout.catch_up(member, await ctx.store.list_cells(code))

    async def _pull_outcome(
        self, member: Member, message: Message
    ) -> tuple[str, CellRecord, StudentRecord, MergeOutcome]:
        ctx = self.ctx
        code = ctx.require(member, message, "student")
        cell_id: str = message.data["cell_id"]
        assert member.student_id is not None
        store = ctx.store
        if store.local_reads:  # from memory: in turn (a gather's tasks cost more than these)
            await ctx.active_session(member, code)
            cell = await store.get_cell(code, cell_id)
            student = await store.get_student(code, member.student_id)
        else:  # three independent reads, one round trip's wait
            _session, cell, student = await asyncio.gather(
                ctx.active_session(member, code),
                store.get_cell(code, cell_id),
                store.get_student(code, member.student_id),
            )
        if cell is None:
            raise ProtocolError("cell_not_found", f"no cell {cell_id} in session {code}")
        if not cell.sync_allowed:
            raise ProtocolError("sync_not_allowed", f"the teacher has locked cell {cell_id}")
        mine = as_text(message.data.get("local_source"))
        if mine is not None:
            ctx.check_source(mine, "local_source")
        if student is None:
            await ctx.rooms.drop(member)
            raise ProtocolError("not_in_session", "your place in this session expired; join again")
        pulled = student.pulled.get(cell_id)
        strategy: Strategy | None = message.data.get("strategy")
        request = PullInput(
            theirs_source=cell.source,
            theirs_state=cell.crdt_state,
            base_source=pulled.base_source if pulled else None,
            base_state=pulled.base_state if pulled else None,
            mine=mine,
            strategy=strategy,
            theirs_seq=cell.seq,
            pulled_seq=pulled.seq if pulled else None,
            # only the reply of a pull without base_seq (clients before delta pulls) carries it
            with_update=message.type == "request_sync" and "base_seq" not in message.data,
        )
        return code, cell, student, ctx.engine.pull(request)

    async def request_sync(self, member: Member, message: Message) -> None:
        key = (member.code, member.student_id, message.data.get("cell_id"))
        async with self._pulls.hold(key):
            if message.data.get("source") == "suggestion":
                await self.help.suggestion(member, message, apply=True)
            else:
                await self._request_sync(member, message)

    async def _request_sync(self, member: Member, message: Message) -> None:
        ctx = self.ctx
        code, cell, student, outcome = await self._pull_outcome(member, message)
        if outcome.status == "no_update":
            raise ProtocolError(
                "no_update", f"you already have the latest version of {cell.cell_id}"
            )
        if outcome.status == "conflict":
            ctx.counters["conflicts"] += 1
            if await self._mark(code, student, cell, "conflict"):
                await ctx.roster_changed(code)  # the progress view changed
            ctx.reply(member, message, msg.cell_content_update(cell, outcome))
            return
        base = student.pulled.get(cell.cell_id)
        reply = self._pull_reply(message, cell, base, outcome)
        if message.data.get("with_outputs"):
            msg.add_outputs(reply, cell)  # the teacher's shared outputs (never a locked cell's)
        pulled = PulledCell(seq=cell.seq, base_source=cell.source, base_state=cell.crdt_state)
        await ctx.store.record_pull(code, student.student_id, cell.cell_id, pulled)
        if outcome.status == "kept":
            await self._mark(code, student, cell, "kept")
        member.pulled[cell.cell_id] = cell.seq
        ctx.counters["pulls"] += 1
        ctx.reply(member, message, reply)
        room = ctx.rooms.get(code)
        for other in room.other_tabs(member) if room is not None else ():
            # The same student's other tab: in a collaborative notebook the pull reaches it
            # through the shared model, so its badge must go; in a separate copy it says so.
            other.pulled[cell.cell_id] = max(other.pulled.get(cell.cell_id, 0), cell.seq)
            other.send(msg.cell_pulled(cell.cell_id, cell.seq))
        await ctx.roster_changed(code)

    async def _mark(
        self, code: str, student: StudentRecord, cell: CellRecord, status: MarkStatus
    ) -> bool:
        """Keep how the pull ended for the progress view (unless already kept); whether a
        mark was written."""
        old = student.marks.get(cell.cell_id)
        if old is not None and (old.status, old.seq) == (status, cell.seq):
            return False
        mark = PullMark(status, cell.seq, self.ctx.clock())
        await self.ctx.store.mark_pull(code, student.student_id, cell.cell_id, mark)
        return True

    def _pull_reply(
        self, message: Message, cell: CellRecord, base: PulledCell | None, outcome: MergeOutcome
    ) -> dict[str, Any]:
        """The reply to a pull that applied. A client that sent ``base_seq`` (delta pulls)
        gets the delta from its base when the server holds that base, else the full reply and
        why; any other client the reply it always had."""
        if "base_seq" not in message.data:
            update = None
            if outcome.update is not None:
                update = base64.b64encode(outcome.update).decode("ascii")
            return msg.cell_content_update(cell, outcome, update)
        base_seq: int | None = message.data["base_seq"]
        if base_seq is None:
            reason = "this client holds no base of the cell yet"
        elif base is None:
            reason = "you have not pulled this cell before"
        elif base.seq != base_seq:
            reason = f"your base is #{base_seq}, the server holds #{base.seq} as yours"
        else:
            delta = self.ctx.engine.text_delta(base.base_source, cell.source)
            if delta is not None:
                check = self.ctx.engine.text_check(cell.source)
                encoded = base64.b64encode(delta).decode()
                return msg.cell_content_delta(cell, outcome, encoded, check)
            reason = "delta pulls need YDoc mode; this server runs the JSON fallback"
        return msg.cell_content_full(cell, outcome, reason)

    async def preview(self, member: Member, message: Message) -> None:
        if message.data.get("source") == "suggestion":
            await self.help.suggestion(member, message, apply=False)
            return
        _code, cell, _student, outcome = await self._pull_outcome(member, message)
        self.ctx.reply(member, message, msg.cell_preview(cell, outcome))

    async def leave_session(self, member: Member, message: Message) -> None:
        code = member.code
        if code is None:
            raise ProtocolError("not_in_session", "this connection has not joined a session")
        await self.ctx.rooms.leave(member)
        self.ctx.reply(member, message, msg.session_left(code))


async def _no_requests() -> list[HelpRequest]:
    return []
