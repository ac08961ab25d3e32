"""Load generator: one process, separate from the servers, that drives one measurement and
prints its result as one JSON line on stdout.

    python tests/benchmarks/loadgen.py '<json job>'

Jobs (``job["kind"]``): ``fanout`` (system nbsync | bare | collab), ``herd``, ``push_cost``,
``latency`` (one student, one server or across servers), ``redis_rtt``. Loopback only; every
wait has a timeout and every loop a bound. The process's own garbage collector is off while it
measures (a client-side pause is not the server's), the same for every system.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import itertools
import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from procstat import cpu_total, loadavg, rss_bytes
from wsclient import OP_BINARY, WSClient, connect, connect_many

HOST = "127.0.0.1"
WAIT = 30.0  # seconds: the longest any single step may take


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


def small_source(k: int) -> str:
    """A ~100-byte cell; each round is a typing-sized change of it."""
    return f"x = {k}\nprint('the teacher typed this line of the example cell', x)\n# step {k}\n"


async def nb_classroom(
    servers: list[dict[str, Any]], n: int, pids: list[int]
) -> tuple[Nb, str, list[Nb], dict[str, Any]]:
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
        await nb.request("join_session", session_code=code, name=f"s{i}")
        return nb

    students: list[Nb] = await connect_many(n, student)  # type: ignore[assignment]
    connect_s = time.perf_counter() - started
    await asyncio.sleep(0.5)
    rss1 = sum(rss_bytes(p) for p in pids)
    info = {"rss_before": rss0, "rss_after": rss1, "connect_s": round(connect_s, 3)}
    return teacher, code, students, info


async def fanout_nbsync(job: dict[str, Any]) -> dict[str, Any]:
    servers, n, pids = job["servers"], job["n"], job["pids"]
    teacher, _code, students, info = await nb_classroom(servers, n, pids)
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
    await close_all([teacher, *students])
    return {**info, "latencies_ms": latencies, "cpu_s": cpu, "pushes": job["rounds"], "n": n}


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
    await close_all([editor, *clients])
    return {
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
    servers, n, pids = job["servers"], job["n"], job["pids"]
    edits: bool = job["edits"]
    teacher, _code, students, _info = await nb_classroom(servers, n, pids)
    await teacher.request("push_cell", cell_id="h", content={"source": herd_source(0)})
    texts: dict[int, str] = {}
    # first pull of every student (the full state), in batches
    for start in range(0, n, 50):
        replies = await asyncio.gather(
            *(s.request("request_sync", cell_id="h") for s in students[start : start + 50])
        )
        for i, r in zip(range(start, start + 50), replies, strict=True):
            texts[i] = r["content"]["source"]
    if edits:  # every student types a line of their own at the end
        texts = {i: t + f"mine = {i}\n" for i, t in texts.items()}
    rates, elapsed_ms, statuses = [], [], {}
    cpu_used = 0.0
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
            s.send("request_sync", cell_id="h", local_source=texts[i])
            for i, s in enumerate(students)
        ]
        replies = await asyncio.wait_for(asyncio.gather(*futures), WAIT)
        t1 = max(r["_t"] for r in replies)
        cpu = cpu_total(pids) - cpu0
        for i, r in enumerate(replies):
            statuses[r.get("status", r.get("code"))] = (
                statuses.get(r.get("status", r.get("code")), 0) + 1
            )
            if r.get("type") == "cell_content_update":
                texts[i] = r["content"]["source"]
        if k > job["warmup"]:
            elapsed_ms.append((t1 - t0) * 1000)
            rates.append(n / (t1 - t0))
            cpu_used += cpu
        await asyncio.sleep(job["gap"])
    await close_all([teacher, *students])
    return {
        "n": n,
        "edits": edits,
        "elapsed_ms": elapsed_ms,
        "pulls_per_s": rates,
        "cpu_s": cpu_used,
        "pulls": n * job["rounds"],
        "statuses": statuses,
    }


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


JOBS = {
    "soak": soak,
    "herd": herd,
    "push_cost": push_cost,
    "wire_bytes": wire_bytes,
    "latency": latency,
    "redis_rtt": redis_rtt,
}
FANOUT = {"nbsync": fanout_nbsync, "bare": fanout_bare, "collab": fanout_collab}


async def run(job: dict[str, Any]) -> dict[str, Any]:
    kind = job["kind"]
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
