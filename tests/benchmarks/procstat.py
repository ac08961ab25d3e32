"""CPU time and resident memory of server processes, from /proc (Linux)."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

T = TypeVar("T")

# The load generators send as fast as the server answers: what is measured is the server, not
# its per-connection rate limit (a real class stays far below it).
UNLIMITED: Mapping[str, Any] = MappingProxyType({"rate_limit_messages": 0})

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time of one process, all its threads, in seconds: nanoseconds from
    /proc/PID/task/*/schedstat where available (utime+stime count 10 ms ticks), else ticks."""
    total_ns = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                    total_ns += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue  # a thread that ended meanwhile
        if total_ns:
            return total_ns / 1e9
    except OSError:
        pass
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def cpu_total(pids: list[int]) -> float:
    return sum(cpu_seconds(p) for p in pids)


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def loadavg() -> list[float]:
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) * 1024
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "memory_gib": round(mem / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg_at_start": loadavg(),
    }


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..1)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarize(values: list[float], digits: int = 3) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(statistics.median(values), digits),
        "p99": round(percentile(values, 0.99), digits),
        "max": round(max(values), digits),
    }


def latency_summary(latencies_ms: list[float]) -> dict[str, float]:
    """The latency scripts' summary: n, median, p90, p99, max (ms)."""
    return {
        "n": len(latencies_ms),
        "median_ms": round(statistics.median(latencies_ms), 3),
        "p90_ms": round(percentile(latencies_ms, 0.90), 3),
        "p99_ms": round(percentile(latencies_ms, 0.99), 3),
        "max_ms": round(max(latencies_ms), 3),
    }


def one_server_and_two_via_redis(
    measure: Callable[[Any, Any], T], prefix: str = "nbsync-bench-"
) -> dict[str, T]:
    """Run ``measure(teacher_server, student_server)`` on one server (embedded store), then on
    two servers sharing a fresh redis-server; both servers and Redis are stopped afterwards."""
    from notebook_sync_ydoc.testing import JupyterServerProcess

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp, redis_server(Path(tmp)) as url:
        results: dict[str, T] = {}
        servers: list[JupyterServerProcess] = []
        try:
            one = JupyterServerProcess(Path(tmp) / "one", options=dict(UNLIMITED))
            servers.append(one.start())
            results["one_server_memory"] = measure(one, one)
            a = JupyterServerProcess(Path(tmp) / "a", options={**UNLIMITED, "redis_url": url})
            b = JupyterServerProcess(Path(tmp) / "b", options={**UNLIMITED, "redis_url": url})
            servers += [a.start(), b.start()]
            results["two_servers_redis"] = measure(a, b)
        finally:
            for server in servers:
                server.stop()
        return results


@contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """A redis-server of its own on a free loopback port (nothing saved), stopped after."""
    from notebook_sync_ydoc.testing import free_port

    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not found on PATH")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
    )
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)
