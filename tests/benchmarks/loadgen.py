"""Load generator: one process, separate from the servers, that drives one measurement and
prints its result as one JSON line on stdout.

    python tests/benchmarks/loadgen.py '<json job>'

Jobs (``job["kind"]``): ``fanout`` (system nbsync | bare | collab; ``gen_procs`` > 1 spreads
the clients over that many generator processes, ``fanout_part``), ``herd``, ``push_cost``,
``latency`` (one student, one server or across servers), ``redis_rtt``, ``soak``, ``lesson``
(see lesson.py). Loopback only; every wait has a timeout and every loop a bound. The process's
own garbage collector is off while it measures (a client-side pause is not the server's), the
same for every system; the long ``lesson`` job freezes its set-up objects and collects once per
push instead, so its own memory stays bounded.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import itertools
import json
import os
import sys
import time
import urllib.request
from array import array
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from procstat import cpu_seconds, cpu_total, loadavg, rss_bytes
from wsclient import OP_BINARY, WSClient, connect, connect_many

HOST = "127.0.0.1"
WAIT = 30.0  # seconds: the longest any single step may take
SELF = str(Path(__file__).resolve())  # the split fan-out starts more of these


# --------------------------------------------------------------------------------------------
# notebook-sync clients
class Nb:
    """One connection to /notebook-sync/ws: requests matched by req_id, hooks for the rest."""

    _ids = itertools.count(1)

    def __init__(self) -> None:
        self.ws: WSClient | None = None
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.last_seq = 0  # newest update_available seq seen
        self.notified_at = 0.0
        self.round_event: asyncio.Event | None = None
        self.counter: list[int] | None = None
        self.target = 0
        self.reply_bytes: list[int] = []

    def on_message(self, ws: WSClient, op: int, payload: bytes, now: float) -> None:
        msg = json.loads(payload)
        rid = msg.get("req_id")
        if rid is not None:
            fut = self.pending.pop(rid, None)
            if fut is not None and not fut.done():
                msg["_t"] = now
                msg["_bytes"] = len(payload)
                fut.set_result(msg)
            return
        if msg.get("type") == "update_available" and msg["seq"] > self.last_seq:
            self.last_seq = msg["seq"]
            self.notified_at = now
            if self.counter is not None and msg["seq"] >= self.target:
                self.counter[0] -= 1
                if self.counter[0] == 0 and self.round_event is not None:
                    self.round_event.set()

    async def open(self, port: int, token: str) -> Nb:
        self.ws = await connect(
            HOST, port, "/notebook-sync/ws", self.on_message, {"Authorization": f"token {token}"}
        )
        return self

    def send(self, mtype: str, **fields: Any) -> asyncio.Future[dict[str, Any]]:
        rid = f"r{next(self._ids)}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        assert self.ws is not None
        self.ws.send_text(json.dumps({"type": mtype, "req_id": rid, **fields}))
        return fut

    async def request(self, mtype: str, **fields: Any) -> dict[str, Any]:
        reply = await asyncio.wait_for(self.send(mtype, **fields), WAIT)
        if reply.get("type") == "error":
            raise RuntimeError(f"{mtype}: {reply}")
        return reply


async def join(nb: Nb, code: str, name: str, retries: int, tally: list[int]) -> None:
    """join_session; a ``store_unavailable`` answer ("try again") is retried up to ``retries``
    times, a growing pause between (counted in ``tally[0]``), as a student's client would."""
    for attempt in range(retries + 1):
        reply = await asyncio.wait_for(nb.send("join_session", session_code=code, name=name), WAIT)
        if reply.get("type") != "error":
            return
        if reply.get("code") != "store_unavailable" or attempt == retries:
            raise RuntimeError(f"join_session: {reply}")
        tally[0] += 1
        await asyncio.sleep(0.5 * (attempt + 1))


def small_source(k: int) -> str:
    """A ~100-byte cell; each round is a typing-sized change of it."""
    return f"x = {k}\nprint('the teacher typed this line of the example cell', x)\n# step {k}\n"


async def nb_classroom(
    servers: list[dict[str, Any]], n: int, pids: list[int], retries: int = 0
) -> tuple[Nb, str, list[Nb], dict[str, Any]]:
    tally = [0]
    teacher = await Nb().open(servers[0]["port"], servers[0]["token"])
    code = (await teacher.request("create_session", title="bench"))["session_code"]
    await teacher.request("push_cell", cell_id="c", content={"source": small_source(0)})
    await asyncio.sleep(0.3)
    gc.collect()
    rss0 = sum(rss_bytes(p) for p in pids)
    started = time.perf_counter()

    async def student(i: int) -> Nb:
        s = servers[i % len(servers)]
        nb = await Nb().open(s["port"], s["token"])
        await join(nb, code, f"s{i}", retries, tally)
        return nb

    students: list[Nb] = await connect_many(n, student)  # type: ignore[assignment]
    connect_s = time.perf_counter() - started
    await asyncio.sleep(0.5)
    rss1 = sum(rss_bytes(p) for p in pids)
    info = {"rss_before": rss0, "rss_after": rss1, "connect_s": round(connect_s, 3)}
    if retries:
        info["join_retries"] = tally[0]
    return teacher, code, students, info


