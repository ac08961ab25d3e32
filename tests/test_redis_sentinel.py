"""The Redis store on a primary and a replica behind three real Sentinels (README "Redis
Cluster and failover"): the store works through the sentinels; the primary is killed while a
class goes on (pushes answer store_unavailable within seconds, then succeed on the promoted
replica without restarting a Jupyter server; students hear of every later push); acknowledged
pushes lost around the failover with and without ``WAIT``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import Connector
from redis_cluster_fixtures import Pushes, SentinelGroup, push_until_accepted, require_binaries
from store_contract import Recorder, new_code, session, wait_until

from notebook_sync_ydoc.clients import StudentClient, TeacherClient
from notebook_sync_ydoc.store.base import CellRecord, CellWrite, StudentRecord
from notebook_sync_ydoc.store.redis import RedisMode, RedisStore
from notebook_sync_ydoc.store.redis.pool import POOL_SIZE
from notebook_sync_ydoc.store.redis.sentinel import BlockingSentinelPool
from notebook_sync_ydoc.testing import JupyterServerProcess

pytestmark = pytest.mark.redis

Factory = Callable[..., JupyterServerProcess]


@pytest.fixture(scope="module")
def sentinels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelGroup]:
    """One group for the module: primary, replica, three sentinels (down after 1 s)."""
    require_binaries()
    group = SentinelGroup(tmp_path_factory.mktemp("sentinel"))
    group.start()
    try:
        yield group
    finally:
        group.stop()


def sentinel_store(
    made: list[RedisStore], group: SentinelGroup, prefix: str, **kw: Any
) -> RedisStore:
    mode = RedisMode.build(
        sentinels=group.addresses,
        sentinel_master=group.master_name,
        wait_replicas=kw.pop("wait_replicas", 0),
        wait_timeout_ms=kw.pop("wait_timeout_ms", 1000),
    )
    kw.setdefault("reconnect_max", 0.5)
    store = RedisStore(group.url, prefix=prefix, mode=mode, **kw)
    made.append(store)
    return store


def sentinel_options(group: SentinelGroup, prefix: str) -> dict[str, Any]:
    return {
        "redis_url": group.url,
        "redis_sentinels": group.addresses,
        "redis_sentinel_master": group.master_name,
        "key_prefix": prefix,
    }


def restore(group: SentinelGroup, dead_port: int) -> float:
    """Start the killed primary again as a replica; seconds until the group is healthy."""
    group.restart_as_replica(group.node(dead_port))
    return group.wait_healthy()


async def test_the_store_works_through_the_sentinels(
    sentinels: SentinelGroup, redis_prefix: str, stores: list[RedisStore]
) -> None:
    a = sentinel_store(stores, sentinels, redis_prefix, server_id="a")
    b = sentinel_store(stores, sentinels, redis_prefix, server_id="b")
    await a.start()
    await b.start()
    rec = Recorder(b).attach(b)
    code = new_code()
    assert await a.create_session(session(code))
    await b.subscribe(code)
    await a.write_cell(code, CellWrite("c", "x"), None)
    await a.put_student(code, StudentRecord("s1", "u", "Ann", joined=1.0))
    await wait_until(lambda: len(rec.events) == 1, what="an event through the sentinels' primary")
    with sentinels.primary_now().client() as raw:
        assert raw.hget(a.keys.pending(code, "c"), "source") == b"x"
    health = await a.health()
    assert health["ok"] is True and health["mode"] == "sentinel"
    assert sentinels.master_name in health["url"] and "+sentinel://" in health["url"]
    assert "Sentinel" in a.describe()


async def test_a_burst_past_the_pool_size_waits_through_the_sentinels(
    sentinels: SentinelGroup, redis_prefix: str, stores: list[RedisStore]
) -> None:
    """As on one Redis (test_store_redis): more operations in flight than the pool holds wait
    for a connection instead of failing. redis-py's sentinel pool is a plain pool, which
    raised MaxConnectionsError past 100 and answered the rest ``store_unavailable``."""
    store = sentinel_store(stores, sentinels, redis_prefix, server_id="burst")
    await store.start()
    code = new_code()
    assert await store.create_session(session(code))
    await store.write_cell(code, CellWrite("c", "x = 1"), None)
    n = 3 * POOL_SIZE
    results = await asyncio.gather(
        *(store.get_cell(code, "c") for _ in range(n)), return_exceptions=True
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == [], f"{len(failures)} of {n} failed, e.g. {failures[:1]}"
    assert all(isinstance(r, CellRecord) and r.source == "x = 1" for r in results)
    pool = store._conn.client.connection_pool  # the primary's pool, as configured
    assert isinstance(pool, BlockingSentinelPool)
    assert pool.max_connections == POOL_SIZE


async def test_a_class_goes_on_when_the_primary_dies(
    nbsync_server_factory: Factory,
    sentinels: SentinelGroup,
    redis_prefix: str,
    connect: Connector,
    figures: dict[str, float],
) -> None:
    a = nbsync_server_factory(**sentinel_options(sentinels, redis_prefix))
    b = nbsync_server_factory(**sentinel_options(sentinels, redis_prefix))
    assert (await asyncio.to_thread(b.status))["store"]["ok"] is True
    teacher: TeacherClient = await connect(a, TeacherClient)
    code = (await teacher.create_session("sentinel"))["session_code"]
    student: StudentClient = await connect(b, StudentClient)
    await student.join(code, name="Grace")
    before = await teacher.push_cell("before", "kept = True\n")
    await student.wait_for_update("before")
    victim = sentinels.primary_now()

    await asyncio.to_thread(victim.kill)
    killed_at = time.monotonic()
    refused, slowest, took, first = await push_until_accepted(
        lambda i: teacher.push_cell(f"during-{i}", f"attempt = {i}\n"), killed_at + 30
    )
    figures["pushes_refused"] = refused
    figures["longest_refusal_s"] = slowest
    figures["first_push_accepted_after_kill_s"] = took
    assert refused >= 1 and slowest < 5.0
    assert sentinels.current_primary_port() != victim.port
    acks = [first] + [await teacher.push_cell(f"after-{i}", f"n = {i}\n") for i in range(3)]
    for ack in acks:
        assert await student.wait_for_update(ack["cell_id"], timeout=15) == ack["seq"]
    figures["student_told_of_every_push_after_kill_s"] = time.monotonic() - killed_at
    assert (await student.pull("before"))["seq"] == before["seq"]
    for server in (a, b):  # each server reconnects to the promoted primary in its own time
        await wait_until(lambda s=server: server_ok(s), timeout=10, what="a healthy store")
    figures["replica_back_after_restart_s"] = await asyncio.to_thread(
        restore, sentinels, victim.port
    )


@pytest.mark.failover
async def test_acknowledged_pushes_lost_in_a_failover_with_and_without_wait(
    sentinels: SentinelGroup,
    redis_prefix: str,
    stores: list[RedisStore],
    figures: dict[str, float],
) -> None:
    """As on the cluster: two teachers push without pause (4 in flight each), one waiting for
    the replica (WAIT 1, 500 ms); the primary is killed; every acknowledged push is looked for
    on the promoted replica."""
    plain = sentinel_store(stores, sentinels, redis_prefix, server_id="plain")
    acked = sentinel_store(
        stores, sentinels, redis_prefix, server_id="acked", wait_replicas=1, wait_timeout_ms=500
    )
    await plain.start()
    await acked.start()
    runs = {"plain": Pushes(plain, new_code()), "wait": Pushes(acked, new_code())}
    for run in runs.values():
        assert await run.store.create_session(session(run.code))
    victim = sentinels.primary_now()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(run.run(w, stop)) for run in runs.values() for w in range(4)]
    try:
        await wait_until(lambda: all(len(r.acked) >= 100 for r in runs.values()), timeout=60)
        killed_at = time.monotonic()
        for run in runs.values():
            run.since = killed_at
        await asyncio.to_thread(victim.kill)
        figures["promoted_after_kill_s"] = await asyncio.to_thread(
            sentinels.wait_failover, victim.port
        )
        await asyncio.to_thread(sentinels.restart_as_replica, victim)
        await wait_until(
            lambda: all(len(r.acked) >= 200 and r.after(killed_at) >= 50 for r in runs.values()),
            timeout=60,
            what="pushes after the failover",
        )
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    await asyncio.to_thread(sentinels.wait_healthy)
    for name, run in runs.items():
        lost = await run.lost()
        figures[f"{name}_pushes_acknowledged"] = len(run.acked)
        figures[f"{name}_pushes_refused"] = run.refused
        figures[f"{name}_acknowledged_pushes_lost"] = len(lost)
        assert run.recovered_at is not None
        figures[f"{name}_first_push_accepted_after_kill_s"] = run.recovered_at - killed_at
    assert figures["wait_acknowledged_pushes_lost"] == 0
    assert all(len(r.acked) + r.refused >= 200 for r in runs.values())


async def server_ok(server: JupyterServerProcess) -> bool:
    status = await asyncio.to_thread(server.status)
    return status["store"]["ok"] is True
