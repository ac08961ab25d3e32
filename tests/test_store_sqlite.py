"""The SQLite store against the store contract, plus its own behaviour in one process: the file
survives a reopen, one file one store, damaged files. (Real server processes, kill -9 and
restarts: test_durability.py.)"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from store_contract import MakeStore, Recorder, StoreContract, new_code, session, wait_until

from notebook_sync_ydoc.store.base import (
    CellWrite,
    PulledCell,
    SessionGone,
    Store,
    StoreTTL,
    StoreUnavailable,
    StudentRecord,
)
from notebook_sync_ydoc.store.sqlite import SQLiteStore


class TestSQLiteStoreContract(StoreContract):
    kind = "sqlite"

    @pytest.fixture
    async def make_store(self, tmp_path: Path) -> AsyncIterator[MakeStore]:
        made: list[Store] = []

        async def make(ttl: StoreTTL | None = None) -> Store:
            path = tmp_path / f"store{len(made)}.sqlite"
            store = SQLiteStore(path, server_id="sqlite-test", ttl=ttl, sweep_interval=0.05)
            await store.start()
            made.append(store)
            return store

        yield make
        for store in made:
            await store.stop()


class TestSQLiteStoreFullContract(TestSQLiteStoreContract):
    """The same contract with synchronous=FULL (every answer waits for a WAL flush)."""

    @pytest.fixture
    async def make_store(self, tmp_path: Path) -> AsyncIterator[MakeStore]:
        made: list[Store] = []

        async def make(ttl: StoreTTL | None = None) -> Store:
            path = tmp_path / f"full{len(made)}.sqlite"
            store = SQLiteStore(path, ttl=ttl, synchronous="FULL", sweep_interval=0.05)
            await store.start()
            made.append(store)
            return store

        yield make
        for store in made:
            await store.stop()


# ---------------------------------------------------------------------------------------------
# SQLite-only behaviour
# ---------------------------------------------------------------------------------------------


async def opened(stores: list[SQLiteStore], path: Path, **kw: Any) -> SQLiteStore:
    store = SQLiteStore(path, **kw)
    stores.append(store)
    await store.start()
    return store


async def test_everything_survives_a_reopen(tmp_path: Path, stores: list[SQLiteStore]) -> None:
    path = tmp_path / "store.sqlite"
    state = bytes(range(256)) * 3
    store = await opened(stores, path)
    code, ended = new_code(), new_code()
    assert await store.create_session(session(code, title="Algebra"))
    assert await store.create_session(session(ended))
    meta = {"tags": ["x"], "ü": {"n": [1, None]}}
    await store.write_cell(code, CellWrite("a", "x = 1\n", "code", meta, state, None, 2), None)
    await store.write_cell(code, CellWrite("b", "# T", "markdown", sync_allowed=False), None)
    await store.write_cell(code, CellWrite("gone", "bye"), None)
    await store.write_cell(code, CellWrite("a", "x = 2\n", crdt_state=state + b"!"), 1)
    await store.set_sync_allowed(code, "b", True)
    await store.put_student(code, StudentRecord("s1", "ann", "Ann", joined=5.0))
    await store.put_student(
        code, StudentRecord("s2", "bob", "Bob", 6.0, pulled={"a": PulledCell(1, "x = 1\n")})
    )
    await store.record_pull(code, "s1", "a", PulledCell(4, "x = 2\n", state + b"!"))
    await store.put_student(code, StudentRecord("s1", "ann2", "Ann B", joined=7.0))
    await store.set_presence(code, "s1", "conn", True)
    await store.touch_session(code, 1234.5)
    assert await store.remove_cell(code, "gone") == 5  # the last seq: a removal
    await store.end_session(ended, 99.0)
    before = (
        await store.get_session(code),
        await store.list_cells(code),
        await store.get_cell(code, "a"),
        await store.get_cell(code, "b"),
        await store.get_session(ended),
        await store.get_cell(ended, "a"),
    )
    students = await store.list_students(code)
    await store.stop()

    again = await opened(stores, path)
    after = (
        await again.get_session(code),
        await again.list_cells(code),
        await again.get_cell(code, "a"),
        await again.get_cell(code, "b"),
        await again.get_session(ended),
        await again.get_cell(ended, "a"),
    )
    assert after == before
    # presence is not kept (nobody is connected to a server that just started)
    assert await again.list_students(code) == [replace(s, online=False) for s in students]
    got = await again.get_student(code, "s1")
    assert got is not None and (got.identity, got.name, got.joined) == ("ann2", "Ann B", 7.0)
    assert got.pulled == {"a": PulledCell(4, "x = 2\n", state + b"!")}
    # the session's seq goes on from the removal's, and an ended session stays closed
    assert (await again.write_cell(code, CellWrite("c", "new"), expect_seq=0)).seq == 6
    with pytest.raises(SessionGone):
        await again.write_cell(ended, CellWrite("a", "x"), None)
    health = await again.health()
    assert health["ok"] is True and health["loaded"]["sessions"] == 2
    assert health["loaded"]["students"] == 2 and health["loaded"]["pulls"] == 2


async def test_lifetimes_are_kept_across_a_restart(
    tmp_path: Path, stores: list[SQLiteStore]
) -> None:
    """A session's deadline is not reset by a restart; one that passed meanwhile is deleted."""
    path = tmp_path / "store.sqlite"
    ttl = StoreTTL(active=1.5, ended=0.5)
    store = await opened(stores, path, ttl=ttl)
    short, long = new_code(), new_code()
    assert await store.create_session(session(short))
    assert await store.create_session(session(long))
    await store.write_cell(short, CellWrite("a", "x"), None)
    await store.end_session(short, 1.0)  # 0.5 s left
    await store.stop()
    stopped = time.monotonic()
    # the server is down until the short lifetime has passed (waiting for time itself)
    await wait_until(lambda: time.monotonic() - stopped > 0.6, what="0.6 s to pass")

    again = await opened(stores, path, ttl=ttl)
    assert (await again.health())["loaded"]["expired"] == 1
    assert await again.get_session(short) is None
    assert await again.get_cell(short, "a") is None
    assert await again.get_session(long) is not None
    # the long one expires 1.5 s after it was last active, not 1.5 s after the restart
    took = await wait_until(lambda: _is_none(again.get_session(long)), timeout=5, what="expiry")
    assert took < 1.4
    # and the file forgets it too
    await again.stop()
    third = await opened(stores, path, ttl=ttl)
    assert (await third.health())["loaded"]["sessions"] == 0