async def fanout_nbsync(job: dict[str, Any]) -> dict[str, Any]:
    servers, n, pids = job["servers"], job["n"], job["pids"]
    retries = job.get("join_retries", 0)
    teacher, _code, students, info = await nb_classroom(servers, n, pids, retries)
    latencies: list[float] = []
    cpu0 = 0.0
    counter = [0]
    event = asyncio.Event()
    for s in students:
        s.counter, s.round_event = counter, event
    total = job["warmup"] + job["rounds"]
    for k in range(1, total + 1):
        if k == job["warmup"] + 1:
            cpu0 = cpu_total(pids)
            gen0, wall0 = cpu_seconds(os.getpid()), time.perf_counter()
        event.clear()
        counter[0] = n
        # the seq this push will get: every student has seen the previous one
        target = max(s.last_seq for s in students) + 1
        for s in students:
            s.target = target
        t0 = time.perf_counter()
        ack = teacher.send("push_cell", cell_id="c", content={"source": small_source(k)})
        await asyncio.wait_for(event.wait(), WAIT)
        done = max(s.notified_at for s in students)
        await asyncio.wait_for(ack, WAIT)
        if k > job["warmup"]:
            latencies.append((done - t0) * 1000)
        await asyncio.sleep(job["gap"])
    cpu = cpu_total(pids) - cpu0
    gen = {
        "generator_cpu_s": cpu_seconds(os.getpid()) - gen0,
        "wall_s": time.perf_counter() - wall0,
    }
    await close_all([teacher, *students])
    return {**info, **gen, "latencies_ms": latencies, "cpu_s": cpu, "pushes": job["rounds"], "n": n}


async def close_all(conns: list[Any]) -> None:
    for group in range(0, len(conns), 100):
        await asyncio.gather(
            *(c.ws.close() for c in conns[group : group + 100] if c.ws is not None),
            return_exceptions=True,
        )


# --------------------------------------------------------------------------------------------
# bare Tornado broadcast
class Bare:
    def __init__(self) -> None:
        self.ws: WSClient | None = None
        self.got_at = 0.0
        self.target = -1
        self.counter: list[int] | None = None
        self.event: asyncio.Event | None = None

    def on_message(self, ws: WSClient, op: int, payload: bytes, now: float) -> None:
        msg = json.loads(payload)
        if msg.get("k") == self.target:
            self.got_at = now
            assert self.counter is not None and self.event is not None
            self.counter[0] -= 1
            if self.counter[0] == 0:
                self.event.set()


async def fanout_bare(job: dict[str, Any]) -> dict[str, Any]:
    port, n, pids = job["servers"][0]["port"], job["n"], job["pids"]
    origin = {"Origin": f"http://127.0.0.1:{port}"}
    editor = Bare()
    editor.ws = await connect(HOST, port, "/ws", editor.on_message, origin)
    await asyncio.sleep(0.3)
    rss0 = sum(rss_bytes(p) for p in pids)
    counter = [0]
    event = asyncio.Event()
    started = time.perf_counter()

    async def client(i: int) -> Bare:
        b = Bare()
        b.counter, b.event = counter, event
        b.ws = await connect(HOST, port, "/ws", b.on_message, origin)
        return b

    clients: list[Bare] = await connect_many(n, client)  # type: ignore[assignment]
    connect_s = time.perf_counter() - started
    await asyncio.sleep(0.5)
    rss1 = sum(rss_bytes(p) for p in pids)
    latencies: list[float] = []
    cpu0 = 0.0
    total = job["warmup"] + job["rounds"]
    for k in range(1, total + 1):
        if k == job["warmup"] + 1:
            cpu0 = cpu_total(pids)
            gen0, wall0 = cpu_seconds(os.getpid()), time.perf_counter()
        event.clear()
        counter[0] = n
        for c in clients:
            c.target = k
        body = json.dumps({"type": "edit", "k": k, "text": "x" * 70})  # ~100 bytes
        t0 = time.perf_counter()
        assert editor.ws is not None
        editor.ws.send_text(body)
        await asyncio.wait_for(event.wait(), WAIT)
        done = max(c.got_at for c in clients)
        if k > job["warmup"]:
            latencies.append((done - t0) * 1000)
        await asyncio.sleep(job["gap"])
    cpu = cpu_total(pids) - cpu0
    gen = {
        "generator_cpu_s": cpu_seconds(os.getpid()) - gen0,
        "wall_s": time.perf_counter() - wall0,
    }
    await close_all([editor, *clients])
    return {
        **gen,
        "latencies_ms": latencies,
        "cpu_s": cpu,
        "pushes": job["rounds"],
        "n": n,
        "rss_before": rss0,
        "rss_after": rss1,
        "connect_s": round(connect_s, 3),
        "message_bytes": len(body),
    }


# --------------------------------------------------------------------------------------------
# jupyter-collaboration: one editor, N viewers on one notebook room
class Viewer:
    def __init__(self) -> None:
        import pycrdt

        self.pycrdt = pycrdt
        self.doc = pycrdt.Doc()
        self.ws: WSClient | None = None
        self.synced: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.text: Any = None
        self.want_len = -1
        self.got_at = 0.0
        self.counter: list[int] | None = None
        self.event: asyncio.Event | None = None

    def on_message(self, ws: WSClient, op: int, payload: bytes, now: float) -> None:
        if op != OP_BINARY or not payload or payload[0] != 0:  # only sync messages
            return
        reply = self.pycrdt.handle_sync_message(payload[1:], self.doc)
        if reply is not None:
            ws.send_binary(reply)
        if payload[1] == 1 and not self.synced.done():  # SYNC_STEP2: the whole document
            cells = self.doc.get("cells", type=self.pycrdt.Array)
            if len(cells):
                self.text = cells[0]["source"]
                self.synced.set_result(None)
            return
        if self.text is not None and self.want_len >= 0 and len(str(self.text)) == self.want_len:
            self.want_len = -1
            self.got_at = now
            assert self.counter is not None and self.event is not None
            self.counter[0] -= 1
            if self.counter[0] == 0:
                self.event.set()

    async def open(self, port: int, path: str, headers: dict[str, str]) -> Viewer:
        self.ws = await connect(HOST, port, path, self.on_message, headers)
        self.ws.send_binary(self.pycrdt.create_sync_message(self.doc))
        await asyncio.wait_for(self.synced, WAIT)
        return self


def _collab_session(port: int, token: str, nb_path: str) -> dict[str, Any]:
    req = urllib.request.Request(
        f"http://{HOST}:{port}/api/collaboration/session/{nb_path}",
        data=json.dumps({"format": "json", "type": "notebook"}).encode(),
        method="PUT",
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=WAIT) as resp:
        data: dict[str, Any] = json.loads(resp.read())
        return data


