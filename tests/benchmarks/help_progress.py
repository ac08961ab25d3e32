"""Help requests and the progress view under a class's load (issue 17).

    python tests/benchmarks/help_progress.py [--quick] [--no-browser]

1. Progress view, 500 students x 50 shared cells (10 pulled cells per student on average, some
   of them behind, 10 % asking for help), on one server with the embedded store (SQLite, the
   default), then on one server with Redis (a redis-server of its own on a free loopback port):
   over the wire, the time from ``progress`` to its ``progress_snapshot`` and the frame's bytes,
   and the ``progress_update`` after one push (bytes; latency, which includes the coalescing
   interval ``roster_interval``, 100 ms); in-process, on the same data (the SQLite file once
   the server stopped; the same Redis keys), ``ProgressFeed.matrix`` and its encoding, as CPU
   time of the process (and of redis-server).
2. A burst of help requests: 200 students, each sends one ``help_request`` within the same
   second (paced evenly over it); the teacher (watching the progress view, as the page does)
   must get a ``help_update`` for every request the server acknowledged, and ``help_list`` list
   them all (one the server refused, with an error to its student, is counted as refused).
   Latency from each request sent to the teacher receiving it. Both stores.
3. The teacher's page during that burst: ``jupyter lab`` (embedded store) and Debian's Chromium
   (``/usr/bin/chromium``, Playwright, the browser tests' flags; never a downloaded browser).
   The teacher starts a session, shares a cell and opens the class panel; 200 Python students
   join, then ask for help within one second while the page is clicked back to back. Measured
   on the page: the longest main-thread task (PerformanceObserver ``longtask``), when the queue
   shows 200, and how long each click waited to be handled (``performance.now() -
   event.timeStamp`` in its handler; Event Timing entries too). By default the 200 who ask are
   the whole class and one cell is shared; ``--page-students 500 --page-cells 50`` measures the
   page at class scale (500 in the session and its progress table, 50 shared cells, the same
   burst of 200 on one cell).

Every server, and every load generator (this file with ``--job``), is its own process; loopback
only; every wait has a timeout and every loop a bound. Setting the class up is paced (20
students at a time; a set-up request answered ``store_unavailable`` is sent again, counted in
``setup_retries``) and the teacher is away meanwhile: on Redis, concurrent writes to one session
and roster updates of 500 students are what limits a run, see docs/performance/help_progress.json.
Prints a table and writes docs/performance/help_progress.json (``--quick``: 100 students, to
the temporary directory; ``--out FILE``: to FILE; ``--stores ''``: the browser part alone).
About 3 minutes on 2 idle cores (4 with other work on them); ``--profile`` adds the page's CPU
profile during the first burst.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = ROOT / "docs" / "performance" / "help_progress.json"
for _path in (HERE, HERE.parent, HERE.parent / "browser"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from loadgen import WAIT, Nb, close_all  # noqa: E402
from procstat import UNLIMITED, cpu_seconds, loadavg, machine, summarize  # noqa: E402
from wsclient import WSClient, connect_many  # noqa: E402

STUDENTS, CELLS = 500, 50
BURST = 200
BURST_SECONDS = 1.0
SNAPSHOTS = 5  # progress requests per store (and in-process builds)
PUSHES = 3  # progress_update after one push, per store
PULLERS = 20  # students pulling at the same time while the data is set up
PULL_SPREAD = 21  # student i has pulled i % PULL_SPREAD cells: 10 of the 50 on average
PAGE_ROUNDS = 3  # bursts on the page (the students withdraw between them)
MAX_CLICKS = 400  # the page's input probe: at most this many clicks
HELP_SOURCE = "x = 1\ny = 2\nprint(x * y)\n"


def cell_source(j: int, version: int) -> str:
    return f"# step {j}, version {version}\nvalue_{j} = compute({j}, {version})\nprint(value_{j})\n"


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# --------------------------------------------------------------------------------------------
# load generator side (``--job``): one process per job
class Watcher(Nb):
    """A connection that also keeps every ``help_update`` and ``progress_update`` it receives,
    with the time its frame was parsed and its size, and the progress view as the teacher's
    page holds it: its last ``progress_snapshot`` with every ``progress_update`` merged in."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[float, int, dict[str, Any]]] = []
        self.wake = asyncio.Event()
        self.matrix: dict[str, Any] | None = None

    def on_message(self, ws: WSClient, op: int, payload: bytes, now: float) -> None:
        from notebook_sync_ydoc.clients.sync import apply_progress_update, decode_progress

        head = payload[:40]
        if b'"progress_snapshot"' in head:
            self.matrix = decode_progress(json.loads(payload))
        elif b'"help_update"' in head or b'"progress_update"' in head:
            msg = json.loads(payload)
            if msg.get("req_id") is None:
                if msg["type"] == "progress_update" and self.matrix is not None:
                    self.matrix = apply_progress_update(self.matrix, msg)
                self.events.append((now, len(payload), msg))
                self.wake.set()
                return
        super().on_message(ws, op, payload, now)

    async def until(self, ready: Any, timeout: float = WAIT) -> None:
        """Wait until ``ready()`` holds (re-checked on each event), at most ``timeout``."""
        deadline = time.perf_counter() + timeout
        while not ready():
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError("the expected messages did not arrive")
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), remaining)
            except TimeoutError:
                continue


RETRIES: list[int] = [0]  # set-up requests answered store_unavailable and sent again


