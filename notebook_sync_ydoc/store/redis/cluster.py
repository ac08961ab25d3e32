"""Redis Cluster: which primary serves which slot, and one plain client per node.

Every operation of the store concerns one session, and every key and channel of a session
carries its code as a hash tag (:mod:`.keys`), so each script, pipeline and read goes to the one
primary that owns the session's slot, over a plain ``redis.asyncio.Redis`` client of that node:
the scripts, pipelines and ``WAIT`` work exactly as on a single Redis. (Only the session
registry, ``P sessions``, has a slot of its own.)

The layout comes from ``CLUSTER SHARDS`` (Redis 7+), asked of the nodes last seen healthy, then
of the seed nodes. It is read again after a node failed to answer, a ``MOVED`` reply (the
command did not run: it is sent once more to the new owner), a ``CLUSTERDOWN``, and by the
sharded subscriber (:mod:`.shard_subscriber`) while it follows a failover. A slot whose primary
is marked failed answers :class:`StoreUnavailable` at once, without trying the dead node; once a
replica is promoted the next read of the layout routes to it.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from typing import Any

import redis.asyncio as aioredis
from redis.crc import key_slot
from redis.exceptions import RedisError

from ..base import StoreUnavailable
from .modes import node_url, url_hosts
from .pool import pooled_client
from .urls import Redactor

log = logging.getLogger(__name__)

# (first slot, last slot, "host:port" of the primary, or None while it is marked failed)
SlotRange = tuple[int, int, str | None]


def address(host: str, port: int) -> str:
    return f"{host}:{port}"


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _as_dict(item: Any) -> dict[str, Any]:
    """A ``CLUSTER SHARDS`` map (a dict, or a flat key/value list in RESP2) with text keys."""
    if isinstance(item, dict):
        return {_text(k): v for k, v in item.items()}
    flat = list(item)
    return {_text(k): v for k, v in zip(flat[::2], flat[1::2], strict=True)}


def parse_shards(reply: Any, *, tls: bool) -> tuple[list[SlotRange], set[str], set[str]]:
    """Slot ranges, every node's address, and the addresses of the failed ones."""
    ranges: list[SlotRange] = []
    nodes: set[str] = set()
    failed: set[str] = set()
    for raw in reply:
        shard = _as_dict(raw)
        primary: str | None = None
        for raw_node in shard.get("nodes", []):
            node = _as_dict(raw_node)
            host = _text(node.get("endpoint") or "")
            if host in ("", "?"):
                host = _text(node.get("ip") or "")
            port = node.get("tls-port") if tls and node.get("tls-port") else node.get("port")
            if not host or port is None:
                continue
            addr = address(host, int(port))
            nodes.add(addr)
            healthy = _text(node.get("health") or "online") == "online"
            if not healthy:
                failed.add(addr)
            if _text(node.get("role")) == "master":
                primary = addr if healthy else None
        slots = [int(s) for s in shard.get("slots", [])]
        for start, end in zip(slots[::2], slots[1::2], strict=True):
            ranges.append((start, end, primary))
    ranges.sort()
    return ranges, nodes, failed


