"""The benchmark suite of issue 5: one command runs every workload with its baselines.

    python -m tests.benchmarks            # the full suite (about 10-15 minutes on 2 cores)
    python -m tests.benchmarks --quick    # a smaller run (about 2-3 minutes)
    python -m tests.benchmarks --scale    # the scale runs instead: see scale.py

Writes ``docs/performance/results.json``, ``docs/performance/results.md`` and
``docs/performance/benchmarks.png``. Needs ``redis-server`` on PATH (started on a free loopback
port, stopped at the end) and, for the jupyter-collaboration baseline, a separate environment
with ``jupyter-collaboration`` installed (``--collab-python``, default
``/work/venv-collab/bin/python``; the baseline is skipped with a note if it is missing).

Every server is a separate process from the load generator (``loadgen.py``, one process per
measurement). Each repeat starts fresh servers; figures are medians over repeats of each
repeat's median and p99.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

from procstat import UNLIMITED, loadavg, machine, summarize  # noqa: E402

from notebook_sync_ydoc.testing import JupyterServerProcess, free_port  # noqa: E402

DEFAULT_COLLAB_PYTHON = "/work/venv-collab/bin/python"

PROFILES: dict[str, dict[str, Any]] = {
    "quick": {
        "repeats": 1,
        "fanout_n": [500, 200, 50],
        "redis_servers": [2],
        "redis_n": [500, 200],
        "rounds": 15,
        "warmup": 3,
        "herd_n": [200],
        "herd_rounds": 3,
        "push_sizes": [1, 10, 100],
        "pushes": 60,
        "latency_pushes": 100,
        "gap": 0.05,
    },
    "full": {
        "repeats": 3,
        "fanout_n": [1000, 500, 200, 50],
        "redis_servers": [2, 4],
        "redis_n": [1000, 500, 200, 50],
        "rounds": 40,
        "warmup": 5,
        "herd_n": [500, 200],
        "herd_rounds": 5,
        "push_sizes": [1, 10, 30, 100],
        "pushes": 150,
        "latency_pushes": 300,
        "gap": 0.05,
    },
}


def log(*parts: Any) -> None:
    print(time.strftime("%H:%M:%S"), *parts, flush=True)


# servers ---------------------------------------------------------------------------------------
class Proc:
    """A server child process with a readiness URL."""

    def __init__(
        self,
        cmd: list[str],
        ready_url: str,
        log_path: Path,
        ready_headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> None:
        self.cmd, self.ready_url, self.log_path, self.kw = cmd, ready_url, log_path, kw
        self.ready_headers = ready_headers or {}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 90.0) -> Proc:
        out = self.log_path.open("ab")
        self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=subprocess.STDOUT, **self.kw)
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.cmd[:3]} exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                req = urllib.request.Request(self.ready_url, headers=self.ready_headers)
                with urllib.request.urlopen(req, timeout=2):
                    return self
            except OSError:
                time.sleep(0.1)  # polling readiness with a deadline
        raise TimeoutError(f"not ready: {self.cmd[:3]}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(15)


def bare_server(tmp: Path) -> tuple[Proc, dict[str, Any]]:
    port = free_port()
    p = Proc(
        [sys.executable, str(HERE / "bare_server.py"), str(port)],
        f"http://127.0.0.1:{port}/ready",
        tmp / f"bare-{port}.log",
    )
    return p.start(), {"port": port, "token": ""}


NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "c0",
            "metadata": {},
            "outputs": [],
            "source": "x = 0\nprint('the teacher typed this line of the example cell', x)\n",
        }
    ],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


class CollabServer:
    """jupyter_server with jupyter-collaboration (jupyter_server_ydoc), from its own venv."""

    def __init__(self, python: str, tmp: Path) -> None:
        self.python = python
        self.tmp = tmp / f"collab-{free_port()}"
        self.port = free_port()
        self.token = os.urandom(16).hex()
        self.proc: Proc | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> CollabServer:
        root = self.tmp / "notebooks"
        root.mkdir(parents=True, exist_ok=True)
        (root / "bench.ipynb").write_text(json.dumps(NOTEBOOK))
        config = self.tmp / "config"
        config.mkdir(exist_ok=True)
        (self.tmp / "data").mkdir(exist_ok=True)
        (self.tmp / "runtime").mkdir(exist_ok=True)
        exts = {
            "jupyter_server_ydoc": True,
            "jupyter_server_fileid": True,
            "jupyterlab": False,
            "jupyter_lsp": False,
            "jupyter_server_terminals": False,
            "notebook_shim": False,
        }
        (config / "jupyter_server_config.json").write_text(
            json.dumps({"ServerApp": {"jpserver_extensions": exts}})
        )
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(config),
            "JUPYTER_RUNTIME_DIR": str(self.tmp / "runtime"),
            "JUPYTER_DATA_DIR": str(self.tmp / "data"),
        }
        cmd = [
            self.python,
            "-m",
            "jupyter_server",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.open_browser=False",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.allow_root=True",
        ]
        self.proc = Proc(
            cmd,
            f"http://127.0.0.1:{self.port}/api/status",
            self.tmp / "server.log",
            env=env,
            cwd=self.tmp,
            ready_headers={"Authorization": f"token {self.token}"},
        )
        self.proc.start(timeout=120)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    @property
    def info(self) -> dict[str, Any]:
        return {"port": self.port, "token": self.token}


class Redis:
    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.tmp = tmp
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Redis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not on PATH")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        import socket

        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)  # polling readiness with a deadline
        raise TimeoutError("redis-server not ready")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


# The embedded stores side by side: the memory store (what "notebook-sync, one server" has always
# measured) and the SQLite store (the default without Redis: every write committed to a file).
EMBEDDED_STORES: dict[str, dict[str, Any]] = {
    "memory": {"store_class": "notebook_sync_ydoc.store.memory.MemoryStore"},
    "sqlite": {"store_class": "notebook_sync_ydoc.store.sqlite.SQLiteStore"},
}


def nb_server(tmp: Path, name: str, **options: Any) -> JupyterServerProcess:
    return JupyterServerProcess(tmp / name, options={**UNLIMITED, **options}).start()


def nb_info(s: JupyterServerProcess) -> dict[str, Any]:
    return {"port": s.port, "token": s.token}


# jobs ------------------------------------------------------------------------------------------
SETTLE_S = 1.0  # between jobs: the server finishes closing the previous job's connections


def run_job(job: dict[str, Any], python: str = sys.executable) -> dict[str, Any]:
    time.sleep(SETTLE_S)
    timeout = job.setdefault("timeout", 400)
    proc = subprocess.run(
        [python, str(HERE / "loadgen.py"), json.dumps(job)],
        capture_output=True,
        text=True,
        timeout=timeout + 60,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed ({job['kind']}):\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def fanout_entry(result: dict[str, Any]) -> dict[str, Any]:
    lat = result["latencies_ms"]
    n, pushes = result["n"], result["pushes"]
    return {
        **summarize(lat),
        "cpu_us_per_push_per_client": round(result["cpu_s"] * 1e6 / (pushes * n), 2),
        "rss_kb_per_client": round((result["rss_after"] - result["rss_before"]) / n / 1024, 1),
        "connect_s": result["connect_s"],
        "loadavg": result["loadavg"],
        "latencies_ms": [round(x, 3) for x in lat],
        **(
            {  # who is busy during the measured rounds: the servers or the load generator
                "server_cpu_ms_per_push": round(result["cpu_s"] * 1000 / pushes, 2),
                "generator_cpu_ms_per_push": round(result["generator_cpu_s"] * 1000 / pushes, 2),
                "wall_ms_per_push": round(result["wall_s"] * 1000 / pushes, 2),
            }
            if "generator_cpu_s" in result
            else {}
        ),
        **({"join_retries": result["join_retries"]} if "join_retries" in result else {}),
    }


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over repeats of each repeat's figures."""
    out: dict[str, Any] = {"repeats": len(runs)}
    for key in ("p50", "p99", "max", "cpu_us_per_push_per_client", "rss_kb_per_client"):
        values = [r[key] for r in runs if key in r]
        if values:
            out[key] = round(statistics.median(values), 3)
    pooled = [x for r in runs for x in r.get("latencies_ms", [])]
    if pooled:
        s = summarize(pooled)
        out["pooled_p50"], out["pooled_p99"] = s["p50"], s["p99"]
    out["runs"] = runs
    return out