async def fanout_collab(job: dict[str, Any]) -> dict[str, Any]:
    s, n, pids = job["servers"][0], job["n"], job["pids"]
    session = await asyncio.to_thread(_collab_session, s["port"], s["token"], job["notebook"])
    path = (
        f"/api/collaboration/room/json:notebook:{session['fileId']}"
        f"?sessionId={session['sessionId']}"
    )
    headers = {"Authorization": f"token {s['token']}"}
    editor = await Viewer().open(s["port"], path, headers)
    updates: list[bytes] = []
    sub = editor.doc.observe(lambda event: updates.append(event.update))
    await asyncio.sleep(0.5)
    gc.collect()
    rss0 = sum(rss_bytes(p) for p in pids)
    counter = [0]
    event = asyncio.Event()
    started = time.perf_counter()

    async def viewer(i: int) -> Viewer:
        v = Viewer()
        v.counter, v.event = counter, event
        return await v.open(s["port"], path, headers)

    viewers: list[Viewer] = await connect_many(n, viewer, batch=25)  # type: ignore[assignment]
    connect_s = time.perf_counter() - started
    await asyncio.sleep(0.5)
    rss1 = sum(rss_bytes(p) for p in pids)
    latencies: list[float] = []
    cpu0 = 0.0
    total = job["warmup"] + job["rounds"]
    update_bytes = 0
    for k in range(1, total + 1):
        if k == job["warmup"] + 1:
            cpu0 = cpu_total(pids)
        event.clear()
        counter[0] = n
        typed = f"#{k % 10}"  # typing-sized: two characters appended per edit
        want = len(str(editor.text)) + len(typed)
        for v in viewers:
            v.want_len = want
        updates.clear()
        t0 = time.perf_counter()
        editor.text += typed
        assert editor.ws is not None
        for update in updates:
            msg = editor.pycrdt.create_update_message(update)
            update_bytes = len(msg)
            editor.ws.send_binary(msg)
        await asyncio.wait_for(event.wait(), WAIT)
        done = max(v.got_at for v in viewers)
        if k > job["warmup"]:
            latencies.append((done - t0) * 1000)
        await asyncio.sleep(job["gap"])
    cpu = cpu_total(pids) - cpu0
    editor.doc.unobserve(sub)
    await close_all([editor, *viewers])
    return {
        "latencies_ms": latencies,
        "cpu_s": cpu,
        "pushes": job["rounds"],
        "n": n,
        "rss_before": rss0,
        "rss_after": rss1,
        "connect_s": round(connect_s, 3),
        "message_bytes": update_bytes,
    }


# --------------------------------------------------------------------------------------------
# herd pull
def herd_source(k: int) -> str:
    lines = [f"line_{i} = {i}  # part of the example\n" for i in range(12)]
    lines[1] = f"y = {k}  # the teacher changes this line\n"
    return "".join(lines)


async def herd(job: dict[str, Any]) -> dict[str, Any]:
    """Every student pulls the one cell at once after each push. ``edits``: each has typed a
    line of their own (merges). ``delta``: they pull as this project's clients do (the browser,
    ``StudentClient``): naming the base they hold (``base_seq``), so a reply carries the
    teacher's change as a delta and, for a merge, the merged text; without it, as a client from
    before delta pulls (the full text, and the CRDT update such replies carry)."""
    servers, n, pids = job["servers"], job["n"], job["pids"]
    edits: bool = job["edits"]
    delta: bool = job.get("delta", False)
    teacher, _code, students, _info = await nb_classroom(servers, n, pids)
    await teacher.request("push_cell", cell_id="h", content={"source": herd_source(0)})
    texts: dict[int, str] = {}
    bases: dict[int, int | None] = {}
    # first pull of every student (the full state), in batches
    for start in range(0, n, 50):
        extra: dict[str, Any] = {"base_seq": None} if delta else {}
        replies = await asyncio.gather(
            *(s.request("request_sync", cell_id="h", **extra) for s in students[start : start + 50])
        )
        for i, r in zip(range(start, start + 50), replies, strict=True):
            texts[i] = r["content"]["source"]
            bases[i] = r["seq"]
    if edits:  # every student types a line of their own at the end
        texts = {i: t + f"mine = {i}\n" for i, t in texts.items()}
    rates: list[float] = []
    elapsed_ms: list[float] = []
    statuses: dict[str, int] = {}
    kinds: dict[str, int] = {}
    cpu_used = 0.0
    reply_bytes = 0
    total = job["warmup"] + job["rounds"]
    for k in range(1, total + 1):
        ack = await teacher.request("push_cell", cell_id="h", content={"source": herd_source(k)})
        deadline = time.perf_counter() + WAIT
        while min(s.last_seq for s in students) < ack["seq"]:  # bounded by the deadline
            if time.perf_counter() > deadline:
                raise TimeoutError("herd: notifications did not arrive")
            await asyncio.sleep(0.005)
        cpu0 = cpu_total(pids)
        t0 = time.perf_counter()
        futures = [
            s.send(
                "request_sync",
                cell_id="h",
                local_source=texts[i],
                **({"base_seq": bases[i]} if delta else {}),
            )
            for i, s in enumerate(students)
        ]
        replies = await asyncio.wait_for(asyncio.gather(*futures), WAIT)
        t1 = max(r["_t"] for r in replies)
        cpu = cpu_total(pids) - cpu0
        for i, r in enumerate(replies):
            status = r.get("status", r.get("code"))
            statuses[status] = statuses.get(status, 0) + 1
            kind = "delta" if r.get("delta") else "full"
            kinds[kind] = kinds.get(kind, 0) + 1
            if r.get("type") == "cell_content_update":
                # a delta reply names the merged text only (else: the teacher's, k)
                texts[i] = r["content"].get("source", herd_source(k))
                bases[i] = r["seq"]
        if k > job["warmup"]:
            elapsed_ms.append((t1 - t0) * 1000)
            rates.append(n / (t1 - t0))
            cpu_used += cpu
            reply_bytes += sum(r["_bytes"] for r in replies)
        await asyncio.sleep(job["gap"])
    await close_all([teacher, *students])
    return {
        "n": n,
        "edits": edits,
        "delta": delta,
        "elapsed_ms": elapsed_ms,
        "pulls_per_s": rates,
        "cpu_s": cpu_used,
        "pulls": n * job["rounds"],
        "statuses": statuses,
        "replies": kinds,
        "reply_bytes": reply_bytes,
    }


