"""Push-to-notification latency, one server (embedded store) and across two servers (Redis).

    python tests/benchmarks/notify_latency.py [--pushes 300] [--gap 0.2] [--out FILE]

A teacher on server A pushes a cell; a student on server B (the same server for the embedded
store) receives ``update_available``. Latency = send of ``push_cell`` to receipt, on one clock.
Pushes are sequential (the next after the previous notification and its ack, then ``--gap``
seconds, 0.2 by default as in a lesson where the teacher types; 0 for back to back): this
measures latency, not throughput. Loopback only; starts its own redis-server and Jupyter servers
and stops them.

Beside it, at the same spacing, the floors of the hops on the path (each process on it wakes
from idle when pushes are spaced): a bare Tornado websocket relay (one frame from one client to
another through one process) and a Redis PUBLISH to a subscriber, both from separate load
generator processes (``loadgen.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from procstat import (  # tests/benchmarks is the script's own folder
    latency_summary,
    machine,
    one_server_and_two_via_redis,
    redis_server,
)
from run import bare_server, run_job

from notebook_sync_ydoc.clients import StudentClient, TeacherClient
from notebook_sync_ydoc.testing import JupyterServerProcess


async def measure(
    a: JupyterServerProcess, b: JupyterServerProcess, pushes: int, gap: float
) -> list[float]:
    teacher: TeacherClient = await TeacherClient.connect(a.base_url, a.token)
    code = (await teacher.create_session("bench"))["session_code"]
    student: StudentClient = await StudentClient.connect(b.base_url, b.token)
    await student.join(code)
    latencies = []
    for i in range(pushes + 20):  # the first 20 warm up
        started = time.perf_counter()
        await teacher.send(
            {"type": "push_cell", "cell_id": "c", "content": {"source": f"x = {i}\n"}}
        )
        await student.next_message("update_available")
        elapsed = (time.perf_counter() - started) * 1000
        await teacher.next_message("push_ack")
        if i >= 20:
            latencies.append(elapsed)
        if gap > 0:
            await asyncio.sleep(gap)  # the spacing of the workload, not a synchronisation
    await teacher.close()
    await student.close()
    return latencies


def floors(pushes: int, gap: float) -> dict[str, dict[str, float]]:
    """The hops' floors at the same spacing: a bare Tornado relay, a Redis PUBLISH."""
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="nbsync-floor-") as tmp:
        bare, info = bare_server(Path(tmp))
        try:
            job = {"kind": "fanout", "system": "bare", "servers": [info], "pids": [bare.pid]}
            r = run_job({**job, "n": 1, "rounds": pushes, "warmup": 20, "gap": gap})
            out["bare_tornado_relay"] = latency_summary(r["latencies_ms"])
        finally:
            bare.stop()
        with redis_server(Path(tmp)) as url:
            job = {"kind": "redis_rtt", "redis_url": url, "pids": []}
            r = run_job({**job, "reps": pushes, "warmup": 20, "gap": gap})
            out["redis_publish"] = latency_summary(r["latencies_ms"])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pushes", type=int, default=300)
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between pushes")
    parser.add_argument("--out", default="results/notify_latency.json")
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine(), "pushes": args.pushes, "gap_s": args.gap}
    results.update(
        one_server_and_two_via_redis(
            lambda a, b: latency_summary(asyncio.run(measure(a, b, args.pushes, args.gap)))
        )
    )
    results.update(floors(args.pushes, args.gap))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    for name in ("one_server_memory", "two_servers_redis", "bare_tornado_relay", "redis_publish"):
        r = results[name]
        print(
            f"{name:>20}: median {r['median_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms "
            f"(max {r['max_ms']:.2f} ms, n={r['n']})"
        )
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
