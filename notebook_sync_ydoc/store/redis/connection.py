"""The pooled Redis client of one store, and how its failures become store errors.

Failures: every command has ``socket_connect_timeout``/``socket_timeout`` (2 s by default) and no
automatic retry (a retried script could run twice), so a call while Redis is down fails within
seconds with :class:`StoreUnavailable`, whose message never contains the password. Pooled
connections reconnect on their next use, so nothing needs restarting when Redis comes back.

Binary data (``crdt_state``, base states) is stored as raw bytes: the client runs without
``decode_responses`` and :mod:`.records` decodes text fields itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, NoReturn, TypeVar, cast
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..base import StoreError, StoreUnavailable
from .records import RawHash
from .scripts import ScriptName, Scripts
from .urls import redact_url, scrub, secrets_of

T = TypeVar("T")

# what a failed command raises: redis-py and socket errors, and asyncio timeouts (an OSError
# since Python 3.11, named for the reader)
REDIS_ERRORS = (RedisError, OSError)
COMMAND_ERRORS = (RedisError, OSError, asyncio.TimeoutError)
_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)


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


class RedisConnection:
    """The client, its scripts, and error mapping that never shows the password."""

    def __init__(
        self,
        url: str,
        *,
        client_name: str,
        ssl_ca_certs: str | None,
        ssl_check_hostname: bool,
        socket_timeout: float,
        socket_connect_timeout: float,
    ) -> None:
        self.redacted_url = redact_url(url)
        self._secrets = tuple(secrets_of(url))
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
        try:
            self.client: aioredis.Redis = aioredis.Redis.from_url(url, **kwargs)
        except ValueError as exc:
            raise StoreError(f"invalid redis url {self.redacted_url}: {self.clean(exc)}") from None
        self.scripts = Scripts(self.client)

    def clean(self, exc: BaseException | str) -> str:
        """The text of ``exc`` with the password replaced by ``***``."""
        return scrub(str(exc), self._secrets)

    def describe(self, exc: BaseException) -> str:
        """``"<ExceptionType>: <cleaned message>"``."""
        return f"{type(exc).__name__}: {self.clean(exc)}"

    def fail(self, exc: BaseException) -> NoReturn:
        """Raise ``exc`` as :class:`StoreUnavailable` (Redis unreachable) or :class:`StoreError`."""
        detail = self.describe(exc)
        if isinstance(exc, _UNAVAILABLE):
            raise StoreUnavailable(f"redis unavailable at {self.redacted_url}: {detail}") from None
        raise StoreError(f"redis error at {self.redacted_url}: {detail}") from None

    async def call(self, command: Awaitable[T]) -> T:
        """Await one command, mapping its failure."""
        try:
            return await command
        except COMMAND_ERRORS as exc:
            self.fail(exc)

    async def run(self, name: ScriptName, keys: list[str], args: list[Any]) -> Any:
        """Run one Lua script, mapping its failure."""
        try:
            return await self.scripts.run(name, keys, args)
        except COMMAND_ERRORS as exc:
            self.fail(exc)

    # reads with precise types: the client does not decode, so every reply is bytes
    async def hgetall(self, key: str) -> RawHash:
        return cast(RawHash, await self.call(self.client.hgetall(key)))

    async def zrange(self, key: str, start: int, end: int) -> list[bytes]:
        return cast("list[bytes]", await self.call(self.client.zrange(key, start, end)))

    async def zrange_withscores(self, key: str, start: int, end: int) -> list[tuple[bytes, float]]:
        reply = await self.call(self.client.zrange(key, start, end, withscores=True))
        return cast("list[tuple[bytes, float]]", reply)

    async def aclose(self) -> None:
        await self.client.aclose()
