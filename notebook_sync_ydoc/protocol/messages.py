"""Every message the server sends, built in one place, and the one encoder of frames.

The shapes are those of the shipped schema (``schema/protocol.schema.json``, which also
describes the replies) and of docs/architecture.md ("Protocol"). Use cases call these builders;
none of them writes a message as a dict literal. A builder returns a plain dict: the caller adds
``req_id`` to direct replies (:func:`reply_to`) and encodes with :func:`encode`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..merge import ConflictHunk, MergeOutcome, text_check
from ..store import CellIndexEntry, CellRecord, HelpRequest, StudentRecord
from .screening import scrub

__all__ = [
    "cell_content_delta",
    "cell_content_full",
    "cell_content_update",
    "cell_info",
    "cell_preview",
    "cell_pulled",
    "cell_pushed",
    "cell_removed",
    "encode",
    "error_message",
    "help_ack",
    "help_answered",
    "help_queue",
    "help_request_info",
    "help_update",
    "pong",
    "private_content",
    "private_update_available",
    "progress_changed",
    "progress_snapshot",
    "progress_update",
    "push_ack",
    "reply_to",
    "roster_student",
    "roster_update",
    "session_created",
    "session_ended",
    "session_joined",
    "session_left",
    "session_resumed",
    "sync_allowed_update",
    "update_available",
]

Payload = dict[str, Any]


def encode(message: Mapping[str, Any]) -> str:
    """One frame of strict JSON (no NaN, valid Unicode). What this version stores always is;
    a record an older version stored (a lone surrogate in a name, NaN in metadata) is scrubbed
    rather than allowed to break the frame, and with it a roster or a fan-out."""
    try:
        text = json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        return _scrubbed(message)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return _scrubbed(message)
    return text


def _scrubbed(message: Mapping[str, Any]) -> str:
    return json.dumps(scrub(message), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def reply_to(req_id: str | None, payload: Payload) -> Payload:
    """``payload`` as the direct reply to a request: it echoes the request's ``req_id``."""
    if req_id is not None:
        payload["req_id"] = req_id
    return payload


def error_message(code: str, message: str, req_id: str | None = None) -> Payload:
    return reply_to(req_id, {"type": "error", "code": code, "message": message})


def cell_info(entry: CellIndexEntry) -> Payload:
    """One cell of the session index, as ``session_joined`` and ``session_resumed`` list it."""
    return {
        "cell_id": entry.cell_id,
        "seq": entry.seq,
        "cell_type": entry.cell_type,
        "sync_allowed": entry.sync_allowed,
        "index": entry.index,
    }


def conflict_hunk(h: ConflictHunk) -> dict[str, int]:
    return {
        "base_start": h.base_start,
        "base_end": h.base_end,
        "mine_start": h.mine_start,
        "mine_end": h.mine_end,
        "theirs_start": h.theirs_start,
        "theirs_end": h.theirs_end,
    }


def cell_content(cell: CellRecord, source: str) -> Payload:
    return {"source": source, "cell_type": cell.cell_type, "metadata": cell.metadata}


# teacher ------------------------------------------------------------------------------------------
def session_created(code: str, teacher_key: str, title: str, mode: str) -> Payload:
    return {
        "type": "session_created",
        "session_code": code,
        "teacher_key": teacher_key,
        "title": title,
        "mode": mode,
    }


def session_resumed(
    code: str, title: str, mode: str, status: str, cells: Iterable[CellIndexEntry]
) -> Payload:
    return {
        "type": "session_resumed",
        "session_code": code,
        "title": title,
        "mode": mode,
        "status": status,
        "cells": [cell_info(e) for e in cells],
    }


def push_ack(cell_id: str, seq: int, *, unchanged: bool = False) -> Payload:
    out: Payload = {"type": "push_ack", "cell_id": cell_id, "seq": seq}
    if unchanged:
        out["unchanged"] = True
    return out


def sync_allowed_update(cell_id: str, allowed: bool, seq: int, timestamp: float) -> Payload:
    return {
        "type": "sync_allowed_update",
        "cell_id": cell_id,
        "sync_allowed": allowed,
        "seq": seq,
        "timestamp": timestamp,
    }


def cell_removed(cell_id: str, seq: int) -> Payload:
    return {"type": "cell_removed", "cell_id": cell_id, "seq": seq}


