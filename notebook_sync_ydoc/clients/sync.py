"""asyncio clients of the protocol: :class:`TeacherClient` and :class:`StudentClient`.

The student client keeps its own notebook as a ``jupyter_ydoc.YNotebook``: pulled cells are
written into it with minimal edits, and new teacher cells are inserted in the teacher's order.

    teacher = await TeacherClient.connect("http://127.0.0.1:8888/", token="...")
    code = (await teacher.create_session("Week 1"))["session_code"]
    await teacher.push_cell("intro", "print('hello')")

    student = await StudentClient.connect("http://127.0.0.1:8888/", token="...")
    await student.join(code, name="Ada")
    await student.wait_for_update("intro")
    await student.pull("intro")
    print(student.source("intro"))
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from ..engines.ytext import edit_text

if TYPE_CHECKING:
    from jupyter_ydoc import YNotebook

DEFAULT_TIMEOUT = 10.0


_V = TypeVar("_V")


class SyncError(Exception):
    """The server answered a request with ``error``."""

    def __init__(self, code: str, message: str, reply: dict[str, Any]) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.reply = reply


def ws_url(base_url: str) -> str:
    """``http://host:port/base/`` -> ``ws://host:port/base/notebook-sync/ws``."""
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((scheme, parts.netloc, path + "notebook-sync/ws", "", ""))


