"""Push-to-follower latency of the follow room, one server (embedded store) and across two
servers (Redis), next to the push-to-``update_available`` latency of the same pushes.

    python tests/benchmarks/follow_latency.py [--pushes 200] [--out results/follow_latency.json]

A teacher on server A pushes one cell; on server B (the same server for the embedded store) a
Yjs follower (pycrdt Provider on /notebook-sync/room/<CODE>) waits until its document shows the
pushed source, and a JSON student waits for ``update_available``. Latency = send of
``push_cell`` to the follower's document change / to the notification, on one clock. Pushes
are sequential (the next after both arrived): latency, not throughput. Loopback only; starts
its own redis-server and Jupyter servers and stops them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from procstat import (  # tests/benchmarks is the script's own folder
    latency_summary,
    machine,
    one_server_and_two_via_redis,
)

from notebook_sync_ydoc.clients import StudentClient, TeacherClient
from notebook_sync_ydoc.clients.follow import FollowClient
from notebook_sync_ydoc.testing import JupyterServerProcess

WARMUP = 20


async def measure(
    a: JupyterServerProcess, b: JupyterServerProcess, pushes: int
) -> dict[str, dict[str, float]]:
    teacher: TeacherClient = await TeacherClient.connect(a.base_url, a.token)
    code = (await teacher.create_session("bench"))["session_code"]
    student: StudentClient = await StudentClient.connect(b.base_url, b.token)
    await student.join(code, name="bench")
    follower = await FollowClient.connect(b.base_url, code, student.student_key, token=b.token)
    follow_ms: list[float] = []
    notify_ms: list[float] = []
    try:
        for i in range(pushes + WARMUP):
            source = f"x = {i}\nprint(x)\n"
            started = time.perf_counter()

            async def followed(s: str = source, t0: float = started) -> float:
                await follower.wait_until(lambda: follower.sources().get("c") == s)
                return (time.perf_counter() - t0) * 1000

            async def notified(t0: float = started) -> float:
                await student.next_message("update_available")
                return (time.perf_counter() - t0) * 1000

            await teacher.send({"type": "push_cell", "cell_id": "c", "content": {"source": source}})
            f_ms, n_ms = await asyncio.gather(followed(), notified())
            await teacher.next_message("push_ack")
            if i >= WARMUP:
                follow_ms.append(f_ms)
                notify_ms.append(n_ms)
    finally:
        await follower.close()
        await student.close()
        await teacher.close()
    return {"follower": latency_summary(follow_ms), "update_available": latency_summary(notify_ms)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pushes", type=int, default=200)
    parser.add_argument("--out", default="results/follow_latency.json")
    args = parser.parse_args()
    if args.pushes < 100:
        parser.error("--pushes must be at least 100 (the median of fewer says little)")
    results: dict[str, Any] = {"machine": machine(), "pushes": args.pushes}
    results.update(
        one_server_and_two_via_redis(
            lambda a, b: asyncio.run(measure(a, b, args.pushes)), prefix="nbsync-follow-bench-"
        )
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    for name in ("one_server_memory", "two_servers_redis"):
        for what, r in results[name].items():
            print(
                f"{name:>18} {what:>16}: median {r['median_ms']:.2f} ms, p90 {r['p90_ms']:.2f} ms,"
                f" p99 {r['p99_ms']:.2f} ms (max {r['max_ms']:.2f} ms, n={r['n']})"
            )
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
