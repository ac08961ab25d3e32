"""Real Redis Clusters and Sentinel groups on loopback (never a fake Redis, never mocks).

- :class:`RedisClusterProcesses`: ``primaries`` primaries with ``replicas`` replicas each, made
  with ``redis-cli --cluster create``; ready when every node reports the whole layout healthy
  (``CLUSTER SHARDS``) and every replica's link is up: polled with a deadline, never a fixed
  sleep. ``kill(node)``, ``restart(node)`` (it rejoins, as a replica of whoever took over).
- :class:`SentinelGroup`: a primary, a replica and three sentinels (``redis-server
  --sentinel``), ready when each sentinel knows the replica and the two other sentinels.
- :class:`ScriptKeysMonitor`: MONITOR a node; which script touched a key not in its KEYS.
- :class:`Pushes`, :func:`push_until_accepted`: pushes around a failover, and what came of them.

Both stop exactly the processes they started (``stop()``, also after a failed start). The test
modules make them module-scoped fixtures (one cluster per module: starting one costs seconds).
Without ``redis-server``/``redis-cli`` the tests skip with the reason, or fail when
``NOTEBOOK_SYNC_REQUIRE_REDIS=1``.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import redis
from redis.crc import key_slot
from redis_fixtures import RedisServer, _free_port, _unavailable

from notebook_sync_ydoc.clients import SyncError
from notebook_sync_ydoc.store.base import CellWrite, StoreUnavailable
from notebook_sync_ydoc.store.redis import RedisStore

READY_TIMEOUT = 30.0


def require_binaries() -> None:
    for name in ("redis-server", "redis-cli"):
        if shutil.which(name) is None:
            _unavailable(f"{name} not found: cluster and sentinel tests need it")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def poll(cond: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``cond`` every 20 ms until true; the seconds it took. RuntimeError at the deadline."""
    start = time.monotonic()
    while True:
        try:
            if cond():
                return time.monotonic() - start
        except (redis.RedisError, OSError):
            pass  # a node still starting, or one just killed: poll again
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)  # poll interval of a bounded readiness loop


