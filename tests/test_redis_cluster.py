"""The Redis store on a real Redis Cluster (3 primaries, a replica each; docs: README "Redis
Cluster and failover"): the store contract, sessions on different shards, every key of every
script in KEYS (checked with MONITOR), sharded pub/sub following a slot move, two Jupyter
servers, and primaries killed while a class goes on (acknowledged pushes lost with and without
``WAIT``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, get_args

import pytest
import redis.asyncio as aioredis
from helpers import Connector
from redis.crc import key_slot
from redis_cluster_fixtures import (
    Pushes,
    RedisClusterProcesses,
    ScriptKeysMonitor,
    push_until_accepted,
    require_binaries,
)
from redis_fixtures import RedisServer
from store_contract import MakeStore, Recorder, StoreContract, new_code, session, wait_until

from notebook_sync_ydoc.clients import StudentClient, TeacherClient
from notebook_sync_ydoc.store.base import (
    CellWrite,
    HelpRequest,
    PulledCell,
    PullMark,
    Store,
    StoreEvent,
    StoreTTL,
    StoreUnavailable,
    StudentRecord,
)
from notebook_sync_ydoc.store.redis import RedisMode, RedisStore
from notebook_sync_ydoc.store.redis.scripts import PresenceScript, SessionScript
from notebook_sync_ydoc.store.redis.shard_subscriber import ShardedSubscriber
from notebook_sync_ydoc.testing import JupyterServerProcess

pytestmark = pytest.mark.redis

Factory = Callable[..., JupyterServerProcess]
PASSWORD = "cluster-secret-pw"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterProcesses]:
    """One cluster for the module: 3 primaries, 1 replica each, node timeout 1 s, a password."""
    require_binaries()
    made = RedisClusterProcesses(tmp_path_factory.mktemp("cluster"), password=PASSWORD)
    made.start()
    try:
        yield made
    finally:
        made.stop()


@pytest.fixture(autouse=True)
def _heal_the_cluster(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used the module's cluster, every node it killed is up again and the
    cluster healthy, whether or not the test got as far as restoring it: one failed failover
    test must not leave the next ones a cluster without its replica."""
    yield
    if "cluster" in request.fixturenames:
        request.getfixturevalue("cluster").heal()


def cluster_store(
    made: list[RedisStore], cluster: RedisClusterProcesses, prefix: str, **kw: Any
) -> RedisStore:
    mode_kw = {k: kw.pop(k) for k in ("wait_replicas", "wait_timeout_ms") if k in kw}
    kw.setdefault("reconnect_max", 0.5)
    store = RedisStore(
        cluster.url, prefix=prefix, mode=RedisMode.build(cluster=True, **mode_kw), **kw
    )
    made.append(store)
    return store


def codes_on_every_shard(cluster: RedisClusterProcesses, store: RedisStore) -> list[str]:
    """One session code per primary."""
    found: dict[int, str] = {}
    while len(found) < cluster.primaries:
        code = new_code()
        found.setdefault(cluster.primary_of(store.keys.session(code)).port, code)
    return list(found.values())


class TestClusterStoreContract(StoreContract):
    kind = "redis"

    @pytest.fixture
    async def make_store(
        self, cluster: RedisClusterProcesses, redis_prefix: str
    ) -> AsyncIterator[MakeStore]:
        made: list[Store] = []

        async def make(ttl: StoreTTL | None = None) -> Store:
            store = RedisStore(
                cluster.url,
                prefix=redis_prefix,
                server_id="cluster-test",
                ttl=ttl,
                mode=RedisMode.build(cluster=True),
            )
            await store.start()
            made.append(store)
            return store

        yield make
        for store in made:
            await store.stop()


