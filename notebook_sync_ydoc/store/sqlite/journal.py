"""The SQLite store's journal: every change of the embedded store's state as one short
transaction on the store file, committed before the change is made in memory and answered.

A transaction is a few statements on one row or two, run on the event loop: with the WAL journal
and ``synchronous=NORMAL`` a commit is a ``write()`` into the operating system's cache, tens of
microseconds for a small cell (``WriteTimes`` measures every one; ``status`` shows them). A
failed transaction is rolled back and answers :class:`~..base.StoreUnavailable`; the state in
memory is untouched (the embedded store journals first), so nothing half done is seen or kept.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..base import (
    CellRecord,
    HelpRequest,
    PulledCell,
    PullMark,
    SessionRecord,
    StoreUnavailable,
    StudentRecord,
)
from ..journal import Journal, SessionState
from .durability import WalFlusher
from .schema import DELETE_SESSION, padded

log = logging.getLogger(__name__)

# A session's stored deadline is rewritten only when it moved by more than this (or 1% of the
# lifetime, if less): after a restart a session may expire up to this much earlier than it would
# have, and a burst of pulls does not rewrite the session row each time.
EXPIRY_SLACK_S = 60.0
DAMAGED = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB: the file itself is damaged

INSERT_SESSION = (
    "INSERT INTO sessions (code, teacher_identity, teacher_key_hash, title, mode, status, "
    "created, updated, seq, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
UPDATE_SESSION = "UPDATE sessions SET status = ?, updated = ?, expires = ? WHERE code = ?"
UPDATE_EXPIRES = "UPDATE sessions SET expires = ? WHERE code = ?"
UPDATE_SEQ = "UPDATE sessions SET seq = ?, expires = ? WHERE code = ?"
UPSERT_CELL = (
    "INSERT INTO cells (code, cell_id, seq, cell_type, metadata, sync_allowed, idx, updated, "
    "source_len, state_len, source, crdt_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (code, cell_id) DO UPDATE SET seq = excluded.seq, "
    "cell_type = excluded.cell_type, metadata = excluded.metadata, "
    "sync_allowed = excluded.sync_allowed, idx = excluded.idx, updated = excluded.updated, "
    "source_len = excluded.source_len, state_len = excluded.state_len, "
    "source = excluded.source, crdt_state = excluded.crdt_state"
)
UPDATE_ALLOWED = "UPDATE cells SET sync_allowed = ? WHERE code = ? AND cell_id = ?"
DELETE_CELL = "DELETE FROM cells WHERE code = ? AND cell_id = ?"
UPSERT_OUTPUTS = (
    "INSERT INTO outputs (code, cell_id, data) VALUES (?, ?, ?) "
    "ON CONFLICT (code, cell_id) DO UPDATE SET data = excluded.data"
)
DELETE_OUTPUTS = "DELETE FROM outputs WHERE code = ? AND cell_id = ?"
UPDATE_INDEX = "UPDATE cells SET idx = ? WHERE code = ? AND cell_id = ?"
# a cell's new id (move_cell): every table keyed by (code, ..., cell_id)
RENAME_CELL = (
    "UPDATE cells SET cell_id = ? WHERE code = ? AND cell_id = ?",
    "UPDATE outputs SET cell_id = ? WHERE code = ? AND cell_id = ?",
    "UPDATE pulls SET cell_id = ? WHERE code = ? AND cell_id = ?",
    "UPDATE marks SET cell_id = ? WHERE code = ? AND cell_id = ?",
)
# the request's JSON names its cell too (``HelpRequest.to_json``: cid)
RENAME_HELP = (
    "UPDATE help SET cell_id = ?, data = json_set(data, '$.cid', ?) WHERE code = ? AND cell_id = ?"
)
INSERT_STUDENT = (
    "INSERT OR REPLACE INTO students (code, student_id, identity, name, joined) "
    "VALUES (?, ?, ?, ?, ?)"
)
UPDATE_STUDENT = (
    "UPDATE students SET identity = ?, name = ?, joined = ? WHERE code = ? AND student_id = ?"
)
UPSERT_PULL = (
    "INSERT INTO pulls (code, student_id, cell_id, seq, source_len, state_len, base_source, "
    "base_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code, student_id, cell_id) "
    "DO UPDATE SET seq = excluded.seq, source_len = excluded.source_len, "
    "state_len = excluded.state_len, base_source = excluded.base_source, "
    "base_state = excluded.base_state"
)

UPSERT_HELP = (
    "INSERT INTO help (code, student_id, cell_id, data) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (code, student_id, cell_id) DO UPDATE SET data = excluded.data"
)
DELETE_HELP = "DELETE FROM help WHERE code = ? AND student_id = ? AND cell_id = ?"
UPSERT_MARK = (
    "INSERT INTO marks (code, student_id, cell_id, status, seq, at) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (code, student_id, cell_id) DO UPDATE SET status = excluded.status, "
    "seq = excluded.seq, at = excluded.at"
)


def _text_and_state(
    source: str, state: bytes | None
) -> tuple[int, int | None, bytes, bytes | None]:
    """A source and a CRDT state as stored: their lengths, then both padded."""
    data = source.encode("utf-8", "surrogatepass")
    if state is None:
        return len(data), None, padded(data), None
    return len(data), len(state), padded(data), padded(state)


def _pull_row(code: str, student_id: str, cell_id: str, p: PulledCell) -> tuple[Any, ...]:
    return (code, student_id, cell_id, p.seq, *_text_and_state(p.base_source, p.base_state))


class WriteTimes:
    """How long each transaction held the event loop: the last 1024, and the longest ever."""

    def __init__(self) -> None:
        self.count = 0
        self.longest = 0.0
        self._recent: deque[float] = deque(maxlen=1024)

    def add(self, seconds: float) -> None:
        self.count += 1
        self.longest = max(self.longest, seconds)
        self._recent.append(seconds)

    def summary(self) -> dict[str, Any]:
        recent = sorted(self._recent)

        def ms(q: float) -> float | None:
            return (
                round(recent[min(len(recent) - 1, int(q * len(recent)))] * 1e3, 3)
                if recent
                else None
            )

        return {
            "writes": self.count,
            "write_ms_p50": ms(0.5),
            "write_ms_p99": ms(0.99),
            "write_ms_max": round(self.longest * 1e3, 3),
        }


Statement = tuple[str, tuple[Any, ...]]


def _deletes(codes: list[str]) -> list[Statement]:
    """Every row of these sessions."""
    return [(sql, (code,)) for code in codes for sql in DELETE_SESSION]


def _wall(expires: float) -> tuple[float, float]:
    """A monotonic deadline as wall-clock time, and the wall-clock time now."""
    now = time.time()
    return now + (expires - time.monotonic()), now


class SQLiteJournal(Journal):
    """Writes the embedded store's changes to the store file (see the module docstring)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        deadlines: dict[str, float],
        on_damage: Callable[[str], None],
    ) -> None:
        self.conn = conn
        self.path = path
        self.commits = 0
        self.times = WriteTimes()
        self.last_error: str | None = None  # the last write failed (cleared by a success)
        self.damaged: str | None = None  # the file is damaged: no more writes
        self._deadlines = deadlines  # code -> the wall-clock deadline as stored
        self._on_damage = on_damage
        self.flusher: WalFlusher | None = None  # synchronous=FULL: set by the store

    # transactions ----------------------------------------------------------------------------
    def _run(self, statements: list[Statement]) -> None:
        """One transaction: a single statement is its own (SQLite's autocommit), more are
        wrapped in BEGIN ... COMMIT. Raises StoreUnavailable, having rolled back."""
        if self.damaged is not None:
            raise StoreUnavailable(self.damaged)
        conn = self.conn
        started = time.perf_counter()
        try:
            if len(statements) == 1:
                conn.execute(*statements[0])
            else:
                conn.execute("BEGIN")
                for sql, params in statements:
                    conn.execute(sql, params)
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise self._failed(exc) from exc
        except BaseException:
            self._rollback()
            raise
        finally:
            self.times.add(time.perf_counter() - started)
        self.commits += 1
        self.last_error = None

    def _run_refreshing(self, code: str, expires: float, statements: list[Statement]) -> None:
        """``statements`` and, unless the stored deadline is at most a little earlier than the
        new one, the session's new deadline, in one transaction."""
        wall, now = _wall(expires)
        stored = self._deadlines.get(code)
        if stored is not None and 0.0 <= wall - stored <= min(EXPIRY_SLACK_S, 0.01 * (wall - now)):
            self._run(statements)
            return
        self._run([*statements, (UPDATE_EXPIRES, (wall, code))])
        self._deadlines[code] = wall

    def _rollback(self) -> None:
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.warning("sqlite store: rollback failed: %s", exc)

    def _failed(self, exc: sqlite3.Error) -> StoreUnavailable:
        self._deadlines.clear()  # not known what was stored: write each deadline again
        if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in DAMAGED:
            self.damaged = f"the store file {self.path} is damaged: {exc}"
            self._on_damage(self.damaged)
            return StoreUnavailable(self.damaged)
        self.last_error = f"could not write the store file {self.path}: {exc}"
        return StoreUnavailable(self.last_error)

    # the journal -----------------------------------------------------------------------------
    def create_session(self, state: SessionState) -> None:
        r = state.record
        wall, _now = _wall(state.expires)
        row = (r.code, r.teacher_identity, r.teacher_key_hash, r.title, r.mode, r.status,
               r.created, r.updated, state.seq, wall)  # fmt: skip
        # first what is left of an expired session of that code
        self._run([*_deletes([r.code]), (INSERT_SESSION, row)])
        self._deadlines[r.code] = wall

    def update_session(self, record: SessionRecord, expires: float) -> None:
        wall, _now = _wall(expires)
        self._run([(UPDATE_SESSION, (record.status, record.updated, wall, record.code))])
        self._deadlines[record.code] = wall

    def write_cell(
        self, code: str, record: CellRecord, expires: float, outputs_changed: bool = True
    ) -> None:
        r = record
        meta = json.dumps(r.metadata, separators=(",", ":")) if r.metadata else "{}"
        row = (code, r.cell_id, r.seq, r.cell_type, meta, int(r.sync_allowed), r.index,
               r.updated, *_text_and_state(r.source, r.crdt_state))  # fmt: skip
        statements: list[Statement] = [(UPSERT_CELL, row)]
        if outputs_changed:  # a push that keeps the outputs does not rewrite them
            statements.append(
                (DELETE_OUTPUTS, (code, r.cell_id))
                if r.outputs is None
                else (
                    UPSERT_OUTPUTS,
                    (code, r.cell_id, json.dumps(r.outputs, separators=(",", ":"))),
                )
            )
        self._run_refreshing(code, expires, statements)

    def set_sync_allowed(self, code: str, cell_id: str, allowed: bool, expires: float) -> None:
        self._run_refreshing(code, expires, [(UPDATE_ALLOWED, (int(allowed), code, cell_id))])

    def reorder_cells(self, code: str, indexes: dict[str, int], expires: float) -> None:
        rows: list[Statement] = [(UPDATE_INDEX, (i, code, c)) for c, i in indexes.items()]
        self._run_refreshing(code, expires, rows)

    def move_cell(self, code: str, from_id: str, to_id: str, expires: float) -> None:
        rows: list[Statement] = [(sql, (to_id, code, from_id)) for sql in RENAME_CELL]
        rows.append((RENAME_HELP, (to_id, to_id, code, from_id)))
        self._run_refreshing(code, expires, rows)

    def remove_cell(self, code: str, cell_id: str, seq: int, expires: float) -> None:
        wall, _now = _wall(expires)
        self._run(
            [
                (DELETE_CELL, (code, cell_id)),
                (DELETE_OUTPUTS, (code, cell_id)),
                (UPDATE_SEQ, (seq, wall, code)),
            ]
        )
        self._deadlines[code] = wall

    def put_student(self, code: str, student: StudentRecord, new: bool, expires: float) -> None:
        st = student
        if new:
            statements: list[Statement] = [
                (INSERT_STUDENT, (code, st.student_id, st.identity, st.name, st.joined))
            ]
            statements += [
                (UPSERT_PULL, _pull_row(code, st.student_id, cid, p))
                for cid, p in st.pulled.items()
            ]
        else:
            statements = [(UPDATE_STUDENT, (st.identity, st.name, st.joined, code, st.student_id))]
        self._run_refreshing(code, expires, statements)

    def record_pull(
        self, code: str, student_id: str, cell_id: str, pulled: PulledCell, expires: float
    ) -> None:
        self._run_refreshing(
            code, expires, [(UPSERT_PULL, _pull_row(code, student_id, cell_id, pulled))]
        )

    def mark_pull(
        self, code: str, student_id: str, cell_id: str, mark: PullMark, expires: float
    ) -> None:
        row = (code, student_id, cell_id, mark.status, mark.seq, mark.at)
        self._run_refreshing(code, expires, [(UPSERT_MARK, row)])

    def put_help(self, code: str, request: HelpRequest, expires: float) -> None:
        data = json.dumps(request.to_json(), separators=(",", ":"), ensure_ascii=False)
        row = (code, request.student_id, request.cell_id, data)
        self._run_refreshing(code, expires, [(UPSERT_HELP, row)])

    def delete_help(self, code: str, student_id: str, cell_id: str, expires: float) -> None:
        self._run_refreshing(code, expires, [(DELETE_HELP, (code, student_id, cell_id))])

    def drop_sessions(self, codes: list[str]) -> None:
        try:
            self._run(_deletes(codes))
        except StoreUnavailable as exc:
            # gone from memory all the same; the next start deletes the expired rows
            log.warning("sqlite store: expired sessions not deleted from the file yet: %s", exc)
        for code in codes:
            self._deadlines.pop(code, None)

    @property
    def flushes(self) -> int | None:
        return self.flusher.flushes if self.flusher is not None else None

    def close(self) -> None:
        """Close the file (in the file's thread; the last connection checkpoints the WAL)."""
        if self.flusher is not None:
            self.flusher.close()
        try:
            self.conn.close()
        except sqlite3.Error as exc:  # what was committed is in the file (WAL) all the same
            log.warning("notebook-sync: closing the store file failed: %s", exc)

    async def durable(self) -> None:
        if self.flusher is not None:
            await self.flusher.flush(self.commits)