def cells_reordered(order: Iterable[str]) -> Payload:
    """The session's cells in the teacher's notebook order (``index`` = position)."""
    return {"type": "cells_reordered", "order": list(order)}


def cell_moved(from_id: str, to_id: str, seq: int, index: int) -> Payload:
    """A cell got a new id (cut and paste in the teacher's notebook); the student's pulled state
    of ``from_id`` is now that of ``to_id``."""
    return {"type": "cell_moved", "from_id": from_id, "to_id": to_id, "seq": seq, "index": index}


def add_outputs(reply: Payload, cell: CellRecord) -> Payload:
    """``reply`` (a pull's or preview's) with the teacher's shared outputs of ``cell`` in its
    ``content`` (``request_sync`` ``with_outputs``); unchanged when they are not shared or the
    cell is locked."""
    content = reply.get("content")
    if cell.outputs is not None and cell.sync_allowed and isinstance(content, dict):
        content["outputs"] = cell.outputs
    return reply


def cell_pushed(cell_id: str, seq: int, source: str) -> Payload:
    """To the teacher's other tabs: what the server now holds of a cell one tab pushed."""
    return {"type": "cell_pushed", "cell_id": cell_id, "seq": seq, "source": source}


def cell_pulled(cell_id: str, seq: int) -> Payload:
    """To a student's other tabs: one of them pulled this cell (up to ``seq``)."""
    return {"type": "cell_pulled", "cell_id": cell_id, "seq": seq}


def session_ended(code: str) -> Payload:
    return {"type": "session_ended", "session_code": code}


def roster_student(s: StudentRecord) -> Payload:
    """One student's row of the teacher's roster."""
    return {
        "student_id": s.student_id,
        "name": s.name,
        "user": s.identity,
        "online": s.online,
        "pulled": {cid: p.seq for cid, p in s.pulled.items()},
    }


def roster_update(
    code: str,
    version: int,
    students: Iterable[Payload],
    *,
    base: int | None = None,
    removed: Iterable[str] = (),
) -> Payload:
    """The teacher's roster (rows of :func:`roster_student`). ``base`` None: the whole roster
    (``full: true``); else what changed since version ``base``: the changed and new students'
    rows and the ids of those ``removed``. ``version``: the roster this makes (the next
    update's ``base``)."""
    if base is None:
        return {
            "type": "roster_update",
            "session_code": code,
            "version": version,
            "full": True,
            "students": list(students),
        }
    return {
        "type": "roster_update",
        "session_code": code,
        "version": version,
        "base": base,
        "students": list(students),
        "removed": list(removed),
    }


# student ------------------------------------------------------------------------------------------
def session_joined(
    code: str,
    title: str,
    mode: str,
    student: StudentRecord,
    student_key: str,
    resumed: bool,
    cells: Iterable[CellIndexEntry],
    pulled: Mapping[str, int],
    help_requests: Iterable[HelpRequest] = (),
) -> Payload:
    """The reply to ``join_session``. ``help``: this student's own help requests that are not
    resolved (open, answered or not), as ``help_ack`` has them, with their ``cell_id``: a
    student who reloads sees them at once. Never another student's."""
    return {
        "type": "session_joined",
        "session_code": code,
        "title": title,
        "mode": mode,
        "student_id": student.student_id,
        "student_key": student_key,
        "name": student.name,
        "resumed": resumed,
        "cells": [{**cell_info(e), "pulled_seq": pulled.get(e.cell_id, 0)} for e in cells],
        "help": [
            {"cell_id": r.cell_id, **_own_request(r)}
            for r in help_requests
            if r.student_id == student.student_id and not r.resolved
        ],
    }


def update_available(code: str, entry: CellIndexEntry, timestamp: float) -> Payload:
    return {
        "type": "update_available",
        "session_code": code,
        "cell_id": entry.cell_id,
        "seq": entry.seq,
        "cell_type": entry.cell_type,
        "index": entry.index,
        "timestamp": timestamp,
    }