async def test_sessions_on_every_shard_and_events_cross_stores(
    cluster: RedisClusterProcesses, redis_prefix: str, stores: list[RedisStore]
) -> None:
    a = cluster_store(stores, cluster, redis_prefix, server_id="srv-a")
    b = cluster_store(stores, cluster, redis_prefix, server_id="srv-b")
    await a.start()
    await b.start()
    rec = Recorder(b).attach(b)
    codes = codes_on_every_shard(cluster, a)
    for code in codes:
        assert await a.create_session(session(code))
        await b.subscribe(code)
    # each session's subscription is on the node that serves it
    assert (await b.health())["ok"] is True
    for code in codes:
        for i in range(3):
            await a.write_cell(code, CellWrite(f"c{i}", f"{code} {i}"), None)
    await wait_until(lambda: len(rec.events) == 9, what="9 events from 3 shards")
    for code in codes:
        assert [e.seq for e in rec.of(code)] == [1, 2, 3]
        # the data is on the primary of the session's slot, under the hash tag
        primary = cluster.primary_of(a.keys.session(code))
        with primary.client() as raw:
            assert raw.hget(a.keys.pending(code, "c2"), "source") == f"{code} 2".encode()
    assert await a.count_sessions() >= 3
    health = await a.health()
    assert health["ok"] is True and health["mode"] == "cluster" and health["primaries"] == 3
    assert PASSWORD not in str(health) and PASSWORD not in a.describe()


async def every_script(a: RedisStore, b: RedisStore, code: str) -> None:
    """Every store operation on one session, from two servers (b's view of the session's
    cells and students is old, so its scripts meet ``stale`` and run again)."""
    assert await a.create_session(session(code))
    await a.subscribe(code)
    for i in range(3):
        await a.write_cell(code, CellWrite(f"c{i}", f"v{i}"), None)
    await a.write_cell(code, CellWrite("c0", "v0'", crdt_state=b"\x00\x01"), expect_seq=1)
    await a.put_student(code, StudentRecord("s1", "u1", "Ann", joined=1.0))
    pulled = {"c1": PulledCell(2, "v1", b"\x02")}
    await b.put_student(code, StudentRecord("s2", "u2", "Bo", joined=2.0, pulled=pulled))
    await a.record_pull(code, "s1", "c0", PulledCell(4, "v0'", b"\x00\x01"))
    await a.set_sync_allowed(code, "c1", False)
    await a.set_presence(code, "s1", "conn-1", True)
    await a.heartbeat()
    assert {s.student_id: s.online for s in await b.list_students(code)} == {
        "s1": True,
        "s2": False,
    }
    await b.touch_session(code, 5.0)
    await b.write_cell(code, CellWrite("c3", "from b"), None)
    # help and progress, order and moves (the second server's members are old here too)
    await b.mark_pull(code, "s2", "c1", PullMark("kept", 2, at=3.0))
    ask = HelpRequest("s1", "c0", "r1", "Ann", "u1", "why?", "v0", opened=4.0)
    assert await a.put_help(code, ask)
    assert await b.put_help(code, replace(ask, answers=1, suggestion="v0!"), expect_id="r1")
    assert await b.reorder_cells(code, ["c3", "c1"]) == ["c3", "c1", "c0", "c2"]
    assert await b.move_cell(code, "c0", "c0-pasted") is not None
    assert await a.delete_help(code, "s1", "c0-pasted", expect_id="r1")
    assert await a.remove_cell(code, "c2") is not None
    await a.publish(StoreEvent(type="roster", code=code, origin="probe"))
    await a.set_presence(code, "s1", "conn-1", False)
    await a.end_session(code, 6.0)
    assert b.stale_members >= 1, "the second server's scripts were given old members"


def assert_every_key_declared(monitor: ScriptKeysMonitor, store: RedisStore) -> None:
    names: tuple[str, ...] = (*get_args(SessionScript), *get_args(PresenceScript))
    shas = {store._conn.scripts.get(n).sha: n for n in names}  # type: ignore[arg-type]
    ran = {shas.get(sha, sha) for sha, _keys, _cmds in monitor.scripts()}
    assert ran >= set(names), f"scripts not exercised: {set(names) - ran}"
    assert monitor.violations() == []