async def herd_bare(job: dict[str, Any]) -> dict[str, Any]:
    """The herd pull's floor: N connections to the bare Tornado server's ``/echo`` (or
    ``/echo-async``) each send a request the size of a herd pull (or of ``request_bytes``: a
    push's floor, with N = 1) and wait for a reply the size of a delta pull's answer
    (``reply_bytes``), all at once, ``rounds`` times; the server's CPU per request."""
    port, n, pids = job["servers"][0]["port"], job["n"], job["pids"]
    path = job.get("path", "/echo")
    origin = {"Origin": f"http://127.0.0.1:{port}"}
    replies: dict[str, asyncio.Future[float]] = {}

    def on_message(ws: WSClient, op: int, payload: bytes, now: float) -> None:
        fut = replies.pop(json.loads(payload)["req_id"], None)
        if fut is not None and not fut.done():
            fut.set_result(now)

    async def client(i: int) -> WSClient:
        return await connect(HOST, port, path, on_message, origin)

    clients: list[WSClient] = await connect_many(n, client)  # type: ignore[assignment]
    source = herd_source(0)
    if job.get("request_bytes"):
        source = sized_source(job["request_bytes"])
    loop = asyncio.get_running_loop()
    rates: list[float] = []
    cpu_used = 0.0
    for k in range(1, job["warmup"] + job["rounds"] + 1):
        cpu0 = cpu_total(pids)
        t0 = time.perf_counter()
        futures = []
        for i, ws in enumerate(clients):
            rid = f"r{k}-{i}"
            replies[rid] = fut = loop.create_future()
            futures.append(fut)
            ws.send_text(
                json.dumps(
                    {
                        "type": "request_sync",
                        "req_id": rid,
                        "cell_id": "h",
                        "local_source": source,
                        "base_seq": k,
                        "reply_bytes": job.get("reply_bytes", 220),
                    }
                )
            )
        done = await asyncio.wait_for(asyncio.gather(*futures), WAIT)
        cpu = cpu_total(pids) - cpu0
        if k > job["warmup"]:
            rates.append(n / (max(done) - t0))
            cpu_used += cpu
        await asyncio.sleep(job["gap"])
    for ws in clients:
        await ws.close()
    return {"n": n, "pulls_per_s": rates, "cpu_s": cpu_used, "pulls": n * job["rounds"]}


