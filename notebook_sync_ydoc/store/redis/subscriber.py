"""The one pub/sub connection of a store: subscriptions, liveness, reconnects and dispatch.

The connection subscribes this server's control channel (so it is always in subscribed mode and
liveness PINGs work with no session) plus every wanted session channel (see :mod:`.keys`). A
reader task reads it; events go through a queue to a dispatcher task, so a slow handler never
stalls the reader. When the connection fails (error, unconfirmed SUBSCRIBE, unanswered PING)
the reader reconnects with bounded exponential backoff, re-subscribes every code, then queues a
resync of each, since events published in between are lost (pub/sub is at-most-once).

On a Redis Cluster (``sharded=True``) the session channels are sharded ones (SSUBSCRIBE, one
per channel: each has its own slot) on a connection to one node, and a channel the node gives
up (its slot moved away: Redis sends an unasked ``sunsubscribe``) is reported to ``on_lost``;
:mod:`.shard_subscriber` runs one such subscriber per node and moves sessions between them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..base import StoreError, StoreEvent, StoreUnavailable
from .connection import COMMAND_ERRORS, REDIS_ERRORS
from .keys import KeySpace
from .records import text

log = logging.getLogger(__name__)

EventCallback = Callable[[StoreEvent], Awaitable[None]]
ResyncCallback = Callable[[str], Awaitable[None]]
LostCallback = Callable[[str], None]
# what the reader hands the dispatcher: an event, or the code of a session to resync
Item = StoreEvent | str


class PubSubSource(Protocol):
    """Where the subscriber connects (a store's connection, or one node of a cluster)."""

    client: aioredis.Redis
    redacted_url: str

    def clean(self, exc: BaseException | str) -> str: ...

    def describe(self, exc: BaseException) -> str: ...


def _live(ps: PubSub) -> bool:
    """The pub/sub connection is up. A command on one that is not would make redis-py
    reconnect and re-subscribe by itself (one SSUBSCRIBE for every channel: CROSSSLOT on a
    cluster), unseen by the subscriber, which then could not resync: the reader reconnects
    instead."""
    return ps.connection is not None and ps.connection.is_connected


@dataclass
class _Link:
    """One pub/sub connection, from its first SUBSCRIBE until it fails."""

    pubsub: PubSub
    batch: set[str]  # the codes subscribed when it opened
    last_rx: float  # time.monotonic() of the last message received
    waiting: set[str] = field(default_factory=set)  # channels of the first SUBSCRIBE
    ready: bool = False  # every channel of the first SUBSCRIBE confirmed
    ping_sent: float | None = None  # an unanswered PING


class Subscriber:
    """Delivers the events of the subscribed sessions to ``on_event``; ``on_resync(code)``
    after a re-subscription. Exceptions of either callback are logged, never propagated."""

    def __init__(
        self,
        conn: PubSubSource,
        keys: KeySpace,
        server_id: str,
        *,
        on_event: EventCallback,
        on_resync: ResyncCallback,
        socket_timeout: float,
        ping_interval: float,
        reconnect_min: float,
        reconnect_max: float,
        sharded: bool = False,
        on_lost: LostCallback | None = None,
    ) -> None:
        self._conn = conn
        self._sharded = sharded
        self._on_lost = on_lost
        self._keys = keys
        self._server_id = server_id
        self._on_event = on_event
        self._on_resync = on_resync
        self._timeout = socket_timeout
        self._ping_interval = ping_interval
        self._reconnect_min = reconnect_min
        self._reconnect_max = reconnect_max
        self._codes: set[str] = set()  # codes we want to receive
        self._confirmed: set[str] = set()  # channels whose SUBSCRIBE is confirmed (names)
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._events: asyncio.Queue[Item | None] | None = None
        self._ready: asyncio.Event | None = None  # set while subscribed (made in start())
        self._ready_once = False  # this pass of the reconnect loop got subscribed
        self._ever_connected = False
        self.connected = False
        self.error: str | None = None  # why it is not connected
        self.reconnects = 0  # how many times it reconnected (for tests, status)

    @property
    def running(self) -> bool:
        return self._reader is not None

    # lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the reader and the dispatcher, then wait (bounded) for the first subscription,
        so health is right from the start. A Redis that is down does not stop the server: the
        reader keeps reconnecting in the background."""
        if self._reader is not None:
            return
        queue: asyncio.Queue[Item | None] = asyncio.Queue()
        self._events = queue
        ready = self._ready = asyncio.Event()
        self._dispatcher = asyncio.create_task(self._dispatch(queue), name="nbsync-redis-dispatch")
        self._reader = asyncio.create_task(self._read_loop(), name="nbsync-redis-subscriber")
        try:
            await asyncio.wait_for(ready.wait(), timeout=self._timeout * 2)
        except TimeoutError:
            log.warning(
                "redis store: no pub/sub connection to %s yet (%s); retrying in the background",
                self._conn.redacted_url,
                self.error or "timeout",
            )

    async def stop(self) -> None:
        """Stop reading, deliver what is queued (bounded), close the connection, and fail every
        pending :meth:`subscribe`."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        dispatcher, self._dispatcher = self._dispatcher, None
        if dispatcher is not None and self._events is not None:
            self._events.put_nowait(None)
            try:
                await asyncio.wait_for(asyncio.shield(dispatcher), timeout=5.0)
            except TimeoutError:
                log.warning("redis store: event dispatcher did not drain in 5 s; cancelling")
                dispatcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await dispatcher
        await self._close_pubsub()
        for waiters in self._waiters.values():
            for fut in waiters:
                if not fut.done():
                    fut.set_exception(StoreUnavailable("redis store stopped"))
        self._waiters.clear()

    # subscriptions ---------------------------------------------------------------------------
    async def subscribe(self, code: str) -> None:
        """Want the events of ``code``; returns once Redis confirmed the SUBSCRIBE."""
        channel = self._keys.channel(code)
        self._codes.add(code)
        if channel in self._confirmed:
            return
        if self._reader is None:
            raise StoreError("redis store not started")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, []).append(fut)
        ps = self._pubsub
        if ps is not None and self.connected and _live(ps):
            try:
                await (ps.ssubscribe(channel) if self._sharded else ps.subscribe(channel))
            except REDIS_ERRORS as exc:
                # the reader notices the broken connection and re-subscribes every code
                log.warning("redis store: SUBSCRIBE %s failed: %s", code, self._conn.clean(exc))
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout=self._timeout * 2)
        except TimeoutError:
            waiters = self._waiters.get(channel, [])
            if fut in waiters:
                waiters.remove(fut)
            raise StoreUnavailable(
                f"redis unavailable at {self._conn.redacted_url}: SUBSCRIBE not confirmed"
            ) from None

    async def unsubscribe(self, code: str) -> None:
        channel = self._keys.channel(code)
        self._codes.discard(code)
        self._confirmed.discard(channel)
        ps = self._pubsub
        if ps is not None and self.connected and _live(ps):
            try:
                await (ps.sunsubscribe(channel) if self._sharded else ps.unsubscribe(channel))
            except REDIS_ERRORS as exc:
                log.warning("redis store: UNSUBSCRIBE %s failed: %s", code, self._conn.clean(exc))

    # the reader ------------------------------------------------------------------------------
    async def _close_pubsub(self) -> None:
        ps, self._pubsub = self._pubsub, None
        self.connected = False
        if self._ready is not None:
            self._ready.clear()
        self._confirmed.clear()
        if ps is None:
            return
        try:
            await cast(Any, ps).aclose()  # annotated from redis-py 8.2 on, not before
        except REDIS_ERRORS as exc:
            log.debug("redis store: closing the pub/sub connection: %s", self._conn.clean(exc))

    async def _read_loop(self) -> None:
        """Run connections one after another, with bounded exponential backoff in between."""
        delay = self._reconnect_min
        while True:
            self._ready_once = False
            try:
                await self._connection()
            except asyncio.CancelledError:
                raise
            except COMMAND_ERRORS as exc:
                self.error = self._conn.describe(exc)
            except Exception as exc:
                self.error = f"unexpected {type(exc).__name__}"
                log.exception("redis store: unexpected error in the pub/sub reader")
            await self._close_pubsub()
            if self._ready_once:
                delay = self._reconnect_min  # it was up: start the backoff again
            log.warning(
                "redis store: pub/sub connection to %s lost (%s); reconnecting in %.2f s",
                self._conn.redacted_url,
                self.error,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._reconnect_max)

    async def _connection(self) -> None:
        """One connection: subscribe the control channel and every code, then read until it
        fails (raises)."""
        ps = self._conn.client.pubsub()
        self._pubsub = ps
        batch = set(self._codes)
        channels = [
            self._keys.control(self._server_id),
            *(self._keys.channel(c) for c in sorted(batch)),
        ]
        if self._sharded:
            await asyncio.wait_for(ps.subscribe(channels[0]), timeout=self._timeout)
            for channel in channels[1:]:
                await asyncio.wait_for(ps.ssubscribe(channel), timeout=self._timeout)
        else:
            await asyncio.wait_for(ps.subscribe(*channels), timeout=self._timeout)
        link = _Link(pubsub=ps, batch=batch, last_rx=time.monotonic(), waiting=set(channels))
        poll = min(0.5, self._ping_interval / 2)
        while True:
            msg = await ps.get_message(ignore_subscribe_messages=False, timeout=poll)
            now = time.monotonic()
            if msg is None:
                await self._idle(link, now)
                continue
            link.last_rx = now
            link.ping_sent = None
            await self._received(link, msg)

    async def _idle(self, link: _Link, now: float) -> None:
        """A poll with no message: enforce the deadlines, PING a quiet connection."""
        if not link.ready and now - link.last_rx > self._timeout * 2:
            raise RedisTimeoutError("SUBSCRIBE was not confirmed")
        if link.ping_sent is not None and now - link.ping_sent > self._timeout * 2:
            raise RedisTimeoutError("no reply to PING on the pub/sub connection")
        if link.ready and link.ping_sent is None and now - link.last_rx > self._ping_interval:
            if not _live(link.pubsub):
                raise RedisConnectionError("the pub/sub connection closed")
            await asyncio.wait_for(link.pubsub.ping(), timeout=self._timeout)
            link.ping_sent = now

    async def _received(self, link: _Link, msg: dict[str, Any]) -> None:
        kind = text(msg.get("type"))
        channel = text(msg.get("channel"))
        if kind in ("subscribe", "ssubscribe"):
            await self._confirm(link, channel)
        elif kind == "unsubscribe":
            if not any(self._keys.channel(c) == channel for c in self._codes):
                # a confirmation of SUBSCRIBE may have arrived after unsubscribe()
                self._confirmed.discard(channel)
        elif kind == "sunsubscribe":
            self._confirmed.discard(channel)
            code = self._keys.code_of(channel)
            if code in self._codes and self._on_lost is not None:
                self._on_lost(code)  # unasked: the node no longer serves the channel's slot
        elif kind in ("message", "smessage"):
            self._on_message(channel, msg.get("data"))

    async def _confirm(self, link: _Link, channel: str) -> None:
        """A SUBSCRIBE confirmation: wake its waiters; the last of the first batch makes the
        connection ready."""
        self._confirmed.add(channel)
        for fut in self._waiters.pop(channel, []):
            if not fut.done():
                fut.set_result(None)
        link.waiting.discard(channel)
        if not link.ready and not link.waiting:
            await self._became_ready(link)

    async def _became_ready(self, link: _Link) -> None:
        link.ready = True
        self.connected = True
        self.error = None
        if self._ever_connected:
            self.reconnects += 1
        self._ever_connected = True
        self._ready_once = True
        if self._ready is not None:
            self._ready.set()
        # codes subscribed while the batch was in flight
        missing = [self._keys.channel(c) for c in sorted(self._codes - link.batch)]
        if missing and self._sharded:
            for channel in missing:
                await link.pubsub.ssubscribe(channel)
        elif missing:
            await link.pubsub.subscribe(*missing)
        # every code of the batch may have missed events while it was not subscribed (on the
        # first connection the batch is normally empty)
        if link.batch:
            log.info(
                "redis store: re-subscribed %s session(s) at %s; resyncing",
                len(link.batch),
                self._conn.redacted_url,
            )
            for code in sorted(link.batch & self._codes):
                self._enqueue(code)

    def _on_message(self, channel: str, data: Any) -> None:
        code = self._keys.code_of(channel)
        if code is None or code not in self._codes:
            return  # the control channel, a stray, or a session no longer wanted
        try:
            event = StoreEvent.from_dict(code, json.loads(text(data)))
        except (ValueError, KeyError, TypeError):
            log.warning("redis store: ignoring a malformed event on %s", channel)
            return
        self._enqueue(event)

    def resync(self, code: str) -> None:
        """Queue a resync of ``code`` behind the events already received (a session moved to
        this subscriber after it may have missed events)."""
        if self._events is not None and code in self._codes:
            self._enqueue(code)

    def _enqueue(self, item: Item) -> None:
        if self._events is None:
            raise StoreError("redis store not started")
        self._events.put_nowait(item)

    # the dispatcher --------------------------------------------------------------------------
    async def _dispatch(self, queue: asyncio.Queue[Item | None]) -> None:
        while True:
            item = await queue.get()
            if item is None:
                return
            what = "event" if isinstance(item, StoreEvent) else "resync"
            try:
                if isinstance(item, StoreEvent):
                    if item.code in self._codes:
                        await self._on_event(item)
                elif item in self._codes:
                    await self._on_resync(item)
            except Exception:
                log.exception("redis store: %s handler failed for %s", what, item)
