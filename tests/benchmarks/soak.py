"""A long lesson on one server: hundreds of students, a push every 50 ms for minutes.

    python tests/benchmarks/soak.py [--students 300] [--seconds 180] [--period 0.05]

Checks that every student was told of the teacher's last push, and that the server's memory
stays flat (resident memory sampled every 10 s; the growth from the first sample after the
warm-up to the end is reported). In YDoc mode the one cell's CRDT history grows with every
edit (Yjs keeps deleted items); --json runs the same lesson without it. Writes
docs/performance/soak.json. Loopback only; the run is bounded by --seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from procstat import UNLIMITED, loadavg  # noqa: E402
from run import run_job  # noqa: E402

from notebook_sync_ydoc.testing import JupyterServerProcess  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--period", type=float, default=0.05)
    parser.add_argument(
        "--json", action="store_true", help="JSON mode (no CRDT history kept per cell)"
    )
    parser.add_argument("--out", default=str(ROOT / "docs" / "performance" / "soak.json"))
    args = parser.parse_args()
    load0 = loadavg()
    with tempfile.TemporaryDirectory(prefix="nbsync-soak-") as tmp:
        options = {**UNLIMITED, "use_ydoc": not args.json}
        server = JupyterServerProcess(Path(tmp) / "soak", options=options).start()
        try:
            assert server.proc is not None
            job = {
                "kind": "soak",
                "servers": [{"port": server.port, "token": server.token}],
                "pids": [server.proc.pid],
                "n": args.students,
                "seconds": args.seconds,
                "period": args.period,
                "sample_every": 10.0,
                "timeout": int(args.seconds) + 300,
            }
            result = run_job(job)
        finally:
            server.stop()
    rss = result["rss"]
    first = rss[min(1, len(rss) - 1)][1]  # after the first 10 s: connections and caches in
    summary = {
        "mode": "json" if args.json else "ydoc",
        "students": args.students,
        "seconds": args.seconds,
        "period_s": args.period,
        "pushes": result["pushes"],
        "last_seq": result["last_seq"],
        "students_who_missed_the_last_push": result["missed"],
        "rss_mb": [[t, round(b / 2**20, 1)] for t, b in rss],
        "rss_growth_mb_after_warmup": round((rss[-1][1] - first) / 2**20, 1),
        "loadavg": [load0, loadavg()],
    }
    print(json.dumps(summary))
    Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if result["missed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
