"""Follow rooms: a live, read-only view of a session's shared cells over the Yjs protocol.

``/notebook-sync/room/<CODE>`` (see :mod:`..transport.follow`) serves, per session, a
pycrdt-websocket :class:`~pycrdt.websocket.YRoom` whose document follows jupyter-ydoc's
``YNotebook`` schema: the teacher's shared cells in the session's order (``index``, then
``seq``), each with ``id``, ``cell_type`` and ``source``. A code cell whose outputs the teacher
shares has them as ``outputs`` (bounded by the teacher's server; clients render them untrusted).
A locked cell (``sync_allowed`` false) is a placeholder: its ``source`` and ``outputs`` are empty
and ``metadata.notebook_sync.locked`` is true; its content is never read from the store. An
``order`` event (the teacher moved cells) moves the cells with no read; a ``moved`` event (a
cell's new id) shows the cell under its new id. Every cell's ``metadata.notebook_sync`` also
carries the cell's ``seq`` (a float: Yjs numbers are floats).

The document is written only here, from the store: an initial load (``list_cells`` plus
``get_cell`` of each shared cell), then the store events of the session (:meth:`FollowManager.
on_store_event`, registered with :meth:`.SyncService.add_event_listener`) and a full reload after
every re-subscription. Events are coalesced per cell and applied by one worker per room, each
batch in one transaction (one Yjs update). On many servers each server keeps its own replica,
fed by the same store events (Redis pub/sub); servers never talk to each other.

Clients speak the standard y-protocol (sync step 1/2, update) and awareness. Their document
updates are dropped by the room's message hook: nobody can change the room's document. The
room's own awareness state (the server's client id) is the teacher's::

    {"user": {"name": "Teacher", ...},
     "notebook_sync": {"role": "teacher", "session_code": ..., "title": ..., "status": "active",
                       "cells": {cell_id: seq, ...},        # shared (pullable) cells only
                       "roster": [{"student_id", "name", "online"}, ...]}}

Followers may publish their own awareness states (forwarded to the room as y-websocket does),
but only for their own client ids, never for the server's or another follower's, and never with
a ``notebook_sync`` key: the only state carrying that key is the room's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from jupyter_ydoc import YNotebook
from jupyter_ydoc.utils import cast_all
from pycrdt import (
    Doc,
    Map,
    Text,
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
)
from pycrdt.websocket import YRoom

from ..engines.ytext import edit_text
from ..protocol import CLOSE_SESSION_ENDED, METADATA_KEY
from ..session.limits import Budget
from ..store import CellIndexEntry, CellRecord, StoreEvent, StoreUnavailable
from .admission import Admission
from .awareness import QUERY_AWARENESS, AwarenessEntry, encode_awareness, parse_awareness_message

if TYPE_CHECKING:
    from ..session import SyncService

__all__ = ["FollowCell", "FollowRoom", "FollowTransport", "Follower"]

EMPTY_UPDATE = b"\x00\x00"
MAX_CLIENT_IDS = 4  # awareness client ids one connection may speak for
MAX_AWARENESS_BYTES = 16 * 1024  # a follower's awareness frame (it is sent to every follower)
# a follower's awareness updates (each goes to every follower): cursors move often, not 1000/s
AWARENESS_PER_SECOND, AWARENESS_BURST = 10.0, 30
READ_BATCH = 32  # get_cell reads in flight at once during a load
RETRY_MIN, RETRY_MAX = 0.2, 5.0  # seconds before retrying a failed load (doubling)
_FIRST_CLIENT_ID = 1 << 10
_CLIENT_ID_LIMIT = 1 << 32  # Yjs client ids are unsigned 32-bit in browsers


class FollowTransport(Protocol):
    """One websocket, as the transport (:mod:`..transport.follow`) provides it."""

    @property
    def path(self) -> str: ...

    async def send(self, message: bytes) -> None:
        """Queue one binary frame; never blocks (a full queue closes the connection)."""

    async def recv(self) -> bytes | None:
        """The next binary frame, or None once the connection is closed."""

    def close(self, code: int, reason: str) -> None: ...


@dataclass(frozen=True)
class FollowCell:
    """What the room shows of one cell (``source`` is empty when locked)."""

    cell_id: str
    cell_type: str
    seq: int
    index: int
    locked: bool
    source: str
    outputs: str | None = None  # the shared outputs as JSON (None: not shared, or locked)

    @property
    def order(self) -> tuple[int, int]:
        return (self.index, self.seq)  # as Store.list_cells orders the index

    @classmethod
    def placeholder(cls, entry: CellIndexEntry) -> FollowCell:
        return cls(entry.cell_id, entry.cell_type, entry.seq, entry.index, True, "")

    @classmethod
    def from_record(cls, record: CellRecord) -> FollowCell:
        if not record.sync_allowed:
            return cls(record.cell_id, record.cell_type, record.seq, record.index, True, "")
        outputs = None if record.outputs is None else json.dumps(record.outputs)
        return cls(
            record.cell_id,
            record.cell_type,
            record.seq,
            record.index,
            False,
            record.source,
            outputs,
        )

    def at(self, index: int) -> FollowCell:
        """This cell at another place."""
        return replace(self, index=index)


class Follower:
    """One follower's connection, as the :class:`~pycrdt.Channel` the YRoom serves.

    Incoming frames are screened before the room sees them: awareness only for this
    connection's own client ids, ``queryAwareness`` answered here, unknown types dropped. Sync
    messages go on to the room, whose message hook drops every update (the room is read-only).
    The first frame out is the room's whole awareness (the YRoom does not send it on connect).
    """

    def __init__(self, room: FollowRoom, admission: Admission, transport: FollowTransport) -> None:
        self.room = room
        self.admission = admission
        self.transport = transport
        self.client_ids: set[int] = set()
        self._awareness_budget = Budget(AWARENESS_PER_SECOND, AWARENESS_BURST)
        self._greeted = False

    @property
    def path(self) -> str:
        return self.transport.path

    def __aiter__(self) -> Follower:
        return self

    async def __anext__(self) -> bytes:
        while True:
            message = await self.transport.recv()
            if message is None:
                raise StopAsyncIteration
            if await self._screen(message):
                return message

    async def recv(self) -> bytes:
        return await self.__anext__()

    async def send(self, message: bytes) -> None:
        if not self._greeted:
            self._greeted = True
            await self.transport.send(self.room.awareness_message())
        await self.transport.send(message)

    async def _screen(self, message: bytes) -> bool:
        if len(message) < 2:
            return False
        kind = message[0]
        if kind == YMessageType.SYNC:
            return message[1] in (
                YSyncMessageType.SYNC_STEP1,
                YSyncMessageType.SYNC_STEP2,
                YSyncMessageType.SYNC_UPDATE,
            )
        if kind == YMessageType.AWARENESS:
            if (
                len(message) <= MAX_AWARENESS_BYTES
                and self._awareness_budget.take(1, time.monotonic())
                and self._awareness_allowed(message)
            ):
                return True
            self.room.counters["dropped_awareness"] += 1
            return False
        if kind == QUERY_AWARENESS:
            await self.transport.send(self.room.awareness_message())
        return False

    def _awareness_allowed(self, message: bytes) -> bool:
        try:
            entries = parse_awareness_message(message)
        except ValueError as exc:
            self.room.log.debug("notebook-sync: follow %s: dropped awareness: %s", self.path, exc)
            return False
        owners = self.room.awareness_owners
        for client_id, _clock, state in entries:
            if client_id == self.room.client_id:
                return False
            owner = owners.get(client_id)
            if owner is not None and owner is not self:
                return False
            if owner is None and len(self.client_ids) >= MAX_CLIENT_IDS:
                return False
            if state is not None and METADATA_KEY in state:
                return False
        for client_id, _clock, _state in entries:
            owners[client_id] = self
            self.client_ids.add(client_id)
        return True


class FollowRoom:
    """One session's room on this server: the YRoom, its document and the worker feeding it.

    ``start()`` starts the YRoom and then the worker, whose first job is the full load;
    ``stop()`` stops both. Store events go to :meth:`notify` (non-blocking)."""

    def __init__(
        self,
        code: str,
        service: SyncService,
        log: logging.Logger,
        counters: dict[str, int],
    ) -> None:
        self.code = code
        self.service = service
        self.store = service.store
        self.log = log
        self.counters = counters
        self.client_id = _FIRST_CLIENT_ID + secrets.randbelow(_CLIENT_ID_LIMIT - _FIRST_CLIENT_ID)
        self.doc: Doc[Any] = Doc(client_id=self.client_id)
        self.notebook = YNotebook(self.doc)
        self.yroom = YRoom(ready=True, ydoc=self.doc, log=log, exception_handler=self._yroom_error)
        self.yroom.on_message = self._read_only
        self.yroom.on_message_error = self._message_error
        self.followers: set[Follower] = set()
        self.awareness_owners: dict[int, Follower] = {}
        self.loaded = asyncio.Event()
        self.ended = False
        self.title = ""
        self.cells: list[FollowCell] = []  # exactly what the document shows, in its order
        self._dirty: dict[str, StoreEvent] = {}  # cell id -> latest event
        self._order: dict[str, int] = {}  # cell id -> index, from "order" events not yet shown
        self._reload = True
        self._roster_dirty = True
        self._roster: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._yroom_task: asyncio.Task[None] | None = None
        self._worker: asyncio.Task[None] | None = None

    # lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        self._yroom_task = asyncio.ensure_future(self.yroom.start())
        await self.yroom.started.wait()
        await self.yroom.ydoc_observed.wait()
        with self.doc.transaction(origin="notebook-sync"):
            meta = self.doc.get("meta", type=Map)
            meta["nbformat"] = 4.0
            meta["nbformat_minor"] = 5.0
            meta["metadata"] = Map({METADATA_KEY: {"session_code": self.code, "follow": True}})
        self._wake.set()
        self._worker = asyncio.ensure_future(self._work())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        if self._yroom_task is not None:
            await self.yroom.stop()
            await asyncio.gather(self._yroom_task, return_exceptions=True)
            self._yroom_task = None

    def _yroom_error(self, exc: Exception, log: logging.Logger) -> bool:
        log.error("notebook-sync: follow room %s: %s", self.code, exc, exc_info=exc)
        return True

    # events -------------------------------------------------------------------------------------
    def notify(self, event: StoreEvent) -> None:
        if event.type == "roster":
            self._roster_dirty = True
        elif event.type == "ended":
            self.ended = True
        elif event.type == "order" and event.order is not None:
            self._order.update((cell_id, i) for i, cell_id in enumerate(event.order))
        elif event.type == "moved" and event.cell_id is not None and event.from_id is not None:
            gone = StoreEvent(type="removed", code=self.code, cell_id=event.from_id)
            self._dirty[event.from_id] = gone
            self._order.pop(event.from_id, None)
            self._dirty[event.cell_id] = event
        elif event.cell_id is not None:
            self._dirty[event.cell_id] = event
            self._order.pop(event.cell_id, None)  # the event's index is newer
        self._wake.set()

    def reload(self) -> None:
        """Reload everything (after a re-subscription: events may have been lost)."""
        self.counters["reloads"] += 1
        self._reload = self._roster_dirty = True
        self._wake.set()

    async def _work(self) -> None:
        delay = RETRY_MIN
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._process()
                delay = RETRY_MIN
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if isinstance(exc, StoreUnavailable):
                    self.log.warning(
                        "notebook-sync: follow room %s: store unavailable (%s); retrying in %.1f s",
                        self.code,
                        exc,
                        delay,
                    )
                else:
                    self.log.exception(
                        "notebook-sync: follow room %s: update failed; reloading in %.1f s",
                        self.code,
                        delay,
                    )
                    self._clear_document()  # the mirror may no longer match: start afresh
                self._reload = self._roster_dirty = True
                await asyncio.sleep(delay)  # backoff before the retry, not synchronisation
                delay = min(delay * 2, RETRY_MAX)
                self._wake.set()

    async def _process(self) -> None:
        if self._reload:
            self._reload = False
            self._dirty.clear()
            self._order.clear()
            await self._load_all()
            self.loaded.set()
        elif self._dirty or self._order:
            batch, self._dirty = self._dirty, {}
            order, self._order = self._order, {}
            await self._load_cells(batch, order)
        if self._roster_dirty and not self.ended:
            self._roster_dirty = False
            students = await self.store.list_students(self.code)
            self._roster = [
                {"student_id": s.student_id, "name": s.name, "online": s.online} for s in students
            ]
            self._publish_awareness()
        if self.ended:
            self._end()

    async def _read(self, cell_ids: list[str]) -> dict[str, CellRecord | None]:
        out: dict[str, CellRecord | None] = {}
        for start in range(0, len(cell_ids), READ_BATCH):
            chunk = cell_ids[start : start + READ_BATCH]
            records = await asyncio.gather(*(self.store.get_cell(self.code, c) for c in chunk))
            out.update(zip(chunk, records, strict=True))
        return out

    @staticmethod
    def _current(cell: FollowCell | None, entry: CellIndexEntry) -> FollowCell | None:
        """The shown ``cell`` moved to ``entry``'s index, if it already is what ``entry``
        describes otherwise (no read needed)."""
        if cell is None or cell.seq != entry.seq or cell.cell_type != entry.cell_type:
            return None
        if cell.locked != (not entry.sync_allowed):
            return None
        return cell.at(entry.index)

    async def _load_all(self) -> None:
        session = await self.store.get_session(self.code)
        if session is None or session.status == "ended":
            self.ended = True
            return
        self.title = session.title
        entries = await self.store.list_cells(self.code)
        shown = {c.cell_id: c for c in self.cells}
        wanted: dict[str, FollowCell] = {}
        to_read: list[str] = []
        for entry in entries:
            if not entry.sync_allowed:
                wanted[entry.cell_id] = FollowCell.placeholder(entry)
                continue
            current = self._current(shown.get(entry.cell_id), entry)
            if current is not None:
                wanted[entry.cell_id] = current
            else:
                to_read.append(entry.cell_id)
        for cell_id, record in (await self._read(to_read)).items():
            if record is not None:
                wanted[cell_id] = FollowCell.from_record(record)
        self._apply(sorted(wanted.values(), key=lambda c: c.order))

    async def _load_cells(self, batch: dict[str, StoreEvent], order: dict[str, int]) -> None:
        shown = {c.cell_id: c.at(order[c.cell_id]) if c.cell_id in order else c for c in self.cells}
        to_read: list[str] = []
        for cell_id, event in batch.items():
            if event.type == "removed":
                shown.pop(cell_id, None)
                continue
            entry = event.entry()
            if entry is not None and not entry.sync_allowed:
                shown[cell_id] = FollowCell.placeholder(entry)  # locked: never read the content
                continue
            current = self._current(shown.get(cell_id), entry) if entry is not None else None
            if current is not None:
                shown[cell_id] = current
            else:
                to_read.append(cell_id)
        for cell_id, record in (await self._read(to_read)).items():
            if record is None:
                shown.pop(cell_id, None)
            else:
                shown[cell_id] = FollowCell.from_record(record)
        self._apply(sorted(shown.values(), key=lambda c: c.order))

    # the document -------------------------------------------------------------------------------
    def _ycell(self, cell: FollowCell) -> Map[Any]:
        value: dict[str, Any] = {
            "id": cell.cell_id,
            "cell_type": cell.cell_type,
            "source": cell.source,
            "metadata": {"editable": False, "deletable": False, METADATA_KEY: _cell_meta(cell)},
        }
        if cell.cell_type == "code":
            outputs = [] if cell.outputs is None else json.loads(cell.outputs)
            value.update(execution_count=None, outputs=cast_all(outputs, int, float))
        return self.notebook.create_ycell(value)

    def _apply(self, wanted: list[FollowCell]) -> None:
        """Edit the document into ``wanted`` in one transaction: minimal text edits in place;
        a moved cell is deleted and inserted again (Yjs arrays have no portable move)."""
        if wanted == self.cells:
            self._publish_awareness()
            return
        ycells = self.notebook.ycells
        shown = self.cells
        keep = {c.cell_id for c in wanted}
        with self.doc.transaction(origin="notebook-sync"):
            for i in range(len(shown) - 1, -1, -1):
                if shown[i].cell_id not in keep:
                    del ycells[i]
                    del shown[i]
            for i, cell in enumerate(wanted):
                if i < len(shown) and shown[i].cell_id == cell.cell_id:
                    if shown[i] != cell:
                        self._update(i, shown[i], cell)
                        shown[i] = cell
                    continue
                j = next(
                    (k for k in range(i + 1, len(shown)) if shown[k].cell_id == cell.cell_id), -1
                )
                if j >= 0:
                    del ycells[j]
                    del shown[j]
                ycells.insert(i, self._ycell(cell))
                shown.insert(i, cell)
        self._publish_awareness()

    def _clear_document(self) -> None:
        with self.doc.transaction(origin="notebook-sync"):
            ycells = self.notebook.ycells
            if len(ycells):
                del ycells[0 : len(ycells)]
        self.cells = []

    def _update(self, i: int, old: FollowCell, new: FollowCell) -> None:
        ycells = self.notebook.ycells
        if old.cell_type != new.cell_type or old.outputs != new.outputs:
            ycells[i] = self._ycell(new)
            return
        ycell = ycells[i]
        if old.source != new.source:
            text = ycell["source"]
            assert isinstance(text, Text)
            edit_text(text, new.source)
        if (old.seq, old.locked) != (new.seq, new.locked):
            metadata = ycell["metadata"]
            assert isinstance(metadata, Map)
            metadata[METADATA_KEY] = _cell_meta(new)

    # awareness ----------------------------------------------------------------------------------
    def awareness_state(self) -> dict[str, Any]:
        return {
            "user": {
                "username": "notebook-sync-teacher",
                "name": "Teacher",
                "display_name": "Teacher",
                "initials": "T",
                "color": "#1565c0",
            },
            METADATA_KEY: {
                "role": "teacher",
                "session_code": self.code,
                "title": self.title,
                "status": "ended" if self.ended else "active",
                "cells": {c.cell_id: c.seq for c in self.cells if not c.locked},
                "roster": list(self._roster),
            },
        }

    def _publish_awareness(self) -> None:
        state = self.awareness_state()
        if state != self.yroom.awareness.get_local_state():
            self.yroom.awareness.set_local_state(state)  # the YRoom broadcasts it

    def awareness_message(self) -> bytes:
        """Every awareness state the room knows (its own and the followers')."""
        awareness = self.yroom.awareness
        return create_awareness_message(awareness.encode_awareness_update(list(awareness.states)))

    async def forget(self, follower: Follower) -> None:
        """Remove a gone follower's awareness states and tell the others (y-websocket's server
        does the same; a pycrdt YRoom leaves them to time out)."""
        awareness = self.yroom.awareness
        entries: list[AwarenessEntry] = []
        for client_id in follower.client_ids:
            if self.awareness_owners.get(client_id) is follower:
                del self.awareness_owners[client_id]
            if client_id in awareness.states:
                entries.append((client_id, awareness.meta[client_id]["clock"] + 1, None))
        if not entries:
            return
        update = encode_awareness(entries)
        awareness.apply_awareness_update(update, "disconnect")
        message = create_awareness_message(update)
        for other in list(self.followers):
            if other is not follower:
                await other.transport.send(message)

    # read-only ----------------------------------------------------------------------------------
    def _message_error(self, exc: Exception, message: bytes, channel: Any) -> bool:
        """pycrdt-websocket drops a message whose handling raised; say so, and count it."""
        self.counters["message_errors"] += 1
        self.log.warning(
            "notebook-sync: follow room %s: a follower's message (%d bytes, type %d) failed: %s",
            self.code,
            len(message),
            message[0] if message else -1,
            exc,
        )
        return True

    def _read_only(self, message: bytes) -> bool:
        """The YRoom's message hook: True drops the message. Every document update from a
        client is dropped (the room is written from the store only); sync step 1 passes, so the
        server answers with its state."""
        if message[0] != YMessageType.SYNC:
            return False
        if message[1] == YSyncMessageType.SYNC_STEP1:
            return False
        if message[2:] not in (b"\x02" + EMPTY_UPDATE, b""):
            self.counters["dropped_updates"] += 1
            self.log.debug("notebook-sync: follow room %s: dropped a client update", self.code)
        return True

    def _end(self) -> None:
        self._publish_awareness()
        for follower in list(self.followers):
            follower.transport.close(CLOSE_SESSION_ENDED, "session ended")


def _cell_meta(cell: FollowCell) -> dict[str, Any]:
    return {"locked": cell.locked, "seq": float(cell.seq)}
