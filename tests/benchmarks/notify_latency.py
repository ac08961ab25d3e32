"""Push-to-notification latency, one server (embedded store) and across two servers (Redis).

    python tests/benchmarks/notify_latency.py [--pushes 300] [--out results/notify_latency.json]

A teacher on server A pushes a cell; a student on server B (the same server for the embedded
store) receives ``update_available``. Latency = send of ``push_cell`` to receipt, on one clock.
Pushes are sequential (the next after the previous notification): this measures latency, not
throughput. Loopback only; starts its own redis-server and Jupyter servers and stops them.
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
from notebook_sync_ydoc.testing import JupyterServerProcess


async def measure(a: JupyterServerProcess, b: JupyterServerProcess, pushes: int) -> list[float]:
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
    await teacher.close()
    await student.close()
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pushes", type=int, default=300)
    parser.add_argument("--out", default="results/notify_latency.json")
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine(), "pushes": args.pushes}
    results.update(
        one_server_and_two_via_redis(
            lambda a, b: latency_summary(asyncio.run(measure(a, b, args.pushes)))
        )
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    for name in ("one_server_memory", "two_servers_redis"):
        r = results[name]
        print(
            f"{name:>20}: median {r['median_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms "
            f"(max {r['max_ms']:.2f} ms, n={r['n']})"
        )
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