# (name, students have edits of their own, pulls name their base as this project's clients do)
HERD_WORKLOADS = (
    ("fast_forward", False, False),
    ("merge", True, False),
    ("fast_forward_delta", False, True),
    ("merge_delta", True, True),
)


def floors(bare: Proc, info: dict[str, Any], prof: dict[str, Any]) -> dict[str, Any]:
    """The bare Tornado server's CPU for what a herd pull and a push cost the transport: the
    same number of requests of the same sizes, answered at once with a small reply."""
    out: dict[str, Any] = {"herd": {}, "push": {}}
    job = {"kind": "herd_bare", "servers": [info], "pids": [bare.pid], "path": "/echo-async"}
    for n in prof["herd_n"]:
        r = run_job({**job, "n": n, "rounds": prof["herd_rounds"], "warmup": 1, "gap": 0.2})
        out["herd"][n] = round(r["cpu_s"] * 1e6 / r["pulls"], 1)
    for size in prof["push_sizes"]:
        r = run_job(
            {
                **job,
                "n": 1,
                "rounds": prof["pushes"],
                "warmup": 10,
                "gap": 0,
                "request_bytes": size * 1024,
                "reply_bytes": 100,
            }
        )
        out["push"][str(size)] = round(r["cpu_s"] * 1e3 / r["pulls"], 3)
    return out