def cell_content_update(
    cell: CellRecord, outcome: MergeOutcome, update: str | None = None
) -> Payload:
    """The answer to ``request_sync``. A conflict carries base, mine, theirs and the hunks;
    ``replaced`` carries mine (so the client can offer undo); ``update`` is the base64 CRDT
    delta (YDoc mode)."""
    out: Payload = {
        "type": "cell_content_update",
        "cell_id": cell.cell_id,
        "seq": cell.seq,
        "status": outcome.status,
        "content": cell_content(cell, outcome.source),
    }
    if outcome.status == "conflict":
        out.update(
            base=outcome.base,
            mine=outcome.mine,
            theirs=outcome.theirs,
            conflicts=[conflict_hunk(h) for h in outcome.conflicts],
        )
        return out
    if update is not None:
        out["update"] = update
    if outcome.status == "replaced":
        out["mine"] = outcome.mine
    return out


def cell_content_delta(
    cell: CellRecord, outcome: MergeOutcome, delta: str, check: str | None = None
) -> Payload:
    """The answer to a delta-pull ``request_sync`` whose base the server holds: ``theirs_delta``
    (base64) turns the client's base text into the teacher's (``theirs_check`` its
    :func:`..merge.text_check`), which is also the client's next base. ``content.source`` only
    where the result is not the teacher's text nor the client's own: a merge. ``check``: that
    check when the caller has it (the engine computes it once for a class)."""
    content = cell_content(cell, outcome.source)
    if outcome.status != "merged":
        del content["source"]
    return {
        "type": "cell_content_update",
        "cell_id": cell.cell_id,
        "seq": cell.seq,
        "status": outcome.status,
        "delta": True,
        "theirs_delta": delta,
        "theirs_check": check if check is not None else text_check(cell.source),
        "content": content,
    }


def cell_content_full(cell: CellRecord, outcome: MergeOutcome, reason: str) -> Payload:
    """A delta-pull client's answer when the server cannot send a delta: the full reply, why
    (``full_reason``), and the teacher's text where ``content.source`` is not it (merged,
    kept), for the client to hold as its next base."""
    out = cell_content_update(cell, outcome)  # no CRDT update: the client holds no state
    out.update(delta=False, full_reason=reason)
    if outcome.status in ("merged", "kept"):
        out["theirs"] = cell.source
    return out


def cell_preview(cell: CellRecord, outcome: MergeOutcome) -> Payload:
    out: Payload = {
        "type": "cell_preview",
        "cell_id": cell.cell_id,
        "seq": cell.seq,
        "status": outcome.status,
        "source": outcome.source,
        "base": outcome.base,
        "content": cell_content(cell, cell.source),
    }
    if outcome.status == "conflict":
        out["conflicts"] = [conflict_hunk(h) for h in outcome.conflicts]
    return out


def session_left(code: str) -> Payload:
    return {"type": "session_left", "session_code": code}


def pong() -> Payload:
    return {"type": "pong"}


# help requests and progress (docs/architecture.md, "Help and progress") ------------------------
def _answer(r: HelpRequest) -> Payload | None:
    if r.answers == 0:
        return None
    return {
        "note": r.answer_note,
        "has_suggestion": r.suggestion is not None,
        "seq": r.answers,
        "answered": r.answered,
    }


def help_request_info(r: HelpRequest) -> Payload:
    """A request as the session's teacher sees it (never sent to anyone else)."""
    return {
        "student_id": r.student_id,
        "name": r.name,
        "user": r.identity,
        "cell_id": r.cell_id,
        "note": r.note,
        "source": r.source,
        "opened": r.opened,
        "resolved": r.resolved,
        "answer": _answer(r),
    }


def help_update(student_id: str, cell_id: str, request: HelpRequest | None) -> Payload:
    """To the teacher: a request opened, answered, resolved (``request``), or withdrawn
    (``request`` null)."""
    return {
        "type": "help_update",
        "student_id": student_id,
        "cell_id": cell_id,
        "request": help_request_info(request) if request is not None else None,
    }


def help_queue(code: str, requests: Iterable[HelpRequest]) -> Payload:
    """To the teacher: the open (not resolved) requests, oldest first."""
    return {
        "type": "help_queue",
        "session_code": code,
        "requests": [help_request_info(r) for r in requests],
    }


def help_ack(cell_id: str, request: HelpRequest | None) -> Payload:
    """To the student: their request as stored (``request`` null: withdrawn)."""
    out: Payload = {"type": "help_ack", "cell_id": cell_id, "withdrawn": request is None}
    if request is not None:
        out["request"] = _own_request(request)
    return out