async def test_every_key_a_script_touches_is_in_its_KEYS_on_one_redis(
    redis_server: RedisServer, redis_prefix: str, stores: list[RedisStore]
) -> None:
    a = RedisStore(redis_server.url, prefix=redis_prefix, server_id="a")
    b = RedisStore(redis_server.url, prefix=redis_prefix, server_id="b")
    stores += [a, b]
    await a.start()
    await b.start()
    with ScriptKeysMonitor(redis_server) as monitor:
        await every_script(a, b, new_code())
    assert_every_key_declared(monitor, a)
    # the check finds a key a script did not declare
    raw = aioredis.Redis.from_url(redis_server.url)
    try:
        with ScriptKeysMonitor(redis_server) as bad:
            await raw.eval("redis.call('GET', KEYS[1] .. ':x'); return 1", 1, "declared")
    finally:
        await raw.aclose()
    assert [v.split(": ", 1)[1] for v in bad.violations()] == ["GET declared:x not in KEYS"]


async def test_every_key_a_script_touches_is_in_its_KEYS_on_the_cluster(
    cluster: RedisClusterProcesses, redis_prefix: str, stores: list[RedisStore]
) -> None:
    a = cluster_store(stores, cluster, redis_prefix, server_id="a")
    b = cluster_store(stores, cluster, redis_prefix, server_id="b")
    await a.start()
    await b.start()
    code = new_code()
    with ScriptKeysMonitor(cluster.primary_of(a.keys.session(code))) as monitor:
        await every_script(a, b, code)
    assert_every_key_declared(monitor, a)


async def test_a_slot_move_is_followed_by_writes_and_the_subscriber(
    cluster: RedisClusterProcesses,
    redis_prefix: str,
    stores: list[RedisStore],
    figures: dict[str, float],
) -> None:
    """Resharding moves a session's slot to another primary: the writer's next push is sent
    again to the new owner (MOVED), and the subscriber, told by Redis that the old node gave
    the channel up, subscribes at the new node and resyncs."""
    a = cluster_store(stores, cluster, redis_prefix, server_id="writer")
    b = cluster_store(stores, cluster, redis_prefix, server_id="reader")
    await a.start()
    await b.start()
    rec = Recorder().attach(b)
    code = new_code()
    assert await a.create_session(session(code))
    await b.subscribe(code)
    await a.write_cell(code, CellWrite("c", "before"), None)
    await wait_until(lambda: len(rec.events) == 1, what="event before the move")
    old = cluster.primary_of(a.keys.session(code))
    new = next(cluster.node(s["primary"]) for s in cluster.shards() if s["primary"] != old.port)
    await asyncio.to_thread(cluster.migrate_slot, key_slot(a.keys.session(code).encode()), new)
    moved_at = time.monotonic()
    assert cluster.primary_of(a.keys.session(code)).port == new.port
    written = await a.write_cell(code, CellWrite("c", "after"), None)  # MOVED, sent again
    assert written.seq == 2
    await wait_until(lambda: code in rec.resyncs, timeout=10, what="resync at the new node")
    figures["resubscribed_after_slot_move_s"] = time.monotonic() - moved_at
    subscriber = b._subscriber
    assert isinstance(subscriber, ShardedSubscriber)
    assert subscriber.nodes == {f"127.0.0.1:{new.port}": [code]}
    await a.write_cell(code, CellWrite("c", "later"), None)
    await wait_until(lambda: any(e.seq == 3 for e in rec.events), what="event after the move")
    cell = await b.get_cell(code, "c")
    assert cell is not None and cell.source == "later"