def herd_and_push(
    tmp: Path, name: str, prof: dict[str, Any], options: dict[str, Any], wire: bool
) -> dict[str, Any]:
    """Herd pulls (fast-forward and merge) and push cost on one fresh server; bytes per pull
    too when ``wire``."""
    out: dict[str, Any] = {"herd": {}, "push": {}, "wire": {}}
    one = nb_server(tmp, name, **options)
    try:
        assert one.proc is not None
        pids = [one.proc.pid]
        for n in prof["herd_n"]:
            for workload, edits, delta in HERD_WORKLOADS:
                r = run_job(
                    {
                        "kind": "herd",
                        "servers": [nb_info(one)],
                        "pids": pids,
                        "n": n,
                        "edits": edits,
                        "delta": delta,
                        "rounds": prof["herd_rounds"],
                        "warmup": 1,
                        "gap": 0.2,
                    }
                )
                entry = {
                    **summarize(r["pulls_per_s"], 1),
                    "elapsed_ms": summarize(r["elapsed_ms"]),
                    "cpu_us_per_pull": round(r["cpu_s"] * 1e6 / r["pulls"], 1),
                    "statuses": r["statuses"],
                    "replies": r["replies"],
                    "reply_bytes": round(r["reply_bytes"] / r["pulls"]),
                    "loadavg": r["loadavg"],
                }
                out["herd"].setdefault(workload, {})[n] = entry
                log(
                    f"  herd {workload:>12} N={n}: {entry['p50']:.0f} pulls/s (wall), "
                    f"{entry['cpu_us_per_pull']:.0f} us CPU/pull, {r['statuses']}"
                )
        r = run_job(
            {
                "kind": "push_cost",
                "servers": [nb_info(one)],
                "pids": pids,
                "sizes": prof["push_sizes"],
                "pushes": prof["pushes"],
                "warmup": 10,
            }
        )
        for size, v in r["sizes"].items():
            e = {**summarize(v["rtt_ms"]), "cpu_ms_per_push": round(v["cpu_ms_per_push"], 3)}
            out["push"][size] = e
            log(f"  push {size:>4} KB: rtt p50 {e['p50']:.2f} ms, cpu {e['cpu_ms_per_push']:.2f}")
        if wire:
            job = {"kind": "wire_bytes", "servers": [nb_info(one)], "pids": pids}
            out["wire"] = run_job({**job, "sizes": prof["push_sizes"]})["sizes"]
        # how long the store's transactions held the event loop (the SQLite store measures it)
        store = one.status()["store"]
        out["transactions"] = {k: v for k, v in store.items() if k.startswith("write")}
    finally:
        one.stop()
    return out


