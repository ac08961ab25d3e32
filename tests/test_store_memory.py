"""The embedded store against the store contract, plus its own details."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from store_contract import MakeStore, Recorder, StoreContract, new_code, session, wait_until

from notebook_sync_ydoc.store.base import CellWrite, Store, StoreTTL
from notebook_sync_ydoc.store.memory import MemoryStore


class TestMemoryStoreContract(StoreContract):
    kind = "memory"

    @pytest.fixture
    async def make_store(self) -> AsyncIterator[MakeStore]:
        made: list[Store] = []

        async def make(ttl: StoreTTL | None = None) -> Store:
            store = MemoryStore(server_id="mem-test", ttl=ttl, sweep_interval=0.05)
            await store.start()
            made.append(store)
            return store

        yield make
        for store in made:
            await store.stop()


async def test_sweep_removes_expired_sessions_without_access() -> None:
    store = MemoryStore(ttl=StoreTTL(active=0.2, ended=0.1), sweep_interval=0.05)
    await store.start()
    try:
        for _ in range(3):
            assert await store.create_session(session(new_code()))
        assert len(store._sessions) == 3
        # no access at all: only the sweep task can remove them
        await wait_until(lambda: len(store._sessions) == 0, timeout=5, what="sweep")
    finally:
        await store.stop()
    assert store._sweeper is None and not store._events.running


async def test_events_before_start_are_delivered_after_start() -> None:
    store = MemoryStore()
    rec = Recorder().attach(store)
    code = new_code()
    await store.create_session(session(code))
    await store.subscribe(code)
    await store.write_cell(code, CellWrite("a", "x"), None)
    assert rec.events == []
    await store.start()
    try:
        await wait_until(lambda: len(rec.events) == 1, what="queued event")
    finally:
        await store.stop()


async def test_stop_delivers_queued_events_and_health_reports_stopped() -> None:
    store = MemoryStore()
    rec = Recorder().attach(store)
    await store.start()
    code = new_code()
    await store.create_session(session(code))
    await store.subscribe(code)
    for i in range(5):
        await store.write_cell(code, CellWrite(f"c{i}", "x"), None)
    await store.stop()
    assert [e.seq for e in rec.events] == [1, 2, 3, 4, 5]
    health = await store.health()
    assert health["ok"] is False and health["kind"] == "memory"


async def test_instances_share_nothing() -> None:
    a, b = MemoryStore(), MemoryStore()
    code = new_code()
    assert await a.create_session(session(code))
    assert await b.get_session(code) is None
    assert await b.create_session(session(code))
    assert a.server_id != b.server_id
