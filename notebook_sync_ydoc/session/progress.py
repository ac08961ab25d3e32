"""The teacher's progress view (docs/architecture.md, "Help and progress"): per student and
shared cell the last pull status, the seq pulled and whether a help request is open, built from
the store on any server; ``progress_snapshot`` on request, then ``progress_update`` coalesced as
``roster_update`` is (one per room per ``roster_interval``), carrying only what changed.

Per session watched here, this server keeps the view it last sent (:class:`_Shown`: the cells'
order and a row per student, so bounded by the session's size) and a version counting its
changes; per watching connection, the version it was last sent. A change goes as a delta to
each connection that holds the version it applies to, as a snapshot to any other (one that
has not been sent anything yet, or was sent an older version): no connection is ever sent a
delta it cannot apply. Nothing changed, nothing sent. The kept view goes once no connection
here watches the session.

A round reads the whole class from the store (cells, students, help requests) unless all its
events were ``help`` events: those change one help flag each, and the round reads just those
requests. At most one read runs and one round waits per session, however slow reads are.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from ..protocol import messages
from ..protocol.messages import PROGRESS_CODES, ProgressEntry, ProgressRow, encode
from ..store import CellIndexEntry, HelpRequest, StudentRecord
from .context import Context
from .members import Member

__all__ = ["ProgressFeed", "ProgressView", "build_view", "diff_views", "pull_status"]

# the view of one session: the shared cells in order, and per student id the row shown
ProgressView = tuple[tuple[str, ...], dict[str, ProgressRow]]


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


def build_view(
    entries: Sequence[CellIndexEntry],
    students: Sequence[StudentRecord],
    requests: Sequence[HelpRequest],
) -> ProgressView:
    """The view from the store's records (statuses as :func:`pull_status` has them); equal
    entries are one tuple (a class's matrix is mostly the same few)."""
    memo: dict[ProgressEntry, ProgressEntry] = {}
    cells = tuple(e.cell_id for e in entries)
    asking: dict[str, set[str]] = {}
    for r in requests:
        if not r.resolved:
            asking.setdefault(r.student_id, set()).add(r.cell_id)
    code = PROGRESS_CODES
    rows: dict[str, ProgressRow] = {}
    for s in students:
        helped = asking.get(s.student_id, ())
        if not s.pulled and not s.marks and not helped:  # most of a class, most of the time
            none = memo.setdefault(("n", 0, 0), ("n", 0, 0))
            rows[s.student_id] = (s.name, s.identity, s.online, (none,) * len(cells))
            continue
        row: list[ProgressEntry] = []
        pulled_cells, marks = s.pulled, s.marks
        for e in entries:
            cid = e.cell_id
            pulled = pulled_cells.get(cid)
            if cid in marks:
                status = code[pull_status(s, e)]
            elif pulled is None:
                status = "n"
            else:
                status = "b" if pulled.seq < e.seq else "u"
            entry = (status, pulled.seq if pulled is not None else 0, int(cid in helped))
            row.append(memo.setdefault(entry, entry))
        rows[s.student_id] = (s.name, s.identity, s.online, tuple(row))
    return cells, rows


def diff_views(
    old: ProgressView, new: ProgressView
) -> tuple[list[str] | None, list[dict[str, Any]], list[str]] | None:
    """What ``progress_update`` carries from ``old`` to ``new``: the new cell order if it
    changed, the changed students (changed fields, changed entries by cell id; a new student
    whole), the removed students. None: nothing changed."""
    old_cells, old_rows = old
    cells, rows = new
    reordered = old_cells != cells
    where: list[int | None] = []
    if reordered:
        position = {cid: i for i, cid in enumerate(old_cells)}
        where = [position.get(cid) for cid in cells]
    changed: list[dict[str, Any]] = []
    for sid, row in rows.items():
        was = old_rows.get(sid)
        if was is None:
            name, user, online, entries = row
            every = dict(zip(cells, entries, strict=True))
            changed.append(
                messages.progress_changed(sid, name=name, user=user, online=online, cells=every)
            )
            continue
        if not reordered and was == row:
            continue
        then, now = was[3], row[3]
        if not reordered:
            moved = (
                {}
                if then == now
                else {c: e for c, e, o in zip(cells, now, then, strict=True) if e != o}
            )
        else:
            moved = {
                c: e for c, e, i in zip(cells, now, where, strict=True) if i is None or then[i] != e
            }
        name, user, online, _ = row
        if moved or (name, user, online) != was[:3]:
            changed.append(
                messages.progress_changed(
                    sid,
                    name=name if name != was[0] else None,
                    user=user if user != was[1] else None,
                    online=online if online != was[2] else None,
                    cells=moved,
                )
            )
    removed = [sid for sid in old_rows if sid not in rows]
    if not reordered and not changed and not removed:
        return None
    return (list(cells) if reordered else None), changed, removed


class _Shown:
    """What this server last sent of one session's progress view, shared by the connections
    here that watch it (each holds it: it goes with the last of them)."""

    __slots__ = (
        "__weakref__",
        "cells",
        "code",
        "full",
        "helped",
        "lock",
        "pending",
        "rows",
        "version",
        "watchers",
    )

    def __init__(self, code: str) -> None:
        self.code = code
        self.version = 0  # 0: nothing built yet
        self.cells: tuple[str, ...] = ()
        self.rows: dict[str, ProgressRow] = {}
        # one read-and-send at a time: views are sent in the order they were read
        self.lock = asyncio.Lock()
        self.watchers: weakref.WeakSet[Member] = weakref.WeakSet()
        # the next round: scheduled; to read everything; the help flags to read again
        self.pending = False
        self.full = False
        self.helped: set[tuple[str, str]] = set()

    @property
    def view(self) -> ProgressView:
        return self.cells, self.rows


class ProgressFeed:
    """Which teacher connections here watch the progress view, and their coalesced updates."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._shown: weakref.WeakValueDictionary[str, _Shown] = weakref.WeakValueDictionary()
        # per watching connection: the view it follows and the version it was last sent
        # (-1: none yet)
        self._sent: weakref.WeakKeyDictionary[Member, tuple[_Shown, int]] = (
            weakref.WeakKeyDictionary()
        )

    async def read(self, code: str) -> ProgressView:
        store = self.ctx.store
        entries, students, requests = await asyncio.gather(
            store.list_cells(code), store.list_students(code), store.list_help(code)
        )
        return build_view(entries, students, requests)

    async def matrix(self, code: str) -> dict[str, Any]:
        """The whole view as a ``progress_snapshot`` (version 0: not a watcher's)."""
        cells, rows = await self.read(code)
        return messages.progress_snapshot(code, 0, cells, rows)

    def kept(self, code: str) -> ProgressView | None:
        """The view kept for ``code`` (tests, benchmarks); None when nobody here watches."""
        shown = self._shown.get(code)
        return shown.view if shown is not None else None

    async def watch(
        self, member: Member, code: str, reply: Callable[[dict[str, Any]], None]
    ) -> None:
        """``progress``: the snapshot to ``member`` (by ``reply``, the direct reply), which
        from then on is sent the view's changes. Built from a fresh read: the other watchers
        here are sent what it changed first."""
        shown = self._shown.get(code)
        if shown is None:
            shown = self._shown[code] = _Shown(code)
        previous = self._sent.pop(member, None)
        if previous is not None:
            previous[0].watchers.discard(member)
        async with shown.lock:
            try:
                view = await self.read(code)
            except BaseException:
                self._follow(member, shown, -1)  # a snapshot with the next change
                raise
            self._publish(shown, view, exclude=member)
            reply(messages.progress_snapshot(code, shown.version, shown.cells, shown.rows))
            self._follow(member, shown, shown.version)

    def _follow(self, member: Member, shown: _Shown, version: int) -> None:
        self._sent[member] = (shown, version)
        shown.watchers.add(member)

    def _watching(self, shown: _Shown) -> list[Member]:
        """The connections here that watch ``shown`` (those gone from the session let go)."""
        live = []
        for member in list(shown.watchers):
            sent = self._sent.get(member)
            if member.code == shown.code and member.role == "teacher" and sent is not None:
                if sent[0] is shown:
                    live.append(member)
                    continue
            shown.watchers.discard(member)
            if sent is not None and sent[0] is shown:
                del self._sent[member]
        return live

    def schedule(self, code: str, help_of: tuple[str, str] | None = None) -> None:
        """One ``progress_update`` to the watching teachers here soon (a burst coalesced).
        ``help_of``: the (student id, cell id) of a ``help`` event, which changes nothing but
        that entry's help flag: unless another event is in the same round, the round reads
        those requests alone, not the whole class (a burst of help requests costs no more
        than the requests)."""
        shown = self._shown.get(code)
        if shown is None or not self._watching(shown):
            return
        if help_of is None:
            shown.full = True
        else:
            shown.helped.add(help_of)
        if shown.pending:
            return
        shown.pending = True
        self.ctx.tasks.spawn(self._send(weakref.ref(shown)), "progress update")

    async def _send(self, ref: weakref.ref[_Shown]) -> None:
        # Pending until the read starts: events meanwhile (a burst, or while another read
        # holds the lock) are all in that read, and one after it starts schedules the next
        # round. So at most one read runs and one waits, however slow reads are.
        await asyncio.sleep(self.ctx.config.roster_interval)  # coalesce a burst
        shown = ref()
        if shown is None:
            return
        if not self._watching(shown):
            shown.pending = False
            return
        async with shown.lock:
            shown.pending = False
            full, helped = shown.full or shown.version == 0, shown.helped
            shown.full, shown.helped = False, set()
            try:
                view = None if full else await self._patched(shown, helped)
                if view is None:
                    view = await self.read(shown.code)
            except BaseException:
                shown.full = True  # the next round reads everything
                raise
            self._publish(shown, view)

    async def _patched(self, shown: _Shown, helped: set[tuple[str, str]]) -> ProgressView | None:
        """The shown view with the help flags of ``helped`` read again (None: one is not in
        the view, which is older than its request: read everything)."""
        position = {cid: i for i, cid in enumerate(shown.cells)}
        pairs = [(sid, cid) for sid, cid in helped if sid in shown.rows and cid in position]
        if len(pairs) != len(helped):
            return None
        code = shown.code
        requests = await asyncio.gather(
            *(self.ctx.store.get_help(code, sid, cid) for sid, cid in pairs)
        )
        rows = dict(shown.rows)
        for (sid, cid), request in zip(pairs, requests, strict=True):
            flag = int(request is not None and not request.resolved)
            name, user, online, entries = rows[sid]
            i = position[cid]
            status, seq, was = entries[i]
            if was != flag:
                entries = (*entries[:i], (status, seq, flag), *entries[i + 1 :])
                rows[sid] = (name, user, online, entries)
        return shown.cells, rows

    def _publish(self, shown: _Shown, view: ProgressView, exclude: Member | None = None) -> None:
        """Make ``view`` the shown one; send each watcher (but ``exclude``) what it lacks: the
        delta from the version it has, else the snapshot. Nothing when nothing changed."""
        watching = [m for m in self._watching(shown) if m is not exclude]
        base = shown.version
        wants_delta = any(self._sent[m][1] == base for m in watching)
        change: tuple[list[str] | None, list[dict[str, Any]], list[str]] | None = None
        if base == 0:
            changed = True  # nothing was built: every watcher gets the snapshot
        elif wants_delta:
            change = diff_views(shown.view, view)
            changed = change is not None
        else:
            changed = shown.view != view
        if changed:
            shown.cells, shown.rows = view
            shown.version += 1
        delta: str | None = None
        snapshot: str | None = None
        for member in watching:
            had = self._sent[member][1]
            if had == shown.version:
                continue
            if had == base and change is not None:
                if delta is None:
                    cells, students, removed = change
                    update = messages.progress_update(
                        shown.code, base, shown.version, cells, students, removed
                    )
                    delta = encode(update)
                text = delta
            else:
                if snapshot is None:
                    snapshot = encode(
                        messages.progress_snapshot(
                            shown.code, shown.version, shown.cells, shown.rows
                        )
                    )
                text = snapshot
            member.peer.send_text(text)
            self._follow(member, shown, shown.version)