async def test_a_tls_cluster_with_a_ca_and_a_password(
    tmp_path: Path, redis_prefix: str, stores: list[RedisStore]
) -> None:
    """rediss:// with the CA (redis_ssl_ca_certs) and a password, as for one Redis: commands,
    the layout and sharded pub/sub all over TLS; without the CA, unavailable, not a hang."""
    secret = "tls-cluster-pw"
    tls = RedisClusterProcesses(tmp_path / "tls", replicas=0, password=secret, tls=True)
    tls.start()
    try:
        mode = RedisMode.build(cluster=True)
        ca = str(tls.ca_file)
        a = RedisStore(tls.url, prefix=redis_prefix, mode=mode, ssl_ca_certs=ca, server_id="a")
        b = RedisStore(tls.url, prefix=redis_prefix, mode=mode, ssl_ca_certs=ca, server_id="b")
        stores += [a, b]
        await a.start()
        await b.start()
        rec = Recorder().attach(b)
        codes = codes_on_every_shard(tls, a)
        for code in codes:
            assert await a.create_session(session(code))
            await b.subscribe(code)
            await a.write_cell(code, CellWrite("c", "over TLS", crdt_state=b"\x00\xff"), None)
        await wait_until(lambda: len(rec.events) == len(codes), what="events over TLS")
        cell = await b.get_cell(codes[0], "c")
        assert cell is not None and cell.crdt_state == b"\x00\xff"
        health = await a.health()
        assert health["ok"] is True and secret not in str(health)
        untrusted = RedisStore(tls.url, prefix=redis_prefix, mode=mode, server_id="untrusted")
        stores.append(untrusted)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as info:
            await untrusted.get_session(codes[0])
        assert time.monotonic() - started < 5.0 and secret not in str(info.value)
    finally:
        for store in stores:
            await store.stop()
        stores.clear()
        tls.stop()


# ---------------------------------------------------------------------------------------------
# Two Jupyter servers on the cluster
# ---------------------------------------------------------------------------------------------


def cluster_options(cluster: RedisClusterProcesses, prefix: str, **more: Any) -> dict[str, Any]:
    return {"redis_url": cluster.url, "redis_cluster": True, "key_prefix": prefix, **more}


async def one_class(teacher: TeacherClient, student: StudentClient, code: str, name: str) -> None:
    """A lesson in short: push, join, notify, pull, merge, lock, remove, end."""
    await teacher.push_cell("intro", f"# {name}\n", cell_type="markdown", index=0)
    joined = await student.join(code, name=name)
    assert [c["cell_id"] for c in joined["cells"]] == ["intro"]
    await student.wait_for_update("intro")
    await teacher.push_cell("code", "a = 1\nb = 2\nc = 3\n", index=1)
    await student.wait_for_update("code")
    await student.pull("code")
    student.edit_cell("code", "a = 1\nb = 2\nc = 30\n")
    ack = await teacher.push_cell("code", "a = 10\nb = 2\nc = 3\n")
    await student.wait_for_update("code", ack["seq"] - 1)
    assert (await student.pull("code"))["status"] == "merged"
    assert student.source("code") == "a = 10\nb = 2\nc = 30\n"
    await teacher.toggle_sync("code", False)
    assert (await student.next_message("sync_allowed_update"))["sync_allowed"] is False
    await teacher.remove_cell("intro")
    assert (await student.next_message("cell_removed"))["cell_id"] == "intro"
    await teacher.end_session()
    assert (await student.next_message("session_ended"))["session_code"] == code


async def test_two_jupyter_servers_run_classes_on_two_shards(
    nbsync_server_factory: Factory,
    cluster: RedisClusterProcesses,
    redis_prefix: str,
    connect: Connector,
) -> None:
    a = nbsync_server_factory(**cluster_options(cluster, redis_prefix))
    b = nbsync_server_factory(**cluster_options(cluster, redis_prefix, use_ydoc=False))
    status = await asyncio.to_thread(b.status)
    assert status["store"]["ok"] is True and status["store"]["mode"] == "cluster"
    classes: dict[int, tuple[TeacherClient, str]] = {}
    for _ in range(30):  # codes are drawn at random: until two land on different shards
        teacher: TeacherClient = await connect(a, TeacherClient)
        code = (await teacher.create_session("cluster"))["session_code"]
        port = cluster.primary_of(f"{redis_prefix}session:{{{code}}}").port
        classes.setdefault(port, (teacher, code))
        if len(classes) == 2:
            break
    assert len(classes) == 2
    students = [await connect(b, StudentClient) for _ in classes]
    await asyncio.gather(
        *(
            one_class(teacher, student, code, f"class {i}")
            for i, ((teacher, code), student) in enumerate(
                zip(classes.values(), students, strict=True)
            )
        )
    )
    for server in (a, b):
        log = server.log_text()
        assert "CROSSSLOT" not in log and "Traceback" not in log


