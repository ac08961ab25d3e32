"""The store contract: one suite that every :class:`~notebook_sync_ydoc.store.base.Store` passes.

A concrete test module subclasses :class:`StoreContract` and provides one fixture,
``make_store``: an async factory ``make_store(ttl=None) -> Store`` that returns a *started* store
(with no handlers set) and stops it at teardown. Stores made by one factory share their backing
state (the same Redis prefix; for the embedded stores, memory and SQLite, each is its own world,
one file per SQLite store, so tests that need two stores on one state are Redis-only).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

import pytest

from notebook_sync_ydoc.store.base import (
    CellIndexEntry,
    CellWrite,
    HelpRequest,
    PulledCell,
    PullMark,
    SeqConflict,
    SessionGone,
    SessionRecord,
    Store,
    StoreError,
    StoreEvent,
    StoreTTL,
    StudentRecord,
)


class MakeStore(Protocol):
    def __call__(self, ttl: StoreTTL | None = None) -> Awaitable[Store]: ...


async def wait_until(
    cond: Callable[[], bool | Awaitable[bool]], timeout: float = 5.0, what: str = "condition"
) -> float:
    """Poll ``cond`` until true; the seconds it took. Fails the test after ``timeout``."""
    start = time.monotonic()
    while True:
        result = cond()
        if not isinstance(result, bool):
            result = await result
        if result:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


def new_code() -> str:
    return "T" + uuid.uuid4().hex[:11].upper()


def session(code: str, **kw: object) -> SessionRecord:
    base: dict[str, object] = {
        "code": code,
        "teacher_identity": "teacher@example",
        "teacher_key_hash": "sha256$abc",
        "title": "Lesson 1",
        "mode": "ydoc",
        "created": 1000.0,
        "updated": 1000.0,
    }
    base.update(kw)
    return SessionRecord(**base)  # type: ignore[arg-type]


class Recorder:
    """Event and resync handler that records what it got; optionally reads the store."""

    def __init__(self, store: Store | None = None) -> None:
        self.events: list[StoreEvent] = []
        self.resyncs: list[str] = []
        self.seen_seq: list[int | None] = []  # get_cell(...).seq as seen inside the handler
        self._store = store

    async def on_event(self, event: StoreEvent) -> None:
        if self._store is not None and event.cell_id is not None and event.type == "cell":
            cell = await self._store.get_cell(event.code, event.cell_id)
            self.seen_seq.append(cell.seq if cell is not None else None)
        self.events.append(event)

    async def on_resync(self, code: str) -> None:
        self.resyncs.append(code)

    def attach(self, store: Store) -> Recorder:
        store.set_handlers(self.on_event, self.on_resync)
        return self

    def of(self, code: str) -> list[StoreEvent]:
        return [e for e in self.events if e.code == code]


async def _gone(store: Store, code: str) -> bool:
    return await store.get_session(code) is None


class StoreContract:
    """Behaviour both stores share. Subclasses provide the ``make_store`` fixture."""

    kind: str = ""

    @pytest.fixture
    async def store(self, make_store: MakeStore) -> Store:
        return await make_store()

    @pytest.fixture
    async def code(self, store: Store) -> str:
        code = new_code()
        assert await store.create_session(session(code)) is True
        return code

    # lifecycle -------------------------------------------------------------------------------
    async def test_health_ok(self, store: Store) -> None:
        health = await store.health()
        assert health["ok"] is True
        assert health["kind"] == self.kind == store.kind
        assert health.get("error") is None

    # sessions --------------------------------------------------------------------------------
    async def test_create_and_get_session(self, store: Store) -> None:
        code = new_code()
        rec = session(code, title="Algebra", mode="json")
        assert await store.create_session(rec) is True
        got = await store.get_session(code)
        assert got == rec
        assert got is not rec

    async def test_duplicate_code_is_refused_and_keeps_the_first(self, store: Store) -> None:
        code = new_code()
        assert await store.create_session(session(code, title="first")) is True
        assert await store.create_session(session(code, title="second")) is False
        got = await store.get_session(code)
        assert got is not None and got.title == "first"

    async def test_missing_session(self, store: Store) -> None:
        code = new_code()
        assert await store.get_session(code) is None
        assert await store.end_session(code, 5.0) is None
        await store.touch_session(code, 5.0)  # a no-op, not an error
        assert await store.get_session(code) is None
        assert await store.list_cells(code) == []
        assert await store.cell_count(code) == 0
        assert await store.list_students(code) == []
        assert await store.get_cell(code, "a") is None
        assert await store.set_sync_allowed(code, "a", False) is None
        assert await store.remove_cell(code, "a") is None
        with pytest.raises(SessionGone):
            await store.write_cell(code, CellWrite("a", "x"), None)
        with pytest.raises(SessionGone):
            await store.put_student(code, StudentRecord("s1", "u", "Ann"))
        with pytest.raises(SessionGone):
            await store.record_pull(code, "s1", "a", PulledCell(1, "x"))
        with pytest.raises(SessionGone):
            await store.set_presence(code, "s1", "c1", True)
        await store.set_presence(code, "s1", "c1", False)  # a no-op

    async def test_touch_updates_time(self, store: Store, code: str) -> None:
        await store.touch_session(code, 2000.5)
        got = await store.get_session(code)
        assert got is not None and got.updated == 2000.5 and got.created == 1000.0

    async def test_end_session(self, store: Store, code: str) -> None:
        rec = Recorder().attach(store)
        await store.subscribe(code)
        await store.write_cell(code, CellWrite("a", "x = 1"), None)
        ended = await store.end_session(code, 3000.0)
        assert ended is not None and ended.status == "ended" and ended.updated == 3000.0
        got = await store.get_session(code)
        assert got is not None and got.status == "ended"
        await wait_until(lambda: any(e.type == "ended" for e in rec.events), what="ended event")
        ev = next(e for e in rec.events if e.type == "ended")
        assert ev.code == code and ev.seq == 1 and ev.origin == store.server_id
        # ending twice returns the record without a second event
        again = await store.end_session(code, 4000.0)
        assert again is not None and again.status == "ended"
        # an ended session takes no more writes, and keeps its data for reading
        with pytest.raises(SessionGone):
            await store.write_cell(code, CellWrite("a", "x = 2"), None)
        with pytest.raises(SessionGone):
            await store.set_sync_allowed(code, "a", False)
        with pytest.raises(SessionGone):
            await store.remove_cell(code, "a")
        cell = await store.get_cell(code, "a")
        assert cell is not None and cell.source == "x = 1" and cell.sync_allowed is True
        await store.publish(StoreEvent(type="roster", code=code, origin="probe"))
        await wait_until(lambda: rec.events[-1].type == "roster", what="roster event")
        assert [e.type for e in rec.events] == ["cell", "ended", "roster"]

    async def test_count_sessions(self, make_store: MakeStore) -> None:
        store = await make_store()
        before = await store.count_sessions()
        codes = [new_code() for _ in range(3)]
        for c in codes:
            assert await store.create_session(session(c))
        assert await store.count_sessions() == before + 3
        await store.end_session(codes[0], 10.0)
        assert await store.count_sessions() == before + 2

    # cells -----------------------------------------------------------------------------------
    async def test_write_cell_round_trip(self, store: Store, code: str) -> None:
        state = bytes(range(256)) + b"\x00\xff\xfe\x80 not utf-8 \xc3\x28"
        meta = {"tags": ["exercise"], "nested": {"a": 1, "b": [True, None]}, "ü": "ß"}
        written = await store.write_cell(
            code,
            CellWrite("cell-1", "print('hé')\n", "markdown", meta, state, False, 4),
            expect_seq=0,
        )
        assert written.seq == 1
        got = await store.get_cell(code, "cell-1")
        assert got is not None
        assert got.cell_id == "cell-1"
        assert got.source == "print('hé')\n"
        assert got.cell_type == "markdown"
        assert got.metadata == meta
        assert got.crdt_state == state
        assert got.sync_allowed is False
        assert got.index == 4
        assert got.seq == 1
        assert got.updated > 0
        assert got == written
        # crdt_state None clears it, an empty source is kept as empty
        again = await store.write_cell(code, CellWrite("cell-1", ""), expect_seq=1)
        got = await store.get_cell(code, "cell-1")
        assert got == again
        assert got is not None and got.crdt_state is None and got.source == ""
        assert got.metadata == {} and got.cell_type == "code"
        assert got.sync_allowed is False  # None keeps the stored value
        assert got.index == 4  # None keeps the position
        assert await store.cell_count(code) == 1

    async def test_seq_is_monotonic_across_cells(self, store: Store, code: str) -> None:
        seqs = []
        for cid in ["a", "b", "a", "c", "b"]:
            seqs.append((await store.write_cell(code, CellWrite(cid, cid), None)).seq)
        assert seqs == [1, 2, 3, 4, 5]
        index = {e.cell_id: e.seq for e in await store.list_cells(code)}
        assert index == {"a": 3, "b": 5, "c": 4}
        assert await store.cell_count(code) == 3
        removed = await store.remove_cell(code, "c")
        assert removed == 6
        assert (await store.write_cell(code, CellWrite("c", "again"), expect_seq=0)).seq == 7

    async def test_expect_seq_conflict(self, store: Store, code: str) -> None:
        first = await store.write_cell(code, CellWrite("a", "v1"), expect_seq=0)
        with pytest.raises(SeqConflict):
            await store.write_cell(code, CellWrite("a", "v2"), expect_seq=0)
        with pytest.raises(SeqConflict):
            await store.write_cell(code, CellWrite("a", "v2"), expect_seq=first.seq + 1)
        with pytest.raises(SeqConflict):
            await store.write_cell(code, CellWrite("new", "v"), expect_seq=1)
        # nothing of the refused writes was stored, and no seq was used
        got = await store.get_cell(code, "a")
        assert got is not None and got.source == "v1" and got.seq == 1
        assert await store.get_cell(code, "new") is None
        second = await store.write_cell(code, CellWrite("a", "v2"), expect_seq=first.seq)
        assert second.seq == 2
        with pytest.raises(SeqConflict):
            await store.write_cell(code, CellWrite("a", "v3"), expect_seq=first.seq)

    async def test_concurrent_expect_seq_only_one_wins(self, store: Store, code: str) -> None:
        await store.write_cell(code, CellWrite("a", "v1"), expect_seq=0)

        async def attempt(i: int) -> bool:
            try:
                await store.write_cell(code, CellWrite("a", f"v{i}"), expect_seq=1)
            except SeqConflict:
                return False
            return True

        results = await asyncio.gather(*(attempt(i) for i in range(10)))
        assert results.count(True) == 1
        got = await store.get_cell(code, "a")
        assert got is not None and got.seq == 2

    async def test_index_order(self, store: Store, code: str) -> None:
        await store.write_cell(code, CellWrite("c", "c", index=2), None)  # seq 1
        await store.write_cell(code, CellWrite("a", "a", index=0), None)  # seq 2
        await store.write_cell(code, CellWrite("b", "b", index=1), None)  # seq 3
        assert [e.cell_id for e in await store.list_cells(code)] == ["a", "b", "c"]
        # a re-push without an index keeps the position
        await store.write_cell(code, CellWrite("a", "a2"), None)  # seq 4
        assert [e.cell_id for e in await store.list_cells(code)] == ["a", "b", "c"]
        # the same index: ordered by seq
        await store.write_cell(code, CellWrite("d", "d", index=1), None)  # seq 5
        assert [e.cell_id for e in await store.list_cells(code)] == ["a", "b", "d", "c"]
        # a new cell without an index goes last
        await store.write_cell(code, CellWrite("e", "e"), None)  # seq 6
        entries = await store.list_cells(code)
        assert [e.cell_id for e in entries] == ["a", "b", "d", "c", "e"]
        assert entries[-1].index == 3
        # moving a cell
        await store.write_cell(code, CellWrite("c", "c", index=-1), None)  # seq 7
        entries = await store.list_cells(code)
        assert [(e.cell_id, e.seq, e.index) for e in entries] == [
            ("c", 7, -1),
            ("a", 4, 0),
            ("b", 3, 1),
            ("d", 5, 1),
            ("e", 6, 3),
        ]
        assert all(e.sync_allowed and e.cell_type == "code" for e in entries)

    async def test_index_entries_carry_type_and_allowed(self, store: Store, code: str) -> None:
        await store.write_cell(code, CellWrite("m", "# T", "markdown", sync_allowed=False), None)
        [entry] = await store.list_cells(code)
        assert entry.cell_id == "m" and entry.cell_type == "markdown"
        assert entry.sync_allowed is False and entry.seq == 1 and entry.index == 0

    async def test_set_sync_allowed(self, store: Store, code: str) -> None:
        rec = Recorder().attach(store)
        await store.subscribe(code)
        await store.write_cell(code, CellWrite("a", "x"), None)
        await store.write_cell(code, CellWrite("b", "y"), None)
        updated = await store.set_sync_allowed(code, "a", False)
        assert updated is not None and updated.seq == 1 and updated.sync_allowed is False
        assert updated.source == "x"
        got = await store.get_cell(code, "a")
        assert got is not None and got.sync_allowed is False and got.seq == 1
        [a, _b] = await store.list_cells(code)
        assert a.cell_id == "a" and a.sync_allowed is False and a.seq == 1
        assert await store.set_sync_allowed(code, "nope", True) is None
        # a later push without sync_allowed keeps it disallowed; an explicit value changes it
        w = await store.write_cell(code, CellWrite("a", "x2"), None)
        assert w.sync_allowed is False and w.seq == 3
        w = await store.write_cell(code, CellWrite("a", "x3", sync_allowed=True), None)
        assert w.sync_allowed is True and w.seq == 4
        await wait_until(lambda: len(rec.events) == 5, what="5 events")
        assert [(e.type, e.cell_id, e.seq, e.sync_allowed) for e in rec.events] == [
            ("cell", "a", 1, True),
            ("cell", "b", 2, True),
            ("sync", "a", 1, False),
            ("cell", "a", 3, False),
            ("cell", "a", 4, True),
        ]

    async def test_cell_and_sync_events_carry_the_index_entry(
        self, store: Store, code: str
    ) -> None:
        """Receivers announce a cell from the event alone, so it must match the index."""
        rec = Recorder().attach(store)
        await store.subscribe(code)
        await store.write_cell(code, CellWrite("md", "# T", cell_type="markdown", index=4), None)
        await store.write_cell(code, CellWrite("py", "x", index=1), None)
        await store.set_sync_allowed(code, "md", False)
        await wait_until(lambda: len(rec.events) == 3, what="3 events")
        index = {e.cell_id: e for e in await store.list_cells(code)}
        carried = [e.entry() for e in rec.events]
        assert carried[1] == index["py"]
        assert carried[2] == index["md"]
        assert carried[0] == CellIndexEntry("md", 1, 4, True, "markdown")

    async def test_remove_cell(self, store: Store, code: str) -> None:
        rec = Recorder().attach(store)
        await store.subscribe(code)
        await store.write_cell(code, CellWrite("a", "x"), None)
        await store.write_cell(code, CellWrite("b", "y"), None)
        assert await store.remove_cell(code, "a") == 3
        assert await store.get_cell(code, "a") is None
        assert [e.cell_id for e in await store.list_cells(code)] == ["b"]
        assert await store.cell_count(code) == 1
        assert await store.remove_cell(code, "a") is None
        await wait_until(lambda: len(rec.events) == 3, what="3 events")
        assert (rec.events[-1].type, rec.events[-1].cell_id, rec.events[-1].seq) == (
            "removed",
            "a",
            3,
        )
        assert rec.events[-1].origin == store.server_id

    # events ----------------------------------------------------------------------------------
    async def test_events_in_order_with_data_visible(self, store: Store, code: str) -> None:
        rec = Recorder(store).attach(store)
        await store.subscribe(code)
        await store.subscribe(code)  # idempotent
        n = 30
        for i in range(n):
            await store.write_cell(code, CellWrite(f"c{i}", f"v{i}"), None)
        await wait_until(lambda: len(rec.events) >= n, what=f"{n} events")
        assert len(rec.events) == n  # subscribing twice does not double the events
        assert [e.seq for e in rec.events] == list(range(1, n + 1))
        assert [e.cell_id for e in rec.events] == [f"c{i}" for i in range(n)]
        assert all(e.type == "cell" and e.code == code for e in rec.events)
        assert all(e.origin == store.server_id for e in rec.events)
        # the handler read the cell and saw exactly the seq of the event: data before event
        assert rec.seen_seq == list(range(1, n + 1))

    async def test_events_only_for_subscribed_sessions(self, store: Store, code: str) -> None:
        rec = Recorder().attach(store)
        other = new_code()
        assert await store.create_session(session(other))
        await store.subscribe(code)
        await store.subscribe(other)
        await store.write_cell(other, CellWrite("o", "o"), None)
        await wait_until(lambda: len(rec.of(other)) == 1, what="event of the other session")
        await store.unsubscribe(other)
        await store.unsubscribe(other)  # idempotent
        await store.write_cell(other, CellWrite("o", "o2"), None)
        await store.write_cell(code, CellWrite("a", "a"), None)
        # events arrive in order: once the later event is in, the earlier one would be too
        await wait_until(lambda: len(rec.of(code)) == 1, what="event of the subscribed one")
        assert len(rec.of(other)) == 1

    async def test_publish_roster(self, store: Store, code: str) -> None:
        rec = Recorder().attach(store)
        await store.subscribe(code)
        await store.publish(StoreEvent(type="roster", code=code, origin="server-x"))
        await wait_until(lambda: len(rec.events) == 1, what="roster event")
        assert rec.events[0] == StoreEvent(type="roster", code=code, origin="server-x")

    async def test_handler_errors_do_not_stop_delivery(self, store: Store, code: str) -> None:
        got: list[int] = []

        async def flaky(event: StoreEvent) -> None:
            got.append(event.seq)
            if event.seq == 1:
                raise RuntimeError("handler bug")

        async def resync(code: str) -> None:
            return None

        store.set_handlers(flaky, resync)
        await store.subscribe(code)
        await store.write_cell(code, CellWrite("a", "1"), None)
        await store.write_cell(code, CellWrite("a", "2"), None)
        await wait_until(lambda: got == [1, 2], what="both events despite the handler error")

    # students --------------------------------------------------------------------------------
    async def test_students_and_pulls(self, store: Store, code: str) -> None:
        state = b"\x01\x00\xff" * 50 + bytes(range(256))
        await store.put_student(code, StudentRecord("s1", "alice", "Alice", joined=10.0))
        got = await store.get_student(code, "s1")
        assert got == StudentRecord("s1", "alice", "Alice", joined=10.0, online=False)
        await store.record_pull(code, "s1", "cell-a", PulledCell(3, "x = 1\n", state))
        await store.record_pull(code, "s1", "cell-b", PulledCell(4, "", None))
        got = await store.get_student(code, "s1")
        assert got is not None
        assert got.pulled == {
            "cell-a": PulledCell(3, "x = 1\n", state),
            "cell-b": PulledCell(4, "", None),
        }
        # a later pull replaces the cell's entry (state None clears the old state)
        await store.record_pull(code, "s1", "cell-a", PulledCell(7, "x = 2\n", None))
        # put again: identity, name, joined change; pulled state is kept
        await store.put_student(code, StudentRecord("s1", "alice2", "Alice B", joined=11.0))
        got = await store.get_student(code, "s1")
        assert got is not None
        assert (got.identity, got.name, got.joined) == ("alice2", "Alice B", 11.0)
        assert got.pulled == {
            "cell-a": PulledCell(7, "x = 2\n", None),
            "cell-b": PulledCell(4, "", None),
        }
        assert await store.get_student(code, "nobody") is None
        with pytest.raises(StoreError):
            await store.record_pull(code, "nobody", "cell-a", PulledCell(1, "x"))

    # help requests and pull marks --------------------------------------------------------------
    async def test_pull_marks(self, store: Store, code: str) -> None:
        await store.put_student(code, StudentRecord("s1", "alice", "Alice", joined=10.0))
        await store.mark_pull(code, "s1", "a", PullMark("conflict", 3, 100.0))
        await store.mark_pull(code, "s1", "b", PullMark("kept", 4, 101.0))
        await store.mark_pull(code, "s1", "a", PullMark("kept", 5, 102.0))  # replaces
        await store.record_pull(code, "s1", "a", PulledCell(5, "x"))  # marks untouched
        got = await store.get_student(code, "s1")
        assert got is not None
        assert got.marks == {"a": PullMark("kept", 5, 102.0), "b": PullMark("kept", 4, 101.0)}
        (listed,) = await store.list_students(code)
        assert listed.marks == got.marks and listed.pulled == got.pulled
        with pytest.raises(StoreError):
            await store.mark_pull(code, "nobody", "a", PullMark("kept", 1))
        with pytest.raises(SessionGone):
            await store.mark_pull(new_code(), "s1", "a", PullMark("kept", 1))

    async def test_help_requests(self, store: Store, code: str) -> None:
        rec = Recorder().attach(store)
        await store.subscribe(code)
        await store.put_student(code, StudentRecord("s1", "alice", "Alice", joined=10.0))
        await store.put_student(code, StudentRecord("s2", "", "Bob", joined=11.0))
        first = HelpRequest("s1", "a", "r1", "Alice", "alice", "why?", "x = 1\n", opened=5.0)
        assert await store.put_help(code, first) is True
        second = HelpRequest("s2", "a", "r2", "Bob", "", "", "é ünïcode 😀", opened=3.0)
        assert await store.put_help(code, second) is True
        third = HelpRequest("s1", "b", "r3", "Alice", "alice", "", "", opened=7.0)
        assert await store.put_help(code, third) is True
        assert await store.get_help(code, "s1", "a") == first
        assert await store.get_help(code, "s1", "zz") is None
        assert [r.request_id for r in await store.list_help(code)] == ["r2", "r1", "r3"]
        assert [r.request_id for r in await store.list_help(code, "s1")] == ["r1", "r3"]
        assert await store.list_help(code, "nobody") == []
        # an answer written against the request it answers; a stale id writes nothing
        answered = HelpRequest(
            "s1", "a", "r1", "Alice", "alice", "why?", "x = 1\n", opened=5.0, resolved=True,
            answer_note="see line 2", suggestion="x = 2\n", answers=1, answered=9.0,
        )  # fmt: skip
        assert await store.put_help(code, answered, expect_id="r1") is True
        assert await store.put_help(code, first, expect_id="other") is False
        assert await store.put_help(code, HelpRequest("s2", "q", "r9", "", "", "", "", 1.0),
                                    expect_id="r9") is False  # fmt: skip
        assert await store.get_help(code, "s1", "a") == answered
        # delete: by id or any; a missing one is False
        assert await store.delete_help(code, "s1", "a", expect_id="nope") is False
        assert await store.delete_help(code, "s1", "a", expect_id="r1") is True
        assert await store.delete_help(code, "s1", "a") is False
        assert await store.delete_help(code, "s2", "a") is True
        assert [r.request_id for r in await store.list_help(code)] == ["r3"]
        # every write published "help" with who and which cell, never content
        await wait_until(lambda: len(rec.of(code)) == 6, what="help events")
        events = rec.of(code)
        assert all(e.type == "help" and e.cell_id is None for e in events)
        assert [(e.student_id, e.help_cell) for e in events] == [
            ("s1", "a"), ("s2", "a"), ("s1", "b"), ("s1", "a"), ("s1", "a"), ("s2", "a")
        ]  # fmt: skip
        assert all(set(e.to_dict()) <= {"type", "seq", "origin", "student_id", "help_cell"}
                   for e in events)  # fmt: skip
        # unknown student, missing or ended session
        with pytest.raises(StoreError):
            await store.put_help(code, HelpRequest("nobody", "a", "r", "", "", "", "", 1.0))
        with pytest.raises(SessionGone):
            await store.put_help(new_code(), first)
        await store.end_session(code, 2000.0)
        with pytest.raises(SessionGone):
            await store.put_help(code, first)
        with pytest.raises(SessionGone):
            await store.delete_help(code, "s1", "b")
        assert [r.request_id for r in await store.list_help(code)] == ["r3"]  # still readable

    # shared outputs, order and moves (docs/architecture.md, "Order and outputs") -----------
    async def test_outputs_round_trip(self, store: Store, code: str) -> None:
        outputs = [
            {"output_type": "stream", "name": "stdout", "text": "é 😀\n"},
            {"output_type": "execute_result", "execution_count": 3, "metadata": {},
             "data": {"text/plain": "3", "image/png": "iVBORw0KGgo=" * 40}},
        ]  # fmt: skip
        first = await store.write_cell(code, CellWrite("a", "x", share_outputs=True,
                                                       outputs=outputs), None)  # fmt: skip
        assert first.outputs == outputs
        got = await store.get_cell(code, "a")
        assert got is not None and got.outputs == outputs
        # no share_outputs: what is stored is kept
        kept = await store.write_cell(code, CellWrite("a", "y"), first.seq)
        assert kept.outputs == outputs
        got = await store.get_cell(code, "a")
        assert got is not None and (got.source, got.outputs) == ("y", outputs)
        # shared and empty, then not shared
        empty = await store.write_cell(code, CellWrite("a", "y", share_outputs=True), kept.seq)
        got = await store.get_cell(code, "a")
        assert empty.outputs == [] and got is not None and got.outputs == []
        await store.write_cell(code, CellWrite("a", "y", share_outputs=False), empty.seq)
        got = await store.get_cell(code, "a")
        assert got is not None and got.outputs is None
        # a cell never shared has none; toggling the lock keeps them
        await store.write_cell(code, CellWrite("b", "z"), None)
        got = await store.get_cell(code, "b")
        assert got is not None and got.outputs is None
        await store.write_cell(code, CellWrite("c", "w", share_outputs=True, outputs=outputs), 0)
        await store.set_sync_allowed(code, "c", False)
        await store.set_sync_allowed(code, "c", True)
        got = await store.get_cell(code, "c")
        assert got is not None and got.outputs == outputs

    async def test_reorder_cells(self, store: Store, code: str) -> None:
        rec = Recorder().attach(store)
        await store.subscribe(code)
        for i, cell_id in enumerate(("a", "b", "c", "d")):
            await store.write_cell(code, CellWrite(cell_id, cell_id, index=i * 10), None)
        before = {e.cell_id: e.seq for e in await store.list_cells(code)}
        full = await store.reorder_cells(code, ["d", "b"])
        assert full == ["d", "b", "a", "c"]  # the others after, in their order
        entries = await store.list_cells(code)
        assert [(e.cell_id, e.index) for e in entries] == [("d", 0), ("b", 1), ("a", 2), ("c", 3)]
        assert {e.cell_id: e.seq for e in entries} == before  # no seq changes
        got = await store.get_cell(code, "a")
        assert got is not None and got.index == 2
        await wait_until(lambda: len(rec.of(code)) == 5, what="the order event")
        event = rec.of(code)[-1]
        assert (event.type, event.order, event.cell_id) == ("order", ("d", "b", "a", "c"), None)
        assert StoreEvent.from_dict(code, event.to_dict()) == event
        # an unknown cell: nothing written, no event
        assert await store.reorder_cells(code, ["a", "nope"]) is None
        assert [e.cell_id for e in await store.list_cells(code)] == ["d", "b", "a", "c"]
        # a push keeps the index; a new cell goes last
        await store.write_cell(code, CellWrite("a", "a2"), None)
        await store.write_cell(code, CellWrite("e", "e"), None)
        assert [(e.cell_id, e.index) for e in await store.list_cells(code)] == [
            ("d", 0), ("b", 1), ("a", 2), ("c", 3), ("e", 4)
        ]  # fmt: skip
        assert await store.reorder_cells(new_code(), []) is None
        await store.end_session(code, 5.0)
        with pytest.raises(SessionGone):
            await store.reorder_cells(code, ["a"])

    async def test_move_cell(self, store: Store, code: str) -> None:
        rec = Recorder().attach(store)
        await store.subscribe(code)
        outputs = [{"output_type": "stream", "name": "stdout", "text": "1\n"}]
        a = await store.write_cell(
            code, CellWrite("a", "x = 1\n", index=3, share_outputs=True, outputs=outputs), None
        )
        await store.write_cell(code, CellWrite("b", "y"), None)
        state = b"\x01\x02" * 20
        await store.put_student(code, StudentRecord("s1", "alice", "Alice", joined=1.0))
        await store.put_student(code, StudentRecord("s2", "bob", "Bob", joined=2.0))
        await store.record_pull(code, "s1", "a", PulledCell(a.seq, "x = 1\n", state))
        await store.record_pull(code, "s1", "b", PulledCell(2, "y"))
        await store.mark_pull(code, "s1", "a", PullMark("kept", a.seq, 3.0))
        request = HelpRequest("s2", "a", "r1", "Bob", "bob", "?", "x", opened=4.0)
        assert await store.put_help(code, request)
        moved = await store.move_cell(code, "a", "z")
        assert moved is not None
        assert (moved.cell_id, moved.seq, moved.source, moved.index, moved.outputs) == (
            "z", a.seq, "x = 1\n", 3, outputs
        )  # fmt: skip
        assert await store.get_cell(code, "a") is None
        got = await store.get_cell(code, "z")
        assert got is not None and (got.seq, got.source, got.outputs) == (a.seq, "x = 1\n",
                                                                          outputs)  # fmt: skip
        assert got.crdt_state == a.crdt_state
        assert [e.cell_id for e in await store.list_cells(code)] == ["z", "b"]
        s1 = await store.get_student(code, "s1")
        assert s1 is not None
        assert s1.pulled == {"z": PulledCell(a.seq, "x = 1\n", state), "b": PulledCell(2, "y")}
        assert s1.marks == {"z": PullMark("kept", a.seq, 3.0)}
        assert await store.get_help(code, "s2", "a") is None
        help_z = await store.get_help(code, "s2", "z")
        assert help_z is not None and help_z.cell_id == "z" and help_z.request_id == "r1"
        await wait_until(lambda: any(e.type == "moved" for e in rec.of(code)), what="moved")
        event = next(e for e in rec.of(code) if e.type == "moved")
        assert (event.cell_id, event.from_id, event.seq) == ("z", "a", a.seq)
        assert event.entry() == CellIndexEntry("z", a.seq, 3, True, "code")
        # refused: the old id absent, the new id taken; nothing changes
        assert await store.move_cell(code, "a", "q") is None
        assert await store.move_cell(code, "z", "b") is None
        assert [e.cell_id for e in await store.list_cells(code)] == ["z", "b"]
        # the moved cell is written, removed and moved again as any other
        again = await store.write_cell(code, CellWrite("z", "x = 2\n"), a.seq)
        assert again.outputs == outputs
        assert await store.move_cell(code, "z", "a") is not None
        assert await store.remove_cell(code, "a") is not None
        assert [e.cell_id for e in await store.list_cells(code)] == ["b"]
        await store.end_session(code, 5.0)
        with pytest.raises(SessionGone):
            await store.move_cell(code, "b", "c")

    async def test_help_expires_with_the_session(self, make_store: MakeStore) -> None:
        store = await make_store(ttl=StoreTTL(active=0.3, ended=0.1))
        code = new_code()
        await store.create_session(session(code))
        await store.put_student(code, StudentRecord("s1", "u", "N", 1.0))
        await store.put_help(code, HelpRequest("s1", "a", "r1", "N", "u", "", "x", 1.0))
        await store.mark_pull(code, "s1", "a", PullMark("conflict", 1, 1.0))
        await wait_until(lambda: _gone(store, code), timeout=5, what="expiry")
        assert await store.list_help(code) == []
        assert await store.get_help(code, "s1", "a") is None

    async def test_put_student_with_pulled_state(self, store: Store, code: str) -> None:
        pulled = {"a": PulledCell(2, "src", b"\x00\x01")}
        await store.put_student(code, StudentRecord("s9", "u", "N", 1.0, pulled=pulled))
        got = await store.get_student(code, "s9")
        assert got is not None and got.pulled == pulled

    async def test_list_students_with_presence(self, store: Store, code: str) -> None:
        await store.put_student(code, StudentRecord("s2", "bob", "Bob", joined=20.0))
        await store.put_student(code, StudentRecord("s1", "ann", "Ann", joined=10.0))
        await store.put_student(code, StudentRecord("s3", "cy", "Cy", joined=30.0))
        students = await store.list_students(code)
        assert [s.student_id for s in students] == ["s1", "s2", "s3"]
        assert not any(s.online for s in students)
        await store.set_presence(code, "s2", "conn-1", True)
        await store.set_presence(code, "s2", "conn-2", True)
        await store.set_presence(code, "s3", "conn-3", True)
        online = {s.student_id: s.online for s in await store.list_students(code)}
        assert online == {"s1": False, "s2": True, "s3": True}
        got = await store.get_student(code, "s2")
        assert got is not None and got.online is True
        # one of two connections closes: still online
        await store.set_presence(code, "s2", "conn-1", False)
        online = {s.student_id: s.online for s in await store.list_students(code)}
        assert online == {"s1": False, "s2": True, "s3": True}
        await store.set_presence(code, "s2", "conn-2", False)
        await store.set_presence(code, "s2", "conn-2", False)  # idempotent
        online = {s.student_id: s.online for s in await store.list_students(code)}
        assert online == {"s1": False, "s2": False, "s3": True}
        got = await store.get_student(code, "s2")
        assert got is not None and got.online is False

    async def test_sessions_are_isolated(self, store: Store, code: str) -> None:
        other = new_code()
        assert await store.create_session(session(other))
        await store.write_cell(code, CellWrite("a", "mine"), None)
        await store.put_student(code, StudentRecord("s1", "u", "U"))
        await store.set_presence(code, "s1", "c", True)
        assert await store.get_cell(other, "a") is None
        assert await store.list_cells(other) == []
        assert await store.get_student(other, "s1") is None
        assert await store.list_students(other) == []
        assert (await store.write_cell(other, CellWrite("a", "theirs"), None)).seq == 1

    # lifetimes -------------------------------------------------------------------------------
    async def test_session_expires(self, make_store: MakeStore) -> None:
        store = await make_store(StoreTTL(active=0.6, ended=0.3))
        code = new_code()
        assert await store.create_session(session(code))
        await store.write_cell(code, CellWrite("a", "x", crdt_state=b"\x00"), None)
        await store.put_student(code, StudentRecord("s1", "u", "U"))
        await store.record_pull(code, "s1", "a", PulledCell(1, "x", b"\x00"))
        assert await store.get_session(code) is not None
        took = await wait_until(lambda: _is_none(store.get_session(code)), timeout=5, what="expiry")
        assert took >= 0.3  # not gone at once (allowing for the time the writes took)
        assert await store.get_cell(code, "a") is None
        assert await store.list_cells(code) == []
        assert await store.get_student(code, "s1") is None
        assert await store.list_students(code) == []
        # the code is free again
        assert await store.create_session(session(code))
        assert (await store.write_cell(code, CellWrite("a", "y"), None)).seq == 1

    async def test_activity_refreshes_lifetime(self, make_store: MakeStore) -> None:
        store = await make_store(StoreTTL(active=1.5, ended=1.0))
        code = new_code()
        assert await store.create_session(session(code))
        await store.write_cell(code, CellWrite("a", "x"), None)
        deadline = time.monotonic() + 3.0  # twice the lifetime
        i = 0
        while time.monotonic() < deadline:
            i += 1
            await store.touch_session(code, float(i))
            await asyncio.sleep(0.2)  # pacing of the activity, not synchronisation
            assert await store.get_session(code) is not None, "expired despite activity"
            assert await store.get_cell(code, "a") is not None
        await wait_until(lambda: _is_none(store.get_session(code)), timeout=5, what="expiry")

    async def test_ended_session_expires_sooner(self, make_store: MakeStore) -> None:
        store = await make_store(StoreTTL(active=60, ended=0.3))
        ended, active = new_code(), new_code()
        for c in (ended, active):
            assert await store.create_session(session(c))
            await store.write_cell(c, CellWrite("a", "x"), None)
        await store.end_session(ended, 1.0)
        await wait_until(lambda: _is_none(store.get_session(ended)), timeout=5, what="expiry")
        assert await store.get_cell(ended, "a") is None
        assert await store.get_session(active) is not None
        assert await store.get_cell(active, "a") is not None


async def _is_none(value: Awaitable[object]) -> bool:
    return (await value) is None