# the suite ---------------------------------------------------------------------------------------
def suite(args: argparse.Namespace) -> dict[str, Any]:
    prof = dict(PROFILES["quick" if args.quick else "full"])
    if args.repeats:
        prof["repeats"] = args.repeats
    collab_python = args.collab_python if Path(args.collab_python).exists() else None
    results: dict[str, Any] = {
        "profile": "quick" if args.quick else "full",
        "settings": prof,
        "machine": machine(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "notes": [],
    }
    if collab_python is None:
        results["notes"].append(f"jupyter-collaboration baseline skipped: {args.collab_python}")
    fan: dict[str, dict[int, list[dict[str, Any]]]] = {}
    fan_redis: dict[str, dict[int, list[dict[str, Any]]]] = {}
    lat: dict[str, list[dict[str, Any]]] = {}
    herd_runs: dict[str, dict[str, dict[int, list[dict[str, Any]]]]] = {}  # store -> workload
    push_runs: dict[str, dict[str, list[dict[str, Any]]]] = {}  # store -> KB
    transactions: dict[str, list[dict[str, Any]]] = {}  # store -> one summary per repeat
    wire: dict[str, Any] = {}
    floor_runs: dict[str, dict[str, list[float]]] = {"herd": {}, "push": {}}
    common = {"rounds": prof["rounds"], "warmup": prof["warmup"], "gap": prof["gap"]}
    t_start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nbsync-bench-") as tmpname:
        tmp = Path(tmpname)
        for rep in range(prof["repeats"]):
            log(f"repeat {rep + 1}/{prof['repeats']}: fan-out, one server")
            # fan-out on one server, interleaved with its baselines -----------------------------
            systems: dict[str, tuple[Any, dict[str, Any], list[int]]] = {}
            started: list[Any] = []
            try:
                bare, bare_info = bare_server(tmp)
                started.append(bare)
                systems["bare"] = (bare, bare_info, [bare.pid])
                one = nb_server(tmp, f"one-{rep}", **EMBEDDED_STORES["memory"])
                started.append(one)
                assert one.proc is not None
                systems["nbsync"] = (one, nb_info(one), [one.proc.pid])
                durable = nb_server(tmp, f"one-sqlite-{rep}", **EMBEDDED_STORES["sqlite"])
                started.append(durable)
                assert durable.proc is not None
                systems["nbsync_sqlite"] = (durable, nb_info(durable), [durable.proc.pid])
                if collab_python:
                    collab = CollabServer(collab_python, tmp).start()
                    started.append(collab)
                    systems["collab"] = (collab, collab.info, [collab.pid])
                for n in prof["fanout_n"]:  # largest first: memory is measured on fresh servers
                    for system, (_srv, info, pids) in systems.items():
                        job = {
                            "kind": "fanout",
                            "system": "nbsync" if system.startswith("nbsync") else system,
                            "servers": [info],
                            "pids": pids,
                            "n": n,
                            "notebook": "bench.ipynb",
                            **common,
                        }
                        entry = fanout_entry(run_job(job))
                        fan.setdefault(system, {}).setdefault(n, []).append(entry)
                        log(
                            f"  fanout {system:>13} N={n:<5} p50 {entry['p50']:8.2f} ms  "
                            f"p99 {entry['p99']:8.2f} ms  "
                            f"cpu {entry['cpu_us_per_push_per_client']:6.1f}"
                            f" us/client  rss {entry['rss_kb_per_client']:6.1f} KB/client"
                        )
                got_floor = floors(bare, bare_info, prof)
                for n, cpu in got_floor["herd"].items():
                    floor_runs["herd"].setdefault(str(n), []).append(cpu)
                for size, cpu in got_floor["push"].items():
                    floor_runs["push"].setdefault(size, []).append(cpu)
                log(f"  bare Tornado floors: {got_floor}")
                info = nb_info(one)
                r = run_job(
                    {
                        "kind": "latency",
                        "servers": [info],
                        "pids": [],
                        "pushes": prof["latency_pushes"],
                        "warmup": 20,
                        "gap": 0.005,
                    }
                )
                lat.setdefault("one_server", []).append(summarize(r["latencies_ms"]))
            finally:
                for srv in started:
                    srv.stop()
            # herd pull and push cost on fresh servers, one per embedded store -----------------
            for store, options in EMBEDDED_STORES.items():
                log(f"repeat {rep + 1}: herd pull, push cost, bytes per pull ({store} store)")
                got = herd_and_push(tmp, f"herd-{store}-{rep}", prof, options, wire=not wire)
                wire = wire or got["wire"]
                for name, by_n in got["herd"].items():
                    for n, entry in by_n.items():
                        herd_runs.setdefault(store, {}).setdefault(name, {}).setdefault(
                            n, []
                        ).append(entry)
                for size, e in got["push"].items():
                    push_runs.setdefault(store, {}).setdefault(size, []).append(e)
                if got["transactions"]:
                    transactions.setdefault(store, []).append(got["transactions"])
            # Redis: 2-4 servers ----------------------------------------------------------------
            for count in prof["redis_servers"]:
                log(f"repeat {rep + 1}: Redis, {count} servers")
                redis = Redis(tmp).start()
                servers: list[JupyterServerProcess] = []
                try:
                    for i in range(count):
                        servers.append(
                            nb_server(
                                tmp,
                                f"redis-{rep}-{count}-{i}",
                                redis_url=redis.url,
                                key_prefix=f"b{rep}:",
                            )
                        )
                    infos = [nb_info(s) for s in servers]
                    pids = [s.proc.pid for s in servers if s.proc is not None]
                    for n in prof["redis_n"]:
                        job = {
                            "kind": "fanout",
                            "system": "nbsync",
                            "servers": infos,
                            "pids": pids,
                            "n": n,
                            **common,
                        }
                        entry = fanout_entry(run_job(job))
                        fan_redis.setdefault(f"{count}", {}).setdefault(n, []).append(entry)
                        log(
                            f"  fanout redis x{count} N={n:<5} p50 {entry['p50']:8.2f} ms  "
                            f"p99 {entry['p99']:8.2f} ms  "
                            f"cpu {entry['cpu_us_per_push_per_client']:6.1f}"
                            f" us/client"
                        )
                    if count == prof["redis_servers"][0]:
                        r = run_job(
                            {
                                "kind": "latency",
                                "servers": infos[:2],
                                "pids": [],
                                "pushes": prof["latency_pushes"],
                                "warmup": 20,
                                "gap": 0.005,
                            }
                        )
                        lat.setdefault("cross_server_redis", []).append(
                            summarize(r["latencies_ms"])
                        )
                        r = run_job(
                            {
                                "kind": "redis_rtt",
                                "redis_url": redis.url,
                                "reps": prof["latency_pushes"],
                                "warmup": 20,
                                "gap": 0.005,
                            }
                        )
                        lat.setdefault("redis_publish_rtt", []).append(summarize(r["latencies_ms"]))
                        log(
                            f"  latency one server {lat['one_server'][-1]['p50']:.2f} ms, "
                            f"cross-server {lat['cross_server_redis'][-1]['p50']:.2f} ms, "
                            f"redis PUBLISH {lat['redis_publish_rtt'][-1]['p50']:.3f} ms"
                        )
                finally:
                    for s in servers:
                        s.stop()
                    redis.stop()
    results["duration_s"] = round(time.monotonic() - t_start, 1)
    results["machine"]["loadavg_at_end"] = loadavg()
    results["fanout"] = {s: {str(n): combine(v) for n, v in d.items()} for s, d in fan.items()}
    results["fanout_redis"] = {
        s: {str(n): combine(v) for n, v in d.items()} for s, d in fan_redis.items()
    }
    results["latency"] = {
        k: {
            "p50": statistics.median(x["p50"] for x in v),
            "p99": statistics.median(x["p99"] for x in v),
            "runs": v,
        }
        for k, v in lat.items()
    }
    results["herd"] = herd_summary(herd_runs.get("memory", {}))
    results["push_cost"] = push_summary(push_runs.get("memory", {}))
    results["stores"] = {
        store: {
            "herd": herd_summary(herd_runs.get(store, {})),
            "push_cost": push_summary(push_runs.get(store, {})),
            "transactions": transactions.get(store, []),
        }
        for store in EMBEDDED_STORES
    }
    results["wire_bytes"] = wire
    # the bare Tornado server's CPU per request: µs for the herd's N, ms for a push's size
    results["floor"] = {
        part: {k: statistics.median(v) for k, v in by.items()} for part, by in floor_runs.items()
    }
    return derive(results)


def herd_summary(by_workload: dict[str, dict[int, list[dict[str, Any]]]]) -> dict[str, Any]:
    return {
        name: {
            str(n): {
                "pulls_per_s_p50": statistics.median(x["p50"] for x in v),
                "cpu_us_per_pull": statistics.median(x["cpu_us_per_pull"] for x in v),
                "runs": v,
            }
            for n, v in d.items()
        }
        for name, d in by_workload.items()
    }


def push_summary(by_size: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        size: {
            "rtt_p50_ms": statistics.median(x["p50"] for x in v),
            "rtt_p99_ms": statistics.median(x["p99"] for x in v),
            "cpu_ms_per_push": statistics.median(x["cpu_ms_per_push"] for x in v),
            "runs": v,
        }
        for size, v in by_size.items()
    }


def derive(results: dict[str, Any]) -> dict[str, Any]:
    """The figures computed from the measurements (also for ``--rerender``)."""
    results["fanout_paired"] = paired_ratios(results["fanout"])
    results["cpu_marginal"] = {
        **{s: marginal_cpu(d) for s, d in results["fanout"].items()},
        **{f"redis_x{c}": marginal_cpu(d) for c, d in results["fanout_redis"].items()},
    }
    results["memory"] = memory_summary(results)
    results["sqlite_vs_memory"] = store_ratios(results)
    results["targets"] = targets(results) + store_targets(results)
    results["scale_targets"] = scale_targets(results)
    return results


def scale_targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 16's pull and push CPU targets, each beside the bare Tornado server's CPU for the
    same requests (the transport's floor, measured in the same repeats)."""
    floor = res.get("floor", {})
    rows: list[dict[str, Any]] = []
    herd = res.get("herd", {})
    for name, limit in (
        ("fast_forward_delta", 150),
        ("merge_delta", 250),
        ("fast_forward", 150),
        ("merge", 250),
    ):
        by_n = herd.get(name)
        if not by_n:
            continue
        n = max(by_n, key=int)
        cpu = by_n[n]["cpu_us_per_pull"]
        bare = floor.get("herd", {}).get(str(n))
        client = (
            "this project's clients" if name.endswith("_delta") else "a client before delta pulls"
        )
        rows.append(
            {
                "target": f"herd pull ({name.split('_delta')[0].replace('_', '-')}, {client}) "
                f"<= {limit} µs server CPU per pull",
                "measured": f"{cpu} µs (N={n})",
                "floor": f"{bare} µs" if bare is not None else "n/a",
                "vs_floor": _ratio(cpu, bare),
                "met": cpu <= limit,
            }
        )
    for size, v in sorted(res.get("push_cost", {}).items(), key=lambda kv: int(kv[0])):
        bare = floor.get("push", {}).get(size)
        rows.append(
            {
                "target": f"push of a typing-sized edit, {size} KB cell, <= 0.15 ms server CPU",
                "measured": f"{v['cpu_ms_per_push']} ms",
                "floor": f"{bare} ms" if bare is not None else "n/a",
                "vs_floor": _ratio(v["cpu_ms_per_push"], bare),
                "met": v["cpu_ms_per_push"] <= 0.15,
            }
        )
    return rows


def _paired(ours: list[dict[str, Any]], theirs: list[dict[str, Any]], key: str) -> float | None:
    """Median over repeats of each repeat's ratio ours[key] / theirs[key]."""
    ratios = [
        a[key] / b[key]
        for a, b in zip(ours, theirs, strict=False)
        if a.get(key) is not None and b.get(key)
    ]
    return round(statistics.median(ratios), 3) if ratios else None


def store_ratios(res: dict[str, Any]) -> dict[str, Any]:
    """SQLite against memory, repeat by repeat (the two servers ran in the same repeat)."""
    stores = res.get("stores", {})
    mem, sq = stores.get("memory"), stores.get("sqlite")
    if not mem or not sq:
        return {}
    out: dict[str, Any] = {"herd": {}, "push_cost": {}, "fanout": {}}
    for name, by_n in sq["herd"].items():
        for n, v in by_n.items():
            m = mem["herd"].get(name, {}).get(n)
            if m:
                out["herd"].setdefault(name, {})[n] = {
                    "throughput": _paired(m["runs"], v["runs"], "p50"),  # memory / sqlite
                    "cpu": _paired(v["runs"], m["runs"], "cpu_us_per_pull"),
                }
    for size, v in sq["push_cost"].items():
        m = mem["push_cost"].get(size)
        if m:
            out["push_cost"][size] = {
                "cpu": _paired(v["runs"], m["runs"], "cpu_ms_per_push"),
                "rtt": _paired(v["runs"], m["runs"], "p50"),
            }
    fan = res.get("fanout", {})
    for n, v in fan.get("nbsync_sqlite", {}).items():
        m = fan.get("nbsync", {}).get(n)
        if m:
            out["fanout"][n] = {
                "p50": _paired(v["runs"], m["runs"], "p50"),
                "p99": _paired(v["runs"], m["runs"], "p99"),
            }
    return out


def store_targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 10: the durable store costs little beside the memory store."""
    ratios = res.get("sqlite_vs_memory", {})
    if not ratios:
        return []
    rows: list[dict[str, Any]] = []
    stores = res["stores"]

    def row(target: str, measured: str, ratio: float | None, limit: float) -> None:
        rows.append(
            {
                "target": target,
                "measured": f"{measured}; ratio {ratio}",
                "vs_bare": None,
                "vs_collab": None,
                "baseline": "the memory store, same repeat",
                "met": ratio is not None and ratio <= limit,
            }
        )

    push = ratios["push_cost"].get("10", {})
    if push:
        sq, mem = stores["sqlite"]["push_cost"]["10"], stores["memory"]["push_cost"]["10"]
        row(
            "SQLite store: server time of a typing-sized push to a 10 KB cell within 1.3x "
            "the memory store's",
            f"{sq['cpu_ms_per_push']} ms vs {mem['cpu_ms_per_push']} ms CPU per push",
            push.get("cpu"),
            1.3,
        )
    for name, by_n in ratios["herd"].items():
        n = max(by_n, key=int)
        sq, mem = stores["sqlite"]["herd"][name][n], stores["memory"]["herd"][name][n]
        row(
            f"SQLite store: herd pulls/s ({name.replace('_', '-')}, N={n}) within 1.3x of the "
            "memory store's",
            f"{sq['pulls_per_s_p50']:.0f} vs {mem['pulls_per_s_p50']:.0f} pulls/s",
            by_n[n].get("throughput"),
            1.3,
        )
    for n, r in sorted(ratios["fanout"].items(), key=lambda kv: int(kv[0])):
        if int(n) in (200, 500):
            fan = res["fanout"]
            row(
                f"SQLite store: notify fan-out N={n} unchanged (p50 within 1.15x of the memory "
                "store's)",
                f"{fan['nbsync_sqlite'][n]['p50']} vs {fan['nbsync'][n]['p50']} ms p50",
                r.get("p50"),
                1.15,
            )
    return rows


def paired_ratios(fan: dict[str, Any]) -> dict[str, Any]:
    """notebook-sync against each baseline, repeat by repeat (the runs of one repeat ran side by
    side, minutes apart at most, under the same background load), then the median."""
    out: dict[str, Any] = {}
    for n, ours in fan.get("nbsync", {}).items():
        row: dict[str, Any] = {}
        for base in ("bare", "collab"):
            theirs = fan.get(base, {}).get(n)
            if not theirs:
                continue
            for key in ("p50", "p99"):
                ratios = [
                    a[key] / b[key]
                    for a, b in zip(ours["runs"], theirs["runs"], strict=True)
                    if b.get(key) and a.get(key) is not None
                ]
                if ratios:
                    row[f"{key}_vs_{base}"] = round(statistics.median(ratios), 2)
        out[n] = row
    return out


def marginal_cpu(by_n: dict[str, Any]) -> dict[str, Any]:
    """Server CPU per push = fixed + slope x N, least squares per repeat, median over repeats:
    the slope is the cost of one more connected client, the fixed part the push itself."""
    repeats = min(len(v["runs"]) for v in by_n.values())
    slopes, fixed = [], []
    for r in range(repeats):
        pts = [
            (int(n), v["runs"][r]["cpu_us_per_push_per_client"] * int(n)) for n, v in by_n.items()
        ]
        if len(pts) < 2:
            continue
        mx = sum(x for x, _ in pts) / len(pts)
        my = sum(y for _, y in pts) / len(pts)
        sxx = sum((x - mx) ** 2 for x, _ in pts)
        slope = sum((x - mx) * (y - my) for x, y in pts) / sxx
        slopes.append(slope)
        fixed.append((my - slope * mx) / 1000)
    if not slopes:
        return {}
    return {
        "us_per_client": round(statistics.median(slopes), 1),
        "fixed_ms_per_push": round(statistics.median(fixed), 2),
    }


def memory_summary(res: dict[str, Any]) -> dict[str, Any]:
    """KB per connected client, from the largest N (measured first, on a fresh server)."""
    out: dict[str, Any] = {}
    for system, by_n in res["fanout"].items():
        n = max(by_n, key=int)
        out[system] = {"n": int(n), "kb_per_client": by_n[n].get("rss_kb_per_client")}
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 2)


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    fan = res["fanout"]
    rows: list[dict[str, Any]] = []

    def get(system: str, n: int, key: str) -> float | None:
        v = fan.get(system, {}).get(str(n), {}).get(key)
        return None if v is None else float(v)

    paired = res["fanout_paired"]
    for n in (200, 500):
        for key, limit in (("p50", 1.3), ("p99", 1.5)):
            ours = get("nbsync", n, key)
            bare, collab = get("bare", n, key), get("collab", n, key)
            pr = paired.get(str(n), {})
            ratio = pr.get(f"{key}_vs_bare")
            rows.append(
                {
                    "target": f"notify fan-out N={n} {key} within {limit}x of bare broadcast",
                    "measured": f"{ours} ms" if ours is not None else "n/a",
                    "vs_bare": ratio,
                    "vs_collab": pr.get(f"{key}_vs_collab"),
                    "baseline": f"bare {bare} ms, jupyter-collaboration {collab} ms "
                    f"(ratios: median over repeats of each repeat's side-by-side ratio; "
                    f"ratio of the medians {_ratio(ours, bare)} / {_ratio(ours, collab)})",
                    "met": ratio is not None and ratio <= limit,
                }
            )
    marg = res["cpu_marginal"]
    ours = marg.get("nbsync", {}).get("us_per_client")
    per_n = [get("nbsync", n, "cpu_us_per_push_per_client") for n in (200, 500, 1000)]
    per_n = [c for c in per_n if c is not None]
    rows.append(
        {
            "target": "server CPU per push per connected student <= 35 us",
            "measured": f"{ours} us per added student (slope over N; fixed "
            f"{marg.get('nbsync', {}).get('fixed_ms_per_push')} ms per push); total CPU / "
            f"(pushes x N) {min(per_n) if per_n else 'n/a'}-{max(per_n) if per_n else 'n/a'} us "
            "at N=200-1000",
            "vs_bare": _ratio(ours, marg.get("bare", {}).get("us_per_client")),
            "vs_collab": _ratio(ours, marg.get("collab", {}).get("us_per_client")),
            "baseline": f"bare {marg.get('bare', {}).get('us_per_client')} us, "
            f"jupyter-collaboration {marg.get('collab', {}).get('us_per_client')} us per client",
            "met": ours is not None and ours <= 35,
        }
    )
    ff = res["herd"].get("fast_forward", {})
    if ff:
        n = max(ff, key=int)
        rate = ff[n]["pulls_per_s_p50"]
        cpu_rate = 1e6 / ff[n]["cpu_us_per_pull"] if ff[n]["cpu_us_per_pull"] else None
        rows.append(
            {
                "target": "herd pull >= 2,000 pulls/s per server process "
                "(fast-forward, small cell)",
                "measured": f"{rate:.0f} pulls/s wall clock, N={n} "
                f"({ff[n]['cpu_us_per_pull']} us server CPU per pull = "
                f"{cpu_rate:.0f}/s per core)",
                "vs_bare": None,
                "vs_collab": None,
                "baseline": "(no baseline for pulls)",
                "met": rate >= 2000,
            }
        )
    pc = res["push_cost"].get("10")
    if pc:
        rows.append(
            {
                "target": "push of a typing-sized edit to a 10 KB cell < 1 ms server time",
                "measured": f"{pc['cpu_ms_per_push']} ms CPU/push "
                f"(round trip p50 {pc['rtt_p50_ms']} ms)",
                "vs_bare": None,
                "vs_collab": None,
                "baseline": "",
                "met": pc["cpu_ms_per_push"] < 1.0,
            }
        )
    cross = res["latency"].get("cross_server_redis")
    rtt = res["latency"].get("redis_publish_rtt")
    if cross:
        rows.append(
            {
                "target": "cross-server notification (Redis) median < 2 ms",
                "measured": f"{cross['p50']} ms (p99 {cross['p99']} ms)",
                "vs_bare": None,
                "vs_collab": None,
                "vs_redis_publish": _ratio(cross["p50"], rtt["p50"] if rtt else None),
                "baseline": f"Redis PUBLISH->subscriber {rtt['p50'] if rtt else 'n/a'} ms; "
                "one server "
                f"{res['latency'].get('one_server', {}).get('p50')} ms",
                "met": cross["p50"] < 2.0,
            }
        )
    mem = res["memory"]
    ours = mem.get("nbsync", {}).get("kb_per_client")
    rows.append(
        {
            "target": "memory <= 30 KB per connected student",
            "measured": f"{ours} KB (N={mem.get('nbsync', {}).get('n')})",
            "vs_bare": _ratio(ours, mem.get("bare", {}).get("kb_per_client")),
            "vs_collab": _ratio(ours, mem.get("collab", {}).get("kb_per_client")),
            "baseline": f"bare {mem.get('bare', {}).get('kb_per_client')} KB, "
            f"jupyter-collaboration {mem.get('collab', {}).get('kb_per_client')} KB",
            "met": ours is not None and ours <= 30,
        }
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="the ~2-minute profile")
    parser.add_argument("--repeats", type=int, default=0, help="override the profile's repeats")
    parser.add_argument("--out", default=str(ROOT / "docs" / "performance"))
    parser.add_argument(
        "--collab-python",
        default=os.environ.get("NBSYNC_BENCH_COLLAB_PYTHON", DEFAULT_COLLAB_PYTHON),
    )
    parser.add_argument(
        "--rerender", action="store_true", help="recompute tables and plot from --out/results.json"
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help="the scale runs instead (tests/benchmarks/scale.py: 2,000-5,000 students, 2-8 "
        "servers through Redis, lessons; writes docs/performance/scale/)",
    )
    args = parser.parse_args(argv)
    if args.scale:
        from scale import main as scale_main

        return scale_main(["--quick"] if args.quick else [])
    from report import write_report

    out = Path(args.out)
    if args.rerender:
        results = derive(json.loads((out / "results.json").read_text()))
    else:
        results = suite(args)
    out.mkdir(parents=True, exist_ok=True)
    plotted = write_report(results, out)
    written = "results.json, results.md" + (", benchmarks.png" if plotted else " (no plot)")
    log(f"done in {results['duration_s']} s: {out}/{written}")
    for row in results["targets"]:
        log(
            f"  {'MET ' if row['met'] else 'MISS'} {row['target']}: {row['measured']}"
            f" (vs bare {row.get('vs_bare')}, vs collab {row.get('vs_collab')})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