class ClusterRouter:
    """The slot layout and the node clients of one store."""

    MIN_REFRESH_GAP = 0.05  # seconds: concurrent callers share one read of the layout

    def __init__(
        self, url: str, seeds: tuple[tuple[str, int], ...], options: dict[str, Any]
    ) -> None:
        self._url = url
        self._options = options
        self._tls = url.lower().startswith("rediss://")
        hosts = [*url_hosts(url), *seeds]
        self._seeds = list(dict.fromkeys(address(h, p) for h, p in hosts))
        if not self._seeds:
            raise ValueError("a Redis Cluster needs at least one seed node")
        self.redactor = Redactor(url)
        self._nodes: dict[str, aioredis.Redis] = {}
        self._ranges: list[SlotRange] = []
        self._starts: list[int] = []
        self._known: list[str] = []  # nodes of the last layout, healthy first
        self._suspects: set[str] = set()  # nodes that failed to answer since the last layout
        self._moved: dict[int, str] = {}  # slot -> the node a MOVED reply named, until the
        # layout agrees (a node asked for the layout may not know of the move yet)
        self._stale = True
        self._lock = asyncio.Lock()
        self._refreshed_at = float("-inf")
        self.error: str | None = None
        self.refreshes = 0  # layouts read (for tests and status)

    # nodes -----------------------------------------------------------------------------------
    def node_client(self, addr: str) -> aioredis.Redis:
        """The client of one node (made on first use, kept until the node leaves the layout)."""
        client = self._nodes.get(addr)
        if client is None:
            client = pooled_client(self.url_of(addr), self._options)
            self._nodes[addr] = client
        return client

    def url_of(self, addr: str) -> str:
        """The URL of one node (with the credentials: never shown, see :class:`Redactor`)."""
        host, _, port = addr.rpartition(":")
        return node_url(self._url, host, int(port))

    @property
    def seed_client(self) -> aioredis.Redis:
        return self.node_client(self._seeds[0])

    def primaries(self) -> list[str]:
        """The live primaries of the last layout."""
        return sorted({a for _s, _e, a in self._ranges if a is not None})

    # the layout ------------------------------------------------------------------------------
    def mark_stale(self, addr: str | None = None) -> None:
        """Read the layout again before the next command (``addr`` failed to answer)."""
        self._stale = True
        if addr is not None:
            self._suspects.add(addr)
            self._moved = {slot: a for slot, a in self._moved.items() if a != addr}

    def moved(self, slot: int, host: str, port: int) -> None:
        """A ``MOVED`` reply: ``slot`` is served by ``host:port`` now."""
        self._moved[slot] = address(host, port)
        self._stale = True

    def owner(self, key: str) -> str | None:
        """The live primary of ``key``'s slot in the last layout (None: none, or failed)."""
        slot = key_slot(key.encode("utf-8"))
        if slot in self._moved:
            return self._moved[slot]
        return self._layout_owner(slot)

    def _layout_owner(self, slot: int) -> str | None:
        i = bisect.bisect_right(self._starts, slot) - 1
        if i < 0:
            return None
        start, end, addr = self._ranges[i]
        return addr if start <= slot <= end else None

    async def client_for(self, key: str) -> aioredis.Redis:
        """The client of the primary serving ``key``; StoreUnavailable when there is none."""
        if self._stale or not self._ranges:
            await self.refresh()
        addr = self.owner(key)
        if addr is None:
            # a failover under way: the next command reads the layout again
            self._stale = True
            slot = key_slot(key.encode("utf-8"))
            raise StoreUnavailable(
                f"redis unavailable at {self.redactor.redacted_url}: slot {slot} has no live "
                "primary (a failover may be under way)"
            )
        return self.node_client(addr)

    async def refresh(self) -> None:
        """Read the layout (one read shared by concurrent callers); StoreUnavailable if no node
        answers."""
        asked_at = time.monotonic()
        async with self._lock:
            if self._refreshed_at >= asked_at - self.MIN_REFRESH_GAP:
                return
            errors: list[str] = []
            for addr in self._candidates():
                try:
                    client = self.node_client(addr)
                    reply = await client.execute_command("CLUSTER SHARDS")  # type: ignore[no-untyped-call]
                    ranges, nodes, failed = parse_shards(reply, tls=self._tls)
                except (RedisError, OSError, ValueError, KeyError, TypeError) as exc:
                    errors.append(f"{addr}: {self.redactor.describe(exc)}")
                    continue
                if not ranges:
                    errors.append(f"{addr}: no slots assigned")
                    continue
                await self._adopt(ranges, nodes, failed)
                return
            self._refreshed_at = time.monotonic()
            self.error = "no cluster node answered: " + "; ".join(errors[:4])
            shown = self.redactor.redacted_url
            raise StoreUnavailable(f"redis unavailable at {shown}: {self.error}")

    def _candidates(self) -> list[str]:
        """Nodes to ask, most likely to answer first."""
        live = set(self.primaries())
        order = sorted(a for a in live if a not in self._suspects)  # primaries know best
        order += [a for a in self._known if a not in order and a not in self._suspects]
        order += [s for s in self._seeds if s not in order and s not in self._suspects]
        order += [a for a in [*self._known, *self._seeds] if a not in order]
        return order

    async def _adopt(self, ranges: list[SlotRange], nodes: set[str], failed: set[str]) -> None:
        self._ranges = ranges
        self._starts = [r[0] for r in ranges]
        self._known = sorted(nodes - failed) + sorted(failed)
        self._suspects.clear()
        self._stale = False
        self._refreshed_at = time.monotonic()
        self.refreshes += 1
        self.error = None
        self._moved = {s: a for s, a in self._moved.items() if self._layout_owner(s) != a}
        for addr in [a for a in self._nodes if a not in nodes and a not in self._seeds]:
            client = self._nodes.pop(addr)
            try:
                await client.aclose()
            except (RedisError, OSError) as exc:  # a gone node's pool: nothing to keep
                log.debug("redis store: closing the client of %s: %s", addr, exc)

    async def aclose(self) -> None:
        for addr, client in list(self._nodes.items()):
            try:
                await client.aclose()
            except (RedisError, OSError) as exc:
                log.warning(
                    "redis store: closing the client of %s failed: %s",
                    addr,
                    self.redactor.clean(exc),
                )
        self._nodes.clear()
