"""Store events to this server's sockets, and catch-up (docs/architecture.md, "Delivery").

Events are hints: after a join, and after every re-subscription, the session index is compared
with what each student has, so a lost event costs a delay, never an update.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ..protocol import messages
from ..protocol.messages import encode
from ..store import CellIndexEntry, StoreEvent, StoreUnavailable, StudentRecord
from .context import Context
from .help_feed import HelpFeed
from .members import Member
from .progress import ProgressFeed
from .rooms import Room

__all__ = ["FanOut", "StoreListener"]


class StoreListener(Protocol):
    """Another consumer of this server's store events (the follow rooms).

    Registered with :meth:`FanOut.add_listener`, it sees every event of every session the store
    is subscribed to (before the JSON fan-out), and every re-subscription. It should return
    quickly (queue work, do not wait on the store); an exception it raises is logged.
    """

    async def on_store_event(self, event: StoreEvent) -> None: ...

    async def on_store_resync(self, code: str) -> None: ...


class FanOut:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._listeners: list[StoreListener] = []
        self.progress = ProgressFeed(ctx)
        self.help = HelpFeed(ctx, self.progress)

    # listeners ----------------------------------------------------------------------------------
    def add_listener(self, listener: StoreListener) -> Callable[[], None]:
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    async def _notify_listeners(self, event: StoreEvent | None, resync: str | None) -> None:
        for listener in list(self._listeners):
            try:
                if event is not None:
                    await listener.on_store_event(event)
                elif resync is not None:
                    await listener.on_store_resync(resync)
            except Exception:
                self.ctx.log.exception("notebook-sync: a store event listener failed")

    # presence ---------------------------------------------------------------------------------
    async def watch_presence(self, interval: float) -> None:
        """Until cancelled: every ``interval``, re-read who is online in each session that has a
        teacher here, and send the roster when that changed. A student whose server died goes
        offline when its presence runs out, which no event says (a stopped server says so)."""
        store = self.ctx.store
        while True:
            await asyncio.sleep(interval)  # a period, not a wait for anything
            for room in list(self.ctx.rooms):
                if not room.teachers:
                    room.online = None
                    continue
                try:
                    students = await store.list_students(room.code)
                except StoreUnavailable as exc:
                    self.ctx.log.warning("notebook-sync: presence recheck skipped: %s", exc)
                    break  # the next round tries again
                online = frozenset(s.student_id for s in students if s.online)
                if room.online is not None and online != room.online:
                    self.schedule_roster(room)
                room.online = online

    # catch-up and roster ------------------------------------------------------------------------
    def catch_up(
        self,
        member: Member,
        entries: Iterable[CellIndexEntry],
        texts: dict[tuple[str, str, int], str] | None = None,
    ) -> int:
        """Send ``update_available`` for every allowed cell newer than what the member has.

        ``texts``: a cache shared over one fan-out, so a broadcast is encoded once, not once
        per student."""
        sent = 0
        code = member.code
        if code is None:
            return 0
        for entry in entries:
            if not entry.sync_allowed:
                continue
            if entry.seq <= member.pulled.get(entry.cell_id, 0):
                continue
            if entry.seq <= member.notified.get(entry.cell_id, 0):
                continue
            member.notified[entry.cell_id] = entry.seq
            key = (code, entry.cell_id, entry.seq)
            text = texts.get(key) if texts is not None else None
            if text is None:
                text = encode(messages.update_available(code, entry, self.ctx.clock()))
                if texts is not None:
                    texts[key] = text
            member.peer.send_text(text)
            sent += 1
        return sent

    async def roster(self, code: str) -> dict[str, Any]:
        """The whole roster as a ``roster_update`` (version 0: not a connection's)."""
        students = await self.ctx.store.list_students(code)
        return messages.roster_update(code, 0, map(messages.roster_student, students))

    async def send_roster(
        self, member: Member, room: Room, reply: Callable[[dict[str, Any]], None]
    ) -> None:
        """The whole roster to the teacher ``member`` (by ``reply``: after a resume, or the
        reply to ``roster``), from a fresh read; the room's other teachers are sent what that
        read changed first. The member then holds its version: later updates are deltas."""
        async with room.roster_lock:
            students = await self.ctx.store.list_students(room.code)
            self._publish_roster(room, students, exclude=member)
            rows = room.roster_rows.values() if room.roster_rows is not None else ()
            reply(messages.roster_update(room.code, room.roster_version, rows))
            member.roster_version = room.roster_version
            if not room.teachers:  # the member left during the read
                room.roster_rows = None

    def schedule_roster(self, room: Room) -> None:
        """One ``roster_update`` to the room's teachers soon (a burst of changes coalesced):
        to each what changed since the version it holds, or the whole roster to one that
        holds another; nothing when nothing changed."""
        if room.roster_pending or not room.teachers:
            return
        room.roster_pending = True

        async def send_roster() -> None:
            try:
                await asyncio.sleep(self.ctx.config.roster_interval)  # coalesce a burst
            except BaseException:
                room.roster_pending = False
                raise
            await self.roster_round(room)

        self.ctx.tasks.spawn(send_roster(), "roster update")

    async def roster_round(self, room: Room) -> None:
        """Read the roster and send the room's teachers what changed (what a scheduled
        update does once its interval is over)."""
        # Pending until the read starts: a change during the read schedules the next one.
        async with room.roster_lock:
            room.roster_pending = False
            if not room.teachers:
                room.roster_rows = None
                return
            students = await self.ctx.store.list_students(room.code)
            self._publish_roster(room, students)

    def _publish_roster(
        self, room: Room, students: Iterable[StudentRecord], exclude: Member | None = None
    ) -> None:
        """Make ``students`` the kept roster; send each teacher here (but ``exclude``) what
        it lacks: the delta from the version it holds, else the whole roster."""
        if not room.teachers and exclude is None:  # the last teacher left during the read
            room.roster_rows = None
            return
        rows = {s.student_id: messages.roster_student(s) for s in students}
        old, base = room.roster_rows, room.roster_version
        changed: list[dict[str, Any]] = []
        removed: list[str] = []
        if old is None:
            bump = True  # nothing kept: every teacher gets the whole roster
        else:
            changed = [row for sid, row in rows.items() if old.get(sid) != row]
            removed = [sid for sid in old if sid not in rows]
            bump = bool(changed or removed)
        if bump:
            room.roster_rows = rows
            room.roster_version += 1
        version = room.roster_version
        delta: str | None = None
        full: str | None = None
        for teacher in list(room.teachers):
            if teacher is exclude or teacher.roster_version == version:
                continue
            if old is not None and teacher.roster_version == base:
                if delta is None:
                    delta = encode(
                        messages.roster_update(
                            room.code, version, changed, base=base, removed=removed
                        )
                    )
                text = delta
            else:
                if full is None:
                    full = encode(messages.roster_update(room.code, version, rows.values()))
                text = full
            teacher.peer.send_text(text)
            teacher.roster_version = version

    # events from the store ----------------------------------------------------------------------
    async def on_event(self, event: StoreEvent) -> None:
        await self._notify_listeners(event, None)
        room = self.ctx.rooms.get(event.code)
        if room is None:
            return
        if event.type == "help":  # private: the teachers and that student only
            await self.help.on_event(room, event)
            return
        self.progress.schedule(room.code)
        if event.type == "roster":
            self.schedule_roster(room)
            return
        if event.type == "ended":
            await self._ended(room)
            return
        self._keep_written_true(room, event)
        if event.type == "order" and event.order is not None:
            text = encode(messages.cells_reordered(event.order))
            for member in list(room.students):
                member.peer.send_text(text)
            return
        if event.type == "moved" and event.cell_id is not None and event.from_id is not None:
            self._moved(room, event.from_id, event.cell_id, event)
            return
        if event.type == "removed" and event.cell_id is not None:
            text = encode(messages.cell_removed(event.cell_id, event.seq))
            for member in list(room.students):
                member.notified.pop(event.cell_id, None)
                member.pulled.pop(event.cell_id, None)
                member.peer.send_text(text)
            return
        if event.type == "sync" and event.cell_id is not None:
            text = encode(
                messages.sync_allowed_update(
                    event.cell_id, bool(event.sync_allowed), event.seq, self.ctx.clock()
                )
            )
            for member in list(room.students):
                member.peer.send_text(text)
        # "cell", or "sync" that may have unlocked a cell: announce what students miss
        await self._announce(room, event)

    async def _ended(self, room: Room) -> None:
        text = encode(messages.session_ended(room.code))
        for member in room.members:
            member.peer.send_text(text)
            await self.ctx.rooms.drop(member)

    @staticmethod
    def _moved(room: Room, from_id: str, to_id: str, event: StoreEvent) -> None:
        """A cell's new id: the students' pulled and notified seqs of it follow it."""
        text = encode(messages.cell_moved(from_id, to_id, event.seq, event.index or 0))
        for member in list(room.students):
            for seqs in (member.pulled, member.notified):
                if from_id in seqs:
                    seqs[to_id] = seqs.pop(from_id)
            member.peer.send_text(text)

    @staticmethod
    def _keep_written_true(room: Room, event: StoreEvent) -> None:
        """Keep this server's last-written records true to the store."""
        if event.type == "order" and event.order is not None:
            positions = {cell_id: i for i, cell_id in enumerate(event.order)}
            for record in room.written.values():
                record.index = positions.get(record.cell_id, record.index)
            return
        if event.type == "moved" and event.from_id is not None:
            room.written.pop(event.from_id, None)
        written = room.written.get(event.cell_id) if event.cell_id is not None else None
        if written is None:
            return
        if event.type == "sync" and event.seq == written.seq:
            written.sync_allowed = bool(event.sync_allowed)
        elif event.type != "cell" or event.seq != written.seq:
            room.written.pop(written.cell_id, None)

    async def _announce(self, room: Room, event: StoreEvent) -> None:
        students = list(room.students)
        if not students:
            return
        carried = event.entry()
        if carried is not None:
            wanted = [carried]
        else:
            entries = await self.ctx.store.list_cells(event.code)
            wanted = [e for e in entries if e.cell_id == event.cell_id]
        texts: dict[tuple[str, str, int], str] = {}  # encoded once for all students
        for member in students:
            if member.joining:
                member.missed = True
                continue
            self.catch_up(member, wanted, texts)

    async def on_resync(self, code: str) -> None:
        """After a (re)subscription: events may have been lost, so compare with the index."""
        await self._notify_listeners(None, code)
        room = self.ctx.rooms.get(code)
        if room is None:
            return
        self.ctx.counters["resyncs"] += 1
        session = await self.ctx.store.get_session(code)
        if session is None or session.status == "ended":
            await self.on_event(StoreEvent("ended", code))
            return
        entries = await self.ctx.store.list_cells(code)
        for member in list(room.students):
            if member.joining:
                member.missed = True
                continue
            self.catch_up(member, entries)
        self.schedule_roster(room)
        await self.help.resync(room)
