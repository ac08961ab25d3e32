"""The store file: its tables, how a new one is made, and the checks before one is used.

A new file is made beside its final name and linked into place once complete, so a crash never
leaves a half-made store. An existing file is used only if it is a notebook-sync store
(``application_id``), of a schema this version reads (``user_version``) and passes SQLite's
``quick_check``; otherwise :class:`StoreFileError` says why, and the file is left as it is: the
store never deletes, truncates or rewrites a file it could not open.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)

APPLICATION_ID = 0x4E425359  # "NBSY", in the SQLite header: a notebook-sync store
# 2: the help and marks tables; 3: the outputs table (an older file gets them when opened)
SCHEMA_VERSION = 3
WAL_SIZE_LIMIT = 64 * 1024 * 1024  # the WAL file is truncated to this after a checkpoint
BUSY_TIMEOUT_MS = 200  # only this process writes (the lock file); a wait is a short checkpoint

# Each session's rows are found by their code (the first column of every primary key). Times are
# wall-clock seconds (time.time()); ``sessions.expires`` is when the session's data is deleted.
# ``sessions.seq`` is the last seq a removal used: a session's seq is the largest of it and its
# cells' seqs (a push writes only its cell row). Sources (UTF-8) and CRDT states are stored padded
# (``journal.padded``; ``*_len`` is the true length, a NULL state_len a missing state): a typing
# edit then keeps the row's size, and SQLite rewrites in place only the pages that changed.
TABLES = (
    """CREATE TABLE sessions (
        code TEXT PRIMARY KEY,
        teacher_identity TEXT NOT NULL,
        teacher_key_hash TEXT NOT NULL,
        title TEXT NOT NULL,
        mode TEXT NOT NULL,
        status TEXT NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        seq INTEGER NOT NULL,
        expires REAL NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE cells (
        code TEXT NOT NULL,
        cell_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        cell_type TEXT NOT NULL,
        metadata TEXT NOT NULL,
        sync_allowed INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        updated REAL NOT NULL,
        source_len INTEGER NOT NULL,
        state_len INTEGER,
        source BLOB NOT NULL,
        crdt_state BLOB,
        PRIMARY KEY (code, cell_id)
    )""",
    """CREATE TABLE students (
        code TEXT NOT NULL,
        student_id TEXT NOT NULL,
        identity TEXT NOT NULL,
        name TEXT NOT NULL,
        joined REAL NOT NULL,
        PRIMARY KEY (code, student_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE pulls (
        code TEXT NOT NULL,
        student_id TEXT NOT NULL,
        cell_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        source_len INTEGER NOT NULL,
        state_len INTEGER,
        base_source BLOB NOT NULL,
        base_state BLOB,
        PRIMARY KEY (code, student_id, cell_id)
    ) WITHOUT ROWID""",
)
# Schema 2: help requests (the record as JSON, ``HelpRequest.to_json``) and pull marks, keyed
# by (code, student, cell); schema 3: the shared outputs of a cell (nbformat JSON; no row: not
# shared). ``IF NOT EXISTS``: also what upgrades a file of schema 1 or 2.
TABLES_2 = (
    """CREATE TABLE IF NOT EXISTS help (
        code TEXT NOT NULL,
        student_id TEXT NOT NULL,
        cell_id TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (code, student_id, cell_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS marks (
        code TEXT NOT NULL,
        student_id TEXT NOT NULL,
        cell_id TEXT NOT NULL,
        status TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (code, student_id, cell_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS outputs (
        code TEXT NOT NULL,
        cell_id TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (code, cell_id)
    )""",
)
# everything of one session (children first)
DELETE_SESSION = (
    "DELETE FROM outputs WHERE code = ?",
    "DELETE FROM help WHERE code = ?",
    "DELETE FROM marks WHERE code = ?",
    "DELETE FROM pulls WHERE code = ?",
    "DELETE FROM students WHERE code = ?",
    "DELETE FROM cells WHERE code = ?",
    "DELETE FROM sessions WHERE code = ?",
)
SET_HEADER = (
    "PRAGMA application_id = 1312969561",  # APPLICATION_ID (a PRAGMA takes no parameter)
    "PRAGMA user_version = 3",  # SCHEMA_VERSION
)


PAD_FROM = 2048  # values this large are padded: a row of a page or less is written whole anyway
PAD_TO = 1024  # to a multiple of this many bytes


def padded(data: bytes) -> bytes:
    """``data`` with zero bytes up to the next multiple of ``PAD_TO`` (from ``PAD_FROM``)."""
    if len(data) < PAD_FROM:
        return data
    return data + bytes(-len(data) % PAD_TO)


def unpadded(blob: bytes, length: int) -> bytes:
    return blob if len(blob) == length else blob[:length]


class StoreFileError(Exception):
    """The store file cannot be used: in use by another server, unreadable, damaged or not a
    notebook-sync store. The message says which and names the file; the file is left alone."""


def fsync_dir(path: Path) -> None:
    """Make a new directory entry in ``path`` durable (a no-op where directories cannot be
    opened, as on Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        log.debug("sqlite store: no fsync of the directory %s: %s", path, exc)
        return
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems refuse fsync on a directory
        log.debug("sqlite store: no fsync of the directory %s: %s", path, exc)
    finally:
        os.close(fd)


def create(path: Path) -> None:
    """Make a new, empty store at ``path`` (which must not exist)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # a leftover of this same step interrupted earlier: never the store itself
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        for statement in SET_HEADER:
            conn.execute(statement)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN")
        for table in (*TABLES, *TABLES_2):
            conn.execute(table)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()  # the last connection: the WAL is checkpointed and removed
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if a file appeared at ``path`` meanwhile: it is never replaced
    finally:
        tmp.unlink()
    fsync_dir(path.parent)


def _check(conn: sqlite3.Connection, path: Path) -> None:
    (app_id,) = conn.execute("PRAGMA application_id").fetchone()
    if app_id != APPLICATION_ID:
        raise StoreFileError(
            f"{path} is not a notebook-sync store (SQLite application_id {app_id:#x}, expected "
            f"{APPLICATION_ID:#x}): another program's database, or a damaged file"
        )
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise StoreFileError(
            f"{path} was written by a newer notebook-sync (schema {version}; this version reads "
            f"schema {SCHEMA_VERSION})"
        )
    problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check(5)")]
    if problems != ["ok"]:
        raise StoreFileError(f"{path} is damaged (SQLite quick_check: {'; '.join(problems)})")


def _upgrade(conn: sqlite3.Connection) -> None:
    """A checked file of an older schema brought to this one (one transaction)."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version >= SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for table in TABLES_2:
            conn.execute(table)
        conn.execute(f"PRAGMA user_version = {int(SCHEMA_VERSION)}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def connect(path: Path) -> sqlite3.Connection:
    """A connection to an existing file (never creating one), with no statement run yet."""
    uri = "file:" + quote(str(path)) + "?mode=rw"
    return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)


def open_store(path: Path) -> sqlite3.Connection:
    """The connection the store writes through: the file made if missing, checked if not.

    WAL journal, ``synchronous=NORMAL`` (a commit is in the operating system's hands when it
    returns; ``FULL`` durability is an fsync of the WAL before the answer, ``durability.py``), no
    automatic checkpoints (they run off the event loop, ``store.py``).
    """
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            create(path)
        except (OSError, sqlite3.Error) as exc:
            raise StoreFileError(f"cannot create the store file {path}: {exc}") from exc
    elif path.stat().st_size == 0:
        raise StoreFileError(f"{path} is empty (0 bytes): not a notebook-sync store")
    try:
        conn = connect(path)
    except sqlite3.Error as exc:
        raise StoreFileError(f"cannot open the store file {path}: {exc}") from exc
    try:
        _check(conn, path)
        (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        if str(mode).lower() != "wal":
            raise StoreFileError(f"{path}: SQLite refused the WAL journal (journal_mode {mode})")
        _upgrade(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.execute(f"PRAGMA journal_size_limit = {int(WAL_SIZE_LIMIT)}")
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_MS)}")
    except sqlite3.Error as exc:
        conn.close()
        raise StoreFileError(f"{path} cannot be used as a store: {exc}") from exc
    except StoreFileError:
        conn.close()
        raise
    return conn