class RedisClusterProcesses:
    """A Redis Cluster of real processes in ``directory``."""

    def __init__(
        self,
        directory: Path,
        *,
        primaries: int = 3,
        replicas: int = 1,
        node_timeout_ms: int = 1000,
        password: str | None = None,
        tls: bool = False,
    ) -> None:
        self.directory = directory
        self.primaries = primaries
        self.replicas = replicas
        self.password = password
        self.tls = tls
        self.cert_dir = directory / "tls"  # one CA and certificate for every node
        self.nodes: list[RedisServer] = []
        self._probes: dict[int, str] = {}
        for i in range(primaries * (1 + replicas)):
            d = directory / f"node-{i}"
            extra = [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                str(d / "nodes.conf"),
                "--cluster-node-timeout",
                str(node_timeout_ms),
                "--cluster-port",  # the bus port: port + 10000 could be above 65535
                str(_free_port()),
                # a replica takes over however long it was cut off (tests stop replicas)
                "--cluster-replica-validity-factor",
                "0",
                "--repl-diskless-sync-delay",  # replicas sync at once (default: wait 5 s)
                "0",
            ]
            if password:
                extra += ["--masterauth", password]
            if tls:
                extra += ["--tls-cluster", "yes", "--tls-replication", "yes"]
            node = RedisServer(
                d,
                appendonly=False,
                password=password,
                extra_args=extra,
                tls=tls,
                certificates=self.cert_dir if tls else None,
            )
            self.nodes.append(node)

    # addresses ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Seeds in the URL: the first three nodes."""
        auth = f":{self.password}@" if self.password else ""
        seeds = ",".join(f"127.0.0.1:{n.port}" for n in self.nodes[:3])
        return f"{'rediss' if self.tls else 'redis'}://{auth}{seeds}/0"

    @property
    def ca_file(self) -> Path:
        return self.cert_dir / "ca.crt"

    def node(self, port: int) -> RedisServer:
        return next(n for n in self.nodes if n.port == port)

    def client(self, node: RedisServer | None = None) -> redis.Redis:
        return (node or self.alive()[0]).client()

    def alive(self) -> list[RedisServer]:
        return [n for n in self.nodes if n.process is not None and n.process.poll() is None]

    def shards(self, node: RedisServer | None = None) -> list[dict[str, Any]]:
        """``[{slots: [(a, b)], primary: port, replicas: [port], healthy: bool}]`` as ``node``
        (default: the first live one) sees it."""
        with self.client(node) as c:
            reply = c.execute_command("CLUSTER SHARDS")
        out = []
        for shard in reply:
            s = {_text(k): v for k, v in shard.items()}
            slots = [int(x) for x in s["slots"]]
            nodes = [{_text(k): v for k, v in n.items()} for n in s["nodes"]]
            for n in nodes:  # a TLS cluster names only the TLS port
                n.setdefault("port", n.get("tls-port"))
            if not slots:
                continue
            primary = [n for n in nodes if _text(n["role"]) == "master"]
            out.append(
                {
                    "slots": list(zip(slots[::2], slots[1::2], strict=True)),
                    "primary": int(primary[0]["port"]) if primary else None,
                    "replicas": [int(n["port"]) for n in nodes if _text(n["role"]) != "master"],
                    # a replica shows "loading" until its primary's first write or ping
                    "healthy": all(
                        _text(n["health"]) == "online"
                        or (_text(n["role"]) != "master" and _text(n["health"]) == "loading")
                        for n in nodes
                    ),
                }
            )
        return out

    def primary_of(self, key: str) -> RedisServer:
        slot = key_slot(key.encode())
        for shard in self.shards():
            if any(a <= slot <= b for a, b in shard["slots"]):
                return self.node(int(shard["primary"]))
        raise LookupError(f"no shard serves slot {slot}")

    def replica_of(self, primary: RedisServer) -> RedisServer:
        shard = next(s for s in self.shards() if s["primary"] == primary.port)
        return self.node(shard["replicas"][0])

    # lifecycle ---------------------------------------------------------------------------------
    def start(self) -> RedisClusterProcesses:
        try:
            for node in self.nodes:
                node.start()
            cli = ["redis-cli", "--cluster", "create"]
            cli += [f"127.0.0.1:{n.port}" for n in self.nodes]
            cli += ["--cluster-replicas", str(self.replicas), "--cluster-yes"]
            if self.password:
                cli += ["-a", self.password, "--no-auth-warning"]
            if self.tls:
                cli += ["--tls", "--cacert", str(self.ca_file)]
            subprocess.run(cli, check=True, capture_output=True, timeout=60)
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _healthy(self) -> bool:
        for node in self.alive():
            with node.client() as c:
                info = c.execute_command("CLUSTER INFO")
                state = info.get("cluster_state") if isinstance(info, dict) else None
                if state != "ok" and "cluster_state:ok" not in _text(info):
                    return False
                if _text(c.execute_command("ROLE")[0]) == "slave":
                    if c.info("replication").get("master_link_status") != "up":
                        return False
        views = [
            sorted((s["primary"], tuple(s["replicas"]), tuple(s["slots"])) for s in self.shards(n))
            for n in self.alive()
        ]
        if any(view != views[0] for view in views):
            return False  # a node that just came back still has its old view
        shards = self.shards()
        covered = sum(b - a + 1 for s in shards for a, b in s["slots"])
        if not (
            covered == 16384
            and len(shards) == self.primaries
            and all(s["healthy"] and len(s["replicas"]) == self.replicas for s in shards)
        ):
            return False
        # after a (re)sync a primary streams writes to a replica only once the replica
        # acknowledged (up to 1 s): a write every replica acknowledges says they are streaming
        for shard in shards:
            probe = self._probe(shard["slots"][0][0])
            with self.node(int(shard["primary"])).client() as c:
                c.incr(probe)
                if int(c.execute_command("WAIT", self.replicas, 100)) < self.replicas:
                    return False
        return True

    def _probe(self, slot: int) -> str:
        """A key of ``slot`` (found once)."""
        if slot not in self._probes:
            self._probes[slot] = next(
                k for i in range(10**6) if key_slot((k := f"probe-{i}").encode()) == slot
            )
        return self._probes[slot]

    def wait_healthy(self, timeout: float = READY_TIMEOUT) -> float:
        """Every slot served, every shard with its replicas online and in sync."""
        return poll(self._healthy, timeout, "a healthy cluster")

    def heal(self) -> float:
        """Start every node that is down again (it rejoins, as a replica where its slots were
        taken over) and wait for a healthy cluster: what a test that kills a node leaves
        behind, even when it failed before restoring it. Seconds it took (0: nothing down)."""
        dead = [n for n in self.nodes if n.process is None or n.process.poll() is not None]
        for node in dead:
            node.start()
        return self.wait_healthy() if dead else 0.0

    def wait_promoted(self, dead: RedisServer, timeout: float = READY_TIMEOUT) -> float:
        """A replica of ``dead`` serves its slots (every slot has a live primary)."""

        def promoted() -> bool:
            shards = self.shards()
            covered = sum(b - a + 1 for s in shards for a, b in s["slots"])
            return covered == 16384 and all(s["primary"] != dead.port for s in shards)

        return poll(promoted, timeout, f"the replica of {dead.port} to take over")

    def kill(self, node: RedisServer) -> None:
        node.kill()

    def restart(self, node: RedisServer) -> None:
        """Start a stopped node again: it rejoins (nodes.conf kept), as a replica if its slots
        were taken over."""
        node.start()

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()

    def migrate_slot(self, slot: int, to: RedisServer) -> None:
        """Move one slot and its keys to the primary ``to`` (what ``redis-cli --cluster
        reshard`` does, for one slot)."""
        src = next(
            self.node(int(s["primary"]))
            for s in self.shards()
            if any(a <= slot <= b for a, b in s["slots"])
        )
        with src.client() as s, to.client() as d:
            src_id, dst_id = _text(s.cluster("MYID")), _text(d.cluster("MYID"))
            d.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", src_id)
            s.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", dst_id)
            auth = ["AUTH", self.password] if self.password else []
            while keys := s.execute_command("CLUSTER GETKEYSINSLOT", slot, 100):
                s.execute_command(
                    "MIGRATE", "127.0.0.1", to.port, "", 0, 5000, *auth, "KEYS", *keys
                )
            for node in (d, s):
                node.execute_command("CLUSTER SETSLOT", slot, "NODE", dst_id)
        for shard in self.shards():
            with self.node(int(shard["primary"])).client() as c:
                c.execute_command("CLUSTER SETSLOT", slot, "NODE", dst_id)

    def errorstats(self) -> dict[int, dict[str, Any]]:
        """``INFO errorstats`` of every live node, by port."""
        out = {}
        for node in self.alive():
            with node.client() as c:
                out[node.port] = dict(c.info("errorstats"))
        return out