def _own_request(r: HelpRequest) -> Payload:
    """A request as the student who asked sees it (``help_ack``, ``session_joined``)."""
    return {"note": r.note, "opened": r.opened, "resolved": r.resolved, "answer": _answer(r)}


def help_answered(r: HelpRequest) -> Payload:
    """To the student who asked: the teacher's answer (and whether it carries a suggestion,
    announced as a private ``update_available``) and the resolution."""
    return {
        "type": "help_answered",
        "cell_id": r.cell_id,
        "note": r.answer_note,
        "has_suggestion": r.suggestion is not None,
        "resolved": r.resolved,
        "seq": r.answers,
        "answered": r.answered,
    }


def private_update_available(
    code: str, r: HelpRequest, entry: CellIndexEntry | None, timestamp: float
) -> Payload:
    """To the student who asked: the teacher's suggestion for that cell, for them alone (pull
    or preview it with ``source: "suggestion"``). ``seq`` counts the request's suggestions: clients
    de-duplicate private updates by (cell_id, seq) apart from the shared ones."""
    out: Payload = {
        "type": "update_available",
        "session_code": code,
        "cell_id": r.cell_id,
        "seq": r.suggestion_seq,
        "private": True,
        "timestamp": timestamp,
    }
    if entry is not None:
        out.update(cell_type=entry.cell_type, index=entry.index)
    return out


def private_content(update: Payload) -> Payload:
    """A ``cell_content_update`` or ``cell_preview`` of a suggestion: marked private."""
    update["private"] = True
    return update


# The progress view on the wire (docs/architecture.md, "Help and progress"): an entry is
# ``[status, pulled_seq, help]``, the status one letter, help 0 or 1 (about 9 bytes; the object
# it replaces was about 60).
PROGRESS_CODES: dict[str, str] = {
    "up_to_date": "u",
    "behind": "b",
    "conflict": "c",
    "kept_mine": "k",
    "never_pulled": "n",
}
ProgressEntry = tuple[str, int, int]  # (status letter, pulled seq, help 0/1)
# a student as the progress view shows them: name, Jupyter user, online, entries (cells' order)
ProgressRow = tuple[str, str, bool, tuple[ProgressEntry, ...]]


def progress_snapshot(
    code: str, version: int, cells: Sequence[str], rows: Mapping[str, ProgressRow]
) -> Payload:
    """The whole progress view: the reply to ``progress`` (and what a watching connection gets
    instead of a ``progress_update`` it could not apply). ``cells``: the shared cells in order;
    per student ``entries``, one ``[status, pulled_seq, help]`` per cell, in that order.
    ``version`` counts this server's versions of the view for the session: the next
    ``progress_update`` has it as its ``base``."""
    return {
        "type": "progress_snapshot",
        "session_code": code,
        "version": version,
        "cells": list(cells),
        "students": [
            {"student_id": sid, "name": name, "user": user, "online": online, "entries": entries}
            for sid, (name, user, online, entries) in rows.items()
        ],
    }


def progress_changed(
    student_id: str,
    *,
    name: str | None = None,
    user: str | None = None,
    online: bool | None = None,
    cells: Mapping[str, ProgressEntry] | None = None,
) -> Payload:
    """One student of a ``progress_update``: the fields that changed and the changed entries
    by cell id (a student new to the view: every field and every cell)."""
    out: Payload = {"student_id": student_id}
    if name is not None:
        out["name"] = name
    if user is not None:
        out["user"] = user
    if online is not None:
        out["online"] = online
    if cells:
        out["cells"] = cells
    return out


def progress_update(
    code: str,
    base: int,
    version: int,
    cells: Sequence[str] | None,
    students: list[Payload],
    removed: list[str],
) -> Payload:
    """What changed in the progress view since version ``base`` (the last snapshot or update
    this connection was sent): the students changed (:func:`progress_changed`), the students
    ``removed``, and ``cells`` (the new order; a cell not in it is gone) only when it changed."""
    out: Payload = {
        "type": "progress_update",
        "session_code": code,
        "base": base,
        "version": version,
        "students": students,
        "removed": removed,
    }
    if cells is not None:
        out["cells"] = list(cells)
    return out
