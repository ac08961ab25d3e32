"""A primary behind Redis Sentinel: the client asks the sentinels where the primary is.

redis-py's ``SentinelConnectionPool`` looks the primary up for every new connection; a
connection that fails (the primary died) or that meets a ``READONLY`` reply (the old primary
came back as a replica) is dropped, so the next command, or the subscriber's next reconnect,
reaches whichever primary the sentinels name then. Nothing else in the store differs from a
single Redis: the same scripts, pipelines, pub/sub and ``WAIT``.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.exceptions import RedisError

from .modes import RedisMode
from .pool import POOL_SIZE, POOL_WAIT
from .urls import Redactor, redact_url

log = logging.getLogger(__name__)


class BlockingSentinelPool(SentinelConnectionPool, aioredis.BlockingConnectionPool):
    """The primary's pool, waiting for a free connection as every other pool of the store does
    (``pool.pooled_client``): redis-py's ``SentinelConnectionPool`` is a plain pool, which
    fails past 100 connections. The sentinel lookup per new connection is the sentinel pool's;
    the wait (``get_connection``/``release``) is the blocking pool's, by the method order."""


def sentinel_view(url: str, mode: RedisMode) -> str:
    """How the deployment is shown (no secret): ``redis+sentinel://h1:26379,h2:26379/name``."""
    parts = urlsplit(redact_url(url))
    userinfo = parts.netloc.rpartition("@")[0]
    watchers = ",".join(f"{h}:{p}" for h, p in mode.sentinels)
    at = "@" if userinfo else ""
    return f"{parts.scheme}+sentinel://{userinfo}{at}{watchers}/{mode.sentinel_master}{parts.path}"


def _url_options(url: str) -> dict[str, Any]:
    """Credentials, database and TLS of ``url`` as client keyword arguments."""
    parts = urlsplit(url)
    out: dict[str, Any] = {"ssl": parts.scheme.lower() == "rediss"}
    if parts.password is not None:
        out["password"] = unquote(parts.password)
        if parts.username:
            out["username"] = unquote(parts.username)
    elif parts.username:
        out["password"] = unquote(parts.username)  # redis://secret@host: the password
    path = parts.path.strip("/")
    if path:
        out["db"] = int(path)
    return out


def sentinel_client(
    url: str, mode: RedisMode, options: dict[str, Any]
) -> tuple[Sentinel, aioredis.Redis]:
    """The sentinels and a client of the primary they name."""
    connection = dict(options)
    connection.update(_url_options(url))
    watcher_options: dict[str, Any] = {
        k: v for k, v in connection.items() if k.startswith(("socket_", "ssl"))
    }
    if mode.sentinel_password:
        watcher_options["password"] = mode.sentinel_password
    # redis-py annotates Sentinel.__init__ from 8.2 on, not before: called through Any, so
    # mypy --strict is clean with either
    make_sentinel: Any = Sentinel
    sentinel: Sentinel = make_sentinel(
        list(mode.sentinels), sentinel_kwargs=watcher_options, **connection
    )
    client = sentinel.master_for(
        mode.sentinel_master,
        redis_class=aioredis.Redis,
        connection_pool_class=BlockingSentinelPool,
        max_connections=POOL_SIZE,
        timeout=POOL_WAIT,
    )
    return sentinel, client


async def close_sentinels(sentinel: Sentinel, redactor: Redactor) -> None:
    for watcher in sentinel.sentinels:
        try:
            await watcher.aclose()
        except (RedisError, OSError) as exc:
            log.warning("redis store: closing a sentinel client failed: %s", redactor.clean(exc))
