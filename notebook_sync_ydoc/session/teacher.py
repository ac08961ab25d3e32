"""The teacher's use cases: create or resume a session, push, lock or unlock and remove cells,
end the session."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from ..protocol import Message, ProtocolError, as_text
from ..protocol import messages as msg
from ..store import CellRecord, CellWrite, SeqConflict, SessionGone, SessionRecord
from ..store.base import Outputs
from .access import hash_key, new_session_code
from .context import Context
from .fanout import FanOut
from .members import Member
from .outputs import bound_outputs

__all__ = ["TeacherActions"]

PUSH_ATTEMPTS = 16  # rebases on concurrent pushes of one cell before giving up
CODE_ATTEMPTS = 20  # fresh session codes tried before giving up
MAX_OUTPUTS = 1000  # outputs of one cell (their size is bounded by max_output_bytes)


class TeacherActions:
    def __init__(self, ctx: Context, fanout: FanOut) -> None:
        self.ctx = ctx
        self.fanout = fanout

    async def create_session(self, member: Member, message: Message) -> None:
        ctx = self.ctx
        if not ctx.access.may_teach(member.peer):
            groups = ", ".join(sorted(member.peer.groups)) or "none"
            ctx.log.info(
                "notebook-sync: %s may not start a session (their groups: %s): %s",
                member.peer.identity,
                groups,
                ctx.access.policy(),
            )
            raise ProtocolError(
                "forbidden",
                f"you ({member.peer.identity}) may not start sessions: {ctx.access.policy()}",
            )
        title = str(message.data.get("title") or "").strip() or "Untitled session"
        teacher_key = secrets.token_urlsafe(24)
        now = ctx.clock()
        for _ in range(CODE_ATTEMPTS):
            code = new_session_code(ctx.config.code_length)
            record = SessionRecord(
                code=code,
                teacher_identity=member.peer.identity,
                teacher_key_hash=hash_key(teacher_key),
                title=title,
                mode=ctx.engine.mode,
                created=now,
                updated=now,
            )
            if await ctx.store.create_session(record):
                break
        else:
            raise ProtocolError("internal", "could not find a free session code")
        await ctx.rooms.enter(member, code, "teacher", None)
        ctx.log.info("notebook-sync: session %s created by %s", code, member.peer.identity)
        ctx.reply(member, message, msg.session_created(code, teacher_key, title, ctx.engine.mode))

    async def resume_session(self, member: Member, message: Message) -> None:
        ctx = self.ctx
        session = await ctx.access.find_session(
            member.peer.identity, message.data["session_code"], message.data["teacher_key"]
        )
        code = session.code
        if session.status == "ended":
            raise ProtocolError("session_ended", f"session {code} has ended")
        await ctx.rooms.enter(member, code, "teacher", None)
        await ctx.store.touch_session(code, ctx.clock())
        entries = await ctx.store.list_cells(code)
        reply = msg.session_resumed(code, session.title, ctx.engine.mode, session.status, entries)
        ctx.reply(member, message, reply)
        room = ctx.rooms.get(code)
        if room is not None:
            await self.fanout.send_roster(member, room, member.send)

    async def roster(self, member: Member, message: Message) -> None:
        """The whole roster, as the reply; this connection's next updates follow from it."""
        ctx = self.ctx
        code = ctx.require(member, message, "teacher")
        room = ctx.rooms.get(code)
        if room is None:
            raise ProtocolError("not_in_session", "this connection has not joined a session")
        await self.fanout.send_roster(
            member, room, lambda update: ctx.reply(member, message, update)
        )

    async def push_cell(self, member: Member, message: Message) -> None:
        ctx = self.ctx
        code = ctx.require(member, message, "teacher")
        push = _Push.of(message.data, ctx.config.max_output_bytes)
        ctx.check_source(push.source, "cell source")
        room = ctx.rooms.get(code)
        current = room.written.get(push.cell_id) if room is not None else None
        if current is None:
            # The first read of the cell goes together with the session check (one round trip).
            _session, current = await asyncio.gather(
                ctx.active_session(member, code), ctx.store.get_cell(code, push.cell_id)
            )
        for attempt in range(PUSH_ATTEMPTS):
            if attempt:
                current = await ctx.store.get_cell(code, push.cell_id)
            if current is None:
                await self._check_room_for_a_cell(code)
            elif push.unchanged(current):
                ctx.reply(member, message, msg.push_ack(push.cell_id, current.seq, unchanged=True))
                return
            try:
                write = push.write(ctx, code, current)
                record = await ctx.store.write_cell(code, write, _seq(current))
            except SeqConflict:
                continue  # another push of this cell landed first: rebase on it
            except SessionGone:
                await ctx.active_session(member, code)  # says which: ended or not found
                raise
            break
        else:
            raise ProtocolError("internal", "the cell is being pushed concurrently; try again")
        ctx.counters["pushes"] += 1
        ctx.reply(member, message, msg.push_ack(push.cell_id, record.seq))
        if room is not None:
            room.written[push.cell_id] = record
            # The teacher's other tabs: their "changed since push" and auto-push compare with
            # what the server holds, not with what that tab last sent.
            for other in room.other_tabs(member):
                other.send(msg.cell_pushed(push.cell_id, record.seq, record.source))

    async def _check_room_for_a_cell(self, code: str) -> None:
        limit = self.ctx.config.max_cells_per_session
        if await self.ctx.store.cell_count(code) >= limit:
            raise ProtocolError("too_large", f"a session holds at most {limit} cells")

    async def toggle_sync(self, member: Member, message: Message) -> None:
        ctx = self.ctx
        code = ctx.require(member, message, "teacher")
        await ctx.active_session(member, code)
        cell_id: str = message.data["cell_id"]
        allowed: bool = message.data["sync_allowed"]
        record = await ctx.store.set_sync_allowed(code, cell_id, allowed)
        if record is None:
            raise ProtocolError("cell_not_found", f"no cell {cell_id} in session {code}")
        room = ctx.rooms.get(code)
        if room is not None and cell_id in room.written:
            room.written[cell_id] = record
        reply = msg.sync_allowed_update(cell_id, allowed, record.seq, ctx.clock())
        ctx.reply(member, message, reply)

    async def remove_cell(self, member: Member, message: Message) -> None:
        ctx = self.ctx
        code = ctx.require(member, message, "teacher")
        await ctx.active_session(member, code)
        cell_id: str = message.data["cell_id"]
        seq = await ctx.store.remove_cell(code, cell_id)
        if seq is None:
            raise ProtocolError("cell_not_found", f"no cell {cell_id} in session {code}")
        ctx.reply(member, message, msg.cell_removed(cell_id, seq))

    async def reorder_cells(self, member: Member, message: Message) -> None:
        """The cells' order in the teacher's notebook, with no push (every index at once)."""
        ctx = self.ctx
        code = ctx.require(member, message, "teacher")
        order: list[str] = message.data["order"]
        limit = ctx.config.max_cells_per_session
        if len(order) > limit:
            raise ProtocolError("too_large", f"a session holds at most {limit} cells")
        if len(set(order)) != len(order):
            raise ProtocolError("invalid_message", "order names a cell more than once")
        await ctx.active_session(member, code)
        known = {e.cell_id for e in await ctx.store.list_cells(code)}
        unknown = [c for c in order if c not in known]
        full = None if unknown else await ctx.store.reorder_cells(code, order)
        if full is None:
            missing = ", ".join(unknown[:5]) or "a cell removed meanwhile"
            raise ProtocolError("cell_not_found", f"not cells of session {code}: {missing}")
        ctx.reply(member, message, msg.cells_reordered(full))
        room = ctx.rooms.get(code)
        for other in room.other_tabs(member) if room is not None else ():
            other.send(msg.cells_reordered(full))

    async def move_cell(self, member: Member, message: Message) -> None:
        """A cell's new id (cut and paste): the cell and the students' pulled state follow."""
        ctx = self.ctx
        code = ctx.require(member, message, "teacher")
        from_id: str = message.data["from_id"]
        to_id: str = message.data["to_id"]
        if from_id == to_id:
            raise ProtocolError("invalid_message", "from_id and to_id are the same cell")
        await ctx.active_session(member, code)
        record = await ctx.store.move_cell(code, from_id, to_id)
        if record is None:
            if await ctx.store.get_cell(code, to_id) is not None:
                raise ProtocolError("invalid_message", f"cell {to_id} already exists")
            raise ProtocolError("cell_not_found", f"no cell {from_id} in session {code}")
        room = ctx.rooms.get(code)
        if room is not None:
            room.written.pop(from_id, None)
        reply = msg.cell_moved(from_id, to_id, record.seq, record.index)
        ctx.reply(member, message, reply)
        for other in room.other_tabs(member) if room is not None else ():
            other.send(msg.cell_moved(from_id, to_id, record.seq, record.index))

    async def end_session(self, member: Member, message: Message) -> None:
        ctx = self.ctx
        code = ctx.require(member, message, "teacher")
        await ctx.active_session(member, code)
        record = await ctx.store.end_session(code, ctx.clock())
        if record is None:
            raise ProtocolError("session_not_found", f"session {code} no longer exists")
        await ctx.rooms.drop(member)
        ctx.log.info("notebook-sync: session %s ended", code)
        ctx.reply(member, message, msg.session_ended(code))


