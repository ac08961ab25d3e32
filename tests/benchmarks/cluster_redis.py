"""A Redis Cluster beside one Redis, in the same run: push throughput with 100 concurrent
sessions, and the notify latency from a teacher on one Jupyter server to a student on another.

    python tests/benchmarks/cluster_redis.py [--sessions 100] [--seconds 8] [--pushes 200]
        [--out docs/performance/cluster]

Throughput: ``--servers`` stores (as many Jupyter servers would hold) in this process share the
sessions; each session has 10 cells and 30 students (so every push passes 40 member keys, see
store/redis/members.py) and one teacher that pushes a typing-sized edit of a ~400-byte cell,
then the next once the previous is answered, for ``--seconds``. Counted: pushes per second,
push latency, and the CPU seconds of the Redis processes and of this process per push.
Latency: ``notify_latency.measure`` (sequential pushes, teacher on server A, student on B).

Configurations: one Redis (no replica, as the default deployment), a cluster of 3 primaries
without replicas, and 3 primaries with a replica each. Everything runs on loopback, on this
machine's cores; it starts its own redis-server processes and Jupyter servers and stops them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/: the redis fixtures' process classes

from notify_latency import measure  # noqa: E402  (tests/benchmarks is the script's folder)
from procstat import UNLIMITED, cpu_total, latency_summary, loadavg, machine  # noqa: E402
from redis_cluster_fixtures import RedisClusterProcesses  # noqa: E402
from redis_fixtures import RedisServer  # noqa: E402

from notebook_sync_ydoc.store.base import CellWrite, SessionRecord, StudentRecord  # noqa: E402
from notebook_sync_ydoc.store.redis import RedisStore  # noqa: E402  (a baseline has no RedisMode)
from notebook_sync_ydoc.testing import JupyterServerProcess  # noqa: E402

if TYPE_CHECKING:
    from notebook_sync_ydoc.store.redis import RedisMode

CELLS, STUDENTS = 10, 30
SOURCE = "def f(x):\n    return x * 2\n\n" * 14  # ~400 bytes


def _session(code: str) -> SessionRecord:
    return SessionRecord(code, "teacher", "sha256$x", "bench", "ydoc", created=1.0, updated=1.0)


async def throughput(
    url: str,
    mode: RedisMode | None,
    pids: list[int],
    *,
    sessions: int,
    seconds: float,
    servers: int,
) -> dict[str, Any]:
    """``mode`` None: the store's defaults (also those of a package without modes)."""
    prefix = f"bench-{time.monotonic_ns()}:"
    extra: dict[str, Any] = {} if mode is None else {"mode": mode}
    stores = [
        RedisStore(url, prefix=prefix, server_id=f"bench-{i}", **extra) for i in range(servers)
    ]
    for store in stores:
        await store.start()
    try:
        codes = [f"B{i:05d}X" for i in range(sessions)]

        async def prepare(i: int, code: str) -> None:
            store = stores[i % servers]
            assert await store.create_session(_session(code))
            for s in range(STUDENTS):
                await store.put_student(code, StudentRecord(f"s{s}", f"u{s}", f"S{s}", 1.0))
            for c in range(CELLS):
                await store.write_cell(code, CellWrite(f"c{c}", SOURCE), None)

        await asyncio.gather(*(prepare(i, c) for i, c in enumerate(codes)))
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds

        async def teacher(i: int, code: str) -> None:
            store, n = stores[i % servers], 0
            while time.perf_counter() < deadline:
                source = SOURCE + f"# edit {n}\n"
                started = time.perf_counter()
                await store.write_cell(code, CellWrite(f"c{n % CELLS}", source), None)
                latencies.append((time.perf_counter() - started) * 1000)
                n += 1

        redis_cpu, own_cpu = cpu_total(pids), time.process_time()
        began = time.perf_counter()
        await asyncio.gather(*(teacher(i, c) for i, c in enumerate(codes)))
        took = time.perf_counter() - began
        redis_cpu, own_cpu = cpu_total(pids) - redis_cpu, time.process_time() - own_cpu
        stale = sum(getattr(s, "stale_members", 0) for s in stores)
    finally:
        for store in stores:
            await store.stop()
    n = len(latencies)
    return {
        "pushes": n,
        "pushes_per_s": round(n / took, 1),
        "latency": latency_summary(latencies),
        "redis_cpu_us_per_push": round(redis_cpu / n * 1e6, 1),
        "client_cpu_us_per_push": round(own_cpu / n * 1e6, 1),
        "stale_member_retries": stale,
    }