# ---------------------------------------------------------------------------------------------
# A primary dies: its replica is promoted, the class goes on
# ---------------------------------------------------------------------------------------------


def restore(cluster: RedisClusterProcesses, dead: RedisServer) -> float:
    """Start the killed node again (it rejoins as a replica); seconds until all healthy."""
    cluster.restart(dead)
    return cluster.wait_healthy()


async def test_a_killed_primary_is_replaced_and_the_store_goes_on(
    cluster: RedisClusterProcesses,
    redis_prefix: str,
    stores: list[RedisStore],
    figures: dict[str, float],
) -> None:
    teacher = cluster_store(stores, cluster, redis_prefix, server_id="teacher")
    student = cluster_store(stores, cluster, redis_prefix, server_id="student")
    await teacher.start()
    await student.start()
    rec = Recorder().attach(student)
    code = new_code()
    assert await teacher.create_session(session(code))
    await student.subscribe(code)
    await teacher.write_cell(code, CellWrite("before", "kept"), None)
    await wait_until(lambda: len(rec.events) == 1, what="event before the failover")
    victim = cluster.primary_of(teacher.keys.session(code))
    heir = cluster.replica_of(victim)

    await asyncio.to_thread(cluster.kill, victim)
    killed_at = time.monotonic()
    refused, slowest, took, _rec = await push_until_accepted(
        lambda i: teacher.write_cell(code, CellWrite(f"during-{i}", "x"), None), killed_at + 30
    )
    figures["pushes_refused"] = refused
    figures["longest_refusal_s"] = slowest
    figures["first_push_accepted_after_kill_s"] = took
    assert refused >= 1 and slowest < 5.0
    # the replica took over; the node asked may learn it a moment after the push went through
    await wait_until(
        lambda: cluster.primary_of(teacher.keys.session(code)).port == heir.port,
        timeout=10,
        what="the cluster naming the promoted replica as the slot's primary",
    )
    # the student's server follows the session to the new primary and catches up
    await wait_until(lambda: code in rec.resyncs, timeout=15, what="resync at the new primary")
    figures["student_resynced_after_kill_s"] = time.monotonic() - killed_at
    after = [await teacher.write_cell(code, CellWrite(f"after-{i}", "y"), None) for i in range(5)]
    seqs = {r.seq for r in after}
    await wait_until(lambda: seqs <= {e.seq for e in rec.events}, what="events after failover")
    kept = await student.get_cell(code, "before")
    assert kept is not None and kept.source == "kept"
    for store in (teacher, student):  # each store's subscribers move in their own time
        await wait_until(lambda s=store: store_ok(s), timeout=10, what="a healthy store")
    figures["cluster_healthy_again_after_restart_s"] = await asyncio.to_thread(
        restore, cluster, victim
    )


