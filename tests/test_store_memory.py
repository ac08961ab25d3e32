"""The embedded store against the store contract, plus its own details."""

from __future__ import annotations

import copy
import json
import pickle
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


async def test_reads_share_frozen_metadata_and_outputs_that_refuse_changes() -> None:
    """get_cell hands out the stored metadata and outputs (frozen when written) instead of a
    deep copy per read; changing them raises, and neither the writer's objects nor a reader's
    change can reach the store."""
    store = MemoryStore()
    code = new_code()
    await store.create_session(session(code))
    metadata = {"tags": ["a"], "nested": {"k": 1}}
    outputs = [{"output_type": "stream", "name": "stdout", "text": "x" * 1000}]
    write = CellWrite("a", "x", metadata=metadata, share_outputs=True, outputs=outputs)
    await store.write_cell(code, write, None)
    metadata["tags"].append("changed by the writer")
    outputs[0]["text"] = "changed by the writer"
    one, two = await store.get_cell(code, "a"), await store.get_cell(code, "a")
    assert one is not None and two is not None and one is not two
    assert one.metadata is two.metadata and one.outputs is two.outputs  # shared, not copied
    assert one.metadata == {"tags": ["a"], "nested": {"k": 1}}
    assert one.outputs is not None and one.outputs[0]["text"] == "x" * 1000
    with pytest.raises(TypeError):
        one.metadata["tags"].append("b")
    with pytest.raises(TypeError):
        one.metadata["new"] = 1
    with pytest.raises(TypeError):
        one.metadata["nested"].update(k=2)
    with pytest.raises(TypeError):
        one.outputs[0]["text"] = "y"
    with pytest.raises(TypeError):
        one.outputs.append({})
    one.sync_allowed = False  # the record itself is the caller's copy
    copied = copy.deepcopy(one.metadata)  # a copy is an ordinary dict, free to change
    copied["tags"].append("b")
    assert type(copied) is dict and type(copied["tags"]) is list
    again = await store.get_cell(code, "a")
    assert again is not None and again.sync_allowed is True
    assert again.metadata == {"tags": ["a"], "nested": {"k": 1}}
    assert json.loads(json.dumps(again.outputs)) == [
        {"output_type": "stream", "name": "stdout", "text": "x" * 1000}
    ]
    assert pickle.loads(pickle.dumps(again.metadata)) == again.metadata