def _seq(current: CellRecord | None) -> int:
    return current.seq if current is not None else 0


class _Push:
    """A validated ``push_cell``: what the teacher sent, and how it changes the stored cell."""

    def __init__(
        self,
        cell_id: str,
        source: str,
        cell_type: str | None,
        metadata: dict[str, Any] | None,
        sync_allowed: bool | None,
        index: int | None,
        share_outputs: bool | None = None,
        outputs: Outputs | None = None,
    ) -> None:
        self.cell_id = cell_id
        self.source = source
        self.cell_type = cell_type
        self.metadata = metadata
        self.sync_allowed = sync_allowed
        self.index = index
        self.share_outputs = share_outputs
        self.outputs = outputs

    @classmethod
    def of(cls, data: dict[str, Any], max_output_bytes: int) -> _Push:
        content: dict[str, Any] = data["content"]
        sync_allowed: bool | None = data.get("sync_allowed")
        if sync_allowed is None:  # the seed protocol's place for it
            sync_allowed = (data.get("metadata") or {}).get("sync_allowed")
        share: bool | None = data.get("share_outputs")
        outputs: Outputs | None = content.get("outputs")
        if share is True and outputs is None:
            raise ProtocolError("invalid_message", "share_outputs true needs content.outputs")
        if share is False and outputs is not None:
            raise ProtocolError("invalid_message", "content.outputs with share_outputs false")
        if outputs is not None:
            if len(outputs) > MAX_OUTPUTS:
                raise ProtocolError("too_large", f"a cell shares at most {MAX_OUTPUTS} outputs")
            share, outputs = True, bound_outputs(outputs, max_output_bytes)
        return cls(
            cell_id=data["cell_id"],
            source=as_text(content["source"]) or "",
            cell_type=content.get("cell_type"),
            metadata=content.get("metadata"),
            sync_allowed=sync_allowed,
            index=data.get("index"),
            share_outputs=share,
            outputs=outputs,
        )

    def unchanged(self, current: CellRecord) -> bool:
        """Nothing this push says differs from the stored cell (then no new seq)."""
        return (
            current.source == self.source
            and (self.cell_type is None or self.cell_type == current.cell_type)
            and (self.metadata is None or self.metadata == current.metadata)
            and (self.sync_allowed is None or self.sync_allowed == current.sync_allowed)
            and (self.index is None or self.index == current.index)
            and (self.share_outputs is None or self.outputs == current.outputs)
        )

    def write(self, ctx: Context, code: str, current: CellRecord | None) -> CellWrite:
        state = ctx.engine.push(
            current.crdt_state if current else None,
            current.source if current else None,
            self.source,
            (code, self.cell_id),  # the engine may keep the cell's document hot
        )
        return CellWrite(
            cell_id=self.cell_id,
            source=self.source,
            cell_type=self.cell_type or (current.cell_type if current else "code"),
            metadata=self.metadata
            if self.metadata is not None
            else (current.metadata if current else {}),
            crdt_state=state,
            sync_allowed=self.sync_allowed,
            index=self.index,
            share_outputs=self.share_outputs,
            outputs=self.outputs,
        )