class SyncConnection:
    """One websocket to ``/notebook-sync/ws``: requests matched to replies by ``req_id``, every
    other message kept in an inbox, in order."""

    def __init__(self, ws: WebSocketClientConnection, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.ws = ws
        self.timeout = timeout
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.history: list[dict[str, Any]] = []  # every message received, for transcripts
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def connect(
        cls,
        base_url: str,
        token: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Any:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"token {token}"
        request = HTTPRequest(ws_url(base_url), headers=all_headers, connect_timeout=timeout)
        ws = await websocket_connect(request, max_message_size=64 * 1024 * 1024)
        return cls(ws, timeout=timeout)

    async def _read(self) -> None:
        while True:
            raw = await self.ws.read_message()
            if raw is None:
                break
            message: dict[str, Any] = json.loads(raw)
            self.history.append(message)
            self.on_message(message)
            req_id = message.get("req_id")
            future = self._pending.pop(req_id, None) if isinstance(req_id, str) else None
            if future is not None and not future.done():
                future.set_result(message)
            else:
                self.inbox.put_nowait(message)
        self.close_code = self.ws.close_code
        self.closed.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("websocket closed"))
        self._pending.clear()

    def on_message(self, message: dict[str, Any]) -> None:
        """Hook for subclasses: called for every message, before it is routed."""

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_raw(json.dumps(message))

    async def send_raw(self, text: str | bytes) -> None:
        await self.ws.write_message(text, binary=isinstance(text, bytes))

    async def request(self, mtype: str, **fields: Any) -> dict[str, Any]:
        """Send a message with a fresh ``req_id``; return the reply or raise :class:`SyncError`."""
        req_id = f"r{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = future
        await self.send({"type": mtype, "req_id": req_id, **fields})
        try:
            reply = await asyncio.wait_for(future, self.timeout)
        finally:
            self._pending.pop(req_id, None)
        if reply.get("type") == "error":
            raise SyncError(str(reply.get("code")), str(reply.get("message")), reply)
        return reply

    async def next_message(
        self, mtype: str | Iterable[str] | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """The next unsolicited message (of ``mtype``, skipping others), or TimeoutError."""
        wanted = {mtype} if isinstance(mtype, str) else set(mtype) if mtype else None
        deadline = asyncio.get_running_loop().time() + (timeout or self.timeout)
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            message = await asyncio.wait_for(self.inbox.get(), max(remaining, 0.001))
            if wanted is None or message.get("type") in wanted:
                return message

    async def close(self) -> None:
        self.ws.close()
        try:
            await asyncio.wait_for(self.closed.wait(), self.timeout)
        finally:
            self._reader.cancel()


# The progress view's entries on the wire: [status letter, pulled_seq, help 0/1]
PROGRESS_STATUSES = {
    "u": "up_to_date",
    "b": "behind",
    "c": "conflict",
    "k": "kept_mine",
    "n": "never_pulled",
}


def progress_cell(entry: list[Any]) -> dict[str, Any]:
    """One wire entry as ``{status, pulled_seq, help}``."""
    return {"status": PROGRESS_STATUSES[entry[0]], "pulled_seq": entry[1], "help": bool(entry[2])}


def decode_progress(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A ``progress_snapshot`` as a matrix: ``{session_code, version, cells, students: [{
    student_id, name, user, online, cells: {cell_id: {status, pulled_seq, help}}}]}``."""
    order = list(snapshot["cells"])
    return {
        "type": "progress_snapshot",
        "session_code": snapshot.get("session_code"),
        "version": snapshot["version"],
        "cells": order,
        "students": [
            {
                "student_id": s["student_id"],
                "name": s["name"],
                "user": s.get("user"),
                "online": s["online"],
                "cells": {
                    cid: progress_cell(e) for cid, e in zip(order, s["entries"], strict=True)
                },
            }
            for s in snapshot["students"]
        ],
    }


def apply_progress_update(matrix: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``matrix`` (:func:`decode_progress`) with a ``progress_update`` merged in: a new matrix
    (``matrix`` is not changed). ValueError if the update is not from the matrix's version."""
    if update["base"] != matrix["version"]:
        raise ValueError(f"progress_update from {update['base']}, not {matrix['version']}")
    order = list(update["cells"]) if "cells" in update else list(matrix["cells"])
    removed = set(update.get("removed", ()))
    students = {
        s["student_id"]: {**s, "cells": {c: s["cells"][c] for c in order if c in s["cells"]}}
        for s in matrix["students"]
        if s["student_id"] not in removed
    }
    for change in update.get("students", ()):
        sid = change["student_id"]
        row = students.setdefault(
            sid, {"student_id": sid, "name": "", "user": "", "online": False, "cells": {}}
        )
        for field in ("name", "user", "online"):
            if field in change:
                row[field] = change[field]
        for cid, entry in change.get("cells", {}).items():
            row["cells"][cid] = progress_cell(entry)
    return {
        **matrix,
        "version": update["version"],
        "cells": order,
        "students": list(students.values()),
    }


def apply_roster_update(
    roster: list[dict[str, Any]], version: int, update: dict[str, Any]
) -> list[dict[str, Any]]:
    """The whole roster after ``update``: the update's students when it is ``full``, else
    ``roster`` (at ``version``) with its changed rows replaced, new ones added and removed
    ones dropped (``roster`` is not changed). ValueError if it does not follow ``version``."""
    if update.get("full"):
        return list(update["students"])
    if update.get("base") != version:
        raise ValueError(f"roster_update from {update.get('base')}, not {version}")
    changed = {s["student_id"]: s for s in update["students"]}
    removed = set(update.get("removed", ()))
    merged = [changed.pop(s["student_id"], s) for s in roster if s["student_id"] not in removed]
    return merged + list(changed.values())


class TeacherClient(SyncConnection):
    """The teacher's side: create or resume a session, push, toggle, remove, end."""

    session_code: str | None = None
    teacher_key: str | None = None
    # the whole roster: the last full roster_update with every delta since merged in
    roster: list[dict[str, Any]] | None = None
    roster_version = -1
    # the progress view: the last progress_snapshot with every progress_update since merged in
    progress_matrix: dict[str, Any] | None = None

    def __init__(self, ws: WebSocketClientConnection, timeout: float = DEFAULT_TIMEOUT) -> None:
        # the help queue as the server last said: (student_id, cell_id) -> open request
        self.help_requests: dict[tuple[str, str], dict[str, Any]] = {}
        # progress_update messages that did not apply to progress_matrix (none, ever, or the
        # server sent a delta this connection could not apply)
        self.progress_gaps: list[dict[str, Any]] = []
        # roster_update deltas that did not follow the roster held (none, ever)
        self.roster_gaps: list[dict[str, Any]] = []
        super().__init__(ws, timeout)

    def on_message(self, message: dict[str, Any]) -> None:
        mtype = message.get("type")
        if mtype == "roster_update":
            try:
                self.roster = apply_roster_update(self.roster or [], self.roster_version, message)
            except ValueError:
                self.roster_gaps.append(message)
                return
            self.roster_version = int(message["version"])
        elif mtype == "help_queue":
            self.help_requests = {
                (r["student_id"], r["cell_id"]): r for r in message.get("requests", [])
            }
        elif mtype == "help_update":
            key = (str(message["student_id"]), str(message["cell_id"]))
            request = message.get("request")
            if request is None or request.get("resolved"):
                self.help_requests.pop(key, None)
            else:
                self.help_requests[key] = request
        elif mtype == "progress_snapshot":
            self.progress_matrix = decode_progress(message)
        elif mtype == "progress_update":
            if self.progress_matrix is None:
                self.progress_gaps.append(message)
                return
            try:
                self.progress_matrix = apply_progress_update(self.progress_matrix, message)
            except ValueError:
                self.progress_gaps.append(message)

    async def request_roster(self) -> list[dict[str, Any]]:
        """Ask for the whole roster (what a client does after a delta it could not apply)."""
        await self.request("roster")
        return list(self.roster or [])

    async def create_session(self, title: str = "") -> dict[str, Any]:
        reply = await self.request("create_session", title=title)
        self.session_code, self.teacher_key = reply["session_code"], reply["teacher_key"]
        return reply

    async def resume_session(self, session_code: str, teacher_key: str) -> dict[str, Any]:
        reply = await self.request(
            "resume_session", session_code=session_code, teacher_key=teacher_key
        )
        self.session_code, self.teacher_key = reply["session_code"], teacher_key
        return reply

    async def push_cell(
        self,
        cell_id: str,
        source: str,
        *,
        cell_type: str | None = None,
        sync_allowed: bool | None = None,
        index: int | None = None,
        metadata: dict[str, Any] | None = None,
        outputs: list[dict[str, Any]] | None = None,
        share_outputs: bool | None = None,
    ) -> dict[str, Any]:
        """Push a cell. ``outputs`` shares them (bounded by the server); ``share_outputs=False``
        stops sharing; neither keeps what is shared."""
        content: dict[str, Any] = {"source": source}
        if cell_type is not None:
            content["cell_type"] = cell_type
        if metadata is not None:
            content["metadata"] = metadata
        if outputs is not None:
            content["outputs"] = outputs
        fields: dict[str, Any] = {"cell_id": cell_id, "content": content}
        if share_outputs is not None:
            fields["share_outputs"] = share_outputs
        if sync_allowed is not None:
            fields["metadata"] = {"sync_allowed": sync_allowed}
        if index is not None:
            fields["index"] = index
        return await self.request("push_cell", **fields)

    async def toggle_sync(self, cell_id: str, sync_allowed: bool) -> dict[str, Any]:
        return await self.request("toggle_sync", cell_id=cell_id, sync_allowed=sync_allowed)

    async def remove_cell(self, cell_id: str) -> dict[str, Any]:
        return await self.request("remove_cell", cell_id=cell_id)

    async def end_session(self) -> dict[str, Any]:
        return await self.request("end_session")

    async def reorder(self, order: list[str]) -> list[str]:
        """The cells in this order (others after, as they were); the session's full order."""
        reply = await self.request("reorder_cells", order=order)
        return list(reply["order"])

    async def move_cell(self, from_id: str, to_id: str) -> dict[str, Any]:
        """A cell's new id (cut and paste): the students' pulled state follows it."""
        return await self.request("move_cell", from_id=from_id, to_id=to_id)

    # help requests and progress --------------------------------------------------------------
    async def help_answer(
        self,
        student_id: str,
        cell_id: str,
        *,
        note: str | None = None,
        source: str | None = None,
        resolve: bool = False,
    ) -> dict[str, Any]:
        """Answer a help request (a note, a suggested source for that student alone, and/or
        resolve it); the reply is the request's ``help_update``."""
        fields: dict[str, Any] = {"student_id": student_id, "cell_id": cell_id}
        if note is not None:
            fields["note"] = note
        if source is not None:
            fields["source"] = source
        if resolve:
            fields["resolve"] = True
        return await self.request("help_answer", **fields)

    async def help_list(self) -> list[dict[str, Any]]:
        """The open help requests, oldest first."""
        reply = await self.request("help_list")
        return list(reply["requests"])

    async def progress(self) -> dict[str, Any]:
        """The progress matrix (:func:`decode_progress`); ``progress_update`` messages follow
        as it changes, merged into ``progress_matrix``."""
        return decode_progress(await self.request("progress"))

    async def wait_progress(
        self, ready: Callable[[dict[str, Any]], bool], timeout: float | None = None
    ) -> dict[str, Any]:
        """Wait until ``progress_matrix`` (after ``progress()``) satisfies ``ready``; it."""
        deadline = asyncio.get_running_loop().time() + (timeout or self.timeout)
        while self.progress_matrix is None or not ready(self.progress_matrix):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError("the progress view did not reach the expected state")
            await self.next_message(("progress_snapshot", "progress_update"), remaining)
        return self.progress_matrix


def _rename(table: dict[str, _V], from_id: str, to_id: str) -> None:
    if from_id in table:
        table[to_id] = table.pop(from_id)


@dataclass
class TeacherCell:
    """What the student knows of a teacher cell."""

    cell_id: str
    index: int
    cell_type: str
    sync_allowed: bool
    seq: int = 0  # newest seq announced
    pulled_seq: int = 0


class StudentClient(SyncConnection):
    """The student's side, with the student's own notebook (``self.notebook``, a YNotebook)."""

    session_code: str | None = None
    student_key: str | None = None
    ended: bool = False

    def __init__(self, ws: WebSocketClientConnection, timeout: float = DEFAULT_TIMEOUT) -> None:
        from jupyter_ydoc import YNotebook  # imported here: the server runs without pycrdt too

        self.notebook: YNotebook = YNotebook()
        self.cells: dict[str, TeacherCell] = {}
        # Delta pulls: per cell, the seq and text of what was last pulled (the base the
        # server's delta applies to). False: pull as clients before delta pulls did.
        self.delta_pulls = True
        self.bases: dict[str, tuple[int, str]] = {}
        self.seen: set[tuple[str, int]] = set()  # (cell_id, seq) de-duplication
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        # the teacher's private suggestions announced and not pulled: cell id -> seq
        self.suggestions: dict[str, int] = {}
        self.answers: dict[str, dict[str, Any]] = {}  # cell id -> the last help_answered
        # this student's requests not resolved, cell id -> {cell_id, note, opened, resolved,
        # answer}: from session_joined, then help_ack and help_answered
        self.help_requests: dict[str, dict[str, Any]] = {}
        self.outputs: dict[str, list[dict[str, Any]]] = {}  # cell id -> outputs last pulled
        super().__init__(ws, timeout)

    # bookkeeping of notifications ----------------------------------------------------------------
    def on_message(self, message: dict[str, Any]) -> None:
        mtype = message.get("type")
        if mtype == "update_available" and message.get("private"):
            cell_id, seq = str(message["cell_id"]), int(message["seq"])
            self.suggestions[cell_id] = max(self.suggestions.get(cell_id, 0), seq)
            self.updates.put_nowait(message)
        elif mtype == "session_joined":  # here, not in join(): before any answer that follows
            self.help_requests = {str(r["cell_id"]): r for r in message.get("help", [])}
        elif mtype == "help_ack":
            if message["withdrawn"]:
                self.help_requests.pop(str(message["cell_id"]), None)
            else:
                self.help_requests[str(message["cell_id"])] = {
                    "cell_id": message["cell_id"],
                    **message["request"],
                }
        elif mtype == "help_answered":
            cell_id = str(message["cell_id"])
            self.answers[cell_id] = message
            if message["resolved"]:
                self.help_requests.pop(cell_id, None)
            elif cell_id in self.help_requests:
                self.help_requests[cell_id]["answer"] = {
                    k: message.get(k) for k in ("note", "has_suggestion", "seq", "answered")
                }
        elif mtype == "update_available":
            cell_id, seq = str(message["cell_id"]), int(message["seq"])
            if (cell_id, seq) in self.seen:
                return
            self.seen.add((cell_id, seq))
            cell = self.cells.setdefault(
                cell_id,
                TeacherCell(cell_id, int(message.get("index", 0)), "code", True),
            )
            cell.seq = max(cell.seq, seq)
            cell.index = int(message.get("index", cell.index))
            cell.cell_type = str(message.get("cell_type", cell.cell_type))
            cell.sync_allowed = True
            self.updates.put_nowait(message)
        elif mtype == "sync_allowed_update":
            known = self.cells.get(str(message["cell_id"]))
            if known is not None:
                known.sync_allowed = bool(message["sync_allowed"])
        elif mtype == "cell_removed":
            self.cells.pop(str(message["cell_id"]), None)
        elif mtype == "cells_reordered":
            self._reordered([str(c) for c in message["order"]])
        elif mtype == "cell_moved":
            self._moved(str(message["from_id"]), str(message["to_id"]))
        elif mtype == "session_ended":
            self.ended = True

    def _reordered(self, order: list[str]) -> None:
        """The teacher's new order: the teacher's cells in this notebook move among the places
        they hold (the student's own cells stay where they are)."""
        for i, cell_id in enumerate(order):
            known = self.cells.get(cell_id)
            if known is not None:
                known.index = i
        ycells = self.notebook.ycells
        places = [i for i, c in enumerate(ycells) if str(c.get("id")) in self.cells]
        current = [str(ycells[i].get("id")) for i in places]
        wanted = sorted(current, key=lambda c: self.cells[c].index)
        if wanted == current:
            return
        cells = {str(ycells[i].get("id")): self.notebook.get_cell(i) for i in places}
        with self.notebook.ydoc.transaction():
            for place, cell_id in zip(places, wanted, strict=True):
                if str(ycells[place].get("id")) != cell_id:
                    ycells[place] = self.notebook.create_ycell(cells[cell_id])

    def _moved(self, from_id: str, to_id: str) -> None:
        """A teacher cell's new id: what this client knows and pulled of it follows it."""
        cell = self.cells.pop(from_id, None)
        if cell is not None:
            cell.cell_id = to_id
            self.cells[to_id] = cell
        _rename(self.bases, from_id, to_id)
        _rename(self.suggestions, from_id, to_id)
        _rename(self.answers, from_id, to_id)
        _rename(self.outputs, from_id, to_id)
        self.seen |= {(to_id, seq) for cell_id, seq in self.seen if cell_id == from_id}
        pos = self._position(from_id)
        if pos is not None:
            self.notebook.ycells[pos]["id"] = to_id

    @property
    def available(self) -> dict[str, int]:
        """Cells with an update this student has not pulled: cell id -> newest seq."""
        return {
            c.cell_id: c.seq for c in self.cells.values() if c.sync_allowed and c.seq > c.pulled_seq
        }

    async def wait_for_update(
        self, cell_id: str, seq: int = 0, timeout: float | None = None
    ) -> int:
        """Wait until an update of ``cell_id`` newer than ``seq`` is announced; its seq."""
        deadline = asyncio.get_running_loop().time() + (timeout or self.timeout)
        while True:
            known = self.available.get(cell_id, 0)
            if known > seq:
                return known
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no update of {cell_id} announced")
            await asyncio.wait_for(self.updates.get(), remaining)

    # session ---------------------------------------------------------------------------------
    async def join(
        self, session_code: str, name: str = "", student_key: str | None = None
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {"session_code": session_code}
        if name:
            fields["name"] = name
        if student_key:
            fields["student_key"] = student_key
        reply = await self.request("join_session", **fields)
        self.session_code, self.student_key = reply["session_code"], reply["student_key"]
        for info in reply.get("cells", []):
            cell = self.cells.setdefault(
                info["cell_id"],
                TeacherCell(
                    info["cell_id"], info["index"], info["cell_type"], info["sync_allowed"]
                ),
            )
            cell.index, cell.cell_type = info["index"], info["cell_type"]
            cell.sync_allowed, cell.pulled_seq = info["sync_allowed"], info.get("pulled_seq", 0)
        return reply

    async def leave(self) -> dict[str, Any]:
        return await self.request("leave_session")

    # the student's own notebook --------------------------------------------------------------
    def _position(self, cell_id: str) -> int | None:
        for i, ycell in enumerate(self.notebook.ycells):
            if ycell.get("id") == cell_id:
                return i
        return None

    def source(self, cell_id: str) -> str | None:
        """The student's current text of a cell, or None if the notebook has no such cell."""
        pos = self._position(cell_id)
        if pos is None:
            return None
        return str(self.notebook.ycells[pos]["source"])

    def cell_ids(self) -> list[str]:
        return [str(c.get("id")) for c in self.notebook.ycells]

    def edit_cell(self, cell_id: str, new_source: str) -> None:
        """The student types in a cell (creating it at the end if it does not exist)."""
        pos = self._position(cell_id)
        if pos is None:
            self.notebook.append_cell({"id": cell_id, "cell_type": "code", "source": new_source})
            return
        self._write_source(pos, new_source)

    def _write_source(self, pos: int, new_source: str) -> None:
        text = self.notebook.ycells[pos]["source"]
        with self.notebook.ydoc.transaction():
            edit_text(text, new_source)

    def _insert_position(self, cell_id: str) -> int:
        """Before the first teacher cell that comes later in the teacher's order; else the end."""
        mine = self.cells.get(cell_id)
        order = mine.index if mine else 1 << 30
        for i, ycell in enumerate(self.notebook.ycells):
            other = self.cells.get(str(ycell.get("id")))
            if other is not None and other.cell_id != cell_id and other.index > order:
                return i
        return len(self.notebook.ycells)

    def _apply(self, reply: dict[str, Any]) -> None:
        cell_id = reply["cell_id"]
        content = reply["content"]
        pos = self._position(cell_id)
        if pos is None:
            ycell = self.notebook.create_ycell(
                {
                    "id": cell_id,
                    "cell_type": content.get("cell_type", "code"),
                    "source": content["source"],
                    "metadata": content.get("metadata") or {},
                }
            )
            self.notebook.ycells.insert(self._insert_position(cell_id), ycell)
        else:
            self._write_source(pos, content["source"])
        outputs = content.get("outputs")
        if outputs is not None:
            self.outputs[cell_id] = outputs
            at = self._position(cell_id)
            target = self.notebook.ycells[at] if at is not None else None
            if target is not None and "outputs" in target:
                from pycrdt import Array  # as YNotebook: the server runs without pycrdt too

                target["outputs"] = Array(self.notebook._create_youtputs(outputs))

    async def pull(
        self, cell_id: str, strategy: str | None = None, *, with_outputs: bool = False
    ) -> dict[str, Any]:
        """Pull one cell, sending this notebook's text of it, and apply the result (with the
        teacher's shared outputs, if ``with_outputs``).

        A ``conflict`` reply changes nothing: call again with ``strategy="theirs"`` or ``"mine"``.
        """
        fields: dict[str, Any] = {"cell_id": cell_id}
        if with_outputs:
            fields["with_outputs"] = True
        local = self.source(cell_id)
        if local is not None:
            fields["local_source"] = local
        if strategy is not None:
            fields["strategy"] = strategy
        base = self.bases.get(cell_id) if self.delta_pulls else None
        if self.delta_pulls:
            fields["base_seq"] = base[0] if base is not None else None
        reply = await self.request("request_sync", **fields)
        if reply["status"] != "conflict":
            if self.delta_pulls:
                reply = await self._complete(cell_id, reply, base, local)
            if reply["status"] != "kept":
                self._apply(reply)
            cell = self.cells.get(cell_id)
            if cell is not None:
                cell.pulled_seq = max(cell.pulled_seq, int(reply["seq"]))
                cell.seq = max(cell.seq, int(reply["seq"]))
        return reply

    async def _complete(
        self,
        cell_id: str,
        reply: dict[str, Any],
        base: tuple[int, str] | None,
        local: str | None,
    ) -> dict[str, Any]:
        """A delta-pull reply made whole (``content.source``), and the next base kept."""
        from ..engines.delta import apply_delta
        from ..merge import text_check

        status = reply["status"]
        theirs: str | None
        if reply.get("delta") and base is not None:
            theirs = apply_delta(base[1], base64.b64decode(reply["theirs_delta"]))
            if text_check(theirs) != reply["theirs_check"]:
                # Our copy of the base is not the server's. The pull is recorded, so a second
                # one would find nothing new: the teacher's text comes from a preview (which
                # changes nothing); the status still says what to do with it.
                preview = await self.preview(cell_id)
                theirs = str(preview["content"]["source"])
            if status == "kept":
                reply["content"]["source"] = local if local is not None else base[1]
            elif status != "merged":
                reply["content"]["source"] = theirs
        elif status in ("merged", "kept"):
            theirs = reply.get("theirs")
        else:
            theirs = reply["content"]["source"]
        if theirs is None:
            self.bases.pop(cell_id, None)
        else:
            self.bases[cell_id] = (int(reply["seq"]), theirs)
        return reply

    async def preview(self, cell_id: str) -> dict[str, Any]:
        fields: dict[str, Any] = {"cell_id": cell_id}
        local = self.source(cell_id)
        if local is not None:
            fields["local_source"] = local
        return await self.request("preview", **fields)

    # help requests -----------------------------------------------------------------------------
    async def ask_help(self, cell_id: str, note: str = "") -> dict[str, Any]:
        """Ask the teacher for help on a cell, sending this notebook's text of it."""
        fields: dict[str, Any] = {"cell_id": cell_id, "local_source": self.source(cell_id) or ""}
        if note:
            fields["note"] = note
        return await self.request("help_request", **fields)

    async def withdraw_help(self, cell_id: str) -> dict[str, Any]:
        return await self.request("help_withdraw", cell_id=cell_id)

    async def wait_for_suggestion(self, cell_id: str, timeout: float | None = None) -> int:
        """Wait until the teacher's private suggestion for ``cell_id`` is announced; its seq."""
        deadline = asyncio.get_running_loop().time() + (timeout or self.timeout)
        while cell_id not in self.suggestions:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no suggestion for {cell_id} announced")
            await asyncio.wait_for(self.updates.get(), remaining)
        return self.suggestions[cell_id]

    async def pull_suggestion(self, cell_id: str, strategy: str | None = None) -> dict[str, Any]:
        """Pull the teacher's suggestion (merged with this notebook's text, the base being the
        text sent with the request) and apply it; a conflict changes nothing."""
        fields: dict[str, Any] = {"cell_id": cell_id, "source": "suggestion"}
        local = self.source(cell_id)
        if local is not None:
            fields["local_source"] = local
        if strategy is not None:
            fields["strategy"] = strategy
        reply = await self.request("request_sync", **fields)
        if reply["status"] != "conflict":
            self.suggestions.pop(cell_id, None)
            if reply["status"] != "kept":
                self._apply(reply)
        return reply

    async def preview_suggestion(self, cell_id: str) -> dict[str, Any]:
        fields: dict[str, Any] = {"cell_id": cell_id, "source": "suggestion"}
        local = self.source(cell_id)
        if local is not None:
            fields["local_source"] = local
        return await self.request("preview", **fields)

    async def pull_all(self) -> list[dict[str, Any]]:
        """Pull every available cell in the teacher's order; conflicts are returned, not applied."""
        replies = []
        for cell_id in sorted(self.available, key=lambda c: self.cells[c].index):
            replies.append(await self.pull(cell_id))
        return replies


__all__ = ["StudentClient", "SyncConnection", "SyncError", "TeacherClient", "ws_url"]