async def ask(nb: Nb, mtype: str, **fields: Any) -> dict[str, Any]:
    """A set-up request; one answered ``store_unavailable`` is sent again (at most 10 times):
    on Redis, concurrent writes to one session can exhaust the store's own retries (see the
    report), and a real client would try again. Never used for what is measured."""
    for _ in range(10):
        reply = await asyncio.wait_for(nb.send(mtype, **fields), WAIT)
        if reply.get("code") != "store_unavailable":
            break
        RETRIES[0] += 1
    if reply.get("type") == "error":
        raise RuntimeError(f"{mtype}: {reply}")
    return reply


async def join_students(
    port: int, token: str, code: str, n: int, prefix: str
) -> tuple[list[Nb], list[str]]:
    """``n`` students join, 20 at a time (more concurrent joins exceed redis-py's pool of 100
    connections on a server with Redis)."""

    async def one(i: int) -> tuple[Nb, str]:
        nb = await Nb().open(port, token)
        reply = await ask(nb, "join_session", session_code=code, name=f"{prefix} {i}")
        return nb, str(reply["student_id"])

    pairs: list[tuple[Nb, str]] = await connect_many(n, one, 20)  # type: ignore[assignment]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def cpu_of(pids: list[int]) -> list[float]:
    return [cpu_seconds(p) for p in pids]


def cpu_delta(before: list[float], pids: list[int]) -> list[float]:
    return [round((cpu_seconds(p) - b) * 1000, 2) for p, b in zip(pids, before, strict=True)]


async def progress_job(job: dict[str, Any]) -> dict[str, Any]:
    """500 students x 50 cells; ``progress`` snapshots and ``progress_update``s over the wire."""
    port, token, pids = job["port"], job["token"], job["pids"]
    n, cells = job["students"], job["cells"]
    teacher = Watcher()
    await teacher.open(port, token)
    created = await teacher.request("create_session", title="progress")
    code, key = created["session_code"], created["teacher_key"]
    ids = [f"c{j:02d}" for j in range(cells)]
    for j, cell_id in enumerate(ids):
        await teacher.request("push_cell", cell_id=cell_id, content={"source": cell_source(j, 0)})
    # The teacher is away while the class is set up: with a teacher connected, every burst of
    # joins and pulls is followed by a roster_update (each re-reads every student record; on
    # Redis with 500 students that kept the server busy for minutes: see the in-process
    # roster figure).
    await close_all([teacher])
    started = time.perf_counter()
    students, _sids = await join_students(port, token, code, n, "student")
    joined_s = time.perf_counter() - started

    # Student i pulls cells 0 .. i % PULL_SPREAD - 1 (PULLED_AVG on average), at most PULLERS
    # students at a time: with more concurrent store calls a server on Redis answers
    # store_unavailable (redis-py's pool holds at most 100 connections; see the report).
    gate = asyncio.Semaphore(PULLERS)

    async def pulls(i: int, s: Nb) -> int:
        async with gate:
            for cell_id in ids[: i % PULL_SPREAD]:
                await ask(s, "request_sync", cell_id=cell_id)
        return i % PULL_SPREAD

    started = time.perf_counter()
    pulled = sum(await asyncio.gather(*(pulls(i, s) for i, s in enumerate(students))))
    pull_s = time.perf_counter() - started
    asking = list(range(0, n, 10))  # 10 % ask for help on one cell each
    for i in asking:
        await ask(
            students[i], "help_request", cell_id=ids[i % cells], local_source=HELP_SOURCE, note="?"
        )
    teacher = Watcher()
    await teacher.open(port, token)
    await teacher.request("resume_session", session_code=code, teacher_key=key)
    for j in range(5, 15):  # ten cells pushed again: their pullers are behind
        await teacher.request("push_cell", cell_id=ids[j], content={"source": cell_source(j, 1)})

    snapshots = []
    for _ in range(job["snapshots"]):
        before = cpu_of(pids)
        t0 = time.perf_counter()
        reply = await teacher.request("progress")
        wall = reply["_t"] - t0
        snapshots.append(
            {"wall_ms": ms(wall), "bytes": reply["_bytes"], "cpu_ms": cpu_delta(before, pids)}
        )
    assert teacher.matrix is not None
    rows = teacher.matrix["students"]
    statuses: dict[str, int] = {}
    for row in rows:
        for entry in row["cells"].values():
            statuses[entry["status"]] = statuses.get(entry["status"], 0) + 1
    shape = {"students": len(rows), "cells": len(reply["cells"]), "statuses": statuses}
    shape["help_open"] = sum(e["help"] for r in rows for e in r["cells"].values())

    # progress_update after one push: the cell's pullers turn behind
    updates = []
    for k in range(job["pushes"]):
        cell_id = ids[k]
        mark = len(teacher.events)

        def behind(cell_id: str = cell_id, mark: int = mark) -> bool:
            matrix = teacher.matrix
            return (
                matrix is not None
                and any(e[2]["type"] == "progress_update" for e in teacher.events[mark:])
                and all(
                    r["cells"][cell_id]["status"] in ("behind", "never_pulled")
                    for r in matrix["students"]
                )
            )

        before = cpu_of(pids)
        t0 = time.perf_counter()
        await teacher.request("push_cell", cell_id=cell_id, content={"source": cell_source(k, 2)})
        await teacher.until(behind)
        t, _size, _msg = next(e for e in teacher.events[mark:] if e[2]["type"] == "progress_update")
        last = next(e for e in reversed(teacher.events[mark:]) if e[2]["type"] == "progress_update")
        updates.append(
            {
                "latency_ms": ms(last[0] - t0),
                "first_update_ms": ms(t - t0),
                "bytes": last[1],
                "bytes_all": sum(
                    e[1] for e in teacher.events[mark:] if e[2]["type"] == "progress_update"
                ),
                "changed_students": len(last[2]["students"]),
                "updates": sum(e[2]["type"] == "progress_update" for e in teacher.events[mark:]),
                "cpu_ms": cpu_delta(before, pids),
            }
        )
    await leave_all(students)
    await close_all([teacher])
    return {
        "code": code,
        "joined_s": round(joined_s, 2),
        "setup_retries": RETRIES[0],
        "pulls": pulled,
        "pull_s": round(pull_s, 2),
        "shape": shape,
        "snapshots": snapshots,
        "updates": updates,
    }