# --------------------------------------------------------------------------------------------
# push cost against cell size, and bytes on the wire per pull
def sized_source(size: int) -> str:
    line = "value = compute(alpha, beta, gamma)  # a typical line of code\n"
    return (line * (size // len(line) + 1))[:size]


async def push_cost(job: dict[str, Any]) -> dict[str, Any]:
    """The teacher types into cells of 1-100 KB: a few characters inserted in the middle, a push
    after each; round trip to push_ack and the server's CPU time per push."""
    s, pids = job["servers"][0], job["pids"]
    teacher = await Nb().open(s["port"], s["token"])
    await teacher.request("create_session", title="push-cost")
    out: dict[str, Any] = {}
    for size in job["sizes"]:
        cell = f"c{size}"
        text = sized_source(size * 1024)
        await teacher.request("push_cell", cell_id=cell, content={"source": text})
        mid = len(text) // 2
        rtts: list[float] = []
        for _ in range(job["warmup"]):
            text = text[:mid] + "ab" + text[mid:]
            await teacher.request("push_cell", cell_id=cell, content={"source": text})
        cpu0 = cpu_total(pids)
        for _ in range(job["pushes"]):
            text = text[:mid] + "ab" + text[mid:]
            t0 = time.perf_counter()
            reply = await teacher.request("push_cell", cell_id=cell, content={"source": text})
            rtts.append((reply["_t"] - t0) * 1000)
        cpu = cpu_total(pids) - cpu0
        out[str(size)] = {"rtt_ms": rtts, "cpu_ms_per_push": cpu * 1000 / job["pushes"]}
    if teacher.ws is not None:
        await teacher.ws.close()
    return {"sizes": out}


async def wire_bytes(job: dict[str, Any]) -> dict[str, Any]:
    """A student who pulled a cell pulls again after a typing-sized edit: the reply's size, the
    CRDT delta's size and the full content's size."""
    s = job["servers"][0]
    teacher = await Nb().open(s["port"], s["token"])
    code = (await teacher.request("create_session", title="wire"))["session_code"]
    student = await Nb().open(s["port"], s["token"])
    await student.request("join_session", session_code=code)
    out: dict[str, Any] = {}
    for size in job["sizes"]:
        cell = f"w{size}"
        text = sized_source(size * 1024)
        await teacher.request("push_cell", cell_id=cell, content={"source": text})
        first = await student.request("request_sync", cell_id=cell)
        mid = len(text) // 2
        text = text[:mid] + "ab" + text[mid:]
        await teacher.request("push_cell", cell_id=cell, content={"source": text})
        again = await student.request(
            "request_sync", cell_id=cell, local_source=first["content"]["source"]
        )
        delta = base64.b64decode(again.get("update", ""))
        out[str(size)] = {
            "first_pull_frame_bytes": first["_bytes"],
            "first_pull_state_bytes": len(base64.b64decode(first.get("update", ""))),
            "pull_frame_bytes": again["_bytes"],
            "crdt_delta_bytes": len(delta),
            "crdt_delta_base64_bytes": len(again.get("update", "")),
            "full_content_bytes": len(again["content"]["source"].encode()),
            "status": again["status"],
        }
    await teacher.ws.close() if teacher.ws else None
    await student.ws.close() if student.ws else None
    return {"sizes": out}


# --------------------------------------------------------------------------------------------
# one student's notification latency (one server, or across servers through Redis)
async def latency(job: dict[str, Any]) -> dict[str, Any]:
    a, b = job["servers"][0], job["servers"][-1]
    teacher = await Nb().open(a["port"], a["token"])
    code = (await teacher.request("create_session", title="latency"))["session_code"]
    student = await Nb().open(b["port"], b["token"])
    await student.request("join_session", session_code=code)
    event = asyncio.Event()
    counter = [0]
    student.counter, student.round_event = counter, event
    out: list[float] = []
    for k in range(1, job["warmup"] + job["pushes"] + 1):
        event.clear()
        counter[0] = 1
        student.target = student.last_seq + 1
        t0 = time.perf_counter()
        ack = teacher.send("push_cell", cell_id="c", content={"source": small_source(k)})
        await asyncio.wait_for(event.wait(), WAIT)
        if k > job["warmup"]:
            out.append((student.notified_at - t0) * 1000)
        await asyncio.wait_for(ack, WAIT)
        await asyncio.sleep(job["gap"])
    await teacher.ws.close() if teacher.ws else None
    await student.ws.close() if student.ws else None
    return {"latencies_ms": out}


async def redis_rtt(job: dict[str, Any]) -> dict[str, Any]:
    import redis.asyncio as aioredis

    url = job["redis_url"]
    pub = aioredis.from_url(url)
    sub = aioredis.from_url(url)
    pubsub = sub.pubsub()
    await pubsub.subscribe("bench")
    await pubsub.get_message(timeout=1.0)  # the subscribe confirmation
    out: list[float] = []
    payload = json.dumps({"type": "cell", "code": "ABCDEF", "cell_id": "c", "seq": 1})
    for k in range(job["warmup"] + job["reps"]):
        t0 = time.perf_counter()
        await pub.publish("bench", payload)
        msg = None
        deadline = t0 + WAIT
        while msg is None and time.perf_counter() < deadline:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=WAIT)
        if msg is None:
            raise TimeoutError("no pub/sub message")
        if k >= job["warmup"]:
            out.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(job["gap"])
    await pubsub.aclose() if hasattr(pubsub, "aclose") else await pubsub.close()
    await pub.aclose() if hasattr(pub, "aclose") else await pub.close()
    await sub.aclose() if hasattr(sub, "aclose") else await sub.close()
    return {"latencies_ms": out}


async def soak(job: dict[str, Any]) -> dict[str, Any]:
    """A long lesson: ``n`` students, a push every ``period`` seconds for ``seconds``, the
    teacher not waiting for the fan-out. At the end every student must have been told of the
    last push; the server's memory is sampled along the way."""
    servers, n, pids = job["servers"], job["n"], job["pids"]
    teacher, _code, students, info = await nb_classroom(servers, n, pids)
    rss: list[tuple[float, int]] = []
    start = time.perf_counter()
    next_sample = start
    k, last_seq = 0, 0
    pending: list[asyncio.Future[dict[str, Any]]] = []
    while time.perf_counter() - start < job["seconds"]:  # bounded by the wall clock
        k += 1
        pending.append(teacher.send("push_cell", cell_id="c", content={"source": small_source(k)}))
        if len(pending) >= 50:
            last_seq = max(last_seq, *[(await asyncio.wait_for(f, WAIT))["seq"] for f in pending])
            pending.clear()
        if time.perf_counter() >= next_sample:
            gc.collect()
            rss.append((round(time.perf_counter() - start, 1), sum(rss_bytes(p) for p in pids)))
            next_sample += job["sample_every"]
        await asyncio.sleep(job["period"])
    for f in pending:
        last_seq = max(last_seq, (await asyncio.wait_for(f, WAIT))["seq"])
    lagging = [s for s in students if s.last_seq < last_seq]
    if lagging:  # wait (bounded) for the last notifications to land
        event, counter = asyncio.Event(), [len(lagging)]
        for s in lagging:
            s.counter, s.round_event, s.target = counter, event, last_seq
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), WAIT)
    missed = sum(1 for s in students if s.last_seq < last_seq)
    await asyncio.sleep(0.5)
    gc.collect()
    rss.append((round(time.perf_counter() - start, 1), sum(rss_bytes(p) for p in pids)))
    await close_all([teacher, *students])
    return {**info, "n": n, "pushes": k, "last_seq": last_seq, "missed": missed, "rss": rss}


# --------------------------------------------------------------------------------------------
# a lesson: pushes every ``period`` s, a share of the students pulling within ``pull_window`` s
class LessonState:
    """What the students of one lesson share: the send time of each push by the seq it gets,
    every student's notification latency (an array of doubles, not a list of floats: 810,000
    samples in a 90-minute lesson of 300 stay 6.5 MB and out of the garbage collector's way), and
    per push how many students are still to be told."""

    def __init__(self) -> None:
        self.push_t0: dict[int, float] = {}
        self.notify_ms = array("d")
        self.notify_bytes = 0
        self.notifications = 0
        self.remaining: dict[int, list[float]] = {}  # seq -> [students left, newest arrival]
        self.fanout_ms = array("d")  # per push: until the last student was told
        self.incomplete_pushes = 0


class LessonStudent(Nb):
    def __init__(self, state: LessonState) -> None:
        super().__init__()
        self.state = state

    def on_message(self, ws: WSClient, op: int, payload: bytes, now: float) -> None:
        if b'"update_available"' not in payload:
            super().on_message(ws, op, payload, now)
            return
        msg = json.loads(payload)
        seq = msg.get("seq", 0)
        if msg.get("type") != "update_available" or seq <= self.last_seq:
            return
        self.last_seq, self.notified_at = seq, now
        st = self.state
        st.notifications += 1
        st.notify_bytes += len(payload)
        t0 = st.push_t0.get(seq)
        if t0 is None:
            return
        st.notify_ms.append((now - t0) * 1000)
        left = st.remaining.get(seq)
        if left is not None:
            left[0] -= 1
            left[1] = max(left[1], now)
            if left[0] <= 0:
                st.fanout_ms.append((left[1] - t0) * 1000)
                del st.remaining[seq]