@pytest.mark.failover
async def test_acknowledged_pushes_lost_in_a_failover_with_and_without_wait(
    cluster: RedisClusterProcesses,
    redis_prefix: str,
    stores: list[RedisStore],
    figures: dict[str, float],
) -> None:
    """Two teachers push without pause (4 pushes in flight each) to two sessions of one
    shard, one store waiting for a replica (WAIT 1, 500 ms), one not; the shard's primary is
    killed in the middle. Then every acknowledged push is looked for on the promoted replica."""
    plain = cluster_store(stores, cluster, redis_prefix, server_id="plain")
    acked = cluster_store(
        stores, cluster, redis_prefix, server_id="acked", wait_replicas=1, wait_timeout_ms=500
    )
    await plain.start()
    await acked.start()
    code_plain = new_code()
    victim = cluster.primary_of(plain.keys.session(code_plain))
    code_acked = next(
        c for c in iter(new_code, "") if cluster.primary_of(plain.keys.session(c)) == victim
    )
    runs = {"plain": Pushes(plain, code_plain), "wait": Pushes(acked, code_acked)}
    for run in runs.values():
        assert await run.store.create_session(session(run.code))
    stop = asyncio.Event()
    tasks = [asyncio.create_task(run.run(w, stop)) for run in runs.values() for w in range(4)]
    try:
        await wait_until(
            lambda: all(len(r.acked) >= 100 for r in runs.values()), timeout=60, what="pushes"
        )
        killed_at = time.monotonic()
        for run in runs.values():
            run.since = killed_at
        await asyncio.to_thread(cluster.kill, victim)
        figures["promoted_after_kill_s"] = await asyncio.to_thread(cluster.wait_promoted, victim)
        # the WAIT store takes pushes again once the shard has a replica: the killed node's
        # restart (it rejoins as a replica of the promoted one)
        await asyncio.to_thread(cluster.restart, victim)
        figures["replica_back_after_kill_s"] = time.monotonic() - killed_at
        await wait_until(
            lambda: all(len(r.acked) >= 200 and r.after(killed_at) >= 50 for r in runs.values()),
            timeout=60,
            what="pushes after the failover",
        )
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    await asyncio.to_thread(cluster.wait_healthy)
    for name, run in runs.items():
        lost = await run.lost()
        figures[f"{name}_pushes_acknowledged"] = len(run.acked)
        figures[f"{name}_pushes_refused"] = run.refused
        figures[f"{name}_acknowledged_pushes_lost"] = len(lost)
        assert run.recovered_at is not None
        figures[f"{name}_first_push_accepted_after_kill_s"] = run.recovered_at - killed_at
    assert figures["wait_acknowledged_pushes_lost"] == 0, "WAIT 1: nothing acknowledged is lost"
    assert all(len(r.acked) + r.refused >= 200 for r in runs.values())


@pytest.mark.failover
async def test_a_lagging_replica_loses_acknowledged_pushes_only_without_wait(
    cluster: RedisClusterProcesses,
    redis_prefix: str,
    stores: list[RedisStore],
    figures: dict[str, float],
) -> None:
    """What WAIT is for: the replica falls behind (stopped for 0.6 s: a busy or cut-off
    machine) and the primary dies before it caught up. Pushes acknowledged by the primary alone
    are lost; with WAIT they were refused instead."""
    plain = cluster_store(stores, cluster, redis_prefix, server_id="plain")
    acked = cluster_store(
        stores, cluster, redis_prefix, server_id="acked", wait_replicas=1, wait_timeout_ms=300
    )
    await plain.start()
    await acked.start()
    code_plain = new_code()
    victim = cluster.primary_of(plain.keys.session(code_plain))
    heir = cluster.replica_of(victim)
    code_acked = next(
        c for c in iter(new_code, "") if cluster.primary_of(plain.keys.session(c)) == victim
    )
    runs = {"plain": Pushes(plain, code_plain), "wait": Pushes(acked, code_acked)}
    for run in runs.values():
        assert await run.store.create_session(session(run.code))
    stop = asyncio.Event()
    tasks = [asyncio.create_task(run.run(w, stop)) for run in runs.values() for w in range(4)]
    try:
        await wait_until(lambda: all(len(r.acked) >= 50 for r in runs.values()), timeout=60)
        heir.pause()
        paused_at = time.monotonic()
        await asyncio.sleep(0.6)  # the replica falls behind while the pushes go on
        await asyncio.to_thread(cluster.kill, victim)
        heir.resume()
        killed_at = time.monotonic()
        for run in runs.values():
            run.since = killed_at
        await asyncio.to_thread(cluster.wait_promoted, victim)
        await asyncio.to_thread(cluster.restart, victim)
        await wait_until(lambda: all(r.after(killed_at) >= 20 for r in runs.values()), timeout=60)
    finally:
        heir.resume()
        stop.set()
        await asyncio.gather(*tasks)
    await asyncio.to_thread(cluster.wait_healthy)
    for name, run in runs.items():
        lost = await run.lost()
        figures[f"{name}_acknowledged_while_replica_stopped"] = sum(
            paused_at < sent < killed_at for *_x, sent in run.acked
        )
        figures[f"{name}_pushes"] = len(run.acked) + run.refused
        figures[f"{name}_acknowledged_pushes_lost"] = len(lost)
    assert figures["wait_acknowledged_pushes_lost"] == 0


