"""Where the server's memory per connected student goes: tracemalloc in a notebook-sync server
(through a ``sitecustomize`` of this script's own, nothing in the product), a snapshot before
and after ``--students`` students connect and join, the difference per student by source line.

    python tests/benchmarks/memory_profile.py --students 1000 [--top 25] [--out FILE.json]

tracemalloc counts Python allocations only (not the allocator's own slack nor the kernel's
socket buffers, both in RSS), so its total is below the RSS growth the fan-out figures report:
both are printed. The server is a separate process; the students connect from this one.
Loopback only; every wait has a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from loadgen import Nb, close_all, connect_many  # noqa: E402
from procstat import UNLIMITED, loadavg, rss_bytes  # noqa: E402

from notebook_sync_ydoc.testing import JupyterServerProcess  # noqa: E402

SITECUSTOMIZE = """
import os, signal, tracemalloc
_out = os.environ.get("NBSYNC_TRACEMALLOC_OUT")
if _out:
    tracemalloc.start(int(os.environ.get("NBSYNC_TRACEMALLOC_FRAMES", "1")))
    _count = [0]

    def _dump(signum, frame):
        _count[0] += 1
        tracemalloc.take_snapshot().dump(f"{_out}.{_count[0]}.part")
        os.rename(f"{_out}.{_count[0]}.part", f"{_out}.{_count[0]}")

    signal.signal(signal.SIGUSR2, _dump)
"""


def _short(filename: str) -> str:
    return filename.split("site-packages/")[-1].split("/wt-scale/")[-1]


async def wait_file(path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(path.exists):  # bounded by the deadline
        if time.monotonic() > deadline:
            raise TimeoutError(f"no snapshot {path}")
        await asyncio.sleep(0.2)


async def profile(server: JupyterServerProcess, n: int, dump: Path) -> dict[str, Any]:
    assert server.proc is not None
    pid = server.proc.pid
    teacher = await Nb().open(server.port, server.token)
    code = (await teacher.request("create_session", title="mem"))["session_code"]
    await teacher.request("push_cell", cell_id="c", content={"source": "x = 1\n"})
    # a few students first: caches and first-use allocations are not per-student costs
    warm: list[Nb] = []
    for i in range(20):
        nb = await Nb().open(server.port, server.token)
        await nb.request("join_session", session_code=code, name=f"w{i}")
        warm.append(nb)
    await asyncio.sleep(1.0)
    rss0 = rss_bytes(pid)
    os.kill(pid, signal.SIGUSR2)
    await wait_file(Path(f"{dump}.1"))

    async def student(i: int) -> Nb:
        nb = await Nb().open(server.port, server.token)
        await nb.request("join_session", session_code=code, name=f"s{i}")
        return nb

    students: list[Nb] = await connect_many(n, student)  # type: ignore[assignment]
    await asyncio.sleep(1.0)
    rss1 = rss_bytes(pid)
    os.kill(pid, signal.SIGUSR2)
    await wait_file(Path(f"{dump}.2"))
    await close_all([teacher, *warm, *students])
    return {"rss_kb_per_student": round((rss1 - rss0) / n / 1024, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--store", default="notebook_sync_ydoc.store.memory.MemoryStore")
    parser.add_argument("--out", default="")
    args = parser.parse_args(argv)
    load0 = loadavg()
    with tempfile.TemporaryDirectory(prefix="nbsync-memprof-") as tmpname:
        tmp = Path(tmpname)
        (tmp / "site").mkdir()
        (tmp / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
        dump = tmp / "snap"
        env = {
            "PYTHONPATH": os.pathsep.join([str(tmp / "site"), os.environ.get("PYTHONPATH", "")]),
            "NBSYNC_TRACEMALLOC_OUT": str(dump),
        }
        server = JupyterServerProcess(
            tmp / "server", options={**UNLIMITED, "store_class": args.store}, env=env
        ).start()
        try:
            res = asyncio.run(profile(server, args.students, dump))
        finally:
            server.stop()
        a = tracemalloc.Snapshot.load(f"{dump}.1")
        b = tracemalloc.Snapshot.load(f"{dump}.2")
    stats = b.compare_to(a, "lineno")
    total = sum(s.size_diff for s in stats)
    n = args.students
    top = [
        {
            "where": f"{_short(s.traceback[0].filename)}:{s.traceback[0].lineno}",
            "bytes_per_student": round(s.size_diff / n),
            "blocks_per_student": round(s.count_diff / n, 2),
        }
        for s in stats[: args.top]
    ]
    by_package: dict[str, int] = {}
    for st in b.compare_to(a, "filename"):
        name = _short(st.traceback[0].filename)
        key = name.split("/")[0] if "/" in name and not name.startswith("/") else "stdlib/other"
        by_package[key] = by_package.get(key, 0) + st.size_diff
    out = {
        "students": n,
        "by_package_bytes_per_student": {
            k: round(v / n) for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])[:12]
        },
        "store": args.store,
        "rss_kb_per_student": res["rss_kb_per_student"],
        "tracemalloc_kb_per_student": round(total / n / 1024, 1),
        "top": top,
        "loadavg": [load0, loadavg()],
        "note": "tracemalloc itself adds memory per allocation in the server: RSS here is "
        "higher than without it",
    }
    print(
        f"RSS {out['rss_kb_per_student']} KB/student (tracemalloc on), Python allocations "
        f"{out['tracemalloc_kb_per_student']} KB/student; top lines:"
    )
    print("  by package:", out["by_package_bytes_per_student"])
    for t in top:
        print(
            f"  {t['bytes_per_student']:7d} B  {t['blocks_per_student']:6.2f} blocks  {t['where']}"
        )
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