def _pct(values: Any, q: float) -> float | None:
    if not len(values):
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


async def lesson(job: dict[str, Any]) -> dict[str, Any]:
    """``n`` students, the teacher pushes a typing-sized change of a 12-line cell every
    ``period`` s for ``seconds``; after each push a random ``pull_fraction`` of the students
    pull it (request_sync with their local source, as in the herd job) at a uniformly random
    moment within ``pull_window`` s. ``edit_fraction`` of the students typed a line of their own
    into the cell, so their pulls are merges (the others fast-forward). Every ``sample_every`` s
    the servers' and this generator's CPU and resident memory are sampled. The generator's
    garbage collector: the objects of the set-up are frozen (gc.freeze), then one collection per
    push, just before the push is sent (its duration is reported)."""
    import random

    servers, n, pids = job["servers"], job["n"], job["pids"]
    rng = random.Random(job.get("seed", 1))
    state = LessonState()
    teacher = await Nb().open(servers[0]["port"], servers[0]["token"])
    code = (await teacher.request("create_session", title="lesson"))["session_code"]
    ack = await teacher.request("push_cell", cell_id="h", content={"source": herd_source(0)})
    last_seq = int(ack["seq"])
    await asyncio.sleep(0.3)
    gc.collect()
    rss0 = sum(rss_bytes(p) for p in pids)
    started = time.perf_counter()

    async def student(i: int) -> LessonStudent:
        s = servers[i % len(servers)]
        nb = LessonStudent(state)
        await nb.open(s["port"], s["token"])
        await nb.request("join_session", session_code=code, name=f"s{i}")
        return nb

    students: list[LessonStudent] = await connect_many(n, student)  # type: ignore[assignment]
    connect_s = time.perf_counter() - started
    texts: dict[int, str] = {}
    for start in range(0, n, 50):  # the first pull of every student (the full text)
        group = students[start : start + 50]
        replies = await asyncio.gather(*(s.request("request_sync", cell_id="h") for s in group))
        for i, r in zip(range(start, start + len(group)), replies, strict=True):
            texts[i] = r["content"]["source"]
    editors = set(rng.sample(range(n), round(n * job["edit_fraction"])))
    for i in editors:  # a line of their own at the end: their pulls are merges
        texts[i] += f"mine = {i}\n"
    await asyncio.sleep(0.5)
    gc.collect()
    rss1 = sum(rss_bytes(p) for p in pids)
    gen_pid = os.getpid()
    loop = asyncio.get_running_loop()
    pull_ms: list[array[float]] = [array("d"), array("d")]  # [fast-forward side, editors]
    statuses: dict[str, int] = {}
    pull_bytes = [0, 0]  # request frames' payloads, reply payloads
    in_flight: dict[int, asyncio.Future[dict[str, Any]]] = {}
    skipped = [0]
    errors: list[str] = []

    def pulled(i: int, t0: float, fut: asyncio.Future[dict[str, Any]]) -> None:
        in_flight.pop(i, None)
        if fut.cancelled():
            return
        r = fut.result()
        status = str(r.get("status", r.get("code", r.get("type"))))
        statuses[status] = statuses.get(status, 0) + 1
        pull_bytes[1] += r["_bytes"]
        if r.get("type") == "error" and r.get("code") != "no_update":
            if len(errors) < 20:
                errors.append(json.dumps(r)[:300])
            return
        pull_ms[1 if i in editors else 0].append((r["_t"] - t0) * 1000)
        if r.get("type") == "cell_content_update":
            texts[i] = r["content"]["source"]

    def pull(i: int) -> None:
        if i in in_flight:  # still waiting for its previous pull: a student clicks once
            skipped[0] += 1
            return
        body = texts[i]
        t0 = time.perf_counter()
        fut = students[i].send("request_sync", cell_id="h", local_source=body)
        in_flight[i] = fut
        pull_bytes[0] += len(body) + 60
        fut.add_done_callback(lambda f: pulled(i, t0, f))

    gc.collect()
    gc.freeze()  # the classroom's objects: never scanned again
    samples: list[dict[str, Any]] = []
    others: dict[str, int] = job.get("other_pids", {})  # e.g. the redis-server
    cpu_prev = {p: cpu_seconds(p) for p in [*pids, gen_pid, *others.values()]}
    begin = time.perf_counter()
    clock = [begin]  # the previous sample's time

    def sample() -> None:
        nonlocal cpu_prev
        now = time.perf_counter()
        cpu_now = {p: cpu_seconds(p) for p in cpu_prev}
        dt = max(1e-6, now - clock[0])

        def pct(p: int) -> float:
            return round((cpu_now[p] - cpu_prev[p]) * 100 / dt, 1)

        row: dict[str, Any] = {
            "t": round(now - begin, 1),
            "server_rss_mb": round(sum(rss_bytes(p) for p in pids) / 2**20, 1),
            "server_rss_mb_each": [round(rss_bytes(p) / 2**20, 1) for p in pids],
            "server_cpu_pct": round(sum(pct(p) for p in pids), 1),
            "server_cpu_pct_each": [pct(p) for p in pids],
            "generator_cpu_pct": pct(gen_pid),
            "generator_rss_mb": round(rss_bytes(gen_pid) / 2**20, 1),
            "loadavg": loadavg(),
            "pushes": pushes,
            "pulls_done": len(pull_ms[0]) + len(pull_ms[1]),
        }
        for name, p in others.items():
            row[f"{name}_rss_mb"] = round(rss_bytes(p) / 2**20, 1)
            row[f"{name}_cpu_pct"] = pct(p)
        samples.append(row)
        cpu_prev, clock[0] = cpu_now, now

    pushes = 0
    sample()  # t = 0: connected, first pulls done
    next_sample = begin + job["sample_every"]
    gc_ms: list[float] = []
    acks: list[asyncio.Future[dict[str, Any]]] = []
    per_pull = round(n * job["pull_fraction"])
    max_pushes = int(job["seconds"] / job["period"]) + 1
    while pushes < max_pushes:  # bounded: one push per period for the lesson's length
        due = begin + pushes * job["period"]
        if due - begin >= job["seconds"]:
            break
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        g0 = time.perf_counter()
        gc.collect()
        gc_ms.append((time.perf_counter() - g0) * 1000)
        for f in acks:  # the previous pushes' acks (2 s ago: long answered)
            r = await asyncio.wait_for(f, WAIT)
            last_seq = max(last_seq, int(r["seq"]))
        acks.clear()
        for seq in [s for s in state.remaining if s < last_seq - 5]:  # never completed
            del state.remaining[seq]
            state.incomplete_pushes += 1
        for seq in [s for s in state.push_t0 if s < last_seq - 50]:
            del state.push_t0[seq]
        pushes += 1
        target = last_seq + 1
        state.remaining[target] = [float(n), 0.0]
        t0 = time.perf_counter()
        state.push_t0[target] = t0
        acks.append(teacher.send("push_cell", cell_id="h", content={"source": herd_source(pushes)}))
        for i in rng.sample(range(n), per_pull):
            loop.call_later(rng.uniform(0.0, job["pull_window"]), pull, i)
        if time.perf_counter() >= next_sample:
            sample()
            next_sample += job["sample_every"]
    # the last pulls: at most pull_window after the last push, then bounded waits
    await asyncio.sleep(job["pull_window"] + 0.5)
    if in_flight:
        await asyncio.wait(list(in_flight.values()), timeout=WAIT)
    for f in acks:
        last_seq = max(last_seq, int((await asyncio.wait_for(f, WAIT))["seq"]))
    missed = sum(1 for s in students if s.last_seq < last_seq)
    state.incomplete_pushes += len(state.remaining)
    gc.collect()
    sample()  # the end of the lesson
    wire = {
        "server_to_students_bytes": sum(s.ws.bytes_received for s in students if s.ws),
        "students_to_server_bytes": sum(s.ws.bytes_sent for s in students if s.ws),
        "server_to_teacher_bytes": teacher.ws.bytes_received if teacher.ws else 0,
        "teacher_to_server_bytes": teacher.ws.bytes_sent if teacher.ws else 0,
        "notification_payload_bytes": state.notify_bytes,
        "notifications": state.notifications,
        "pull_request_payload_bytes_approx": pull_bytes[0],
        "pull_reply_payload_bytes": pull_bytes[1],
    }
    gc.unfreeze()
    await close_all([teacher, *students])
    all_pulls = array("d", [*pull_ms[0], *pull_ms[1]])
    return {
        "n": n,
        "rss_before": rss0,
        "rss_after_connect": rss1,
        "connect_s": round(connect_s, 3),
        "pushes": pushes,
        "elapsed_s": round(time.perf_counter() - begin, 1),
        "last_seq": last_seq,
        "students_who_missed_the_last_push": missed,
        "incomplete_pushes": state.incomplete_pushes,
        "editors": len(editors),
        "notify_ms": _lat(state.notify_ms),
        "fanout_ms": _lat(state.fanout_ms),
        "pull_ms": _lat(all_pulls),
        "pull_ms_fast_forward_side": _lat(pull_ms[0]),
        "pull_ms_editors": _lat(pull_ms[1]),
        "pulls": len(all_pulls),
        "pulls_skipped_in_flight": skipped[0],
        "pulls_unanswered": len(in_flight),
        "statuses": statuses,
        "errors": errors,
        "wire": wire,
        "samples": samples,
        "generator_gc_ms": _lat(array("d", gc_ms)),
    }


