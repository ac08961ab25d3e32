"""Scale runs (issue 16, item 4): thousands of students on one server process and over 2, 4 and 8
processes through Redis, and lesson-shaped runs.

    python tests/benchmarks/scale.py                  # everything (about 30-40 minutes)
    python tests/benchmarks/scale.py --parts fanout   # fanout | redis | lesson, comma-separated
    python tests/benchmarks/run.py --scale            # the same as the first line
    python tests/benchmarks/scale.py --rerender       # tables again from results.json

Writes ``docs/performance/scale/results.json`` and ``results.md`` (a run of some parts keeps the
other parts' figures already in results.json; the 90-minute lesson of ``lesson.py``, if
``lesson_90min.json`` is there, is summarized too).

* fanout: notify fan-out at N = 2,000 and 5,000 on one server process (the memory store), the
  bare Tornado broadcast beside it, each (repeat, N, generator split) on fresh servers, the bare
  and the notebook-sync runs back to back; the clients in one load-generator process and split
  over two (``gen_procs``), the same for both systems. Ratios: median over repeats of each
  repeat's ratio.
* redis: the same fan-out with 2, 4 and 8 server processes sharing one redis-server (students
  round-robin, the teacher on the first server).
* redis_retry (not in the default parts): the Redis fan-out again with joins that the store
  answered ``store_unavailable`` ("try again") retried, as a student's client would (up to 10
  times, a growing pause between; the count is reported).
* probe (not in the default parts): one more fan-out at the largest N, recording the load
  generator's CPU beside the server's, per push (which of the two saturates the cores).
* lesson: 5-minute lessons of 1,000 students (push every 2 s, 30% pull within 5 s, half of them
  with edits of their own) on one server (the default SQLite store) and on 2 servers through
  Redis.

Roles on this 2-core machine: servers are jupyter_server processes (and a redis-server); load
generators are separate Python processes (``loadgen.py``); nothing is pinned, so the figures
include their competition for the cores (each result records the load average).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from lesson import run_lesson  # noqa: E402
from procstat import loadavg, machine  # noqa: E402
from run import EMBEDDED_STORES, Redis, bare_server, fanout_entry, nb_info, nb_server, run_job  # noqa: E402

PROFILES: dict[str, dict[str, Any]] = {
    "full": {
        "repeats": 3,
        "fanout_n": [2000, 5000],
        "gen_procs": [1, 2],
        "redis_servers": [2, 4, 8],
        "redis_n": [2000, 5000],
        "redis_repeats": 1,
        "retry_combos": [(8, 2000), (4, 2000), (8, 5000), (2, 5000)],
        "retry_gen_procs": [2],
        "join_retries": 10,
        "rounds": 20,
        "warmup": 3,
        "gap": 0.1,
        "lesson_students": 1000,
        "lesson_minutes": 5.0,
        "lesson_servers": [1, 2],
    },
    "quick": {
        "repeats": 1,
        "fanout_n": [300],
        "gen_procs": [1, 2],
        "redis_servers": [2],
        "redis_n": [300],
        "redis_repeats": 1,
        "retry_combos": [(2, 300)],
        "retry_gen_procs": [2],
        "join_retries": 10,
        "rounds": 5,
        "warmup": 2,
        "gap": 0.1,
        "lesson_students": 100,
        "lesson_minutes": 0.5,
        "lesson_servers": [1, 2],
    },
}


def log(*parts: Any) -> None:
    print(time.strftime("%H:%M:%S"), *parts, flush=True)


def _line(label: str, e: dict[str, Any]) -> str:
    return (
        f"  {label:<28} p50 {e['p50']:8.2f} ms  p99 {e['p99']:8.2f} ms  "
        f"cpu {e['cpu_us_per_push_per_client']:6.1f} us/client  "
        f"rss {e['rss_kb_per_client']:6.1f} KB/client  connect {e['connect_s']:.1f} s  "
        f"load {e['loadavg'][0][0]}"
    )


def fanout_part(prof: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """runs[system][N][gen_procs] = one entry per repeat."""
    runs: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {}
    common = {"rounds": prof["rounds"], "warmup": prof["warmup"], "gap": prof["gap"]}
    for rep in range(prof["repeats"]):
        for n in prof["fanout_n"]:
            for procs in prof["gen_procs"]:
                for system in ("bare", "nbsync"):
                    srv: Any
                    if system == "bare":
                        srv, info = bare_server(tmp)
                        pid = srv.pid
                    else:
                        srv = nb_server(tmp, f"f{rep}-{n}-{procs}", **EMBEDDED_STORES["memory"])
                        info = nb_info(srv)
                        pid = srv.proc.pid
                    try:
                        job = {
                            "kind": "fanout",
                            "system": system,
                            "servers": [info],
                            "pids": [pid],
                            "n": n,
                            "gen_procs": procs,
                            **common,
                        }
                        entry = fanout_entry(run_job(job))
                    finally:
                        srv.stop()
                    runs.setdefault(system, {}).setdefault(str(n), {}).setdefault(
                        str(procs), []
                    ).append(entry)
                    log(_line(f"r{rep + 1} {system} N={n} gen x{procs}", entry))
    return runs


def redis_part(
    prof: dict[str, Any],
    tmp: Path,
    combos: list[tuple[int, int]],
    gen_procs: list[int],
    join_retries: int = 0,
) -> dict[str, Any]:
    """runs[servers][N][gen_procs] = one entry per repeat, for each (servers, N) of ``combos``;
    ``join_retries``: a join answered store_unavailable ("try again") is retried that often."""
    runs: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {}
    common = {"rounds": prof["rounds"], "warmup": prof["warmup"], "gap": prof["gap"]}
    for rep in range(prof["redis_repeats"]):
        for count, n in combos:
            for procs in gen_procs:
                redis = Redis(tmp).start()
                servers: list[Any] = []
                label = f"redis x{count} N={n} gen x{procs}" + (
                    f" retries {join_retries}" if join_retries else ""
                )
                try:
                    for i in range(count):
                        servers.append(
                            nb_server(
                                tmp,
                                f"r{rep}-{count}-{n}-{procs}-{join_retries}-{i}",
                                redis_url=redis.url,
                            )
                        )
                    job = {
                        "kind": "fanout",
                        "system": "nbsync",
                        "servers": [nb_info(s) for s in servers],
                        "pids": [s.proc.pid for s in servers],
                        "n": n,
                        "gen_procs": procs,
                        "join_retries": join_retries,
                        "timeout": 900,
                        **common,
                    }
                    try:
                        entry = fanout_entry(run_job(job))
                    except (RuntimeError, TimeoutError, OSError) as exc:
                        entry = {"failed": str(exc)[-1500:], "loadavg": [loadavg()]}
                        log(f"  {label} FAILED: {str(exc)[-300:]}")
                    else:
                        log(_line(label, entry))
                finally:
                    for s in servers:
                        s.stop()
                    redis.stop()
                runs.setdefault(str(count), {}).setdefault(str(n), {}).setdefault(
                    str(procs), []
                ).append(entry)
    return runs


def lesson_part(prof: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for servers in prof["lesson_servers"]:
        log(f"lesson: {prof['lesson_students']} students, {servers} server(s)")
        res = run_lesson(prof["lesson_students"], prof["lesson_minutes"], servers=servers)
        r = res["result"]
        log(
            f"  notify p50/p99 {r['notify_ms'].get('p50')}/{r['notify_ms'].get('p99')} ms, "
            f"pull {r['pull_ms'].get('p50')}/{r['pull_ms'].get('p99')} ms, "
            f"missed {r['students_who_missed_the_last_push']}, errors {len(r['errors'])}"
        )
        out[str(servers)] = res
    return out


def combine(entries: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [e for e in entries if "p50" in e]
    out: dict[str, Any] = {"repeats": len(ok), "failed": len(entries) - len(ok)}
    for key in (
        "p50",
        "p99",
        "max",
        "cpu_us_per_push_per_client",
        "rss_kb_per_client",
        "connect_s",
    ):
        values = [e[key] for e in ok if e.get(key) is not None]
        if values:
            out[key] = round(statistics.median(values), 3)
    out["runs"] = entries
    return out


def derive(res: dict[str, Any]) -> dict[str, Any]:
    fan = res.get("fanout_runs", {})
    summary: dict[str, Any] = {}
    for system, by_n in fan.items():
        for n, by_p in by_n.items():
            for procs, entries in by_p.items():
                summary.setdefault(system, {}).setdefault(n, {})[procs] = combine(entries)
    paired: dict[str, Any] = {}
    for n, by_p in fan.get("nbsync", {}).items():
        for procs, ours in by_p.items():
            theirs = fan.get("bare", {}).get(n, {}).get(procs, [])
            row: dict[str, Any] = {}
            for key in ("p50", "p99", "rss_kb_per_client", "cpu_us_per_push_per_client"):
                ratios = [
                    a[key] / b[key]
                    for a, b in zip(ours, theirs, strict=False)
                    if a.get(key) is not None and b.get(key)
                ]
                if ratios:
                    row[key] = round(statistics.median(ratios), 2)
            paired.setdefault(n, {})[procs] = row
    res["fanout"] = summary
    res["fanout_vs_bare"] = paired
    res["fanout_redis"] = {
        c: {n: {p: combine(e) for p, e in by_p.items()} for n, by_p in by_n.items()}
        for c, by_n in res.get("redis_runs", {}).items()
    }
    res["fanout_redis_retry"] = {
        c: {n: {p: combine(e) for p, e in by_p.items()} for n, by_p in by_n.items()}
        for c, by_n in res.get("redis_retry_runs", {}).items()
    }
    res["targets"] = targets(res)
    return res


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for n, by_p in sorted(res.get("fanout_vs_bare", {}).items(), key=lambda kv: int(kv[0])):
        for procs, ratio in sorted(by_p.items()):
            ours = res["fanout"]["nbsync"][n][procs]
            bare = res["fanout"].get("bare", {}).get(n, {}).get(procs, {})
            rows.append(
                {
                    "target": f"notify fan-out N={n}, one process: p50 within 1.2x of the bare "
                    f"broadcast (generator in {procs} process(es))",
                    "measured": f"{ours.get('p50')} ms vs bare {bare.get('p50')} ms; "
                    f"paired ratio {ratio.get('p50')}",
                    "met": ratio.get("p50") is not None and ratio["p50"] <= 1.2,
                }
            )
            rows.append(
                {
                    "target": f"memory <= 20 KB per connected student, N={n} "
                    f"(generator in {procs} process(es))",
                    "measured": f"{ours.get('rss_kb_per_client')} KB (bare "
                    f"{bare.get('rss_kb_per_client')} KB)",
                    "met": ours.get("rss_kb_per_client") is not None
                    and ours["rss_kb_per_client"] <= 20,
                }
            )
    long = res.get("lesson_90min")
    if long:
        g = long.get("rss_growth_after_first_minute", {})
        rows.append(
            {
                "target": f"{long['settings']['students']}-student, "
                f"{long['settings']['minutes']:g}-minute lesson: server RSS growth <= 10% after "
                "the first minute",
                "measured": f"{g.get('growth_pct_end')}% at the end, {g.get('growth_pct_peak')}% "
                f"at the peak ({g.get('rss_mb_at_from')} -> {g.get('rss_mb_at_end')} MB)",
                "met": g.get("growth_pct_peak") is not None and g["growth_pct_peak"] <= 10,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a few-minute smoke run")
    parser.add_argument(
        "--parts",
        default="fanout,redis,lesson",
        help="also: redis_retry (joins retried), probe (CPU of server vs generator)",
    )
    parser.add_argument("--repeats", type=int, default=0)
    parser.add_argument(
        "--retry-combos", default="", help="redis_retry: e.g. 4x2000,8x2000 (servers x N)"
    )
    parser.add_argument("--out", default=str(ROOT / "docs" / "performance" / "scale"))
    parser.add_argument("--rerender", action="store_true")
    args = parser.parse_args(argv)
    from report import write_scale_report

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.json"
    res: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    if not args.rerender:
        prof = dict(PROFILES["quick" if args.quick else "full"])
        if args.repeats:
            prof["repeats"] = args.repeats
        if args.retry_combos:
            prof["retry_combos"] = [
                tuple(int(x) for x in c.split("x")) for c in args.retry_combos.split(",")
            ]
        parts = [p.strip() for p in args.parts.split(",") if p.strip()]
        run_info = {
            "parts": parts,
            "profile": "quick" if args.quick else "full",
            "settings": prof,
            "machine": machine(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        }
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="nbsync-scale-") as tmpname:
            tmp = Path(tmpname)
            for part in parts:  # each part's results saved as soon as it is done
                if part == "fanout":
                    log("fan-out, one server process, beside the bare broadcast")
                    res["fanout_runs"] = fanout_part(prof, tmp)
                elif part == "redis":
                    log("fan-out through Redis")
                    combos = [(c, n) for c in prof["redis_servers"] for n in prof["redis_n"]]
                    res["redis_runs"] = redis_part(prof, tmp, combos, prof["gen_procs"])
                elif part == "redis_retry":
                    log("fan-out through Redis, joins retried when the store answers unavailable")
                    combos = [(c, n) for c, n in prof["retry_combos"]]
                    got = redis_part(
                        prof, tmp, combos, prof["retry_gen_procs"], prof["join_retries"]
                    )
                    kept = res.setdefault("redis_retry_runs", {})  # other combos stay
                    for count, by_n in got.items():
                        kept.setdefault(count, {}).update(by_n)
                elif part == "probe":
                    log("who saturates: server and generator CPU per push at the largest N")
                    probe = {**prof, "repeats": 1, "fanout_n": prof["fanout_n"][-1:]}
                    res["probe_runs"] = fanout_part(probe, tmp)
                elif part == "lesson":
                    res["lessons"] = lesson_part(prof)
                else:
                    raise SystemExit(f"unknown part {part!r}")
                res[f"{part}_run"] = run_info
                run_info["duration_s"] = round(time.monotonic() - t0, 1)
                run_info["loadavg_at_end"] = loadavg()
                path.write_text(json.dumps(derive(res), indent=1) + "\n")
        run_info["duration_s"] = round(time.monotonic() - t0, 1)
        run_info["loadavg_at_end"] = loadavg()
    long = out / "lesson_90min.json"
    if long.exists():
        res["lesson_90min"] = json.loads(long.read_text())
    res = derive(res)
    path.write_text(json.dumps(res, indent=1) + "\n")
    write_scale_report(res, out)
    log(f"wrote {path} and {out / 'results.md'}")
    for row in res["targets"]:
        log(f"  {'MET ' if row['met'] else 'MISS'} {row['target']}: {row['measured']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
