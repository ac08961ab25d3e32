"""The Redis store against the store contract, plus Redis-only behaviour and faults."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis_fixtures import MakeRedisServer, RedisServer
from store_contract import MakeStore, Recorder, StoreContract, new_code, session, wait_until

from notebook_sync_ydoc.store.base import (
    CellRecord,
    CellWrite,
    PulledCell,
    SeqConflict,
    Store,
    StoreTTL,
    StoreUnavailable,
    StudentRecord,
)
from notebook_sync_ydoc.store.redis import RedisStore, redact_url
from notebook_sync_ydoc.store.redis.pool import POOL_SIZE

pytestmark = pytest.mark.redis


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def _delete_prefix(url: str, prefix: str) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


class TestRedisStoreContract(StoreContract):
    kind = "redis"

    @pytest.fixture
    async def make_store(self, redis_url: str, redis_prefix: str) -> AsyncIterator[MakeStore]:
        made: list[Store] = []

        async def make(ttl: StoreTTL | None = None) -> Store:
            store = RedisStore(redis_url, prefix=redis_prefix, server_id="redis-test", ttl=ttl)
            await store.start()
            made.append(store)
            return store

        yield make
        for store in made:
            await store.stop()
        await _delete_prefix(redis_url, redis_prefix)


# ---------------------------------------------------------------------------------------------
# Redis-only behaviour
# ---------------------------------------------------------------------------------------------


def _started(made: list[RedisStore], url: str, prefix: str, **kw: Any) -> RedisStore:
    kw.setdefault("reconnect_max", 0.5)
    store = RedisStore(url, prefix=prefix, **kw)
    made.append(store)
    return store


async def test_keys_carry_prefix_hash_tag_and_ttl(
    redis_url: str, redis_prefix: str, stores: list[RedisStore]
) -> None:
    store = _started(stores, redis_url, redis_prefix, ttl=StoreTTL(active=600, ended=30))
    await store.start()
    code = new_code()
    assert await store.create_session(session(code))
    await store.write_cell(code, CellWrite("c1", "x", crdt_state=b"\x00\x01"), None)
    await store.put_student(code, StudentRecord("s1", "u", "U"))
    await store.record_pull(code, "s1", "c1", PulledCell(1, "x", b"\x00\x01"))
    await store.set_presence(code, "s1", "conn", True)
    raw = aioredis.Redis.from_url(redis_url)
    try:
        keys = sorted(_s(k) for k in await raw.keys(f"{redis_prefix}*"))
        tag = f"{{{code}}}"
        expected = {
            f"{redis_prefix}session:{tag}",
            f"{redis_prefix}session:{tag}:seq",
            f"{redis_prefix}session:{tag}:cells",
            f"{redis_prefix}session:{tag}:students",
            f"{redis_prefix}session:{tag}:presence",
            f"{redis_prefix}pending_update:{tag}:c1",
            f"{redis_prefix}student:{tag}:s1",
            f"{redis_prefix}sessions",
        }
        assert set(keys) == expected
        for key in keys:
            ttl = await raw.pttl(key)
            assert 0 < ttl <= 600_000, key
            if key != f"{redis_prefix}sessions":
                assert tag in key  # one hash tag: one cluster slot per session
        assert await raw.type(f"{redis_prefix}session:{tag}:cells") == b"hash"
        assert await raw.get(f"{redis_prefix}session:{tag}:seq") == b"1"
        assert await raw.hget(f"{redis_prefix}pending_update:{tag}:c1", "crdt_state") == (
            b"\x00\x01"
        )
        # ending shortens every key of the session to ttl.ended
        await store.end_session(code, 5.0)
        for key in expected - {f"{redis_prefix}sessions"}:
            ttl = await raw.pttl(key)
            assert 0 < ttl <= 30_000, key
    finally:
        await raw.aclose()


async def test_ttls_refreshed_past_half_life_and_every_key_keeps_the_sessions_deadline(
    redis_url: str, redis_prefix: str, stores: list[RedisStore]
) -> None:
    """A script refreshes every key of the session only when the session key has less than half
    of its TTL left (with 200 students that is ~240 PEXPIREs); otherwise only the keys it may
    have created, to the session's remaining time. Either way no key of the session expires
    before it or outlives it, a key created later included."""
    store = _started(stores, redis_url, redis_prefix, ttl=StoreTTL(active=600, ended=30))
    await store.start()
    code = new_code()
    tag = f"{{{code}}}"
    session_key = f"{redis_prefix}session:{tag}"
    assert await store.create_session(session(code))
    first = await store.write_cell(code, CellWrite("c1", "x"), None)
    for sid in ("s1", "s2"):
        await store.put_student(code, StudentRecord(sid, sid, sid.upper()))
    raw = aioredis.Redis.from_url(redis_url)

    async def ttls() -> dict[str, int]:
        keys = [_s(k) for k in await raw.keys(f"{redis_prefix}*{tag}*")]
        return {key: await raw.pttl(key) for key in keys}

    async def age_to(ms: int) -> None:  # as if the last full refresh were (600 s - ms) ago
        for key in await ttls():
            await raw.pexpire(key, ms)

    def same_deadline(got: dict[str, int], low: int, high: int) -> None:
        assert low <= got[session_key] <= high, got
        for key, ttl in got.items():
            assert abs(ttl - got[session_key]) <= 2_000 and ttl > 0, (key, got)

    try:
        same_deadline(await ttls(), 590_000, 600_000)
        await age_to(400_000)  # more than half left: member keys are not refreshed
        second = await store.write_cell(code, CellWrite("c1", "y"), first.seq)
        await store.record_pull(code, "s1", "c1", PulledCell(second.seq, "y"))
        await store.put_student(code, StudentRecord("s3", "s3", "S3"))  # a new key
        await store.write_cell(code, CellWrite("c2", "z"), None)  # a new key
        got = await ttls()
        assert f"{redis_prefix}student:{tag}:s3" in got
        assert f"{redis_prefix}pending_update:{tag}:c2" in got
        same_deadline(got, 380_000, 400_000)
        await age_to(250_000)  # less than half left: every key refreshed at once
        await store.write_cell(code, CellWrite("c1", "w"), second.seq)
        same_deadline(await ttls(), 590_000, 600_000)
        await age_to(250_000)  # a join refreshes too
        await store.put_student(code, StudentRecord("s4", "s4", "S4"))
        same_deadline(await ttls(), 590_000, 600_000)
        await store.end_session(code, 5.0)  # ending shortens every key to ttl.ended
        same_deadline(await ttls(), 25_000, 30_000)
        await store.touch_session(code, 6.0)  # ended: still its shorter TTL
        same_deadline(await ttls(), 25_000, 30_000)
    finally:
        await raw.aclose()


async def test_a_class_joining_through_four_servers_at_once(
    redis_url: str, redis_prefix: str, stores: list[RedisStore]
) -> None:
    """Four servers add 200 students each to one session at the same instant, while they
    push. A write touches no other member's key until a refresh of them all is due, so it is
    sent without them and nothing makes it stale. When every script was given every member
    key, each server's new students made the others' scripts stale again; 5,000 students
    joining through 2-4 servers answered some joins ``store_unavailable`` after 16 attempts."""
    servers = [_started(stores, redis_url, redis_prefix, server_id=f"srv{i}") for i in range(4)]
    for store in servers:
        await store.start()
    code = new_code()
    assert await servers[0].create_session(session(code))
    await servers[0].write_cell(code, CellWrite("c", "x"), None)
    per_server = 200

    async def join(store: RedisStore, i: int) -> None:
        await store.put_student(code, StudentRecord(f"s{i}", f"u{i}", f"S{i}", joined=1.0))

    async def push(store: RedisStore) -> None:
        for k in range(10):
            await store.write_cell(code, CellWrite("c", f"x{k}"), None)

    results = await asyncio.gather(
        *(join(servers[i % 4], i) for i in range(4 * per_server)),
        *(push(store) for store in servers),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == [], f"{len(failures)} failed, e.g. {failures[:1]}"
    assert len(await servers[1].list_students(code)) == 4 * per_server
    assert sum(store.stale_members for store in servers) == 0  # fresh: no member keys needed
    # half of the lifetime gone: the next write from a server that never listed the members
    # is stale once, then refreshes every key with them
    raw = aioredis.Redis.from_url(redis_url)
    try:
        for key in await raw.keys(f"{redis_prefix}*{{{code}}}*"):
            await raw.pexpire(key, 1_000)
        late = servers[3]
        await late.write_cell(code, CellWrite("c", "refreshed"), None)
        assert late.stale_members == 1
        ttls = [await raw.pttl(k) for k in await raw.keys(f"{redis_prefix}*{{{code}}}*")]
        assert len(ttls) > 4 * per_server and min(ttls) > 1_000, min(ttls)
    finally:
        await raw.aclose()


async def test_events_on_the_documented_channel(
    redis_url: str, redis_prefix: str, stores: list[RedisStore]
) -> None:
    store = _started(stores, redis_url, redis_prefix, server_id="srv-A")
    await store.start()
    code = new_code()
    assert await store.create_session(session(code))
    assert store.channel(code) == f"{redis_prefix}sync_session_{{{code}}}"
    raw = aioredis.Redis.from_url(redis_url)
    ps = raw.pubsub()
    try:
        await ps.subscribe(store.channel(code))
        assert (await ps.get_message(timeout=2))["type"] == "subscribe"
        await store.write_cell(code, CellWrite("c1", "x"), None)
        msg = await ps.get_message(ignore_subscribe_messages=True, timeout=2)
        assert msg is not None
        assert json.loads(msg["data"]) == {
            "type": "cell",
            "cell_id": "c1",
            "seq": 1,
            "sync_allowed": True,
            "origin": "srv-A",
            "index": 0,
            "cell_type": "code",
        }
    finally:
        await ps.aclose()
        await raw.aclose()


async def test_events_cross_servers(
    redis_url: str, redis_prefix: str, stores: list[RedisStore]
) -> None:
    a = _started(stores, redis_url, redis_prefix, server_id="srv-a")
    b = _started(stores, redis_url, redis_prefix, server_id="srv-b")
    await a.start()
    await b.start()
    rec = Recorder(b).attach(b)
    code = new_code()
    assert await a.create_session(session(code))
    await b.subscribe(code)
    for i in range(10):
        await a.write_cell(code, CellWrite(f"c{i % 3}", str(i)), None)
    await wait_until(lambda: len(rec.events) == 10, what="10 events on the other server")
    assert [e.seq for e in rec.events] == list(range(1, 11))
    assert {e.origin for e in rec.events} == {"srv-a"}
    # the other server read the cell in its handler and saw at least the event's seq
    assert all(
        seen is not None and seen >= e.seq for seen, e in zip(rec.seen_seq, rec.events, strict=True)
    )
    # expect_seq across servers: one wins
    results = await asyncio.gather(
        a.write_cell(code, CellWrite("c0", "a"), expect_seq=10),
        b.write_cell(code, CellWrite("c0", "b"), expect_seq=10),
        return_exceptions=True,
    )
    assert sum(isinstance(r, SeqConflict) for r in results) == 1
    assert sum(isinstance(r, CellRecord) for r in results) == 1


async def test_script_reloaded_after_script_flush(
    redis_url: str, redis_prefix: str, stores: list[RedisStore]
) -> None:
    store = _started(stores, redis_url, redis_prefix)
    await store.start()
    code = new_code()
    assert await store.create_session(session(code))
    await store.write_cell(code, CellWrite("a", "1"), None)
    raw = aioredis.Redis.from_url(redis_url)
    try:
        await raw.script_flush()
    finally:
        await raw.aclose()
    assert (await store.write_cell(code, CellWrite("a", "2"), None)).seq == 2


def test_redact_url() -> None:
    assert redact_url("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    assert redact_url("rediss://user:p%40ss@h/1") == "rediss://user:***@h/1"
    assert redact_url("redis://pw@h:1") == "redis://***@h:1"
    assert redact_url("redis://h:6379/0") == "redis://h:6379/0"
    assert redact_url("redis://h/0?password=pw&db=1") == "redis://h/0?password=***&db=1"


async def test_password_never_leaks(
    make_redis_server: MakeRedisServer,
    redis_prefix: str,
    stores: list[RedisStore],
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "Zq7-very-secret-pw"
    server = make_redis_server(password=secret)
    assert secret in server.url
    caplog.set_level(logging.DEBUG)
    store = _started(stores, server.url, redis_prefix)
    await store.start()
    code = new_code()
    assert await store.create_session(session(code))
    health = await store.health()
    assert health["ok"] is True and health["subscriber_connected"] is True
    assert health["url"] == f"redis://:***@127.0.0.1:{server.port}/0"
    assert isinstance(health["latency_ms"], float)
    texts = [json.dumps(health), repr(store), str(store.__dict__.get("redacted_url"))]
    # a wrong password: the error names the URL without either password
    wrong = _started(stores, server.url.replace(secret, secret + "-wrong"), redis_prefix)
    with pytest.raises(StoreUnavailable) as info:
        await wrong.get_session(code)
    texts.append(str(info.value))
    texts.append(json.dumps(await wrong.health()))
    # Redis gone: errors, health and the subscriber's log lines
    server.kill()
    with pytest.raises(StoreUnavailable) as info:
        await store.write_cell(code, CellWrite("a", "x"), None)
    texts.append(str(info.value))
    down = await store.health()
    assert down["ok"] is False and down["error"]
    texts.append(json.dumps(down))
    await wait_until(lambda: not store._sub_connected, what="subscriber to notice")
    texts += [r.getMessage() for r in caplog.records]
    texts += [r.exc_text or "" for r in caplog.records]
    assert any("unavailable" in t or "lost" in t for t in texts)
    for text in texts:
        assert secret not in text


async def test_push_fails_fast_while_down_and_recovers_without_loss(
    redis_server: RedisServer,
    redis_prefix: str,
    stores: list[RedisStore],
    figures: dict[str, float],
) -> None:
    store = _started(stores, redis_server.url, redis_prefix)
    rec = Recorder().attach(store)
    await store.start()
    code = new_code()
    assert await store.create_session(session(code))
    await store.subscribe(code)
    state = bytes(range(256))
    for i in range(5):
        await store.write_cell(code, CellWrite(f"c{i}", f"v{i}", crdt_state=state), None)
    await store.put_student(code, StudentRecord("s1", "u", "U", joined=1.0))
    await store.record_pull(code, "s1", "c0", PulledCell(1, "v0", state))
    await wait_until(lambda: len(rec.events) == 5, what="events before the outage")

    redis_server.stop()
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await store.write_cell(code, CellWrite("c9", "lost?"), None)
    figures["push_fail_s (redis stopped)"] = took = time.monotonic() - started
    assert took < 5.0
    with pytest.raises(StoreUnavailable):
        await store.get_cell(code, "c0")
    assert (await store.health())["ok"] is False

    redis_server.start()
    restarted = time.monotonic()
    # the very first command after the restart works: no stale pooled connection is reused
    await store.write_cell(code, CellWrite("c5", "after"), None)
    figures["write_recovery_s"] = time.monotonic() - restarted
    await wait_until(lambda: code in rec.resyncs, timeout=10, what="resync after restart")
    figures["resync_after_restart_s"] = time.monotonic() - restarted
    assert (await store.health())["ok"] is True
    # nothing written before the outage is lost, and the failed push left nothing behind
    entries = await store.list_cells(code)
    assert [(e.cell_id, e.seq) for e in entries] == [(f"c{i}", i + 1) for i in range(6)]
    assert await store.get_cell(code, "c9") is None
    cell = await store.get_cell(code, "c3")
    assert cell is not None and cell.source == "v3" and cell.crdt_state == state
    student = await store.get_student(code, "s1")
    assert student is not None and student.pulled == {"c0": PulledCell(1, "v0", state)}
    # events flow again (the event of seq 6 may have been published before the subscriber was
    # back: pub/sub is at-most-once, the resync above is what covers it)
    await store.write_cell(code, CellWrite("c6", "later"), None)
    await wait_until(lambda: any(e.seq == 7 for e in rec.events), what="event of seq 7")


async def test_push_fails_fast_when_redis_hangs(
    redis_server: RedisServer,
    redis_prefix: str,
    stores: list[RedisStore],
    figures: dict[str, float],
) -> None:
    store = _started(stores, redis_server.url, redis_prefix)
    await store.start()
    code = new_code()
    assert await store.create_session(session(code))
    redis_server.pause()
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await store.write_cell(code, CellWrite("a", "x"), None)
        figures["push_fail_s (redis hung)"] = took = time.monotonic() - started
        assert took < 5.0
    finally:
        redis_server.resume()
    # the script may or may not have run when the reply timed out; the store works again
    await wait_until(lambda: _works(store.get_session(code)), timeout=10, what="recovery")


async def test_subscribe_while_down_is_bounded(
    redis_server: RedisServer, redis_prefix: str, stores: list[RedisStore]
) -> None:
    store = _started(stores, redis_server.url, redis_prefix)
    rec = Recorder().attach(store)
    await store.start()
    code = new_code()
    assert await store.create_session(session(code))
    redis_server.stop()
    await wait_until(lambda: not store._sub_connected, what="subscriber to notice")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await store.subscribe(code)
    assert time.monotonic() - started < 6.0
    # once Redis is back the code is subscribed after all, and resynced
    redis_server.start()
    await wait_until(lambda: code in rec.resyncs, timeout=10, what="late subscription")
    await store.write_cell(code, CellWrite("a", "x"), None)
    await wait_until(lambda: len(rec.events) == 1, what="event after the late subscription")


async def test_pubsub_client_kill_resyncs_and_events_flow(
    redis_server: RedisServer,
    redis_prefix: str,
    stores: list[RedisStore],
    figures: dict[str, float],
) -> None:
    store = _started(stores, redis_server.url, redis_prefix)
    writer = _started(stores, redis_server.url, redis_prefix, server_id="writer")
    rec = Recorder().attach(store)
    await store.start()
    await writer.start()
    codes = [new_code(), new_code()]
    for c in codes:
        assert await writer.create_session(session(c))
        await store.subscribe(c)
    await writer.write_cell(codes[0], CellWrite("a", "1"), None)
    await wait_until(lambda: len(rec.events) == 1, what="first event")
    assert rec.resyncs == []
    raw = redis_server.client()
    try:
        killed = raw.client_kill_filter(_type="pubsub")
    finally:
        raw.close()
    assert killed >= 1
    started = time.monotonic()
    await wait_until(lambda: sorted(rec.resyncs) == sorted(codes), timeout=10, what="resyncs")
    figures["resync_after_client_kill_s"] = time.monotonic() - started
    assert store.reconnects >= 1
    await writer.write_cell(codes[1], CellWrite("b", "2"), None)
    await wait_until(
        lambda: any(e.code == codes[1] for e in rec.events), what="event after the reconnect"
    )
    assert (await store.health())["subscriber_connected"] is True


async def test_presence_expires_after_a_dead_server(
    redis_url: str, redis_prefix: str, stores: list[RedisStore], figures: dict[str, float]
) -> None:
    kw: dict[str, Any] = {"presence_interval": 0.2, "presence_lifetime": 1.0}
    live = _started(stores, redis_url, redis_prefix, server_id="live", **kw)
    dead = _started(stores, redis_url, redis_prefix, server_id="dead", **kw)
    await live.start()
    await dead.start()
    code = new_code()
    assert await live.create_session(session(code))
    await live.put_student(code, StudentRecord("s-live", "u1", "Live", joined=1.0))
    await live.put_student(code, StudentRecord("s-dead", "u2", "Dead", joined=2.0))
    await live.set_presence(code, "s-live", "c1", True)
    await dead.set_presence(code, "s-dead", "c2", True)
    # the same student through a connection on the live server and one on the dead one
    await live.set_presence(code, "s-both", "c3", True)
    await dead.set_presence(code, "s-both", "c4", True)
    await live.put_student(code, StudentRecord("s-both", "u3", "Both", joined=3.0))

    async def online() -> dict[str, bool]:
        return {s.student_id: s.online for s in await live.list_students(code)}

    assert await online() == {"s-live": True, "s-dead": True, "s-both": True}
    # "kill -9": the dead server's heartbeat stops, nothing cleans up after it
    assert dead._heartbeat is not None
    dead._heartbeat.cancel()
    dead._local_presence.clear()  # so its stop() at teardown cannot remove the members
    started = time.monotonic()

    async def dead_is_offline() -> bool:
        return (await online())["s-dead"] is False

    await wait_until(dead_is_offline, timeout=5, what="presence of the dead server to expire")
    figures["presence_expiry_s (lifetime 1.0)"] = time.monotonic() - started
    # the live server's heartbeat kept its students beyond the lifetime
    assert await online() == {"s-live": True, "s-dead": False, "s-both": True}
    # a graceful stop takes this server's students offline at once
    await live.stop()
    observer = _started(stores, redis_url, redis_prefix, server_id="observer")
    students = {s.student_id: s.online for s in await observer.list_students(code)}
    assert students == {"s-live": False, "s-dead": False, "s-both": False}


async def _works(value: Awaitable[object]) -> bool:
    try:
        await value
    except StoreUnavailable:
        return False
    return True


async def test_tls_with_ca_and_password(
    make_redis_server: MakeRedisServer, redis_prefix: str, stores: list[RedisStore]
) -> None:
    server = make_redis_server(tls=True, password="tls-secret-pw")
    assert server.url.startswith("rediss://")
    store = _started(stores, server.url, redis_prefix, ssl_ca_certs=str(server.ca_file))
    rec = Recorder().attach(store)
    await store.start()
    code = new_code()
    assert await store.create_session(session(code))
    await store.subscribe(code)
    await store.write_cell(code, CellWrite("a", "x", crdt_state=b"\x00\xff"), None)
    await wait_until(lambda: len(rec.events) == 1, what="event over TLS")
    cell = await store.get_cell(code, "a")
    assert cell is not None and cell.crdt_state == b"\x00\xff"
    health = await store.health()
    assert health["ok"] is True and "tls-secret-pw" not in json.dumps(health)
    # without the CA the certificate is not trusted: unavailable, not a hang
    untrusted = _started(stores, server.url, redis_prefix)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await untrusted.get_session(code)
    assert time.monotonic() - started < 5.0


async def test_a_burst_past_the_pool_size_waits_for_a_connection(
    redis_url: str, redis_prefix: str
) -> None:
    """A class acting in the same instant (200 help requests in one second, a lecture hall
    pulling): more operations in flight than the pool has connections wait for one to come
    free instead of failing. redis-py's own default pool raised MaxConnectionsError past 100
    connections, answered ``store_unavailable``."""
    store = RedisStore(redis_url, prefix=redis_prefix, server_id="burst")
    await store.start()
    try:
        code = new_code()
        assert await store.create_session(session(code))
        await store.write_cell(code, CellWrite("c", "x = 1"), None)
        n = 3 * POOL_SIZE  # well past both redis-py's default (100) and ours
        results = await asyncio.gather(
            *(store.get_cell(code, "c") for _ in range(n)), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        assert failures == [], f"{len(failures)} of {n} failed, e.g. {failures[:1]}"
        assert all(isinstance(r, CellRecord) and r.source == "x = 1" for r in results)
        # a class joining at once through this server: each join's script is given every
        # member's key, so they are fewer than the reads (still past the pool)
        joins = POOL_SIZE + 64
        writes = await asyncio.gather(
            *(
                store.put_student(code, StudentRecord(f"s{i}", f"u{i}", f"S{i}", joined=1.0))
                for i in range(joins)
            ),
            return_exceptions=True,
        )
        assert [w for w in writes if isinstance(w, BaseException)][:1] == []
        assert len(await store.list_students(code)) == joins
    finally:
        await store.stop()
        await _delete_prefix(redis_url, redis_prefix)