def _lat(values: Any) -> dict[str, Any]:
    if not len(values):
        return {"n": 0}
    return {
        "n": len(values),
        "p50": _pct(values, 0.5),
        "p90": _pct(values, 0.9),
        "p99": _pct(values, 0.99),
        "max": round(max(values), 3),
    }


# --------------------------------------------------------------------------------------------
# fan-out with the students spread over several generator processes
async def _line(stream: asyncio.StreamReader, what: str, timeout: float = WAIT) -> list[str]:
    raw = await asyncio.wait_for(stream.readline(), timeout)
    if not raw:
        raise RuntimeError(f"a generator part exited before {what}")
    return raw.decode().split()


async def fanout_part(job: dict[str, Any]) -> dict[str, Any]:
    """One part of a split fan-out: connects the students ``range(part, n, parts)`` (nbsync:
    joins ``code``; bare: the broadcast), says ``ready``, then obeys the parent on stdin:
    ``arm T`` (every student of this part waits for seq / k = T; answers ``armed``), after which
    it answers ``done <perf_counter of the last arrival>`` once all its students have T;
    ``quit`` closes the connections."""
    servers, n, parts, part = job["servers"], job["n"], job["parts"], job["part"]
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    counter = [0]
    tally = [0]
    event = asyncio.Event()
    mine = list(range(part, n, parts))
    clients: list[Any]
    if job["system"] == "nbsync":

        async def student(j: int) -> Nb:
            i = mine[j]
            srv = servers[i % len(servers)]
            nb = await Nb().open(srv["port"], srv["token"])
            await join(nb, job["code"], f"s{i}", job.get("join_retries", 0), tally)
            nb.counter, nb.round_event = counter, event
            return nb

        clients = await connect_many(len(mine), student)
    else:
        port = servers[0]["port"]
        origin = {"Origin": f"http://127.0.0.1:{port}"}

        async def client(j: int) -> Bare:
            b = Bare()
            b.counter, b.event = counter, event
            b.ws = await connect(HOST, port, "/ws", b.on_message, origin)
            return b

        clients = await connect_many(len(mine), client)
    sys.stdout.write(f"ready {len(clients)} {tally[0]}\n")
    sys.stdout.flush()
    for _ in range(100_000):  # bounded: one command per round
        cmd = await _line(stdin, "a command", job.get("timeout", 600))
        if cmd[0] == "quit":
            break
        target = int(cmd[1])
        event.clear()
        counter[0] = len(clients)
        for c in clients:
            c.target = target
        sys.stdout.write("armed\n")
        sys.stdout.flush()
        await asyncio.wait_for(event.wait(), WAIT)
        last = max(c.notified_at if isinstance(c, Nb) else c.got_at for c in clients)
        sys.stdout.write(f"done {last!r}\n")
        sys.stdout.flush()
    await close_all(clients)
    return {"part": part, "clients": len(clients)}