class SentinelGroup:
    """A primary, a replica and three sentinels watching them as ``master_name``."""

    def __init__(
        self, directory: Path, *, master_name: str = "nbsync", down_after_ms: int = 1000
    ) -> None:
        self.directory = directory
        self.master_name = master_name
        self.down_after_ms = down_after_ms
        fast_sync = ["--repl-diskless-sync-delay", "0"]
        self.primary = RedisServer(directory / "primary", appendonly=False, extra_args=fast_sync)
        self.replica = RedisServer(
            directory / "replica",
            appendonly=False,
            extra_args=[*fast_sync, "--replicaof", "127.0.0.1", str(self.primary.port)],
        )
        self.sentinel_ports = [_free_port() for _ in range(3)]
        self.sentinels: list[subprocess.Popen[bytes]] = []

    @property
    def addresses(self) -> list[str]:
        return [f"127.0.0.1:{p}" for p in self.sentinel_ports]

    @property
    def url(self) -> str:
        """What ``redis_url`` is in Sentinel mode: credentials and database (host unused)."""
        return "redis://sentinel-named-primary/0"

    def _sentinel_config(self, i: int, port: int) -> Path:
        d = self.directory / f"sentinel-{i}"
        d.mkdir(parents=True, exist_ok=True)
        conf = d / "sentinel.conf"
        name = self.master_name
        conf.write_text(
            "\n".join(
                [
                    f"port {port}",
                    "bind 127.0.0.1",
                    f"dir {d}",
                    f"logfile {d / 'sentinel.log'}",
                    f"sentinel monitor {name} 127.0.0.1 {self.primary.port} 2",
                    f"sentinel down-after-milliseconds {name} {self.down_after_ms}",
                    f"sentinel failover-timeout {name} 10000",
                    f"sentinel parallel-syncs {name} 1",
                    "",
                ]
            )
        )
        return conf

    def start(self) -> SentinelGroup:
        try:
            self.primary.start()
            self.replica.start()
            binary = self.primary.binary
            for i, port in enumerate(self.sentinel_ports):
                conf = self._sentinel_config(i, port)
                self.sentinels.append(
                    subprocess.Popen(
                        [binary, str(conf), "--sentinel"],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            poll(self._ready, READY_TIMEOUT, "sentinels to know each other and the replica")
        except BaseException:
            self.stop()
            raise
        return self

    def sentinel_client(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=2, decode_responses=True)

    def _ready(self) -> bool:
        with self.replica.client() as c:
            if c.info("replication").get("master_link_status") != "up":
                return False
        for port in self.sentinel_ports:
            with self.sentinel_client(port) as s:
                state = s.sentinel_master(self.master_name)
                if int(state["num-slaves"]) < 1 or int(state["num-other-sentinels"]) < 2:
                    return False
        return True

    def current_primary_port(self) -> int:
        for port in self.sentinel_ports:
            try:
                with self.sentinel_client(port) as s:
                    _host, primary_port = s.sentinel_get_master_addr_by_name(self.master_name)
                    return int(primary_port)
            except (redis.RedisError, OSError):
                continue
        raise RuntimeError("no sentinel answered")

    def node(self, port: int) -> RedisServer:
        return self.primary if self.primary.port == port else self.replica

    def primary_now(self) -> RedisServer:
        """The node the sentinels name as primary now."""
        return self.node(self.current_primary_port())

    def restart_as_replica(self, node: RedisServer) -> None:
        """Start a killed node again as a replica of the current primary (as an operator's
        restart would, once the sentinels rewrote its configuration)."""
        primary = self.primary_now()
        node.extra_args = ["--repl-diskless-sync-delay", "0"]
        node.extra_args += ["--replicaof", "127.0.0.1", str(primary.port)]
        node.start()

    def wait_healthy(self, timeout: float = READY_TIMEOUT) -> float:
        """The primary the sentinels name has a replica that acknowledges writes."""

        def healthy() -> bool:
            primary = self.primary_now()
            with primary.client() as c:
                if _text(c.execute_command("ROLE")[0]) != "master":
                    return False
                c.incr("nbsync-fixture-probe")
                if int(c.execute_command("WAIT", 1, 100)) < 1:
                    return False
            for port in self.sentinel_ports:
                with self.sentinel_client(port) as s:
                    state = s.sentinel_master(self.master_name)
                    if int(state["port"]) != primary.port or int(state["num-slaves"]) < 1:
                        return False
            return True

        return poll(healthy, timeout, "a primary with a replica, known to every sentinel")

    def wait_failover(self, old_port: int, timeout: float = READY_TIMEOUT) -> float:
        """Every sentinel names a new primary, and it answers as a primary."""

        def moved() -> bool:
            for port in self.sentinel_ports:
                with self.sentinel_client(port) as s:
                    _host, p = s.sentinel_get_master_addr_by_name(self.master_name)
                    if int(p) == old_port:
                        return False
            node = self.replica if self.replica.port != old_port else self.primary
            with node.client() as c:
                return _text(c.execute_command("ROLE")[0]) == "master"

        return poll(moved, timeout, "the sentinels to promote the replica")

    def stop(self) -> None:
        for proc in self.sentinels:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
        self.sentinels.clear()
        self.primary.kill()
        self.replica.kill()


_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b"}


def monitor_args(line: str) -> tuple[str, list[str]]:
    """A MONITOR line (``<time> [<db> <client>] "arg" "arg" ...``): the client and the args,
    unquoted (Redis quotes them the way ``sdscatrepr`` does)."""
    head, _, rest = line.partition("] ")
    client = head.partition("[")[2].partition(" ")[2]
    args: list[str] = []
    i = 0
    while i < len(rest):
        if rest[i] != '"':
            i += 1
            continue
        i += 1
        out = []
        while rest[i] != '"':
            if rest[i] == "\\":
                nxt = rest[i + 1]
                if nxt == "x":
                    out.append(chr(int(rest[i + 2 : i + 4], 16)))
                    i += 4
                    continue
                out.append(_ESCAPES.get(nxt, nxt))
                i += 2
                continue
            out.append(rest[i])
            i += 1
        args.append("".join(out))
        i += 1
    return client, args


class ScriptKeysMonitor:
    """MONITOR one node while a test runs scripts on it; then say which command of which script
    touched a key that was not in that script's KEYS, or declared keys of several slots.

    MONITOR lists a script's EVALSHA, then the commands it ran (client ``lua``); the keys of
    each are what ``COMMAND GETKEYS`` says. A sharded channel (SPUBLISH) must hash to the slot
    of the script's keys."""

    def __init__(self, node: RedisServer) -> None:
        self.node = node
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._ready = threading.Event()

    def __enter__(self) -> ScriptKeysMonitor:
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("MONITOR did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.2)  # MONITOR lines of the last commands are still on their way
        self._stop.set()
        self._thread.join(5)

    def _read(self) -> None:
        """A raw socket: MONITOR replies are simple strings, one per line."""
        with socket.create_connection(("127.0.0.1", self.node.port), timeout=5) as sock:
            if self.node.password:
                sock.sendall(f"AUTH {self.node.password}\r\n".encode())
            sock.sendall(b"MONITOR\r\n")
            sock.settimeout(0.1)
            buffer = b""
            oks = 2 if self.node.password else 1  # AUTH's, then MONITOR's
            while not self._stop.is_set():
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    return
                buffer += chunk
                *lines, buffer = buffer.split(b"\r\n")
                for line in lines:
                    if line == b"+OK" and oks:
                        oks -= 1
                        if not oks:
                            self._ready.set()
                    elif line.startswith(b"+"):
                        self.lines.append(line[1:].decode("utf-8", "replace"))

    def scripts(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """(sha, KEYS, the commands it ran) of every script in the log."""
        out: list[tuple[str, list[str], list[list[str]]]] = []
        for line in self.lines:
            client, args = monitor_args(line)
            if client == "lua":
                if out:
                    out[-1][2].append(args)
            elif args and args[0].upper() in ("EVALSHA", "EVAL"):
                n = int(args[2])
                out.append((args[1], args[3 : 3 + n], []))
        return out

    def violations(self) -> list[str]:
        wrong: list[str] = []
        with self.node.client() as c:
            for sha, keys, commands in self.scripts():
                slots = {key_slot(k.encode()) for k in keys}
                if len(slots) > 1:
                    wrong.append(f"{sha[:8]}: KEYS in {len(slots)} slots: {keys}")
                for cmd in commands:
                    name = cmd[0].upper()
                    if name in ("PUBLISH", "SPUBLISH"):
                        if name == "SPUBLISH" and key_slot(cmd[1].encode()) not in slots:
                            wrong.append(f"{sha[:8]}: SPUBLISH {cmd[1]} in another slot")
                        continue
                    try:
                        touched = [_text(k) for k in c.execute_command("COMMAND GETKEYS", *cmd)]
                    except redis.ResponseError:
                        touched = []  # a command without keys (TIME)
                    wrong += [
                        f"{sha[:8]}: {name} {k} not in KEYS" for k in touched if k not in keys
                    ]
        return wrong


T = TypeVar("T")


async def push_until_accepted(
    push: Callable[[int], Awaitable[T]], deadline: float
) -> tuple[int, float, float, T]:
    """Push (attempt i) until one is accepted: (attempts refused, the longest refusal in s,
    seconds until accepted, the accepted push's result). Every refusal must be
    ``store_unavailable``."""
    started = time.monotonic()
    refused, slowest = 0, 0.0
    while True:
        tried = time.monotonic()
        try:
            result = await push(refused)
        except (StoreUnavailable, SyncError) as exc:
            if isinstance(exc, SyncError):
                assert exc.code == "store_unavailable", exc
            refused += 1
            slowest = max(slowest, time.monotonic() - tried)
            assert time.monotonic() < deadline, f"still refused after {refused} attempts"
            await asyncio.sleep(0.1)  # retry pacing, not synchronisation
            continue
        return refused, slowest, time.monotonic() - started, result


class Pushes:
    """Pushes of one store, each to a new cell: which were acknowledged, how many refused."""

    def __init__(self, store: RedisStore, code: str) -> None:
        self.store = store
        self.code = code
        self.acked: list[tuple[str, int, float]] = []  # cell, seq, when the push was sent
        self.refused = 0
        self.recovered_at: float | None = None  # first accepted push sent after `since`
        self.since = float("inf")

    async def run(self, worker: int, stop: asyncio.Event) -> None:
        i = 0
        while not stop.is_set():
            cell = f"w{worker}-{i}"
            i += 1
            sent = time.monotonic()
            try:
                rec = await self.store.write_cell(self.code, CellWrite(cell, cell), None)
            except StoreUnavailable:
                self.refused += 1
                await asyncio.sleep(0.05)  # retry pacing, not synchronisation
                continue
            self.acked.append((cell, rec.seq, sent))
            if sent > self.since and self.recovered_at is None:
                self.recovered_at = time.monotonic()

    def after(self, moment: float) -> int:
        return sum(sent > moment for *_x, sent in self.acked)

    async def lost(self) -> list[str]:
        """Acknowledged pushes the store no longer has."""
        gone = []
        for cell, seq, _sent in self.acked:
            got = await self.store.get_cell(self.code, cell)
            if got is None or got.seq != seq:
                gone.append(cell)
        return gone
