"""Every message the server sends, built in one place, and the one encoder of frames.

The shapes are those of the shipped schema (``schema/protocol.schema.json``, which also
describes the replies) and of docs/architecture.md ("Protocol"). Use cases call these builders;
none of them writes a message as a dict literal. A builder returns a plain dict: the caller adds
``req_id`` to direct replies (:func:`reply_to`) and encodes with :func:`encode`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
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
    "progress_matrix",
    "push_ack",
    "reply_to",
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


def roster_update(code: str, students: Iterable[StudentRecord]) -> Payload:
    return {
        "type": "roster_update",
        "session_code": code,
        "students": [
            {
                "student_id": s.student_id,
                "name": s.name,
                "user": s.identity,
                "online": s.online,
                "pulled": {cid: p.seq for cid, p in s.pulled.items()},
            }
            for s in students
        ],
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
) -> Payload:
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
        out["request"] = {
            "note": request.note,
            "opened": request.opened,
            "resolved": request.resolved,
            "answer": _answer(request),
        }
    return out


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


def progress_matrix(
    kind: str,
    code: str,
    cells: Iterable[CellIndexEntry],
    students: Iterable[StudentRecord],
    status: Mapping[tuple[str, str], str],
    help_open: Iterable[tuple[str, str]],
) -> Payload:
    """``progress_snapshot`` (the reply to ``progress``) or ``progress_update`` (``kind``):
    per student and cell the last pull status (``up_to_date``, ``behind``, ``conflict``,
    ``kept_mine``, ``never_pulled``), the seq pulled and whether a help request is open."""
    order = [e.cell_id for e in cells]
    asking = set(help_open)
    return {
        "type": kind,
        "session_code": code,
        "cells": order,
        "students": [
            {
                "student_id": s.student_id,
                "name": s.name,
                "user": s.identity,
                "online": s.online,
                "cells": {
                    cid: {
                        "status": status[(s.student_id, cid)],
                        "pulled_seq": s.pulled[cid].seq if cid in s.pulled else 0,
                        "help": (s.student_id, cid) in asking,
                    }
                    for cid in order
                },
            }
            for s in students
        ],
    }