async def leave_all(conns: list[Nb]) -> None:
    """Students leave 20 at a time (each leave answered), then every socket closes: the server
    is done with them before the next measurement (closing 500 sockets at once makes it leave
    them all at once, which on Redis exhausts its connection pool)."""
    for start in range(0, len(conns), 20):
        await asyncio.gather(*(ask(c, "leave_session") for c in conns[start : start + 20]))
    await close_all(conns)


async def fire_burst(
    students: list[Nb], cell_id: str, spread: float
) -> tuple[list[float], list[asyncio.Future[dict[str, Any]]]]:
    """Each student sends one help_request, paced evenly over ``spread`` seconds; the send
    times (perf_counter) and the replies to come."""
    loop = asyncio.get_running_loop()
    n = len(students)
    sent = [0.0] * n
    acks: list[asyncio.Future[dict[str, Any]]] = [loop.create_future() for _ in range(n)]

    def fire(i: int) -> None:
        sent[i] = time.perf_counter()
        reply = students[i].send(
            "help_request", cell_id=cell_id, local_source=HELP_SOURCE, note=f"stuck on line {i}"
        )

        def done(future: asyncio.Future[dict[str, Any]]) -> None:
            acks[i].set_result(future.result())

        reply.add_done_callback(done)

    start = loop.time() + 0.02
    for i in range(n):
        loop.call_at(start + i * spread / n, fire, i)
    await asyncio.wait_for(asyncio.gather(*acks), WAIT)
    return sent, acks


async def burst_job(job: dict[str, Any]) -> dict[str, Any]:
    """200 help requests within one second; the teacher watches the queue and the progress."""
    port, token, pids, n = job["port"], job["token"], job["pids"], job["n"]
    teacher = Watcher()
    await teacher.open(port, token)
    code = (await teacher.request("create_session", title="burst"))["session_code"]
    await teacher.request("push_cell", cell_id="c", content={"source": HELP_SOURCE})
    await teacher.request("progress")
    students, sids = await join_students(port, token, code, n, "student")
    await teacher.request("ping")
    mark = len(teacher.events)
    got: dict[str, float] = {}  # student id -> when the teacher got the request
    seen = [mark]

    before = cpu_of(pids)
    sent, acks = await fire_burst(students, "c", job["spread"])
    # every request the server acknowledged must reach the teacher; one it refused (an error
    # to the student, who knows it was not sent) is counted apart
    acked = {sid for sid, a in zip(sids, acks, strict=True) if a.result()["type"] == "help_ack"}

    def all_in() -> bool:
        for t, _b, msg in teacher.events[seen[0] :]:
            if msg["type"] == "help_update" and msg["request"] is not None:
                got.setdefault(msg["student_id"], t)
        seen[0] = len(teacher.events)
        return acked <= set(got)

    await teacher.until(all_in)
    cpu = cpu_delta(before, pids)
    errors = [a.result() for a in acks if a.result().get("type") != "help_ack"]
    latencies = [(got[sid] - sent[i]) * 1000 for i, sid in enumerate(sids) if sid in got]
    queue = (await teacher.request("help_list"))["requests"]
    events = teacher.events[mark:]
    help_updates = [e for e in events if e[2]["type"] == "help_update"]
    progress_updates = [e for e in events if e[2]["type"] == "progress_update"]
    await leave_all(students)
    await close_all([teacher])
    return {
        "n": n,
        "setup_retries": RETRIES[0],
        "spread_s": job["spread"],
        "sent_over_ms": ms(max(sent) - min(sent)),
        "acks": sum(a.result().get("type") == "help_ack" for a in acks),
        "refused": len(errors),
        "refused_codes": sorted({str(e.get("code")) for e in errors}),
        "help_updates": len(help_updates),
        "distinct_students_in_updates": len(got),
        "help_list": len(queue),
        "lost": len(acked - set(got)),
        "latency_ms": summarize(latencies, 2),
        "last_update_after_first_send_ms": ms(max(got.values()) - min(sent)),
        "progress_updates_during_burst": len(progress_updates),
        "progress_update_bytes": max((e[1] for e in progress_updates), default=0),
        "cpu_ms": cpu,
    }


async def page_burst_job(job: dict[str, Any]) -> dict[str, Any]:
    """The students of the browser part: join and say so; then per line on stdin, "go": every
    student asks within one second (a JSON line when all are acknowledged), "withdraw": every
    student withdraws, "end": leave."""
    port, token, n = job["port"], job["token"], job["n"]
    students, _sids = await join_students(port, token, job["code"], n, "student")
    print("joined", flush=True)
    burst_students = students[: job.get("burst", n)]
    loop = asyncio.get_running_loop()
    for _ in range(2 * job["rounds"] + 1):
        line = await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), 300)
        command = line.strip()
        if command == "go":
            sent, acks = await fire_burst(burst_students, job["cell_id"], job["spread"])
            acked = [(a.result()["_t"] - t) * 1000 for a, t in zip(acks, sent, strict=True)]
            burst = {
                "sent_over_ms": ms(max(sent) - min(sent)),
                "ack_latency_ms": summarize(acked, 2),
                "acks": sum(a.result().get("type") == "help_ack" for a in acks),
            }
            print(json.dumps(burst), flush=True)
        elif command == "withdraw":
            cell_id = job["cell_id"]
            await asyncio.gather(
                *(s.request("help_withdraw", cell_id=cell_id) for s in burst_students)
            )
            print("withdrawn", flush=True)
        else:
            break
    await leave_all(students)
    return {"students": n}


