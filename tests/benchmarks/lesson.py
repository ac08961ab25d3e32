"""A lesson-shaped run: the teacher pushes every ``--period`` s for ``--minutes``; after each push
``--pull-fraction`` of the students (a fresh random draw each time) pull within
``--pull-window`` s. ``--edit-fraction`` of the students typed a line of their own into the cell,
so their pulls are merges; the others' are fast-forwards.

    python tests/benchmarks/lesson.py --students 300 --minutes 90 --out lesson.json
    python tests/benchmarks/lesson.py --students 1000 --minutes 5 --servers 2   # through Redis

Reports notify latency (push sent -> each student's update_available; and per push until the
last student had it) and pull latency (request_sync -> reply), p50/p99; the servers' CPU and
resident memory every ``--sample-every`` s (and the generator's own, to tell which of the two
saturates the cores); bytes on the wire (websocket frames, TCP/IP headers excluded) each way.
``--servers K`` > 1 runs K server processes sharing one redis-server started for the run (on a
free loopback port, stopped at the end), students spread round-robin, the teacher on the first.
The load generator (``loadgen.py``, kind ``lesson``) is one process of its own. Memory: the
growth of the servers' RSS from the first sample at or after one minute to the end (and to the
peak). Loopback only; bounded by --minutes (plus set-up and a 10-minute margin).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from procstat import UNLIMITED, loadavg, machine  # noqa: E402
from run import EMBEDDED_STORES, Redis, run_job  # noqa: E402

from notebook_sync_ydoc.testing import JupyterServerProcess  # noqa: E402


def log(*parts: Any) -> None:
    print(time.strftime("%H:%M:%S"), *parts, flush=True)


def rss_growth(samples: list[dict[str, Any]], after_s: float = 60.0) -> dict[str, Any]:
    """Servers' RSS: from the first sample at or after ``after_s`` to the last and to the peak."""
    later = [s for s in samples if s["t"] >= after_s]
    if len(later) < 2:
        return {"note": f"fewer than two samples after {after_s:.0f} s"}
    base, last = later[0]["server_rss_mb"], later[-1]["server_rss_mb"]
    peak = max(s["server_rss_mb"] for s in later)
    return {
        "from_t": later[0]["t"],
        "to_t": later[-1]["t"],
        "rss_mb_at_from": base,
        "rss_mb_at_end": last,
        "rss_mb_peak": peak,
        "growth_pct_end": round((last - base) * 100 / base, 1),
        "growth_pct_peak": round((peak - base) * 100 / base, 1),
    }


def run_lesson(
    students: int,
    minutes: float,
    servers: int = 1,
    pull_fraction: float = 0.3,
    period: float = 2.0,
    pull_window: float = 5.0,
    edit_fraction: float = 0.5,
    store: str = "sqlite",
    sample_every: float = 10.0,
    seed: int = 1,
) -> dict[str, Any]:
    settings = {
        "students": students,
        "minutes": minutes,
        "servers": servers,
        "pull_fraction": pull_fraction,
        "period_s": period,
        "pull_window_s": pull_window,
        "edit_fraction": edit_fraction,
        "store": store if servers == 1 else "redis",
        "sample_every_s": sample_every,
        "seed": seed,
    }
    out: dict[str, Any] = {"settings": settings, "machine": machine()}
    load0 = loadavg()
    with tempfile.TemporaryDirectory(prefix="nbsync-lesson-") as tmpname:
        tmp = Path(tmpname)
        redis: Redis | None = None
        procs: list[JupyterServerProcess] = []
        try:
            if servers > 1:
                redis = Redis(tmp).start()
                options: dict[str, Any] = {**UNLIMITED, "redis_url": redis.url}
            else:
                options = {**UNLIMITED, **EMBEDDED_STORES[store]}
            for i in range(servers):
                procs.append(JupyterServerProcess(tmp / f"s{i}", options=options).start())
            job: dict[str, Any] = {
                "kind": "lesson",
                "servers": [{"port": p.port, "token": p.token} for p in procs],
                "pids": [p.proc.pid for p in procs if p.proc is not None],
                "other_pids": {"redis": redis.proc.pid}
                if redis is not None and redis.proc is not None
                else {},
                "n": students,
                "seconds": minutes * 60,
                "period": period,
                "pull_fraction": pull_fraction,
                "pull_window": pull_window,
                "edit_fraction": edit_fraction,
                "sample_every": sample_every,
                "seed": seed,
                "timeout": int(minutes * 60) + 600,
            }
            log(f"lesson: {students} students, {minutes} min, {servers} server(s), {settings}")
            result = run_job(job)
        finally:
            for p in procs:
                p.stop()
            if redis is not None:
                redis.stop()
    n = students
    wire = result["wire"]
    pushes = max(1, result["pushes"])
    out.update(
        {
            "loadavg": [load0, loadavg()],
            "roles": "servers: jupyter_server processes (plus redis-server when --servers > 1); "
            "load generator: one separate Python process (loadgen.py, kind lesson); same 2 cores",
            "rss_kb_per_student_at_connect": round(
                (result["rss_after_connect"] - result["rss_before"]) / n / 1024, 1
            ),
            "rss_growth_after_first_minute": rss_growth(result["samples"]),
            "wire_per_push": {
                "server_to_students_bytes": round(wire["server_to_students_bytes"] / pushes),
                "students_to_server_bytes": round(wire["students_to_server_bytes"] / pushes),
                "per_notification_payload_bytes": round(
                    wire["notification_payload_bytes"] / max(1, wire["notifications"]), 1
                ),
                "per_pull_reply_payload_bytes": round(
                    wire["pull_reply_payload_bytes"] / max(1, result["pulls"]), 1
                ),
            },
            "result": result,
        }
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--servers", type=int, default=1, help=">1: through one redis-server")
    parser.add_argument("--pull-fraction", type=float, default=0.3)
    parser.add_argument("--period", type=float, default=2.0)
    parser.add_argument("--pull-window", type=float, default=5.0)
    parser.add_argument("--edit-fraction", type=float, default=0.5)
    parser.add_argument("--store", choices=sorted(EMBEDDED_STORES), default="sqlite")
    parser.add_argument("--sample-every", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--out", default=str(ROOT / "docs" / "performance" / "scale" / "lesson.json")
    )
    args = parser.parse_args(argv)
    res = run_lesson(
        args.students,
        args.minutes,
        args.servers,
        args.pull_fraction,
        args.period,
        args.pull_window,
        args.edit_fraction,
        args.store,
        args.sample_every,
        args.seed,
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")
    r = res["result"]
    log(
        f"done: {r['pushes']} pushes, notify p50/p99 {r['notify_ms'].get('p50')}/"
        f"{r['notify_ms'].get('p99')} ms, pull p50/p99 {r['pull_ms'].get('p50')}/"
        f"{r['pull_ms'].get('p99')} ms, {r['pulls']} pulls {r['statuses']}, missed "
        f"{r['students_who_missed_the_last_push']}, RSS {res['rss_growth_after_first_minute']}"
    )
    log(f"wrote {out}")
    return 0 if r["students_who_missed_the_last_push"] == 0 and not r["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