async def _is_none(value: Awaitable[object]) -> bool:
    return (await value) is None


async def test_one_file_one_store(tmp_path: Path, stores: list[SQLiteStore]) -> None:
    path = tmp_path / "store.sqlite"
    first = await opened(stores, path)
    code = new_code()
    assert await first.create_session(session(code))
    second = await opened(stores, path, retry_interval=0.1)
    health = await second.health()
    assert health["ok"] is False
    assert "in use by another Jupyter server" in health["error"]
    assert f"pid {os.getpid()}" in health["error"]
    for attempt in (second.get_session(code), second.create_session(session(new_code()))):
        with pytest.raises(StoreUnavailable, match="in use"):
            await attempt
    # the first is unaffected; once it stops, the second takes the file over, with its data
    await first.write_cell(code, CellWrite("a", "x"), None)
    await first.stop()
    await wait_until(lambda: _healthy(second), timeout=5, what="the second store to take over")
    cell = await second.get_cell(code, "a")
    assert cell is not None and cell.source == "x"


async def _healthy(store: Store) -> bool:
    return bool((await store.health())["ok"])


def _other_sqlite_db(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()


async def _a_real_store_file(path: Path) -> None:
    store = SQLiteStore(path)
    await store.start()
    code = new_code()
    assert await store.create_session(session(code))
    for i in range(50):
        await store.write_cell(code, CellWrite(f"c{i}", f"cell {i}\n" * 200), None)
    await store.stop()


@pytest.mark.parametrize(
    "damage,why",
    [
        ("garbage", "not a database"),
        ("truncated", "malformed"),
        ("header only", "malformed"),
        ("empty", "empty (0 bytes)"),
        ("another program's database", "not a notebook-sync store"),
        ("a directory", "cannot open"),
    ],
)
async def test_a_damaged_file_is_reported_and_left_alone(
    tmp_path: Path,
    stores: list[SQLiteStore],
    caplog: pytest.LogCaptureFixture,
    damage: str,
    why: str,
) -> None:
    path = tmp_path / "store.sqlite"
    await _a_real_store_file(path)
    good = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(random.Random(1).randbytes(len(good)))
    elif damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "header only":
        path.write_bytes(good[:4096])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "another program's database":
        path.unlink()
        _other_sqlite_db(path)
    else:
        path.unlink()
        path.mkdir()
    before = sorted(os.listdir(tmp_path))
    content = path.read_bytes() if path.is_file() else None
    caplog.set_level(logging.ERROR)
    store = await opened(stores, path, retry_interval=0.05)
    health = await store.health()
    assert health["ok"] is False and why in health["error"] and str(path) in health["error"]
    with pytest.raises(StoreUnavailable, match=why.split(" ")[0]):
        await store.create_session(session(new_code()))
    with pytest.raises(StoreUnavailable):
        await store.get_session("ANY")
    # retried (quietly: one log line for one reason), and never written, truncated or deleted
    retries = store._lock  # the lock is taken and released at each attempt
    await wait_until(lambda: not retries.held, what="an attempt to end")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "cannot be used" in errors[0].getMessage()
    await store.stop()
    assert (path.read_bytes() if path.is_file() else None) == content
    lock = path.name + ".lock"
    assert sorted(n for n in os.listdir(tmp_path) if n != lock) == [n for n in before if n != lock]


async def test_a_failed_write_changes_nothing(tmp_path: Path, stores: list[SQLiteStore]) -> None:
    """A transaction SQLite refuses (here a trigger, as a full disk would) answers
    StoreUnavailable and leaves memory, file and events as they were."""
    path = tmp_path / "store.sqlite"
    store = await opened(stores, path)
    rec = Recorder().attach(store)
    code = new_code()
    assert await store.create_session(session(code))
    await store.subscribe(code)
    await store.write_cell(code, CellWrite("a", "v1"), None)
    await store.put_student(code, StudentRecord("s1", "u", "U"))
    await wait_until(lambda: len(rec.events) == 1, what="the first event")
    other = sqlite3.connect(path)
    for table in ("cells", "pulls"):
        other.execute(
            f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full (test)'); END"
        )
        other.execute(
            f"CREATE TRIGGER refuse_upd_{table} BEFORE UPDATE ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full (test)'); END"
        )
    other.commit()
    with pytest.raises(StoreUnavailable, match="disk is full"):
        await store.write_cell(code, CellWrite("a", "v2"), None)
    with pytest.raises(StoreUnavailable):
        await store.write_cell(code, CellWrite("b", "new"), None)
    with pytest.raises(StoreUnavailable):
        await store.record_pull(code, "s1", "a", PulledCell(1, "v1"))
    health = await store.health()
    assert health["ok"] is False and "disk is full" in health["error"]
    cell = await store.get_cell(code, "a")
    assert cell is not None and (cell.source, cell.seq) == ("v1", 1)
    assert await store.get_cell(code, "b") is None
    student = await store.get_student(code, "s1")
    assert student is not None and student.pulled == {}
    for table in ("cells", "pulls"):
        other.execute(f"DROP TRIGGER refuse_{table}")
        other.execute(f"DROP TRIGGER refuse_upd_{table}")
    other.commit()
    other.close()
    # the next write works, takes the next seq, and is the only other event
    assert (await store.write_cell(code, CellWrite("a", "v2"), None)).seq == 2
    assert (await store.health())["ok"] is True
    await wait_until(lambda: len(rec.events) == 2, what="the second event")
    assert [e.seq for e in rec.events] == [1, 2]
    await store.stop()
    again = await opened(stores, path)
    cell = await again.get_cell(code, "a")
    assert cell is not None and (cell.source, cell.seq) == ("v2", 2)


async def test_full_shares_flushes_between_concurrent_writes(
    tmp_path: Path, stores: list[SQLiteStore], figures: dict[str, float]
) -> None:
    store = await opened(stores, tmp_path / "store.sqlite", synchronous="FULL")
    code = new_code()
    assert await store.create_session(session(code))
    await store.put_student(code, StudentRecord("s1", "u", "U"))
    flushes = (await store.health())["flushes"]
    n = 200
    started = time.perf_counter()
    await asyncio.gather(
        *(store.record_pull(code, "s1", f"c{i}", PulledCell(i, "x" * 100)) for i in range(n))
    )
    took = time.perf_counter() - started
    health = await store.health()
    shared = health["flushes"] - flushes
    assert 1 <= shared < n / 4, f"{shared} flushes for {n} writes"
    figures["FULL: flushes for 200 concurrent pulls"] = shared
    figures["FULL: ms per pull, 200 concurrent"] = took / n * 1e3


async def test_checkpoints_run_off_the_loop_and_bound_the_wal(
    tmp_path: Path, stores: list[SQLiteStore], figures: dict[str, float]
) -> None:
    """Big pushes: the WAL is checkpointed in the store's thread; every transaction on the
    event loop stays short."""
    path = tmp_path / "store.sqlite"
    store = await opened(stores, path, checkpoint_interval=0.05, checkpoint_bytes=4 << 20)
    code = new_code()
    assert await store.create_session(session(code))
    rng = random.Random(2)
    for i in range(120):  # 12 MB of cell states, each new
        state = rng.randbytes(100_000)
        await store.write_cell(code, CellWrite(f"c{i % 10}", "y\n" * 5000, crdt_state=state), None)
    await wait_until(lambda: _checkpointed(store), timeout=10, what="a checkpoint of the grown WAL")
    health = await store.health()
    figures["100 KB state + 10 KB source push: transaction ms p50"] = health["write_ms_p50"]
    figures["... p99"] = health["write_ms_p99"]
    figures["... max"] = health["write_ms_max"]
    assert health["write_ms_max"] < 100, health
    # the WAL is reused from its start after a checkpoint: it does not grow with every push
    for i in range(60):
        state = rng.randbytes(100_000)
        await store.write_cell(code, CellWrite(f"c{i % 10}", "z\n" * 5000, crdt_state=state), None)
        await asyncio.sleep(0.01)  # pacing of the pushes (a class does not push 60 in a row)
    assert os.stat(f"{path}-wal").st_size < 16 * 1024 * 1024


async def _checkpointed(store: SQLiteStore) -> bool:
    return int((await store.health())["checkpoints"]) >= 1
