"""Store records to and from Redis hash fields and script arguments (see :mod:`.keys`).

The client runs without ``decode_responses``: replies are bytes, decoded here; binary fields
(``crdt_state``, base states) stay bytes.
"""

from __future__ import annotations

import json
from typing import Any

from ..base import (
    CellIndexEntry,
    CellRecord,
    CellWrite,
    HelpRequest,
    PulledCell,
    PullMark,
    SessionRecord,
    StudentRecord,
)

RawHash = dict[bytes, bytes]


def text(value: bytes | str | None) -> str:
    """A reply value as text (``""`` for None)."""
    if value is None:
        return ""
    return value.decode("utf-8") if isinstance(value, bytes) else value


def pairs(flat: list[bytes]) -> RawHash:
    """An ``HGETALL`` reply returned by a script (a flat field/value list) as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def compact_json(value: Any, *, ensure_ascii: bool = True) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=ensure_ascii)


# sessions ------------------------------------------------------------------------------------
def session_fields(session: SessionRecord) -> list[str]:
    """The session hash as field/value pairs (``create_session.lua`` ARGV[10..])."""
    return [
        "code",
        session.code,
        "teacher_identity",
        session.teacher_identity,
        "teacher_key_hash",
        session.teacher_key_hash,
        "title",
        session.title,
        "mode",
        session.mode,
        "status",
        session.status,
        "created",
        repr(float(session.created)),
        "updated",
        repr(float(session.updated)),
    ]


def session_from(h: RawHash) -> SessionRecord:
    status = text(h.get(b"status")) or "active"
    return SessionRecord(
        code=text(h.get(b"code")),
        teacher_identity=text(h.get(b"teacher_identity")),
        teacher_key_hash=text(h.get(b"teacher_key_hash")),
        title=text(h.get(b"title")),
        mode=text(h.get(b"mode")),
        status="ended" if status == "ended" else "active",
        created=float(h.get(b"created") or 0.0),
        updated=float(h.get(b"updated") or 0.0),
    )


# cells ---------------------------------------------------------------------------------------
def cell_args(cell: CellWrite, expect_seq: int | None, metadata: str, updated: float) -> list[Any]:
    """``write_cell.lua`` ARGV[10..21]."""
    if cell.share_outputs is None:
        outputs = ["", ""]
    elif cell.share_outputs:
        outputs = ["1", compact_json(cell.outputs or [], ensure_ascii=False)]
    else:
        outputs = ["0", ""]
    return [
        cell.cell_id,
        "" if expect_seq is None else str(int(expect_seq)),
        cell.source,
        cell.cell_type,
        metadata,
        cell.crdt_state if cell.crdt_state is not None else b"",
        "1" if cell.crdt_state is not None else "0",
        "" if cell.sync_allowed is None else ("1" if cell.sync_allowed else "0"),
        "" if cell.index is None else str(int(cell.index)),
        repr(updated),
        *outputs,
    ]


def cell_from(cell_id: str, h: RawHash) -> CellRecord:
    return CellRecord(
        cell_id=cell_id,
        seq=int(h[b"seq"]),
        source=text(h.get(b"source")),
        cell_type=text(h.get(b"cell_type")) or "code",
        metadata=json.loads(text(h.get(b"metadata")) or "{}"),
        crdt_state=h.get(b"crdt_state"),
        sync_allowed=h.get(b"sync_allowed") == b"1",
        index=int(h.get(b"index") or 0),
        updated=float(h.get(b"updated") or 0.0),
        outputs=outputs_from(h.get(b"outputs")),
    )


def outputs_from(raw: bytes | None) -> list[dict[str, Any]] | None:
    """A cell's stored outputs (the ``outputs`` field; absent: not shared)."""
    if not raw:  # a script's false (no field) arrives as None
        return None
    value = json.loads(text(raw))
    return value if isinstance(value, list) else None


def index_entries(raw: RawHash) -> list[CellIndexEntry]:
    """The cells index hash as entries ordered by (index, seq)."""
    entries = []
    for cid, value in raw.items():
        e = json.loads(text(value))
        entries.append(
            CellIndexEntry(
                cell_id=text(cid),
                seq=int(e["seq"]),
                index=int(e["index"]),
                sync_allowed=bool(e["a"]),
                cell_type=str(e["t"]),
            )
        )
    entries.sort(key=lambda e: (e.index, e.seq))
    return entries


# students ------------------------------------------------------------------------------------
def pulled_json(pulled: PulledCell) -> str:
    """The ``p:<cell_id>`` field value of a student hash."""
    return json.dumps({"seq": pulled.seq, "src": pulled.base_source}, ensure_ascii=False)


def initial_pulled_fields(student: StudentRecord) -> list[Any]:
    """A new student's pulled state as field/value pairs (``put_student.lua`` ARGV[14..])."""
    fields: list[Any] = []
    for cell_id, pulled in student.pulled.items():
        fields += [f"p:{cell_id}", pulled_json(pulled)]
        if pulled.base_state is not None:
            fields += [f"s:{cell_id}", pulled.base_state]
    return fields


def mark_json(mark: PullMark) -> str:
    """A pull mark as stored in the student's hash (``m:<cell_id>``)."""
    return compact_json({"st": mark.status, "seq": mark.seq, "at": mark.at})


def help_requests(h: RawHash) -> list[HelpRequest]:
    """The help requests in a student's hash (``h:<cell_id>``)."""
    return [
        HelpRequest.from_json(json.loads(text(value)))
        for field_name, value in h.items()
        if field_name.startswith(b"h:")
    ]


def student_from(student_id: str, h: RawHash, online: bool) -> StudentRecord:
    pulled: dict[str, PulledCell] = {}
    marks: dict[str, PullMark] = {}
    for field_name, value in h.items():
        if field_name.startswith(b"m:"):
            m = json.loads(text(value))
            if m.get("st") in ("conflict", "kept"):
                marks[text(field_name[2:])] = PullMark(m["st"], int(m["seq"]), float(m["at"]))
        elif field_name.startswith(b"p:"):
            cell_id = text(field_name[2:])
            p = json.loads(text(value))
            pulled[cell_id] = PulledCell(
                seq=int(p["seq"]),
                base_source=str(p["src"]),
                base_state=h.get(b"s:" + field_name[2:]),
            )
    return StudentRecord(
        student_id=student_id,
        identity=text(h.get(b"i")),
        name=text(h.get(b"n")),
        joined=float(h.get(b"j") or 0.0),
        online=online,
        pulled=pulled,
        marks=marks,
    )