async def inprocess_job(job: dict[str, Any]) -> dict[str, Any]:
    """``ProgressFeed.matrix`` on the data the wire part left, in this process: the SQLite file
    (its server stopped) or the same Redis keys. CPU time of this process (and of redis)."""
    from notebook_sync_ydoc.engines import load_engine
    from notebook_sync_ydoc.protocol.messages import encode, progress_snapshot, progress_update
    from notebook_sync_ydoc.session import ServiceConfig, SyncService
    from notebook_sync_ydoc.session.progress import build_view, diff_views
    from notebook_sync_ydoc.store.base import Store

    log = logging.getLogger("bench")
    store: Store
    if job["store"] == "sqlite":
        from notebook_sync_ydoc.store.sqlite import SQLiteStore

        store = SQLiteStore(job["path"], server_id="bench")
    else:
        from notebook_sync_ydoc.store.redis import RedisStore

        store = RedisStore(job["url"], prefix=job["prefix"], server_id="bench")
    engine, _ = load_engine(True, log)
    service = SyncService(store, engine, ServiceConfig(rate_limits=None), log)
    await service.start()
    feed = service.fanout.progress
    code, pids = job["code"], job["pids"]
    runs = []
    try:
        for _ in range(job["snapshots"]):
            before = cpu_of(pids)
            c0, w0 = time.process_time(), time.perf_counter()
            entries, students, requests = await asyncio.gather(
                store.list_cells(code), store.list_students(code), store.list_help(code)
            )
            c1, w1 = time.process_time(), time.perf_counter()
            view = build_view(entries, students, requests)
            c2 = time.process_time()
            text = encode(progress_snapshot(code, 1, *view))
            c3, w3 = time.process_time(), time.perf_counter()
            # the feed's own method (the same three reads and build, and the encoding)
            m0 = time.process_time()
            whole = await feed.matrix(code)
            m1 = time.process_time()
            # a progress_update: the diff of two views; nothing changed, then one cell's status
            # changed for every tenth student (a push of a cell they had pulled)
            d0 = time.process_time()
            same = diff_views(view, build_view(entries, students, requests))
            d1 = time.process_time()
            cells, rows = view
            pushed = dict(rows)
            for sid in list(rows)[::10]:
                name, user, online, row = rows[sid]
                pushed[sid] = (name, user, online, (("k", 99, 1), *row[1:]))
            d2 = time.process_time()
            change = diff_views(view, (cells, pushed))
            assert change is not None
            delta = encode(progress_update(code, 1, 2, *change))
            d3 = time.process_time()
            roster = encode(await service.fanout.roster(code))  # what each roster_update costs
            m2 = time.process_time()
            runs.append(
                {
                    "read_cpu_ms": ms(c1 - c0),
                    "read_wall_ms": ms(w1 - w0),
                    "build_cpu_ms": ms(c2 - c1),
                    "encode_cpu_ms": ms(c3 - c2),
                    "total_cpu_ms": ms(c3 - c0),
                    "total_wall_ms": ms(w3 - w0),
                    "matrix_method_cpu_ms": ms(m1 - m0),
                    "build_and_diff_unchanged_cpu_ms": ms(d1 - d0),
                    "unchanged": same is None,
                    "diff_and_encode_tenth_changed_cpu_ms": ms(d3 - d2),
                    "delta_tenth_changed_bytes": len(delta.encode()),
                    "roster_update_cpu_ms": ms(m2 - m1),
                    "roster_update_bytes": len(roster.encode()),
                    "bytes": len(text.encode()),
                    "other_cpu_ms": cpu_delta(before, pids),
                }
            )
        assert len(whole["students"]) == job["students"], len(whole["students"])
    finally:
        await service.stop()
    return {"runs": runs, "students": len(students), "cells": len(entries)}


JOBS = {
    "progress": progress_job,
    "burst": burst_job,
    "page_burst": page_burst_job,
    "inprocess": inprocess_job,
}


def job_main(raw: str) -> int:
    job = json.loads(raw)
    result = asyncio.run(asyncio.wait_for(JOBS[job["kind"]](job), job.get("timeout", 300)))
    print(json.dumps(result), flush=True)
    return 0


