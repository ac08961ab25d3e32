"""Reading a store file into the embedded store's state, at start and after a reopen.

Sessions whose lifetime ended while no server ran are deleted first (one transaction); the rest
is read in one read transaction. Wall-clock deadlines become ``time.monotonic()`` ones.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass

from ..base import CellRecord, HelpRequest, PulledCell, PullMark, SessionRecord, StudentRecord
from ..frozen import freeze
from ..journal import SessionState
from .schema import DELETE_SESSION, unpadded

SELECT_SESSIONS = (
    "SELECT code, teacher_identity, teacher_key_hash, title, mode, status, created, updated, "
    "seq, expires FROM sessions"
)
SELECT_CELLS = (
    "SELECT code, cell_id, seq, cell_type, metadata, sync_allowed, idx, updated, source_len, "
    "state_len, source, crdt_state FROM cells"
)
SELECT_OUTPUTS = "SELECT code, cell_id, data FROM outputs"
SELECT_STUDENTS = "SELECT code, student_id, identity, name, joined FROM students"
SELECT_PULLS = (
    "SELECT code, student_id, cell_id, seq, source_len, state_len, base_source, base_state "
    "FROM pulls"
)

SELECT_HELP = "SELECT code, student_id, cell_id, data FROM help"
SELECT_MARKS = "SELECT code, student_id, cell_id, status, seq, at FROM marks"


@dataclass(frozen=True)
class Loaded:
    """What a load found (for the log and ``status``)."""

    sessions: int
    cells: int
    students: int
    pulls: int
    expired: int  # sessions deleted because their lifetime ended while no server ran
    wall_deadlines: dict[str, float]  # code -> the stored wall-clock deadline


def delete_sessions(conn: sqlite3.Connection, codes: list[str]) -> None:
    """Every row of these sessions (inside the caller's transaction)."""
    params = [(code,) for code in codes]
    for statement in DELETE_SESSION:
        conn.executemany(statement, params)


def sweep_expired(conn: sqlite3.Connection, now: float) -> int:
    """Delete the sessions whose wall-clock deadline is past; how many."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        rows = conn.execute("SELECT code FROM sessions WHERE expires <= ?", (now,)).fetchall()
        delete_sessions(conn, [str(r[0]) for r in rows])
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return len(rows)


def _text(blob: bytes, length: int) -> str:
    return unpadded(blob, length).decode("utf-8", "surrogatepass")


def _state(blob: bytes | None, length: int | None) -> bytes | None:
    return None if blob is None or length is None else unpadded(blob, length)


def _sessions(
    conn: sqlite3.Connection, now: float, mono: float, deadlines: dict[str, float]
) -> dict[str, SessionState]:
    sessions: dict[str, SessionState] = {}
    for code, t_id, t_hash, title, mode, status, created, updated, seq, expires in conn.execute(
        SELECT_SESSIONS
    ):
        record = SessionRecord(code, t_id, t_hash, title, mode, status, created, updated)
        sessions[code] = SessionState(record=record, expires=mono + (expires - now), seq=seq)
        deadlines[code] = expires
    return sessions


def _cells(conn: sqlite3.Connection, sessions: dict[str, SessionState]) -> int:
    count = 0
    for row in conn.execute(SELECT_CELLS):
        code, cell_id, seq, cell_type, meta, allowed, idx, updated, n_src, n_state, src, state = row
        s = sessions.get(code)
        if s is None:
            continue  # a row without its session (never written so; ignored, swept with it)
        s.cells[cell_id] = CellRecord(
            cell_id, seq, _text(src, n_src), cell_type, freeze(json.loads(meta)),
            _state(state, n_state),
            bool(allowed), idx, updated,
        )  # fmt: skip
        s.seq = max(s.seq, seq)
        count += 1
    for code, cell_id, data in conn.execute(SELECT_OUTPUTS):
        s = sessions.get(code)
        record = s.cells.get(cell_id) if s is not None else None
        if record is not None:
            record.outputs = freeze(json.loads(data))
    return count


def _students(conn: sqlite3.Connection, sessions: dict[str, SessionState]) -> tuple[int, int]:
    students = pulls = 0
    for code, student_id, identity, name, joined in conn.execute(SELECT_STUDENTS):
        s = sessions.get(code)
        if s is not None:
            s.students[student_id] = StudentRecord(student_id, identity, name, joined)
            students += 1
    for code, student_id, cell_id, seq, n_src, n_state, src, state in conn.execute(SELECT_PULLS):
        s = sessions.get(code)
        st = s.students.get(student_id) if s is not None else None
        if st is not None:
            st.pulled[cell_id] = PulledCell(seq, _text(src, n_src), _state(state, n_state))
            pulls += 1
    return students, pulls


def _help(conn: sqlite3.Connection, sessions: dict[str, SessionState]) -> None:
    """Help requests and pull marks (schema 2), of students the file has."""
    for code, student_id, cell_id, data in conn.execute(SELECT_HELP):
        s = sessions.get(code)
        if s is not None and student_id in s.students:
            s.help[(student_id, cell_id)] = HelpRequest.from_json(json.loads(data))
    for code, student_id, cell_id, status, seq, at in conn.execute(SELECT_MARKS):
        s = sessions.get(code)
        st = s.students.get(student_id) if s is not None else None
        if st is not None and status in ("conflict", "kept"):
            st.marks[cell_id] = PullMark(status, int(seq), float(at))


def load(conn: sqlite3.Connection) -> tuple[dict[str, SessionState], Loaded]:
    """Every live session of the file, as the embedded store keeps them."""
    now, mono = time.time(), time.monotonic()
    expired = sweep_expired(conn, now)
    conn.execute("BEGIN")  # one read transaction: a consistent picture
    try:
        deadlines: dict[str, float] = {}
        sessions = _sessions(conn, now, mono, deadlines)
        cells = _cells(conn, sessions)
        students, pulls = _students(conn, sessions)
        _help(conn, sessions)
    finally:
        conn.execute("COMMIT")
    info = Loaded(len(sessions), cells, students, pulls, expired, deadlines)
    return sessions, info