async def fanout_split(job: dict[str, Any]) -> dict[str, Any]:
    """The fan-out job with the N clients spread over ``gen_procs`` generator processes (this
    one only sends: the teacher's push, or the bare editor's frame). The arrival times are
    ``time.perf_counter()`` in each process (CLOCK_MONOTONIC: one clock for the machine)."""
    servers, n, pids, parts = job["servers"], job["n"], job["pids"], job["gen_procs"]
    system = job["system"]
    teacher: Any
    code = ""
    if system == "nbsync":
        teacher = await Nb().open(servers[0]["port"], servers[0]["token"])
        code = (await teacher.request("create_session", title="bench"))["session_code"]
        ack = await teacher.request("push_cell", cell_id="c", content={"source": small_source(0)})
        last_seq = int(ack["seq"])
    else:
        port = servers[0]["port"]
        teacher = Bare()
        teacher.ws = await connect(
            HOST, port, "/ws", teacher.on_message, {"Origin": f"http://127.0.0.1:{port}"}
        )
        last_seq = 0
    await asyncio.sleep(0.3)
    gc.collect()
    rss0 = sum(rss_bytes(p) for p in pids)
    started = time.perf_counter()
    procs = []
    for part in range(parts):
        sub = {**job, "kind": "fanout_part", "parts": parts, "part": part, "code": code}
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                SELF,
                json.dumps(sub),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
        )
    gen_pids = [os.getpid(), *(p.pid for p in procs)]
    try:
        join_retries = 0
        for p in procs:
            assert p.stdout is not None
            # joining thousands through Redis takes minutes: the job's own bound
            ready = await _line(p.stdout, "ready", job.get("timeout", 600))
            join_retries += int(ready[2])
        connect_s = time.perf_counter() - started
        await asyncio.sleep(0.5)
        rss1 = sum(rss_bytes(p) for p in pids)
        latencies: list[float] = []
        cpu0 = 0.0
        body = ""
        for k in range(1, job["warmup"] + job["rounds"] + 1):
            if k == job["warmup"] + 1:
                cpu0 = cpu_total(pids)
                gen0, wall0 = cpu_total(gen_pids), time.perf_counter()
            target = last_seq + 1 if system == "nbsync" else k
            for p in procs:
                assert p.stdin is not None
                p.stdin.write(f"arm {target}\n".encode())
            for p in procs:
                assert p.stdout is not None
                await _line(p.stdout, "armed")
            t0 = time.perf_counter()
            if system == "nbsync":
                ack_f = teacher.send("push_cell", cell_id="c", content={"source": small_source(k)})
            else:
                body = json.dumps({"type": "edit", "k": k, "text": "x" * 70})
                teacher.ws.send_text(body)
            done = 0.0
            for p in procs:
                assert p.stdout is not None
                done = max(done, float((await _line(p.stdout, "done"))[1]))
            if system == "nbsync":
                last_seq = int((await asyncio.wait_for(ack_f, WAIT))["seq"])
            if k > job["warmup"]:
                latencies.append((done - t0) * 1000)
            await asyncio.sleep(job["gap"])
        cpu = cpu_total(pids) - cpu0
        gen = {"generator_cpu_s": cpu_total(gen_pids) - gen0, "wall_s": time.perf_counter() - wall0}
    finally:
        for p in procs:
            if p.stdin is not None and not p.stdin.is_closing():
                p.stdin.write(b"quit\n")
        for p in procs:
            try:
                await asyncio.wait_for(p.wait(), WAIT)
            except TimeoutError:
                p.kill()
                await p.wait()
    await close_all([teacher])
    return {
        "latencies_ms": latencies,
        "cpu_s": cpu,
        "pushes": job["rounds"],
        "n": n,
        "rss_before": rss0,
        "rss_after": rss1,
        "connect_s": round(connect_s, 3),
        "gen_procs": parts,
        **gen,
        **({"join_retries": join_retries} if job.get("join_retries") else {}),
        **({"message_bytes": len(body)} if body else {}),
    }


JOBS = {
    "lesson": lesson,
    "fanout_part": fanout_part,
    "soak": soak,
    "herd": herd,
    "herd_bare": herd_bare,
    "push_cost": push_cost,
    "wire_bytes": wire_bytes,
    "latency": latency,
    "redis_rtt": redis_rtt,
}
FANOUT = {"nbsync": fanout_nbsync, "bare": fanout_bare, "collab": fanout_collab}


async def run(job: dict[str, Any]) -> dict[str, Any]:
    kind = job["kind"]
    if kind == "fanout" and job.get("gen_procs", 1) > 1:
        fn = fanout_split
    else:
        fn = FANOUT[job["system"]] if kind == "fanout" else JOBS[kind]
    load0 = loadavg()
    result = await asyncio.wait_for(fn(job), job.get("timeout", 600))
    result["loadavg"] = [load0, loadavg()]
    return result


def main() -> int:
    job = json.loads(sys.argv[1])
    gc.collect()
    gc.disable()
    result = asyncio.run(run(job))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