# --------------------------------------------------------------------------------------------
# orchestrator side
def run_job(job: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--job", json.dumps(job)],
        capture_output=True,
        text=True,
        timeout=job.get("timeout", 300) + 60,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"job {job['kind']} failed:\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def warnings(log: str) -> dict[str, int]:
    """The server's warnings, by reason (session codes and ports left out)."""
    counts: dict[str, int] = {}
    for line in log.splitlines():
        if line.startswith("[W") and "notebook-sync:" in line:
            reason = line.split("notebook-sync:", 1)[1].strip()
            reason = re.sub(r"session [A-Z0-9]{6,}", "session CODE", reason)
            reason = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", reason)
            counts[reason] = counts.get(reason, 0) + 1
    return counts


def commandstats(redis_proc: Any) -> dict[str, dict[str, float]]:
    """Redis's own count and time of each command so far (the whole run on this store)."""
    with redis_proc.client() as client:
        stats = client.info("commandstats")
    keep = ("evalsha", "pexpire", "hgetall", "publish")
    return {
        name: {"calls": v["calls"], "usec_per_call": v["usec_per_call"]}
        for key, v in stats.items()
        if (name := key.removeprefix("cmdstat_")) in keep
    }


def store_part(tmp: Path, store: str, args: argparse.Namespace) -> dict[str, Any]:
    """One server with this store: the progress job, the burst job, then in-process builds."""
    from notebook_sync_ydoc.testing import JupyterServerProcess

    options: dict[str, Any] = dict(UNLIMITED)
    redis_proc = None
    pids_extra: list[int] = []
    prefix = "nbsync-bench:"
    if store == "redis":
        from redis_fixtures import RedisServer

        redis_proc = RedisServer(tmp / "redis", appendonly=False)
        redis_proc.start()
        assert redis_proc.process is not None
        pids_extra = [redis_proc.process.pid]
        options.update(redis_url=redis_proc.url, key_prefix=prefix)
    server = JupyterServerProcess(tmp / f"server-{store}", options=options).start()
    out: dict[str, Any] = {"store": store}
    try:
        assert server.proc is not None
        pids = [server.proc.pid, *pids_extra]
        kind = server.status()["store"]["kind"]
        out["store_kind"] = kind
        base = {"port": server.port, "token": server.token, "pids": pids}
        out["wire"] = run_job(
            {
                **base,
                "kind": "progress",
                "students": args.students,
                "cells": CELLS,
                "snapshots": SNAPSHOTS,
                "pushes": PUSHES,
            }
        )
        out["burst"] = run_job({**base, "kind": "burst", "n": BURST, "spread": BURST_SECONDS})
        inproc: dict[str, Any] = {
            "kind": "inprocess",
            "store": store,
            "code": out["wire"]["code"],
            "students": args.students,
            "snapshots": SNAPSHOTS,
            "pids": pids_extra,
        }
        out["server_warnings"] = warnings(server.log_text())
        if store == "redis":
            assert redis_proc is not None
            out["redis_commandstats"] = commandstats(redis_proc)
            out["inprocess"] = run_job({**inproc, "url": redis_proc.url, "prefix": prefix})
        else:
            server.stop()  # one file, one server process
            out["inprocess"] = run_job({**inproc, "path": server.options["store_path"]})
    except BaseException:
        print(server.log_tail(40), file=sys.stderr)
        raise
    finally:
        server.stop()
        if redis_proc is not None:
            redis_proc.stop()
    return out


# Before the page loads: when each help_update frame reaches the page's event loop.
ARRIVALS = """(() => {
  const Base = window.WebSocket;
  const arrivals = [];
  window.__nbArrivals = arrivals;
  window.WebSocket = class extends Base {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', e => {
        if (typeof e.data === 'string' && e.data.startsWith('{"type":"help_update"')) {
          arrivals.push(performance.now());
        }
      });
    }
  };
})();"""

OBSERVE = """(target) => {
  const s = {t0: performance.now(), target, long: [], events: [], probe: [], first: null,
             all: null, renders: 0};
  try {
    new PerformanceObserver(l => { for (const e of l.getEntries())
      s.long.push([e.startTime - s.t0, e.duration]); })
      .observe({type: 'longtask', buffered: false});
  } catch (e) { s.noLongtask = String(e); }
  try {
    new PerformanceObserver(l => { for (const e of l.getEntries())
      s.events.push([e.name, e.startTime - s.t0, e.processingStart - e.startTime, e.duration]);
    }).observe({type: 'event', durationThreshold: 16, buffered: false});
  } catch (e) { s.noEventTiming = String(e); }
  const check = () => {
    const t = document.querySelector('.jp-nbsync-help-title');
    const m = t && /\\((\\d+)\\)/.exec(t.textContent);
    const n = m ? Number(m[1]) : 0;
    const now = performance.now() - s.t0;
    s.renders++;
    if (n > 0 && s.first === null) s.first = now;
    if (n >= s.target && s.all === null) s.all = now;
  };
  s.frames = [];
  try {  // long animation frames: where a long one's time went (scripts, style and layout)
    new PerformanceObserver(l => { for (const e of l.getEntries()) {
      const scripts = e.scripts.map(x => [x.invoker, Math.round(x.duration),
                                          Math.round(x.forcedStyleAndLayoutDuration)]);
      s.frames.push([e.startTime - s.t0, Math.round(e.duration), Math.round(e.blockingDuration),
                     Math.round(e.startTime + e.duration - e.styleAndLayoutStart), scripts]);
    } }).observe({type: 'long-animation-frame', buffered: false});
  } catch (e) { s.noLoaf = String(e); }
  s.observer = new MutationObserver(check);
  s.observer.observe(document.querySelector('#notebook-sync-panel'),
                     {subtree: true, childList: true, characterData: true});
  let b = document.getElementById('nbsync-bench-probe');
  if (!b) {
    b = document.createElement('button');
    b.id = 'nbsync-bench-probe';
    b.textContent = 'probe';
    b.style.cssText = 'position:fixed;left:4px;bottom:4px;z-index:100000;width:80px;height:30px';
    document.body.appendChild(b);
  }
  b.onclick = ev => { s.probe.push([ev.timeStamp - s.t0, performance.now() - ev.timeStamp]); };
  window.__nbBench = s;
  const r = b.getBoundingClientRect();
  return [r.left + r.width / 2, r.top + r.height / 2];
}"""

REPORT = """() => { const s = window.__nbBench; s.observer.disconnect();
  const t = document.querySelector('.jp-nbsync-help-title');
  const arrivals = (window.__nbArrivals || []).filter(t => t >= s.t0).map(t => t - s.t0);
  const elements = document.querySelectorAll('#notebook-sync-panel *').length;
  return {arrivals, elements, long: s.long, events: s.events, probe: s.probe, first: s.first,
          all: s.all,
          renders: s.renders, title: t ? t.textContent : null,
          items: document.querySelectorAll('.jp-nbsync-help-queue .jp-nbsync-help-item').length,
          frames: s.frames,
          noLongtask: s.noLongtask || null, noEventTiming: s.noEventTiming || null}; }"""


def browser_part(
    tmp: Path,
    n: int,
    profile: bool = False,
    students: int | None = None,
    cells: int = 1,
    shots: Path | None = None,
) -> dict[str, Any]:
    """The teacher's JupyterLab page while ``n`` help requests arrive within one second, with
    ``students`` in the session (default ``n``) and ``cells`` shared cells (the burst asks on
    the first one)."""
    from conftest import (
        CHROMIUM,
        CHROMIUM_FLAGS,
        TEACHER_CELLS,
        _cell,
        _start_lab,
        _stop_lab,
        write_notebook,
    )
    from playwright.sync_api import sync_playwright
    from test_classroom import Lab, share, start_session

    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    members = students or n
    lab = _start_lab(tmp / "lab")
    extra = [f"t-c{j:02d}" for j in range(1, cells)]
    if extra:  # a class-sized notebook: t-sum and cells - 1 more code cells, all shared
        nb_cells = [_cell(*c) for c in TEACHER_CELLS]
        nb_cells += [_cell(cid, "code", cell_source(j, 0)) for j, cid in enumerate(extra)]
        write_notebook(lab.root / "teacher.ipynb", nb_cells)
    out: dict[str, Any] = {"students": members, "burst": n, "shared_cells": cells}
    proc: subprocess.Popen[str] | None = None
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
            )
            try:
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                context.set_default_timeout(60_000)
                page = context.new_page()
                out["chromium"] = browser.version
                page.add_init_script(ARRIVALS)
                teacher = Lab(page, lab, "teacher.ipynb").open()
                code = start_session(teacher)
                for cell_id in ["t-sum", *extra]:
                    share(teacher, cell_id)
                teacher.open_panel()
                port = int(lab.url.rstrip("/").rsplit(":", 1)[1])
                job = {"kind": "page_burst", "port": port, "token": lab.token, "code": code}
                job.update(n=members, burst=n, cell_id="t-sum", spread=BURST_SECONDS)
                job.update(rounds=PAGE_ROUNDS)
                proc = subprocess.Popen(
                    [sys.executable, __file__, "--job", json.dumps(job)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    cwd=ROOT,
                )
                assert proc.stdout is not None and proc.stdin is not None
                if proc.stdout.readline().strip() != "joined":
                    raise RuntimeError("the students did not join")
                # every student is in the page's progress table before the burst (its rows,
                # or the count of a table that draws only the rows in view)
                page.wait_for_function(
                    "n => { const t = document.querySelector('.jp-nbsync-progress');"
                    " return !!t && (Number(t.dataset.students || 0) >= n"
                    " || t.querySelectorAll('tbody tr').length >= n); }",
                    arg=members,
                    timeout=180_000,
                )
                rounds = []
                for r in range(PAGE_ROUNDS):
                    rounds.append(page_round(page, context, proc, n, profile and r == 0))
                    if r == 0:
                        page.screenshot(path=str((shots or tmp) / "teacher-burst.png"))
                    proc.stdin.write("withdraw\n" if r < PAGE_ROUNDS - 1 else "end\n")
                    proc.stdin.flush()
                    if r < PAGE_ROUNDS - 1:
                        if proc.stdout.readline().strip() != "withdrawn":
                            raise RuntimeError("the students did not withdraw")
                        page.locator(
                            ".jp-nbsync-help-title", has_text="Help requests (0)"
                        ).wait_for()
                proc.wait(60)
                out["rounds"] = rounds
                out["page"] = combine_rounds([r["page"] for r in rounds])
                out["profile_top"] = rounds[0].get("profile_top", [])
                out["profiled_round"] = 1 if profile else None
            finally:
                browser.close()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
        _stop_lab(lab)
    return out


def page_round(
    page: Any, context: Any, proc: subprocess.Popen[str], n: int, profile: bool
) -> dict[str, Any]:
    """One burst: observe the page, say go, click the probe back to back until the queue shows
    ``n`` (bounded), collect."""
    assert proc.stdin is not None and proc.stdout is not None
    out: dict[str, Any] = {}
    x, y = page.evaluate(OBSERVE, n)
    cdp = None
    if profile:
        cdp = context.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 200})
        cdp.send("Profiler.start")
    started = time.perf_counter()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    clicks: list[float] = []
    for k in range(MAX_CLICKS):
        t0 = time.perf_counter()
        page.mouse.click(x, y)
        clicks.append((time.perf_counter() - t0) * 1000)
        if k % 5 == 4 and page.evaluate("() => window.__nbBench.all !== null"):
            break
        if time.perf_counter() - started > 60:
            break
    page.wait_for_function("() => window.__nbBench.all !== null")
    report = page.evaluate(REPORT)
    if cdp is not None:
        out["profile_top"] = hot_functions(cdp.send("Profiler.stop")["profile"])
        cdp.detach()
    out["students_side"] = json.loads(proc.stdout.readline())
    out["page"] = summarize_page(report, clicks)
    return out