def notify(options: dict[str, Any], workdir: Path, pushes: int) -> dict[str, float]:
    options = {**UNLIMITED, **options}  # no rate limit: pushes come back to back
    servers = [JupyterServerProcess(workdir / name, options=options) for name in ("a", "b")]
    for server in servers:
        server.start()
    try:
        return latency_summary(asyncio.run(measure(servers[0], servers[1], pushes)))
    finally:
        for server in servers:
            server.stop()


@contextmanager
def single_redis(directory: Path) -> Iterator[RedisServer]:
    server = RedisServer(directory, appendonly=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def cluster(directory: Path, replicas: int) -> Iterator[RedisClusterProcesses]:
    made = RedisClusterProcesses(directory, replicas=replicas)
    made.start()
    try:
        yield made
    finally:
        made.stop()


def baseline(package: str, url: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    """The throughput on one Redis with the store of another checkout (``package``: the folder
    holding its ``notebook_sync_ydoc``), in a child process."""
    env = {**os.environ, "PYTHONPATH": package}
    spec = json.dumps({"url": url, "pid": pid, "sessions": args.sessions, "seconds": args.seconds})
    done = subprocess.run(
        [sys.executable, __file__, "--child", spec, "--servers", str(args.servers)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def child(spec_json: str, servers: int) -> int:
    spec = json.loads(spec_json)
    kw = {"sessions": spec["sessions"], "seconds": spec["seconds"], "servers": servers}
    result = asyncio.run(throughput(spec["url"], None, [spec["pid"]], **kw))
    result["package"] = str(Path(sys.modules[RedisStore.__module__].__file__ or "").parents[3])
    print(json.dumps(result))
    return 0


def pids_of(nodes: list[RedisServer]) -> list[int]:
    return [n.process.pid for n in nodes if n.process is not None]


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from notebook_sync_ydoc.store.redis import RedisMode

    results: dict[str, Any] = {"machine": machine(), "sessions": args.sessions}
    kw = {"sessions": args.sessions, "seconds": args.seconds, "servers": args.servers}
    with single_redis(tmp / "single") as one:
        results["one_redis"] = asyncio.run(throughput(one.url, RedisMode(), pids_of([one]), **kw))
        latency = notify({"redis_url": one.url}, tmp / "n1", args.pushes)
        results["one_redis"]["notify"] = latency
        if args.baseline:
            results["baseline"] = args.baseline_label or args.baseline
            pid = pids_of([one])[0]
            for i in range(2):  # alternating, twice: the machine's load drifts
                results[f"baseline_{i}"] = baseline(args.baseline, one.url, pid, args)
                results[f"this_checkout_{i}"] = baseline(
                    str(HERE.parent.parent), one.url, pid, args
                )
    for replicas in (0, 1):
        name = f"cluster_3_primaries_{replicas}_replica"
        with cluster(tmp / name, replicas) as c:
            mode = RedisMode.build(cluster=True)
            results[name] = asyncio.run(throughput(c.url, mode, pids_of(c.nodes), **kw))
            if replicas:
                options = {"redis_url": c.url, "redis_cluster": True}
                results[name]["notify"] = notify(options, tmp / f"n-{name}", args.pushes)
    results["loadavg_at_end"] = loadavg()
    return results


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "# Redis Cluster beside one Redis",
        "",
        "`python tests/benchmarks/cluster_redis.py` (one run; figures of that run). Machine: "
        f"{m['cpus']} cores ({m['cpu_model']}), Python {m['python']}; load average "
        f"{m['loadavg_at_start'][0]:.2f} at the start, {results['loadavg_at_end'][0]:.2f} at "
        "the end (other test runs share the machine).",
        "",
        f"## Push throughput, {results['sessions']} concurrent sessions",
        "",
        "| deployment | pushes/s | push p50 / p99 (ms) | Redis CPU per push (µs) | "
        "client CPU per push (µs) |",
        "|---|---|---|---|---|",
    ]
    names = [k for k in results if k.startswith(("one_redis", "cluster_"))]
    for name in names:
        r = results[name]
        lat = r["latency"]
        lines.append(
            f"| {name.replace('_', ' ')} | {r['pushes_per_s']:,.0f} | {lat['median_ms']:.2f} / "
            f"{lat['p99_ms']:.2f} | {r['redis_cpu_us_per_push']:.0f} | "
            f"{r['client_cpu_us_per_push']:.0f} |"
        )
    runs = [k for k in results if k.startswith(("baseline_", "this_checkout_"))]
    if runs:
        lines += [
            "",
            "## One Redis: these scripts beside a baseline checkout's (same Redis, alternating)",
            "",
            f"Baseline: {results.get('baseline', '')}.",
            "",
            "| store | pushes/s | Redis CPU per push (µs) | client CPU per push (µs) |",
            "|---|---|---|---|",
        ]
        for name in runs:
            r = results[name]
            lines.append(
                f"| {name.replace('_', ' ')} | {r['pushes_per_s']:,.0f} | "
                f"{r['redis_cpu_us_per_push']:.0f} | {r['client_cpu_us_per_push']:.0f} |"
            )
    lines += [
        "",
        "## Notify latency, teacher on server A, student on server B (ms)",
        "",
        "| deployment | median | p90 | p99 | max |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        n = results[name].get("notify")
        if n:
            lines.append(
                f"| {name.replace('_', ' ')} | {n['median_ms']:.2f} | {n['p90_ms']:.2f} | "
                f"{n['p99_ms']:.2f} | {n['max_ms']:.2f} |"
            )
    lines += [
        "",
        "## What these figures can and cannot show",
        "",
        "- Every process (the Redis nodes, the replicas, this load generator and, for the "
        "latency, two Jupyter servers) shares the machine's cores: the cluster's six "
        "redis-server processes compete with the client instead of adding machines. So "
        "pushes/s here is bounded by the cores, mostly by the client (one Python process, "
        "its CPU per push in the last column); it cannot show that a cluster scales out. "
        "What it does show: the cost of one push for Redis (CPU per push), what routing by "
        "slot and replication add to it, and the latency a push and a notification see.",
        "- Replicas cost the primaries CPU (the replication stream) and take CPU of their "
        "own on the same cores; with them the figures include that.",
        "- Each push passes the keys of its session's cells and students (40 here) to its "
        "script (store/redis/members.py), on one Redis as on the cluster.",
        "- One run, with other work on the machine (the load averages above): differences "
        "of a few tens of percent are within the noise of such a run.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--servers", type=int, default=2, help="stores sharing the sessions")
    parser.add_argument("--pushes", type=int, default=200, help="notify latency samples")
    parser.add_argument("--out", default=str(HERE.parent.parent / "docs/performance/cluster"))
    parser.add_argument(
        "--baseline",
        default="",
        help="also measure one Redis with the store of this other checkout (a folder holding "
        "notebook_sync_ydoc, e.g. `git archive HEAD~1 notebook_sync_ydoc | tar -x -C DIR`)",
    )
    parser.add_argument(
        "--baseline-label", default="", help="what the baseline is, for the results file"
    )
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.servers)
    with tempfile.TemporaryDirectory(prefix="nbsync-cluster-bench-") as tmp:
        results = run(args, Path(tmp))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    text = markdown(results)
    (out / "results.md").write_text(text)
    print(text)
    print(f"written to {out}/results.json and results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
