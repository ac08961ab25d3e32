"""The Redis clients of one store, and how their failures become store errors.

Failures: every command has ``socket_connect_timeout``/``socket_timeout`` (2 s by default) and no
automatic retry (a retried script could run twice), so a call while Redis is down fails within
seconds with :class:`StoreUnavailable`, whose message never contains the password. Pooled
connections reconnect on their next use, so nothing needs restarting when Redis comes back.

Every command names the key it is for (:meth:`RedisConnection.call`): on a single Redis and
behind Sentinel there is one client; on a Redis Cluster the command goes to the primary of the
key's slot (:mod:`.cluster`), and a ``MOVED`` reply, which means the command did not run, sends
it once more after the layout was read again. In the replicated modes the replies of a failover
(``CLUSTERDOWN``, ``TRYAGAIN``, ``READONLY``, ...) are :class:`StoreUnavailable` too.

With ``wait_replicas`` (:mod:`.modes`) a write script is followed by ``WAIT`` on the same
connection (:meth:`RedisConnection.run_acked`).

Binary data (``crdt_state``, base states) is stored as raw bytes: the client runs without
``decode_responses`` and :mod:`.records` decodes text fields itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn, TypeVar, cast
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MasterDownError,
    MovedError,
    NoScriptError,
    ReadOnlyError,
    RedisError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..base import StoreError, StoreUnavailable
from .cluster import ClusterRouter
from .modes import RedisMode
from .pool import pooled_client
from .records import RawHash
from .scripts import ScriptName, Scripts
from .sentinel import close_sentinels, sentinel_client, sentinel_view
from .urls import Redactor

T = TypeVar("T")

# what a failed command raises: redis-py and socket errors, and asyncio timeouts (an OSError
# since Python 3.11, named for the reader)
REDIS_ERRORS = (RedisError, OSError)
COMMAND_ERRORS = (RedisError, OSError, asyncio.TimeoutError)
_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)
# replies of a failover or a slot move: the store cannot take the command now
_FAILOVER = (ClusterDownError, TryAgainError, AskError, MovedError, ReadOnlyError, MasterDownError)


def _maint_notifications_off() -> dict[str, Any]:
    """Client options that turn redis-py's maintenance notifications off (redis-py >= 7).

    With notifications on "auto", a pooled connection that Redis closed (restart) is handed out
    unchecked and the next command fails; off, the pool reconnects it.
    """
    try:
        from redis.maint_notifications import MaintNotificationsConfig
    except ImportError:  # pragma: no cover - older redis-py checks stale connections anyway
        return {}
    return {"maint_notifications_config": MaintNotificationsConfig(enabled=False)}


def client_options(
    url: str,
    *,
    client_name: str,
    ssl_ca_certs: str | None,
    ssl_check_hostname: bool,
    socket_timeout: float,
    socket_connect_timeout: float,
) -> dict[str, Any]:
    """Keyword arguments of every client of the store (any mode)."""
    kwargs: dict[str, Any] = {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_connect_timeout,
        "retry": Retry(NoBackoff(), 0),
        "decode_responses": False,
        "client_name": client_name,
        **_maint_notifications_off(),
    }
    if urlsplit(url).scheme == "rediss":
        kwargs["ssl_check_hostname"] = ssl_check_hostname
        if ssl_ca_certs:
            kwargs["ssl_ca_certs"] = ssl_ca_certs
    return kwargs


def _text(key: str | bytes) -> str:
    return key if isinstance(key, str) else key.decode("utf-8")


class RedisConnection(Redactor):
    """The client(s), the scripts, and error mapping that never shows the password."""

    def __init__(
        self,
        url: str,
        *,
        client_name: str,
        ssl_ca_certs: str | None,
        ssl_check_hostname: bool,
        socket_timeout: float,
        socket_connect_timeout: float,
        mode: RedisMode | None = None,
    ) -> None:
        self.mode = mode or RedisMode()
        shown = sentinel_view(url, self.mode) if self.mode.kind == "sentinel" else None
        super().__init__(url, shown)
        options = client_options(
            url,
            client_name=client_name,
            ssl_ca_certs=ssl_ca_certs,
            ssl_check_hostname=ssl_check_hostname,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_connect_timeout,
        )
        self.cluster: ClusterRouter | None = None
        self._sentinel: Sentinel | None = None
        try:
            if self.mode.kind == "cluster":
                self.cluster = ClusterRouter(url, self.mode.cluster_nodes, options)
                self.client: aioredis.Redis = self.cluster.seed_client
            elif self.mode.kind == "sentinel":
                self._sentinel, self.client = sentinel_client(url, self.mode, options)
            else:
                self.client = pooled_client(url, options)
        except ValueError as exc:
            raise StoreError(f"invalid redis url {self.redacted_url}: {self.clean(exc)}") from None
        self.scripts = Scripts(self.client)
        self._unavailable = _UNAVAILABLE if self.mode.kind == "single" else _UNAVAILABLE + _FAILOVER

    def fail(self, exc: BaseException) -> NoReturn:
        """Raise ``exc`` as :class:`StoreUnavailable` (Redis unreachable) or :class:`StoreError`."""
        detail = self.describe(exc)
        if isinstance(exc, self._unavailable):
            raise StoreUnavailable(f"redis unavailable at {self.redacted_url}: {detail}") from None
        raise StoreError(f"redis error at {self.redacted_url}: {detail}") from None

    async def client_for(self, key: str) -> aioredis.Redis:
        """The client that serves ``key`` (the one client, or the slot's primary)."""
        if self.cluster is None:
            return self.client
        return await self.cluster.client_for(key)

    def _failed(self, client: aioredis.Redis, exc: BaseException) -> bool:
        """Note a failed command; True if it did not run and may be sent again (MOVED)."""
        if self.cluster is None:
            return False
        if isinstance(exc, MovedError):
            self.cluster.moved(exc.slot_id, exc.host, int(exc.port))
            return True
        if isinstance(exc, self._unavailable):
            kwargs = client.connection_pool.connection_kwargs
            self.cluster.mark_stale(f"{kwargs.get('host')}:{kwargs.get('port')}")
        return False

    async def call(self, key: str, command: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
        """Run ``command`` on the client serving ``key``, mapping its failure."""
        client = await self.client_for(key)
        try:
            return await command(client)
        except COMMAND_ERRORS as exc:
            if not self._failed(client, exc):
                self.fail(exc)
        client = await self.client_for(key)  # after MOVED: the new owner, once
        try:
            return await command(client)
        except COMMAND_ERRORS as exc:
            self._failed(client, exc)
            self.fail(exc)

    async def run(self, name: ScriptName, keys: Sequence[str | bytes], args: list[Any]) -> Any:
        """Run one Lua script, mapping its failure (sent to the node of its first key)."""
        script = self.scripts.get(name)
        return await self.call(_text(keys[0]), lambda c: script(keys=keys, args=args, client=c))

    async def run_acked(
        self,
        name: ScriptName,
        keys: Sequence[str | bytes],
        args: list[Any],
        replicas: int,
        timeout_ms: int,
    ) -> tuple[Any, int]:
        """Run a write script, then ``WAIT replicas timeout_ms`` on the same connection: the
        script's reply and how many replicas acknowledged it."""
        script = self.scripts.get(name)

        async def once(client: aioredis.Redis) -> tuple[Any, int]:
            for _ in range(2):
                pipe: Pipeline = client.pipeline(transaction=False)
                async with pipe:
                    pipe.evalsha(script.sha, len(keys), *keys, *args)
                    pipe.execute_command("WAIT", replicas, timeout_ms)
                    reply, acked = await pipe.execute(raise_on_error=False)
                if isinstance(reply, NoScriptError):
                    await client.script_load(script.script)
                    continue
                for value in (reply, acked):
                    if isinstance(value, Exception):
                        raise value
                return reply, int(acked)
            raise StoreError(f"script {name} could not be loaded")

        return await self.call(_text(keys[0]), once)

    async def pipelined(self, keys: list[str], add: Callable[[Pipeline, str], object]) -> list[Any]:
        """One command per key (``add`` queues it), one pipeline per node; replies in order."""
        groups: dict[int, tuple[aioredis.Redis, list[int]]] = {}
        for i, key in enumerate(keys):
            client = await self.client_for(key)
            groups.setdefault(id(client), (client, []))[1].append(i)
        out: list[Any] = [None] * len(keys)
        for _client, indexes in groups.values():

            async def batch(c: aioredis.Redis, indexes: list[int] = indexes) -> list[Any]:
                async with c.pipeline(transaction=False) as pipe:
                    for i in indexes:
                        add(pipe, keys[i])
                    replies: list[Any] = await pipe.execute()
                    return replies

            replies = await self.call(keys[indexes[0]], batch)
            for i, reply in zip(indexes, replies, strict=True):
                out[i] = reply
        return out

    # reads with precise types: the client does not decode, so every reply is bytes
    async def hgetall(self, key: str) -> RawHash:
        return cast(RawHash, await self.call(key, lambda c: c.hgetall(key)))

    async def zrange(self, key: str, start: int, end: int) -> list[bytes]:
        return cast("list[bytes]", await self.call(key, lambda c: c.zrange(key, start, end)))

    async def zrange_withscores(self, key: str, start: int, end: int) -> list[tuple[bytes, float]]:
        reply = await self.call(key, lambda c: c.zrange(key, start, end, withscores=True))
        return cast("list[tuple[bytes, float]]", reply)

    async def aclose(self) -> None:
        if self.cluster is not None:
            await self.cluster.aclose()
            return
        await self.client.aclose()
        if self._sentinel is not None:
            await close_sentinels(self._sentinel, self)