def combine_rounds(pages: list[dict[str, Any]]) -> dict[str, Any]:
    """The rounds side by side: the worst long task of any, medians of the rest."""
    keys = ("queue_shows_all_ms", "queue_shows_first_ms", "long_task_total_ms", "long_tasks")
    out: dict[str, Any] = {"rounds": len(pages)}
    out["longest_task_ms"] = max(p["longest_task_ms"] for p in pages)
    out["longest_task_ms_per_round"] = [p["longest_task_ms"] for p in pages]
    for key in keys:
        out[key] = median([p[key] for p in pages])
        out[key + "_per_round"] = [p[key] for p in pages]
    delays = [p["click_handler_delay_ms"] for p in pages]
    out["click_handler_delay_ms"] = {
        "n": sum(d["n"] for d in delays),
        "p50": median([d["p50"] for d in delays]),
        "p99": median([d["p99"] for d in delays]),
        "max": max(d["max"] for d in delays),
    }
    trips = [p["click_round_trip_ms"] for p in pages]
    out["click_round_trip_ms"] = {
        "p50": median([d["p50"] for d in trips]),
        "max": max(d["max"] for d in trips),
    }
    out["clicks_handled"] = sum(p["clicks_handled"] for p in pages)
    out["clicks_sent"] = sum(p["clicks_sent"] for p in pages)
    return out