async def test_a_class_goes_on_through_a_failover_on_two_jupyter_servers(
    nbsync_server_factory: Factory,
    cluster: RedisClusterProcesses,
    redis_prefix: str,
    connect: Connector,
    figures: dict[str, float],
) -> None:
    """The primary of a class's shard dies mid-lesson: the teacher's pushes answer
    store_unavailable within seconds, then succeed on the promoted replica, with no server
    restarted; the student (on the other server) is told of every push after the failover."""
    a = nbsync_server_factory(**cluster_options(cluster, redis_prefix))
    b = nbsync_server_factory(**cluster_options(cluster, redis_prefix))
    teacher: TeacherClient = await connect(a, TeacherClient)
    code = (await teacher.create_session("failover"))["session_code"]
    student: StudentClient = await connect(b, StudentClient)
    await student.join(code, name="Ada")
    before = await teacher.push_cell("before", "kept = True\n")
    await student.wait_for_update("before")
    victim = cluster.primary_of(f"{redis_prefix}session:{{{code}}}")

    await asyncio.to_thread(cluster.kill, victim)
    killed_at = time.monotonic()
    refused, slowest, took, first = await push_until_accepted(
        lambda i: teacher.push_cell(f"during-{i}", f"attempt = {i}\n"), killed_at + 30
    )
    figures["pushes_refused"] = refused
    figures["longest_refusal_s"] = slowest
    figures["first_push_accepted_after_kill_s"] = took
    assert refused >= 1 and slowest < 5.0
    acks = [first] + [await teacher.push_cell(f"after-{i}", f"n = {i}\n") for i in range(3)]
    for ack in acks:
        assert await student.wait_for_update(ack["cell_id"], timeout=15) == ack["seq"]
    figures["student_told_of_every_push_after_kill_s"] = time.monotonic() - killed_at
    assert (await student.pull("after-2"))["content"]["source"] == "n = 2\n"
    assert (await student.pull("before"))["seq"] == before["seq"]
    for server in (a, b):  # each server's subscriber has moved its sessions (or does soon)
        ok, store = await healthy_within(server, 10.0)
        assert ok, json.dumps(store)  # the whole reason, not pytest's shortened dict
    figures["cluster_healthy_again_after_restart_s"] = await asyncio.to_thread(
        restore, cluster, victim
    )
    for server in (a, b):
        assert "CROSSSLOT" not in server.log_text()


async def store_ok(store: RedisStore) -> bool:
    return (await store.health())["ok"] is True


async def healthy_within(server: Any, seconds: float) -> tuple[bool, dict[str, Any]]:
    """Whether the server's store reports ok within ``seconds``, and its last health (polled:
    after a failover each server's subscribers move their sessions to the promoted node in
    their own time; the teacher's server, which only publishes, may learn of it last)."""
    deadline = time.monotonic() + seconds
    while True:
        store: dict[str, Any] = (await asyncio.to_thread(server.status))["store"]
        if store["ok"] is True or time.monotonic() > deadline:
            return store["ok"] is True, store
        await asyncio.sleep(0.2)  # polling a state with a deadline, not synchronising


def test_no_crossslot_error_on_any_node(cluster: RedisClusterProcesses) -> None:
    """After everything above (every script, two servers, failovers, a slot move): no node
    ever answered CROSSSLOT."""
    for port, stats in cluster.errorstats().items():
        assert not any("CROSSSLOT" in name for name in stats), (port, stats)
