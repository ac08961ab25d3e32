"""The sharded subscriber of a store on a Redis Cluster: SSUBSCRIBE per session, on the node
that serves the session's slot, following slot moves and failovers.

Each session's events are SPUBLISHed by its scripts on its own shard (:mod:`.keys`: the channel
carries the session's hash tag), so this subscriber holds one connection per node that serves a
subscribed session: one :class:`~.subscriber.Subscriber` (``sharded=True``) per node, each with
its own reconnects, liveness PINGs, re-subscriptions and resyncs. This module only decides which
node each session belongs on and moves it when that changes:

- a supervisor task reads the layout (:class:`~.cluster.ClusterRouter`) every ``check_interval``
  seconds, and at once (then again with backoff, ``reconnect_min`` doubling to 1 s) while a node
  connection is down, a session has no node, or a node gave a channel up (its slot moved: Redis
  sends an unasked ``sunsubscribe``);
- a session whose slot is now served by another primary (a replica promoted after its primary
  died, or a slot migrated) is unsubscribed from the old node's subscriber, subscribed on the
  new one's, then resynced there (the same catch-up as after any reconnect: events in between
  may be lost);
- a node subscriber that no longer holds a session is stopped.

A session whose primary is down and not yet replaced stays where it is; :meth:`subscribe` of a
session that cannot be placed raises :class:`StoreUnavailable` and the supervisor places it
(and resyncs it) once it can, as the single-Redis subscriber does after an outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from ..base import StoreError, StoreUnavailable
from .cluster import ClusterRouter
from .connection import RedisConnection
from .keys import KeySpace
from .subscriber import EventCallback, ResyncCallback, Subscriber
from .urls import Redactor

log = logging.getLogger(__name__)


class NodeSource(Redactor):
    """One node as a :class:`~.subscriber.PubSubSource`."""

    def __init__(self, router: ClusterRouter, addr: str) -> None:
        super().__init__(router.url_of(addr))
        self.client = router.node_client(addr)


class ShardedSubscriber:
    """Delivers the events of the subscribed sessions from whichever node serves each."""

    LOST_GRACE = 1.0  # seconds a layout may lag behind a node that gave a channel up
    TICK = 0.1  # seconds between looks at the node subscribers' state (no I/O)

    def __init__(
        self,
        router: ClusterRouter,
        keys: KeySpace,
        server_id: str,
        *,
        on_event: EventCallback,
        on_resync: ResyncCallback,
        socket_timeout: float,
        ping_interval: float,
        reconnect_min: float,
        reconnect_max: float,
        check_interval: float = 10.0,
    ) -> None:
        self._router = router
        self._keys = keys
        self._server_id = server_id
        self._on_event = on_event
        self._on_resync = on_resync
        self._timeout = socket_timeout
        self._ping_interval = ping_interval
        self._reconnect_min = reconnect_min
        self._reconnect_max = reconnect_max
        self._check_interval = check_interval
        self._codes: set[str] = set()
        self._home: dict[str, str] = {}  # code -> the node whose subscriber holds it
        self._lost: dict[str, float] = {}  # code -> when its node gave its channel up
        self._nodes: dict[str, Subscriber] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._error: str | None = None  # the supervisor's last failure
        self.moves = 0  # sessions moved to another node (for tests, status)

    # the interface of Subscriber ---------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def connected(self) -> bool:
        """Every wanted session placed, on a connected node subscriber."""
        if self._router.error is not None and not self._nodes:
            return False
        return not self._lost and all(self._placed(code) for code in self._codes)

    def _placed(self, code: str) -> bool:
        sub = self._nodes.get(self._home.get(code, ""))
        return sub is not None and sub.connected

    @property
    def error(self) -> str | None:
        """Why it is not connected (None when it is)."""
        if self._error is not None:
            return self._error
        for code in sorted(self._codes):
            if not self._placed(code):
                sub = self._nodes.get(self._home.get(code, ""))
                detail = sub.error if sub is not None else None
                return f"session {code} not subscribed" + (f" ({detail})" if detail else "")
        return self._router.error

    @property
    def reconnects(self) -> int:
        return self.moves + sum(sub.reconnects for sub in self._nodes.values())

    @property
    def nodes(self) -> dict[str, list[str]]:
        """Node -> the sessions subscribed there (for tests and status)."""
        out: dict[str, list[str]] = {}
        for code, addr in sorted(self._home.items()):
            out.setdefault(addr, []).append(code)
        return out

    async def start(self) -> None:
        """Read the layout (a cluster that is down does not stop the server) and start the
        supervisor."""
        if self._task is not None:
            return
        try:
            await self._router.refresh()
        except StoreUnavailable as exc:
            self._error = str(exc)
            log.warning("redis store: %s; retrying in the background", exc)
        self._task = asyncio.create_task(self._supervise(), name="nbsync-redis-shards")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        nodes, self._nodes = self._nodes, {}
        for sub in nodes.values():
            await sub.stop()
        self._home.clear()

    async def subscribe(self, code: str) -> None:
        """Want the events of ``code``; returns once its node confirmed the SSUBSCRIBE."""
        if self._task is None:
            raise StoreError("redis store not started")
        self._codes.add(code)
        addr = self._home.get(code)
        if addr is None:
            try:
                addr = await self._owner(code)
            except StoreUnavailable:
                self._wake.set()
                raise
            self._home[code] = addr
        await (await self._node(addr)).subscribe(code)

    async def unsubscribe(self, code: str) -> None:
        self._codes.discard(code)
        self._lost.pop(code, None)
        addr = self._home.pop(code, None)
        if addr is not None and addr in self._nodes:
            await self._nodes[addr].unsubscribe(code)

    # placement ---------------------------------------------------------------------------------
    async def _owner(self, code: str) -> str:
        channel = self._keys.channel(code)
        addr = self._router.owner(channel)
        if addr is None:
            await self._router.refresh()
            addr = self._router.owner(channel)
        if addr is None:
            raise StoreUnavailable(
                f"redis unavailable at {self._router.redactor.redacted_url}: no live primary "
                f"serves session {code} (a failover may be under way)"
            )
        return addr

    async def _node(self, addr: str) -> Subscriber:
        sub = self._nodes.get(addr)
        if sub is None:
            sub = self._nodes[addr] = Subscriber(
                NodeSource(self._router, addr),
                self._keys,
                self._server_id,
                on_event=self._on_event,
                on_resync=self._on_resync,
                socket_timeout=self._timeout,
                ping_interval=self._ping_interval,
                reconnect_min=self._reconnect_min,
                reconnect_max=self._reconnect_max,
                sharded=True,
                on_lost=self._gave_up,
            )
            await sub.start()
        return sub

    def _gave_up(self, code: str) -> None:
        """A node gave ``code``'s channel up (its slot moved): place it again once the layout
        says where."""
        log.info("redis store: the node of session %s gave its channel up; moving it", code)
        self._lost.setdefault(code, time.monotonic())
        self._wake.set()

    def _unsettled(self) -> bool:
        return bool(self._router.error) or not self.connected

    async def _supervise(self) -> None:
        """Look at the node subscribers every ``TICK`` (no I/O); read the layout and move
        sessions when woken, when something is off (backing off from ``reconnect_min`` to 1 s)
        and every ``check_interval``."""
        delay = self._reconnect_min
        last = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.TICK)
            woken = self._wake.is_set()
            self._wake.clear()
            since = time.monotonic() - last
            wait = delay if self._unsettled() else self._check_interval
            if not woken and since < wait:
                continue
            try:
                await self._reconcile()
                self._error = None
            except StoreError as exc:
                self._error = str(exc)
                log.warning("redis store: following the cluster layout: %s", exc)
            except Exception:
                self._error = "unexpected error following the cluster layout"
                log.exception("redis store: unexpected error in the sharded subscriber")
            last = time.monotonic()
            delay = min(delay * 2, 1.0) if self._unsettled() else self._reconnect_min

    async def _reconcile(self) -> None:
        """Read the layout; move every session whose node changed; stop idle node
        subscribers."""
        await self._router.refresh()
        for code in sorted(self._codes):
            want = self._router.owner(self._keys.channel(code))
            have = self._home.get(code)
            lost_at = self._lost.get(code)
            if want is None:
                continue  # its primary is down and not replaced yet: stay
            if want != have:
                await self._move(code, have, want)
            elif lost_at is not None and time.monotonic() - lost_at > self.LOST_GRACE:
                # the layout still names the node that gave the channel up: ask it again
                await self._move(code, None, want)
        used = set(self._home.values())
        for addr in [a for a in self._nodes if a not in used]:
            await self._nodes.pop(addr).stop()

    async def _move(self, code: str, old: str | None, new: str) -> None:
        self._lost.pop(code, None)
        if old is not None and old in self._nodes:
            await self._nodes[old].unsubscribe(code)
        self._home[code] = new
        sub = await self._node(new)
        try:
            await sub.subscribe(code)
        except StoreUnavailable as exc:
            # the node subscriber keeps it wanted: it subscribes and resyncs once connected
            log.warning("redis store: moving session %s to %s: %s", code, new, exc)
        self.moves += 1
        log.info("redis store: session %s now subscribed at %s; resyncing", code, new)
        sub.resync(code)


def make_subscriber(
    conn: RedisConnection,
    keys: KeySpace,
    server_id: str,
    *,
    on_event: EventCallback,
    on_resync: ResyncCallback,
    socket_timeout: float,
    ping_interval: float,
    reconnect_min: float,
    reconnect_max: float,
) -> Subscriber | ShardedSubscriber:
    """The subscriber of a store: one connection (one Redis, Sentinel), or one per node."""
    if conn.cluster is not None:
        return ShardedSubscriber(
            conn.cluster,
            keys,
            server_id,
            on_event=on_event,
            on_resync=on_resync,
            socket_timeout=socket_timeout,
            ping_interval=ping_interval,
            reconnect_min=reconnect_min,
            reconnect_max=reconnect_max,
        )
    return Subscriber(
        conn,
        keys,
        server_id,
        on_event=on_event,
        on_resync=on_resync,
        socket_timeout=socket_timeout,
        ping_interval=ping_interval,
        reconnect_min=reconnect_min,
        reconnect_max=reconnect_max,
    )