def hot_functions(profile: dict[str, Any], top: int = 25) -> list[dict[str, Any]]:
    """The page's CPU profile during the burst: per function, self and inclusive ms."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    interval: dict[int, float] = {}
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        interval[sample] = interval.get(sample, 0.0) + delta / 1000
    parent = {c: node["id"] for node in profile["nodes"] for c in node.get("children", [])}

    def name(node: dict[str, Any]) -> str:
        frame = node["callFrame"]
        where = frame["url"].rsplit("/", 1)[-1]
        return f"{frame['functionName'] or '(anonymous)'} {where}:{frame['lineNumber'] + 1}"

    self_ms: dict[str, float] = {}
    total_ms: dict[str, float] = {}
    for node_id, spent in interval.items():
        key = name(nodes[node_id])
        self_ms[key] = self_ms.get(key, 0.0) + spent
        seen: set[str] = set()
        current: int | None = node_id
        for _ in range(500):  # a stack's depth
            if current is None:
                break
            key = name(nodes[current])
            if key not in seen:
                seen.add(key)
                total_ms[key] = total_ms.get(key, 0.0) + spent
            current = parent.get(current)
    ranked = sorted(total_ms, key=lambda k: -total_ms[k])
    skip = ("(root)", "(idle)")
    return [
        {"function": k, "total_ms": round(total_ms[k], 1), "self_ms": round(self_ms.get(k, 0), 1)}
        for k in ranked
        if not k.startswith(skip)
    ][:top]


def summarize_page(report: dict[str, Any], clicks: list[float]) -> dict[str, Any]:
    longs = sorted(report["long"], key=lambda e: -e[1])
    probe = [d for _t, d in report["probe"]]
    click_events = [e for e in report["events"] if e[0] in ("pointerdown", "mousedown", "click")]
    arrivals = report["arrivals"]
    return {
        "help_updates_reached_page": len(arrivals),
        "first_help_update_at_ms": round(arrivals[0], 1) if arrivals else None,
        "last_help_update_at_ms": round(arrivals[-1], 1) if arrivals else None,
        "queue_shows_first_ms": round(report["first"] or -1, 1),
        "queue_shows_all_ms": round(report["all"] or -1, 1),
        "queue_title": report["title"],
        "queue_items": report["items"],
        "panel_mutation_batches": report["renders"],
        "panel_elements": report["elements"],
        "long_tasks": len(longs),
        "longest_task_ms": round(longs[0][1], 1) if longs else 0.0,
        "long_task_total_ms": round(sum(d for _s, d in longs), 1),
        "long_tasks_top": [[round(s, 1), round(d, 1)] for s, d in longs[:8]],
        "clicks_sent": len(clicks),
        "clicks_handled": len(probe),
        "click_handler_delay_ms": summarize(probe, 1),
        "click_round_trip_ms": summarize(clicks, 1),
        "event_timing_over_16ms": len(click_events),
        "event_timing_worst": sorted(click_events, key=lambda e: -e[3])[:3],
        "long_frames_top": [
            {
                "at_ms": round(f[0], 1),
                "duration_ms": f[1],
                "blocking_ms": f[2],
                "style_layout_paint_ms": f[3],
                "scripts": sorted(f[4], key=lambda x: -x[1])[:4],
            }
            for f in sorted(report.get("frames", []), key=lambda f: -f[1])[:5]
        ],
        "no_longtask": report["noLongtask"],
        "no_event_timing": report["noEventTiming"],
    }


def show(results: dict[str, Any]) -> None:
    n = results["settings"]["students"]
    print(f"\nProgress view, {n} students x {CELLS} cells (medians of the runs)")
    print(
        "  store    snapshot ms  bytes       server CPU ms  in-process CPU ms"
        " (read / build / encode)  update ms  update bytes"
    )
    for part in results["stores"]:
        wire, inproc = part["wire"], part["inprocess"]["runs"]
        snap, upd = wire["snapshots"], wire["updates"]
        cpu = median([r["total_cpu_ms"] for r in inproc])
        parts = [median([r[k] for r in inproc]) for k in ("read_cpu_ms", "build_cpu_ms")]
        parts.append(median([r["encode_cpu_ms"] for r in inproc]))
        print(
            f"  {part['store']:<7}  {median([s['wall_ms'] for s in snap]):11.1f}"
            f"  {snap[-1]['bytes']:>10,}  {median([s['cpu_ms'][0] for s in snap]):13.1f}"
            f"  {cpu:17.1f} ({parts[0]:.1f} / {parts[1]:.1f} / {parts[2]:.1f})"
            f"  {median([u['latency_ms'] for u in upd]):>9.1f}  {upd[-1]['bytes']:>12,}"
        )
    print(f"\nBurst: {BURST} help requests within {BURST_SECONDS:.0f} s")
    print(
        "  store    teacher got  help_list  refused  lost  latency p50 / p99 / max ms"
        "  server CPU ms"
    )
    for part in results["stores"]:
        b = part["burst"]
        lat = b["latency_ms"]
        print(
            f"  {part['store']:<7}  {b['distinct_students_in_updates']:>11}  {b['help_list']:>9}"
            f"  {b['refused']:>7}  {b['lost']:>4}  {lat['p50']:8.1f} / {lat['p99']:6.1f}"
            f" / {lat['max']:6.1f}  {b['cpu_ms'][0]:13.1f}"
        )
    page = results.get("browser", {}).get("page")
    if page:
        print(f"\nThe teacher's page (Chromium) during the burst ({page['rounds']} rounds)")
        print(
            f"  longest task {page['longest_task_ms']:.0f} ms (per round"
            f" {page['longest_task_ms_per_round']}; median {page['long_tasks']} long tasks,"
            f" {page['long_task_total_ms']:.0f} ms in all); the queue shows"
            f" {BURST} after {page['queue_shows_all_ms']:.0f} ms"
            f" (the first after {page['queue_shows_first_ms']:.0f} ms)"
        )
        d, r = page["click_handler_delay_ms"], page["click_round_trip_ms"]
        print(
            f"  {page['clicks_handled']} clicks: handled after p50 {d['p50']:.1f} / p99"
            f" {d['p99']:.1f} / max {d['max']:.1f} ms; Playwright's round trip p50"
            f" {r['p50']:.1f} / max {r['max']:.1f} ms"
        )
    for row in results.get("browser", {}).get("profile_top", [])[:20]:
        print(f"  {row['total_ms']:8.1f} ms  (self {row['self_ms']:6.1f})  {row['function']}")


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--job":
        return job_main(sys.argv[2])
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100 students; nothing written")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--stores", default="sqlite,redis", help="'' for the browser part only")
    parser.add_argument("--out", type=Path, help=f"results file (default {OUT.relative_to(ROOT)})")
    parser.add_argument(
        "--page-students",
        type=int,
        default=None,
        help=f"students in the page's session (default {BURST}: the burst's)",
    )
    parser.add_argument(
        "--page-cells", type=int, default=1, help="shared cells of the page's notebook (default 1)"
    )
    parser.add_argument(
        "--screenshot", type=Path, help="a folder to keep the page's screenshot after a burst in"
    )
    parser.add_argument(
        "--profile", action="store_true", help="a CPU profile of the page during the burst"
    )
    args = parser.parse_args()
    args.students = 100 if args.quick else STUDENTS
    started = time.monotonic()
    results: dict[str, Any] = {
        "command": "python tests/benchmarks/help_progress.py"
        + (" --quick" if args.quick else "")
        + (" --no-browser" if args.no_browser else "")
        + (f" --stores '{args.stores}'" if args.stores != "sqlite,redis" else "")
        + (f" --page-students {args.page_students}" if args.page_students else "")
        + (f" --page-cells {args.page_cells}" if args.page_cells != 1 else ""),
        "machine": machine(),
        "load_average_at_start": loadavg(),
        "settings": {
            "students": args.students,
            "cells": CELLS,
            "burst": BURST,
            "burst_seconds": BURST_SECONDS,
            "snapshots": SNAPSHOTS,
            "pushes": PUSHES,
            "roster_interval_s": 0.1,
        },
        "stores": [],
        "notes": [
            f"student i has pulled cells 0 .. i % {PULL_SPREAD} - 1; cells 5 .. 14 were pushed "
            "again after the pulls (behind); every tenth student asks for help on one cell",
            "update ms: from push_cell sent to the progress_update that shows it, which waits "
            "roster_interval (0.1 s) to coalesce a burst",
            "browser: round 1 runs under the CPU profiler (--profile)",
        ],
    }
    with tempfile.TemporaryDirectory(prefix="nbsync-help-") as tmp:
        for store in [s for s in args.stores.split(",") if s]:
            print(time.strftime("%H:%M:%S"), "store", store, flush=True)
            results["stores"].append(store_part(Path(tmp) / store, store, args))
        if not args.no_browser:
            print(time.strftime("%H:%M:%S"), "browser", flush=True)
            results["browser"] = browser_part(
                Path(tmp) / "browser",
                BURST,
                args.profile,
                args.page_students,
                args.page_cells,
                args.screenshot,
            )
    results["load_average_at_end"] = loadavg()
    results["seconds"] = round(time.monotonic() - started, 1)
    show(results)
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=1) + "\n")
        print(f"\nwrote {args.out} ({results['seconds']} s)")
    elif args.quick:
        quick = Path(tempfile.gettempdir()) / "help_progress_quick.json"
        quick.write_text(json.dumps(results, indent=1) + "\n")
        print(f"\nwrote {quick} ({results['seconds']} s)")
    else:
        OUT.write_text(json.dumps(results, indent=1) + "\n")
        print(f"\nwrote {OUT.relative_to(ROOT)} ({results['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
