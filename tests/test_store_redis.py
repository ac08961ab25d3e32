"""The Redis store against the store contract, plus Redis-only behaviour and faults."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from store_contract import MakeStore, StoreContract

from notebook_sync_ydoc.store.base import Store, StoreTTL
from notebook_sync_ydoc.store.redis import RedisStore

pytestmark = pytest.mark.redis


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
