"""The connection pool of every Redis client of the store (one Redis, each node of a cluster)."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

__all__ = ["POOL_SIZE", "POOL_WAIT", "pooled_client"]

POOL_SIZE = 256  # connections to one Redis node from one server process, at the most
POOL_WAIT = 10.0  # seconds a command waits for a free connection before it fails


def pooled_client(url: str, options: dict[str, Any]) -> aioredis.Redis:
    """A client for ``url`` whose pool, when all of its ``POOL_SIZE`` connections are busy (a
    class of 200 asking for help in the same second), waits for one to come free, for up to
    ``POOL_WAIT`` seconds, instead of failing at once: redis-py's default pool raises
    ``MaxConnectionsError`` past 100 connections, which answered every request over it
    ``store_unavailable``. Past the wait the request still fails as unavailable: bounded. (A
    Redis that is down fails at connect, and one that hangs at the socket timeout: neither
    waits here.)"""
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=POOL_SIZE, timeout=POOL_WAIT, **options
    )
    return aioredis.Redis.from_pool(pool)
