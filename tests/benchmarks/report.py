"""Results -> docs/performance/results.json, results.md (tables) and benchmarks.png (plot)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

NAMES = {
    "bare": "bare Tornado broadcast",
    "nbsync": "notebook-sync (one server)",
    "nbsync_sqlite": "notebook-sync (one server, SQLite store)",
    "collab": "jupyter-collaboration room",
}
ONE_SERVER = ("bare", "nbsync", "nbsync_sqlite", "collab")


def _f(v: Any, digits: int = 1) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _pair(d: dict[str, Any] | None) -> str:
    if not d:
        return "n/a"
    return f"{_f(d.get('p50'))} / {_f(d.get('p99'))}"


HERD_LABELS = {
    "fast_forward": "fast-forward, client without delta pulls",
    "merge": "merge (every student edited), client without delta pulls",
    "fast_forward_delta": "fast-forward, delta pulls (this project's clients)",
    "merge_delta": "merge (every student edited), delta pulls (this project's clients)",
}


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        "# notebook-sync-ydoc benchmarks",
        "",
        f"Profile `{res['profile']}`, {res['settings']['repeats']} repeat(s), run "
        f"{res['started']}, {res['duration_s']} s. Machine: {m['cpus']} CPUs ({m['cpu_model']}), "
        f"{m['memory_gib']} GiB, {m['platform']}, Python {m['python']}. Load average at start "
        f"{m['loadavg_at_start']}, at end {m.get('loadavg_at_end')} (the machine was shared with "
        "other test runs). Load generators run in separate processes on the same machine; "
        "loopback only. Figures: median over repeats of each repeat's median / p99.",
        "",
        "![benchmarks](benchmarks.png)",
        "",
        "## Notify fan-out: time until all N clients have the edit (ms, p50 / p99)",
        "",
    ]
    fan, red = res["fanout"], res.get("fanout_redis", {})
    ns = sorted({int(n) for d in fan.values() for n in d})
    head = ["N"] + [NAMES[s] for s in ONE_SERVER if s in fan]
    head += [f"notebook-sync, Redis, {c} servers" for c in sorted(red, key=int)]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for n in ns:
        row = [str(n)]
        for s in ONE_SERVER:
            if s in fan:
                row.append(_pair(fan[s].get(str(n))))
        for c in sorted(red, key=int):
            row.append(_pair(red[c].get(str(n))))
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Server CPU per push per connected client (µs):", ""]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for n in ns:
        row = [str(n)]
        for s in ONE_SERVER:
            if s in fan:
                row.append(_f(fan[s].get(str(n), {}).get("cpu_us_per_push_per_client")))
        for c in sorted(red, key=int):
            row.append(_f(red[c].get(str(n), {}).get("cpu_us_per_push_per_client")))
        lines.append("| " + " | ".join(row) + " |")
    lat = res["latency"]
    lines += [
        "",
        "## One notification, one client (ms, p50 / p99)",
        "",
        "| path | p50 / p99 |",
        "|---|---|",
    ]
    for key, label in (
        ("one_server", "notebook-sync, one server"),
        ("cross_server_redis", "notebook-sync, across two servers via Redis"),
        ("redis_publish_rtt", "Redis PUBLISH → subscriber (baseline)"),
    ):
        if key in lat:
            lines.append(f"| {label} | {_f(lat[key]['p50'], 2)} / {_f(lat[key]['p99'], 2)} |")
    lines += [
        "",
        "## Herd pull: all N students `request_sync` the same cell at once",
        "",
        "Pulls as this project's clients send them (the browser, `StudentClient`: naming the",
        "base they hold, so the reply carries a delta), and as a client from before delta pulls",
        "(the full text and a CRDT update). The floor: a bare Tornado server answering the same",
        "N requests of the same size at once with a reply of a delta pull's size (`/echo-async`",
        "of `bare_server.py`), in the same repeats.",
        "",
        "| workload | N | pulls/s (wall clock, p50) | server CPU per pull (µs) | bare Tornado "
        "floor (µs) | ratio to the floor | reply bytes | statuses |",
        "|---|---|---|---|---|---|---|---|",
    ]
    floor = res.get("floor", {})
    for name, by_n in res["herd"].items():
        for n, v in sorted(by_n.items(), key=lambda kv: int(kv[0])):
            bare = floor.get("herd", {}).get(str(n))
            ratio = v["cpu_us_per_pull"] / bare if bare else None
            lines.append(
                f"| {HERD_LABELS.get(name, name)} | {n} | {_f(v['pulls_per_s_p50'], 0)} | "
                f"{_f(v['cpu_us_per_pull'], 0)} | {_f(bare, 0)} | {_f(ratio, 2)} | "
                f"{v['runs'][0].get('reply_bytes', 'n/a')} | {v['runs'][0]['statuses']} |"
            )
    lines += [
        "",
        "## Push cost of a typing-sized edit (2 characters) against cell size",
        "",
        "The floor: the bare Tornado server's CPU to take in one frame of the cell's size and",
        "answer it with a small one (a push carries the cell's whole text).",
        "",
        "| cell | server CPU per push (ms) | bare Tornado floor (ms) | push → push_ack round "
        "trip (ms, p50 / p99) |",
        "|---|---|---|---|",
    ]
    for size, v in sorted(res["push_cost"].items(), key=lambda kv: int(kv[0])):
        bare = floor.get("push", {}).get(size)
        lines.append(
            f"| {size} KB | {_f(v['cpu_ms_per_push'], 3)} | {_f(bare, 3)} | "
            f"{_f(v['rtt_p50_ms'], 2)} / {_f(v['rtt_p99_ms'], 2)} |"
        )
    lines += stores_section(res)
    lines += [
        "",
        "## Bytes on the wire per pull (a typing-sized edit, student holds the previous version)",
        "",
        "| cell | reply frame | CRDT delta (raw / base64) | full content | first pull "
        "frame (full state + content) |",
        "|---|---|---|---|---|",
    ]
    for size, v in sorted(res["wire_bytes"].items(), key=lambda kv: int(kv[0])):
        lines.append(
            f"| {size} KB | {v['pull_frame_bytes']} | {v['crdt_delta_bytes']} / "
            f"{v['crdt_delta_base64_bytes']} | {v['full_content_bytes']} | "
            f"{v['first_pull_frame_bytes']} |"
        )
    lines += [
        "",
        "## Memory per connected client (server RSS growth / N)",
        "",
        "| system | N | KB per client |",
        "|---|---|---|",
    ]
    for s, v in res["memory"].items():
        lines.append(f"| {NAMES.get(s, s)} | {v['n']} | {_f(v['kb_per_client'])} |")
    lines += [
        "",
        "## Targets (issue 5)",
        "",
        "| target | measured | ratio to bare | ratio to jupyter-collaboration | baselines | met |",
        "|---|---|---|---|---|---|",
    ]
    for t in res["targets"]:
        lines.append(
            f"| {t['target']} | {t['measured']} | {_f(t.get('vs_bare'), 2)} | "
            f"{_f(t.get('vs_collab'), 2)} | {t['baseline']} | "
            f"{'yes' if t['met'] else '**no**'} |"
        )
    if res.get("scale_targets"):
        lines += [
            "",
            "## Targets (issue 16: pull and push CPU)",
            "",
            "| target | measured | bare Tornado floor | ratio to the floor | met |",
            "|---|---|---|---|---|",
        ]
        for t in res["scale_targets"]:
            lines.append(
                f"| {t['target']} | {t['measured']} | {t['floor']} | "
                f"{_f(t.get('vs_floor'), 2)} | {'yes' if t['met'] else '**no**'} |"
            )
    for note in res.get("notes", []):
        lines += ["", f"Note: {note}"]
    return "\n".join(lines) + "\n"


def stores_section(res: dict[str, Any]) -> list[str]:
    """The embedded stores side by side, each on a fresh server of the same repeat."""
    stores = res.get("stores", {})
    if not stores.get("sqlite"):
        return []
    ratios = res.get("sqlite_vs_memory", {})
    lines = [
        "",
        "## The embedded stores: memory and SQLite (durable, the default) side by side",
        "",
        "Same workloads, same repeat, a fresh server each. Ratios: SQLite / memory for time and "
        "CPU, memory / SQLite for throughput (above 1: SQLite is slower), median over repeats "
        "of each repeat's ratio.",
        "",
        "| workload | memory store | SQLite store | ratio |",
        "|---|---|---|---|",
    ]
    mem, sq = stores.get("memory", {}), stores["sqlite"]
    for name, by_n in sorted(sq.get("herd", {}).items()):
        for n, v in sorted(by_n.items(), key=lambda kv: int(kv[0])):
            m = mem.get("herd", {}).get(name, {}).get(n, {})
            r = ratios.get("herd", {}).get(name, {}).get(n, {})
            lines.append(
                f"| herd pull, {name.replace('_', '-')}, N={n}: pulls/s (CPU µs per pull) | "
                f"{_f(m.get('pulls_per_s_p50'), 0)} ({_f(m.get('cpu_us_per_pull'), 0)}) | "
                f"{_f(v['pulls_per_s_p50'], 0)} ({_f(v['cpu_us_per_pull'], 0)}) | "
                f"{_f(r.get('throughput'), 2)} ({_f(r.get('cpu'), 2)}) |"
            )
    for size, v in sorted(sq.get("push_cost", {}).items(), key=lambda kv: int(kv[0])):
        m = mem.get("push_cost", {}).get(size, {})
        r = ratios.get("push_cost", {}).get(size, {})
        lines.append(
            f"| push, {size} KB cell: server CPU ms (round trip p50 ms) | "
            f"{_f(m.get('cpu_ms_per_push'), 3)} ({_f(m.get('rtt_p50_ms'), 2)}) | "
            f"{_f(v['cpu_ms_per_push'], 3)} ({_f(v['rtt_p50_ms'], 2)}) | "
            f"{_f(r.get('cpu'), 2)} ({_f(r.get('rtt'), 2)}) |"
        )
    for t in sq.get("transactions", [])[:1]:
        lines.append(
            f"| SQLite transactions on the event loop over the herd and push runs ({t['writes']}):"
            " ms p50 / p99 / max | | "
            f"{_f(t['write_ms_p50'], 3)} / {_f(t['write_ms_p99'], 3)} / {_f(t['write_ms_max'], 2)}"
            " | |"
        )
    fan = res.get("fanout", {})
    for n, r in sorted(ratios.get("fanout", {}).items(), key=lambda kv: int(kv[0])):
        lines.append(
            f"| notify fan-out, N={n}: ms p50 / p99 | {_pair(fan.get('nbsync', {}).get(n))} | "
            f"{_pair(fan.get('nbsync_sqlite', {}).get(n))} | "
            f"{_f(r.get('p50'), 2)} / {_f(r.get('p99'), 2)} |"
        )
    return lines


def plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(21, 4.8))
    ax = axes[0]
    series = [(NAMES[s], res["fanout"][s]) for s in ONE_SERVER if s in res["fanout"]]
    series += [
        (f"notebook-sync, Redis x{c}", d)
        for c, d in sorted(res.get("fanout_redis", {}).items(), key=lambda kv: int(kv[0]))
    ]
    for i, (label, d) in enumerate(series):
        ns = sorted(int(n) for n in d)
        color = f"C{i}"
        ax.plot(ns, [d[str(n)]["p50"] for n in ns], "o-", color=color, label=f"{label} p50")
        ax.plot(
            ns, [d[str(n)]["p99"] for n in ns], "x--", color=color, alpha=0.6, label=f"{label} p99"
        )
    ax.set_xlabel("connected clients N")
    ax.set_ylabel("ms until all N have the edit")
    ax.set_yscale("log")
    ax.set_title("Notify fan-out")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6.5)
    ax = axes[1]
    for i, (label, d) in enumerate(series):
        ns = sorted(int(n) for n in d)
        ax.plot(
            ns,
            [d[str(n)]["cpu_us_per_push_per_client"] for n in ns],
            "o-",
            color=f"C{i}",
            label=label,
        )
    ax.axhline(35, color="red", lw=0.8, ls=":", label="target 35 µs")
    ax.set_xlabel("connected clients N")
    ax.set_ylabel("server CPU µs per edit per client")
    ax.set_title("Server CPU per edit per client")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=6.5)
    ax = axes[2]
    sizes = sorted(int(s) for s in res["push_cost"])
    ax.plot(
        sizes,
        [res["push_cost"][str(s)]["cpu_ms_per_push"] for s in sizes],
        "o-",
        label="server CPU per push",
    )
    ax.plot(
        sizes,
        [res["push_cost"][str(s)]["rtt_p50_ms"] for s in sizes],
        "s--",
        label="push → ack round trip p50",
    )
    push_floor = res.get("floor", {}).get("push", {})
    if push_floor:
        ax.plot(
            sizes,
            [push_floor.get(str(s)) for s in sizes],
            "^:",
            color="gray",
            label="bare Tornado: the same frame in, a small one out",
        )
    ax.axhline(0.15, color="red", lw=0.8, ls=":", label="target 0.15 ms")
    ax.set_xscale("log")
    ax.set_xlabel("cell size (KB)")
    ax.set_ylabel("ms")
    ax.set_title("Push of a typing-sized edit")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    _herd_panel(axes[3], res)
    fig.suptitle(
        f"notebook-sync-ydoc benchmarks ({res['profile']}, "
        f"{res['machine']['cpus']} CPUs, load avg {res['machine']['loadavg_at_start'][0]})"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _herd_panel(ax: Any, res: dict[str, Any]) -> None:
    """Server CPU per pull of the herd (largest N), each workload beside the bare floor."""
    herd = res.get("herd", {})
    names = [name for name in HERD_LABELS if herd.get(name)]
    if not names:
        return
    n = max((int(k) for name in names for k in herd[name]), default=0)
    values = [herd[name].get(str(n), {}).get("cpu_us_per_pull") or 0 for name in names]
    short = {
        "fast_forward": "fast-forward\n(old clients)",
        "merge": "merge\n(old clients)",
        "fast_forward_delta": "fast-forward\n(delta pulls)",
        "merge_delta": "merge\n(delta pulls)",
    }
    labels = [short.get(name, name) for name in names]
    ax.bar(range(len(names)), values, color=[f"C{i}" for i in range(len(names))])
    ax.set_xticks(range(len(names)), labels, fontsize=7)
    bare = res.get("floor", {}).get("herd", {}).get(str(n))
    if bare:
        ax.axhline(bare, color="gray", lw=1.2, ls="--", label=f"bare Tornado floor {bare:.0f} µs")
    ax.axhline(150, color="red", lw=0.8, ls=":", label="target 150 µs (fast-forward)")
    ax.axhline(250, color="darkred", lw=0.8, ls=":", label="target 250 µs (merge)")
    ax.set_ylabel("server CPU µs per pull")
    ax.set_title(f"Herd pull: {n} students at once")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=7)


PLOT_MISSING = (
    "plot skipped: matplotlib is not installed (the measured results are in results.json and "
    "results.md; for the plot: .venv/bin/pip install -e '.[bench]', then "
    "python -m tests.benchmarks.report {out} re-renders it from results.json)"
)


def write_report(res: dict[str, Any], out: Path) -> bool:
    """Write the results, then the plot; True if the plot was drawn. The results are on disk
    before anything can fail for want of a plotting library."""
    (out / "results.json").write_text(json.dumps(res, indent=1) + "\n")
    (out / "results.md").write_text(markdown(res))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(PLOT_MISSING.format(out=out))
        return False
    plot(res, out / "benchmarks.png")
    return True


if __name__ == "__main__":  # re-render from an existing results.json
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/performance")
    write_report(json.loads((target / "results.json").read_text()), target)


# scale runs (tests/benchmarks/scale.py) -> docs/performance/scale/results.md
def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def lesson_row(label: str, les: dict[str, Any]) -> list[str]:
    r = les["result"]
    samples = r.get("samples", [])[1:]  # the first is t = 0
    srv = [s["server_cpu_pct"] for s in samples]
    gen = [s["generator_cpu_pct"] for s in samples]
    g = les.get("rss_growth_after_first_minute", {})
    rss = [s["server_rss_mb"] for s in r.get("samples", [])]
    wire = les["wire_per_push"]
    return [
        label,
        f"{les['settings']['students']} x {les['settings']['minutes']:g} min",
        _pair(r["notify_ms"]),
        _pair(r["fanout_ms"]),
        f"{_pair(r['pull_ms_fast_forward_side'])} · {_pair(r['pull_ms_editors'])}",
        f"{r['pulls']} ({', '.join(f'{k} {v}' for k, v in sorted(r['statuses'].items()))})",
        f"{_mean(srv)} / {_f(max(srv) if srv else None)}",
        f"{_mean(gen)} / {_f(max(gen) if gen else None)}",
        f"{_f(rss[0] if rss else None)} → {_f(rss[-1] if rss else None)}"
        + (f" ({_f(g.get('growth_pct_end'))}% after 1 min)" if "growth_pct_end" in g else ""),
        f"{r['pushes']} in {r['elapsed_s']:.0f} s",
        f"{wire['server_to_students_bytes']:,} / {wire['students_to_server_bytes']:,} / "
        f"{round(r['wire']['server_to_teacher_bytes'] / max(1, r['pushes'])):,}",
        f"{wire['per_notification_payload_bytes']} / {wire['per_pull_reply_payload_bytes']}",
        f"{les['loadavg'][0][0]} → {les['loadavg'][1][0]}",
    ]


def _failure(run: dict[str, Any]) -> str:
    """What stopped a run, in a few words (the whole message is in results.json)."""
    if run.get("note"):
        return str(run["note"])
    text = run.get("failed", "")
    if "store_unavailable" in text:
        return "not measured: a join was answered store_unavailable"
    if "generator part exited before ready" in text:
        return "not measured: a generator part exited while joining (a join failed)"
    last = text.strip().splitlines()
    return "failed: " + (last[-1][-160:].replace("|", "/") if last else "")


def redis_section(red: dict[str, Any], title: str) -> list[str]:
    lines: list[str] = []
    if not red:
        return lines
    lines += [
        title,
        "",
        "K server processes sharing one redis-server, students round-robin, the teacher on "
        "the first server; fresh servers and redis-server for every row. Joins: 50 at a time "
        "per generator process.",
        "",
        "| servers | N | generator processes | p50 / p99 | server CPU µs per push per student "
        "(all servers) | KB per student (all servers) | connect s | join retries | load avg |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in sorted(red, key=int):
        for n in sorted(red[c], key=int):
            for procs in sorted(red[c][n]):
                e = red[c][n][procs]
                loads = ", ".join(str(r["loadavg"][0][0]) for r in e["runs"] if "loadavg" in r)
                if not e.get("repeats"):
                    lines.append(
                        f"| {c} | {int(n):,} | {procs} | {_failure(e['runs'][0])} | | | | | "
                        f"{loads} |"
                    )
                    continue
                retries = [r.get("join_retries") for r in e["runs"] if "join_retries" in r]
                lines.append(
                    f"| {c} | {int(n):,} | {procs} | {_pair(e)} | "
                    f"{_f(e.get('cpu_us_per_push_per_client'))} | "
                    f"{_f(e.get('rss_kb_per_client'))} | {_f(e.get('connect_s'))} | "
                    f"{', '.join(str(x) for x in retries) or 'none'} | {loads} |"
                )
    lines.append("")
    return lines


def scale_markdown(res: dict[str, Any]) -> str:
    lines = ["# notebook-sync-ydoc scale runs", ""]
    lines += [
        "`python tests/benchmarks/scale.py` (fan-out and lessons; `--parts fanout,redis,lesson`) "
        "and `python tests/benchmarks/lesson.py` (the 90-minute lesson). Roles on this 2-core "
        "machine: the servers are jupyter_server processes (and one redis-server for the Redis "
        "runs), the load generators separate Python processes (`loadgen.py`), nothing pinned: "
        "their competition for the two cores is in every figure. The machine was shared with "
        "other runs: the load average is recorded beside each figure.",
        "",
    ]
    for key in ("fanout_run", "redis_run", "redis_retry_run", "probe_run", "lesson_run"):
        info = res.get(key)
        if info:
            m = info["machine"]
            lines.append(
                f"- {key.replace('_run', '')}: in the invocation of {info['started']} (parts "
                f"{', '.join(info['parts'])}: {info.get('duration_s')} s in all), "
                f"profile {info['profile']}; {m['cpus']} CPUs ({m['cpu_model']}), "
                f"{m['memory_gib']} GiB, Python {m['python']}; load average at start "
                f"{m['loadavg_at_start']}, at end {info.get('loadavg_at_end')}"
            )
    lines.append("")
    if res.get("notes"):
        lines += ["Notes:", ""] + [f"- {note}" for note in res["notes"]] + [""]
    fan, paired = res.get("fanout", {}), res.get("fanout_vs_bare", {})
    if fan:
        lines += [
            "## Notify fan-out on one server process (ms until all N students are told)",
            "",
            "Fresh servers for every (repeat, N, generator split); the bare run and the "
            "notebook-sync run back to back. Figures: median over repeats of each repeat's p50 / "
            "p99; ratios: median over repeats of each repeat's ratio.",
            "",
            "| N | generator processes | bare Tornado p50 / p99 | notebook-sync p50 / p99 | "
            "ratio p50 / p99 | KB per student: bare / notebook-sync | server CPU µs per push "
            "per student: bare / notebook-sync | connect s: bare / nbsync | load avg |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for n in sorted(fan.get("nbsync", {}), key=int):
            for procs in sorted(fan["nbsync"][n]):
                ours = fan["nbsync"][n][procs]
                bare = fan.get("bare", {}).get(n, {}).get(procs, {})
                pr = paired.get(n, {}).get(procs, {})
                loads = [r["loadavg"][0][0] for r in ours["runs"] if "loadavg" in r]
                lines.append(
                    f"| {int(n):,} | {procs} | {_pair(bare)} | {_pair(ours)} | "
                    f"{_f(pr.get('p50'), 2)} / {_f(pr.get('p99'), 2)} | "
                    f"{_f(bare.get('rss_kb_per_client'))} / {_f(ours.get('rss_kb_per_client'))} | "
                    f"{_f(bare.get('cpu_us_per_push_per_client'))} / "
                    f"{_f(ours.get('cpu_us_per_push_per_client'))} | "
                    f"{_f(bare.get('connect_s'))} / {_f(ours.get('connect_s'))} | "
                    f"{', '.join(str(x) for x in loads)} |"
                )
        lines.append("")
    for key, title in (
        ("fanout_redis", "## Notify fan-out through Redis (ms until all N students are told)"),
        (
            "fanout_redis_retry",
            "## Notify fan-out through Redis, joins retried on store_unavailable",
        ),
    ):
        lines += redis_section(res.get(key, {}), title)
    probe = res.get("probe_runs", {})
    if probe:
        lines += [
            "## Who saturates the cores: server or load generator",
            "",
            "One more fan-out run per row (one repeat), with the load generator's own CPU "
            "(all its processes) measured beside the server's over the measured rounds; per push, "
            "and the wall time per push (fan-out plus the 0.1 s gap).",
            "",
            "| system | N | generator processes | p50 / p99 ms | server CPU ms per push | "
            "generator CPU ms per push | wall ms per push | load avg |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for system in ("bare", "nbsync"):
            for n, by_p in sorted(probe.get(system, {}).items(), key=lambda kv: int(kv[0])):
                for procs, entries in sorted(by_p.items()):
                    for e in entries:
                        lines.append(
                            f"| {NAMES.get(system, system)} | {int(n):,} | {procs} | "
                            f"{_pair(e)} | {_f(e.get('server_cpu_ms_per_push'))} | "
                            f"{_f(e.get('generator_cpu_ms_per_push'))} | "
                            f"{_f(e.get('wall_ms_per_push'))} | {e['loadavg'][0][0]} |"
                        )
        lines.append("")
    lessons = dict(res.get("lessons", {}))
    rows = [
        lesson_row(f"{c} server(s)" + (" through Redis" if int(c) > 1 else ""), v)
        for c, v in sorted(lessons.items(), key=lambda kv: int(kv[0]))
    ]
    if res.get("lesson_90min"):
        rows.append(lesson_row("90-minute lesson, 1 server", res["lesson_90min"]))
    if rows:
        lines += [
            "## Lessons",
            "",
            "A push every 2 s; after each, 30% of the students (a fresh draw) pull within 5 s "
            "(request_sync with their local text); half of the students typed a line of their "
            "own, so their pulls are merges, the others' fast-forwards (a student who already "
            "pulled the newest push gets no_update). Latency in ms, p50 / p99; notify: push sent "
            "→ each student's update_available; fan-out: push sent → the last student's; CPU in % "
            "of one core (the servers: all server processes together; redis-server's own in "
            "results.json), mean / max over the 10-s samples; pushes in: the push loop waits "
            "for the previous acks, so a slow store stretches the lesson; bytes: websocket "
            "frames, TCP/IP headers excluded.",
            "",
            "| run | students x length | notify p50 / p99 | fan-out p50 / p99 | pull p50 / p99: "
            "fast-forward side · editors | pulls (statuses) | server CPU % mean / max | "
            "generator CPU % mean / max | server RSS MB start → end | pushes in | bytes per "
            "push: to students / from students / to the teacher | bytes per notification / per "
            "pull reply | load avg |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines.append("")
        long = res.get("lesson_90min")
        if long:
            lines += [
                "Server RSS (MB) of the 90-minute lesson, every 10 minutes: "
                + ", ".join(
                    f"{s['t'] / 60:.0f} min {s['server_rss_mb']}"
                    for s in long["result"]["samples"]
                    if int(s["t"]) % 600 < 10
                )
                + f"; generator RSS {long['result']['samples'][0]['generator_rss_mb']} → "
                f"{long['result']['samples'][-1]['generator_rss_mb']} MB.",
                "",
            ]
    if res.get("targets"):
        lines += ["## Targets", "", "| target | measured | met |", "|---|---|---|"]
        for t in res["targets"]:
            lines.append(f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else 'no'} |")
        lines.append("")
    return "\n".join(lines)


def write_scale_report(res: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text(scale_markdown(res))
