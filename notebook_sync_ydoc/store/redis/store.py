"""RedisStore: the :class:`~notebook_sync_ydoc.store.base.Store` on Redis, composed of the
connection (:mod:`.connection`; one Redis, a Redis Cluster or Sentinel: :mod:`.modes`), key
names (:mod:`.keys`), Lua scripts (:mod:`.scripts`, run by :mod:`.members`), the pub/sub
subscriber (:mod:`.subscriber`; :mod:`.shard_subscriber` on a cluster) and presence
(:mod:`.presence`)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

from ..base import (
    CellIndexEntry,
    CellRecord,
    CellWrite,
    PulledCell,
    SeqConflict,
    SessionGone,
    SessionRecord,
    Store,
    StoreError,
    StoreEvent,
    StoreSettings,
    StoreTTL,
    StudentRecord,
)
from .connection import REDIS_ERRORS, RedisConnection
from .help import RedisHelp
from .keys import KeySpace
from .members import SessionScripts
from .modes import RedisMode
from .order import RedisOrder
from .presence import Presence
from .records import (
    RawHash,
    cell_args,
    cell_from,
    compact_json,
    index_entries,
    initial_pulled_fields,
    outputs_from,
    pairs,
    pulled_json,
    session_fields,
    session_from,
    student_from,
    text,
)
from .shard_subscriber import make_subscriber

log = logging.getLogger(__name__)


class RedisStore(RedisHelp, RedisOrder, Store):
    """The Redis store (kind ``"redis"``); see the package docstring."""

    kind = "redis"
    shared = True

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "nbsync:",
        server_id: str | None = None,
        ttl: StoreTTL | None = None,
        ssl_ca_certs: str | None = None,
        ssl_check_hostname: bool = True,
        socket_timeout: float = 2.0,
        socket_connect_timeout: float = 2.0,
        presence_interval: float = 10.0,
        presence_lifetime: float = 30.0,
        reconnect_min: float = 0.1,
        reconnect_max: float = 5.0,
        ping_interval: float = 5.0,
        mode: RedisMode | None = None,
    ) -> None:
        """``mode``: one Redis (the default), a Redis Cluster or Sentinel, and WAIT
        (:meth:`RedisMode.build <.modes.RedisMode.build>` checks the combination)."""
        super().__init__(server_id=server_id or f"server-{uuid.uuid4().hex[:12]}", ttl=ttl)
        if presence_lifetime <= presence_interval:
            raise ValueError("presence_lifetime must be longer than presence_interval")
        self.mode = mode or RedisMode()
        self.url = url
        self.prefix = prefix
        self.keys = KeySpace(prefix)
        self._conn = RedisConnection(
            url,
            client_name=f"nbsync-{self.server_id}"[:64].replace(" ", "_"),
            ssl_ca_certs=ssl_ca_certs,
            ssl_check_hostname=ssl_check_hostname,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_connect_timeout,
            mode=self.mode,
        )
        self.redacted_url = self._conn.redacted_url
        self._scripts = SessionScripts(self._conn, self.keys, self.server_id, self.ttl)
        self._subscriber = make_subscriber(
            self._conn,
            self.keys,
            self.server_id,
            on_event=self._deliver_event,
            on_resync=self._deliver_resync,
            socket_timeout=socket_timeout,
            ping_interval=ping_interval,
            reconnect_min=reconnect_min,
            reconnect_max=reconnect_max,
        )
        self._presence = Presence(
            self._conn,
            self.keys,
            self.server_id,
            interval=presence_interval,
            lifetime=presence_lifetime,
        )
        self.presence_recheck = presence_interval

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> RedisStore:
        if not settings.url:
            raise ValueError("RedisStore needs a redis_url (or REDIS_URL)")
        return cls(
            url=settings.url,
            prefix=settings.prefix,
            ttl=settings.ttl,
            server_id=settings.server_id,
            ssl_ca_certs=settings.ssl_ca_certs,
            ssl_check_hostname=settings.ssl_check_hostname,
            reconnect_min=settings.reconnect_min,
            presence_lifetime=settings.presence_lifetime,
            presence_interval=settings.presence_lifetime / 3,
            mode=RedisMode.build(
                cluster=settings.cluster,
                cluster_nodes=settings.cluster_nodes,
                sentinels=settings.sentinels,
                sentinel_master=settings.sentinel_master,
                sentinel_password=settings.sentinel_password,
                wait_replicas=settings.wait_replicas,
                wait_timeout_ms=settings.wait_timeout_ms,
            ),
        )

    def describe(self) -> str:
        if self.mode == RedisMode():
            return f"Redis store at {self.redacted_url}"
        return f"Redis store ({self.mode.describe()}) at {self.redacted_url}"

    def __repr__(self) -> str:
        return (
            f"RedisStore(url={self.redacted_url!r}, prefix={self.prefix!r}, "
            f"server_id={self.server_id!r})"
        )

    def channel(self, code: str) -> str:
        """The pub/sub channel of a session."""
        return self.keys.channel(code)

    @property
    def reconnects(self) -> int:
        """How many times the subscriber reconnected (for tests, status)."""
        return self._subscriber.reconnects

    # seen by the fault tests (tests/test_store_redis.py)
    @property
    def _sub_connected(self) -> bool:
        return self._subscriber.connected

    @property
    def _heartbeat(self) -> asyncio.Task[None] | None:
        return self._presence.task

    @property
    def _local_presence(self) -> dict[str, set[str]]:
        return self._presence.local

    @property
    def stale_members(self) -> int:
        """Scripts run again because this server's view of a session's members was old."""
        return self._scripts.stale_replies

    async def _deliver_event(self, event: StoreEvent) -> None:
        if self._event_handler is not None:
            await self._event_handler(event)

    async def _deliver_resync(self, code: str) -> None:
        if self._resync_handler is not None:
            await self._resync_handler(code)

    # lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._subscriber.running:
            return
        await self._presence.start()
        await self._subscriber.start()

    async def stop(self) -> None:
        await self._presence.stop()
        await self._subscriber.stop()
        # this server's students go offline now rather than after the presence lifetime
        await self._presence.withdraw()
        try:
            await self._conn.aclose()
        except REDIS_ERRORS as exc:
            log.warning("redis store: closing the client failed: %s", self._conn.clean(exc))

    async def health(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": False,
            "kind": self.kind,
            "url": self.redacted_url,
            "latency_ms": None,
            "subscriber_connected": self._subscriber.connected,
            "error": None,
        }
        if self.mode != RedisMode():
            out["mode"] = self.mode.kind
            out["wait_replicas"] = self.mode.wait_replicas
        if self._conn.cluster is not None:
            out["primaries"] = len(self._conn.cluster.primaries())
        start = time.perf_counter()
        try:
            await self._conn.call(self.keys.registry, lambda c: c.ping())
        except StoreError as exc:
            out["error"] = str(exc)
            return out
        out["latency_ms"] = round((time.perf_counter() - start) * 1000, 3)
        if self._subscriber.running and not self._subscriber.connected:
            out["error"] = self._subscriber.error or "subscriber not connected"
        else:
            out["ok"] = True
        return out

    # events ----------------------------------------------------------------------------------
    async def subscribe(self, code: str) -> None:
        await self._subscriber.subscribe(code)

    async def unsubscribe(self, code: str) -> None:
        await self._subscriber.unsubscribe(code)

    async def publish(self, event: StoreEvent) -> None:
        data = compact_json(event.to_dict())
        channel = self.keys.channel(event.code)
        if self.mode.sharded:
            await self._conn.call(channel, lambda c: c.spublish(channel, data))
        else:
            await self._conn.call(channel, lambda c: c.publish(channel, data))

    # sessions --------------------------------------------------------------------------------
    async def create_session(self, session: SessionRecord) -> bool:
        code = session.code
        if not await self._scripts.create(code, session_fields(session)):
            return False
        registry = self.keys.registry
        lifetime = max(1, int(self.ttl.active * 1000))

        async def register(client: Any) -> None:
            async with client.pipeline(transaction=False) as pipe:
                pipe.zadd(registry, {code: time.time()})
                pipe.pexpire(registry, lifetime)
                await pipe.execute()

        try:
            await self._conn.call(registry, register)
        except StoreError as exc:
            # the session exists; only the approximate count misses it
            log.warning("redis store: session registry update failed: %s", exc)
        return True

    async def get_session(self, code: str) -> SessionRecord | None:
        h = await self._conn.hgetall(self.keys.session(code))
        return session_from(h) if h else None

    async def end_session(self, code: str, now: float) -> SessionRecord | None:
        res = await self._scripts.run("end_session", code, None, [repr(float(now))])
        if text(res[0]) != "ok":
            return None
        return session_from(pairs(res[1]))

    async def touch_session(self, code: str, now: float) -> None:
        await self._scripts.run("touch_session", code, None, [repr(float(now))])

    # cells -----------------------------------------------------------------------------------
    async def write_cell(self, code: str, cell: CellWrite, expect_seq: int | None) -> CellRecord:
        updated = time.time()
        metadata = compact_json(cell.metadata, ensure_ascii=False)
        args = cell_args(cell, expect_seq, metadata, updated)
        own = self.keys.pending(code, cell.cell_id)
        # a cell being written is passed as a member already: concurrent scripts of this
        # server then include it (an extra member key is allowed, see members.py)
        self._scripts.members.get(code).add_cell(cell.cell_id)
        res = await self._scripts.run("write_cell", code, own, args)
        status = text(res[0])
        if status == "gone":
            raise SessionGone(f"session {code} does not exist")
        if status == "ended":
            raise SessionGone(f"session {code} has ended")
        if status == "conflict":
            raise SeqConflict(
                f"cell {cell.cell_id}: expected seq {expect_seq}, found {int(res[1])}"
            )
        return CellRecord(
            cell_id=cell.cell_id,
            seq=int(res[1]),
            source=cell.source,
            cell_type=cell.cell_type,
            metadata=json.loads(metadata),
            crdt_state=cell.crdt_state,
            sync_allowed=int(res[3]) == 1,
            index=int(res[2]),
            updated=updated,
            outputs=outputs_from(res[4] if len(res) > 4 else None),
        )

    async def set_sync_allowed(self, code: str, cell_id: str, allowed: bool) -> CellRecord | None:
        own = self.keys.pending(code, cell_id)
        res = await self._scripts.run(
            "set_sync_allowed", code, own, [cell_id, "1" if allowed else "0"]
        )
        status = text(res[0])
        if status == "ended":
            raise SessionGone(f"session {code} has ended")
        if status != "ok":
            return None
        return cell_from(cell_id, pairs(res[1]))

    async def remove_cell(self, code: str, cell_id: str) -> int | None:
        own = self.keys.pending(code, cell_id)
        res = await self._scripts.run("remove_cell", code, own, [cell_id])
        status = text(res[0])
        if status == "ended":
            raise SessionGone(f"session {code} has ended")
        if status != "ok":
            return None
        self._scripts.members.get(code).drop_cell(cell_id)
        return int(res[1])

    async def get_cell(self, code: str, cell_id: str) -> CellRecord | None:
        h = await self._conn.hgetall(self.keys.pending(code, cell_id))
        return cell_from(cell_id, h) if h else None

    async def list_cells(self, code: str) -> list[CellIndexEntry]:
        return index_entries(await self._conn.hgetall(self.keys.cells(code)))

    async def cell_count(self, code: str) -> int:
        key = self.keys.cells(code)
        return int(await self._conn.call(key, lambda c: c.hlen(key)))

    # students --------------------------------------------------------------------------------
    async def put_student(self, code: str, student: StudentRecord) -> None:
        sid = student.student_id
        args = [
            sid,
            student.identity,
            student.name,
            repr(float(student.joined)),
            *initial_pulled_fields(student),
        ]
        self._scripts.members.get(code).add_student(sid)  # as for a cell, see write_cell
        reply = await self._scripts.run("put_student", code, self.keys.student(code, sid), args)
        if text(reply) == "gone":
            raise SessionGone(f"session {code} does not exist")

    async def record_pull(
        self, code: str, student_id: str, cell_id: str, pulled: PulledCell
    ) -> None:
        args = [
            student_id,
            cell_id,
            pulled_json(pulled),
            pulled.base_state if pulled.base_state is not None else b"",
            "1" if pulled.base_state is not None else "0",
        ]
        own = self.keys.student(code, student_id)
        status = text(await self._scripts.run("record_pull", code, own, args))
        if status == "gone":
            raise SessionGone(f"session {code} does not exist")
        if status == "unknown":
            raise StoreError(f"unknown student in session {code}")

    async def get_student(self, code: str, student_id: str) -> StudentRecord | None:
        h = await self._conn.hgetall(self.keys.student(code, student_id))
        if not h:
            return None
        online = student_id in await self._presence.online(code)
        return student_from(student_id, h, online)

    async def list_students(self, code: str) -> list[StudentRecord]:
        ids = await self._conn.zrange_withscores(self.keys.students(code), 0, -1)
        if not ids:
            return []
        online = await self._presence.online(code)
        keys = [self.keys.student(code, text(sid)) for sid, _score in ids]
        hashes: list[RawHash] = await self._conn.pipelined(keys, lambda p, k: p.hgetall(k))
        out = [
            student_from(text(sid), h, text(sid) in online)
            for (sid, _score), h in zip(ids, hashes, strict=True)
            if h
        ]
        out.sort(key=lambda st: (st.joined, st.student_id))
        return out

    async def set_presence(self, code: str, student_id: str, conn_id: str, online: bool) -> None:
        await self._presence.mark(code, student_id, conn_id, online)

    async def heartbeat(self) -> None:
        """Re-score this server's presence members (the heartbeat task calls this)."""
        await self._presence.heartbeat()

    async def count_sessions(self) -> int:
        registry = self.keys.registry
        codes = await self._conn.zrange(registry, 0, 9999)
        if not codes:
            return 0
        keys = [self.keys.session(text(c)) for c in codes]
        statuses: list[bytes | None] = await self._conn.pipelined(
            keys, lambda p, k: p.hget(k, "status")
        )
        gone = [c for c, st in zip(codes, statuses, strict=True) if st is None]
        if gone:
            await self._conn.call(registry, lambda c: c.zrem(registry, *gone))
        return sum(1 for st in statuses if st == b"active")
