"""How the Redis store reaches Redis: one server (the default), a Redis Cluster, or a primary
behind Sentinel; and whether a write waits for replicas (``WAIT``).

- **single**: ``redis_url`` names one Redis (``redis://`` or ``rediss://``, credentials in the
  URL). Unchanged from before these modes existed.
- **cluster**: ``redis_url`` gives the scheme (TLS), the credentials and one or more seed nodes
  (``redis://:pw@h1:6379,h2:6379``); ``cluster_nodes`` adds seeds (``host:port``). The layout
  is read from any reachable node (``CLUSTER SHARDS``), see :mod:`.cluster`.
- **sentinel**: ``sentinels`` (``host:port``) name the primary ``sentinel_master``; ``redis_url``
  gives the scheme, the credentials and the database (its host is not used). See
  :mod:`.sentinel`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

ModeKind = Literal["single", "cluster", "sentinel"]


def parse_address(text: str, default_port: int) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``, or a bare host) as a pair; ValueError if malformed."""
    value = text.strip()
    if not value:
        raise ValueError("empty address")
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
    else:
        host, port_text = value, ""
    if not host:
        raise ValueError(f"no host in {text!r}")
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise ValueError(f"bad port in {text!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"bad port in {text!r}")
    return host, port


def split_addresses(values: tuple[str, ...] | list[str]) -> list[str]:
    """Addresses as administrators write them: a list in a config file, or on a command line
    one value per flag, comma-separated, or written like a list (``["h1:1", "h2:2"]``)."""
    out: list[str] = []
    for value in values:
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        for part in text.split(","):
            address_text = part.strip().strip("'\"").strip()
            if address_text:
                out.append(address_text)
    return out


def url_hosts(url: str) -> list[tuple[str, int]]:
    """The host(s) of a URL whose host part may list several, comma-separated."""
    netloc = urlsplit(url).netloc
    hostlist = netloc.rpartition("@")[2]
    return [parse_address(h, 6379) for h in hostlist.split(",") if h.strip()]


def node_url(url: str, host: str, port: int) -> str:
    """``url`` (scheme, credentials, path, query) pointed at one node."""
    parts = urlsplit(url)
    userinfo, at, _hosts = parts.netloc.rpartition("@")
    shown = f"[{host}]" if ":" in host else host
    netloc = f"{userinfo}{at}{shown}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class RedisMode:
    """The deployment the store talks to, and its write acknowledgement policy."""

    kind: ModeKind = "single"
    cluster_nodes: tuple[tuple[str, int], ...] = ()  # seeds besides the URL's own host(s)
    sentinels: tuple[tuple[str, int], ...] = ()
    sentinel_master: str = ""
    sentinel_password: str = ""
    wait_replicas: int = 0  # > 0: every write waits (WAIT) for this many replicas
    wait_timeout_ms: int = 1000

    @property
    def sharded(self) -> bool:
        """Notifications on sharded pub/sub (SPUBLISH / SSUBSCRIBE): the cluster."""
        return self.kind == "cluster"

    @classmethod
    def build(
        cls,
        *,
        cluster: bool = False,
        cluster_nodes: tuple[str, ...] | list[str] = (),
        sentinels: tuple[str, ...] | list[str] = (),
        sentinel_master: str = "",
        sentinel_password: str = "",
        wait_replicas: int = 0,
        wait_timeout_ms: int = 1000,
        socket_timeout: float = 2.0,
    ) -> RedisMode:
        """Check and combine the settings; ValueError says what is wrong."""
        seeds = tuple(parse_address(n, 6379) for n in split_addresses(cluster_nodes))
        watchers = tuple(parse_address(s, 26379) for s in split_addresses(sentinels))
        kind: ModeKind = "single"
        if cluster or seeds:
            kind = "cluster"
        if watchers:
            if kind == "cluster":
                raise ValueError("choose Redis Cluster or Sentinel, not both")
            if not sentinel_master:
                raise ValueError("Sentinel mode needs the primary's name (redis_sentinel_master)")
            kind = "sentinel"
        if wait_replicas < 0:
            raise ValueError("redis_wait_replicas must be 0 (no wait) or more")
        limit = int(socket_timeout * 1000) - 250
        if wait_replicas and not 0 < wait_timeout_ms <= limit:
            raise ValueError(
                f"redis_wait_timeout_ms must be between 1 and {limit} (below the socket timeout)"
            )
        return cls(
            kind=kind,
            cluster_nodes=seeds,
            sentinels=watchers,
            sentinel_master=sentinel_master if kind == "sentinel" else "",
            sentinel_password=sentinel_password if kind == "sentinel" else "",
            wait_replicas=wait_replicas,
            wait_timeout_ms=wait_timeout_ms,
        )

    def describe(self) -> str:
        """A few words for the log and ``health()`` (no secret)."""
        where = {
            "single": "one Redis",
            "cluster": "Redis Cluster",
            "sentinel": f"Sentinel primary {self.sentinel_master!r}",
        }[self.kind]
        if self.wait_replicas:
            where += f", writes wait for {self.wait_replicas} replica(s)"
        return where
