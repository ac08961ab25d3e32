"""What a typing-sized push costs the server as a cell grows and as its history grows (issue 16,
item 2), before and after: the code before the change (``git archive BASELINE``, by default the
commit before it) and the committed code (``git archive HEAD``).

    python tests/benchmarks/push_history.py [--quick] [--baseline REV]

Each side runs in its own process, in-process like the server runs it: :class:`SyncService` over
the embedded in-memory store, one teacher pushing ``push_cell`` frames (one inserted or deleted
character each, as typing with auto-push sends them). Per push it records the engine's time
(``engine.push``, the CRDT work) and the whole ``handle`` of the frame (parse, validation, store
write, reply), as CPU time of the process (``time.process_time``: other work on the machine
does not count), then the stored CRDT state's size:

- cells of 1, 10 and 100 KB: ``SPAN`` typing pushes each;
- one cell of 1.6 KB pushed ``HISTORY_PUSHES`` times: the ``SPAN`` pushes before push 300,
  1,000, 2,000, ... 5,000;
- students pulling the grown cell: whether each pulled base is a copy or the stored bytes.

Each row reports the quietest window of ``WINDOW`` pushes of its span (the least engine p50;
the machine may be busy with other work), and the mean over the whole span. Prints a table and
writes docs/performance/push_history.json. A run takes under a minute (the old code's pushes
slow down with the history: that is what is measured).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "performance" / "push_history.json"
# the last commit before the hot document, splicing and compaction (issue 16, item 2)
BASELINE = "294f20d~1"
SIZES_KB = (1, 10, 100)
SPAN = 300  # pushes measured per row: the quietest window of them is reported
HISTORY_PUSHES = 5000
WINDOW = 100  # pushes per window
STUDENTS = 30
LINE = "    total = compute(value, other) + offset  # a line of code\n"
SNIPPET = "result = model.predict(features)  # typed by the teacher\n"


def cell(kb: float) -> str:
    size = int(kb * 1024)
    return (LINE * (size // len(LINE) + 1))[:size].rpartition("\n")[0] + "\n"


def typing(source: str, pushes: int) -> Iterator[str]:
    """Successive sources of a teacher typing in the middle of ``source``: one character per
    push, every eighth push a backspace."""
    cursor = source.find("\n", len(source) // 2) + 1
    typed = 0
    for n in range(pushes):
        if n % 8 == 7 and typed:
            source = source[: cursor - 1] + source[cursor:]
            cursor -= 1
            typed -= 1
        else:
            char = SNIPPET[(n - n // 8) % len(SNIPPET)]
            source = source[:cursor] + char + source[cursor:]
            cursor += 1
            typed += 1
        yield source


class Peer:
    """A connection that keeps only the last frame."""

    conn_id = "bench"
    identity = "teacher"
    display_name = "Teacher"
    groups: frozenset[str] = frozenset()
    named = True

    def __init__(self) -> None:
        self.last = ""

    def send_text(self, text: str) -> None:
        self.last = text

    def close(self, code: int, reason: str) -> None:
        pass


class Bench:
    """The service of the tree under test, with a timed engine."""

    def __init__(self) -> None:
        from notebook_sync_ydoc.engines import load_engine
        from notebook_sync_ydoc.session import ServiceConfig, SyncService
        from notebook_sync_ydoc.store.memory import MemoryStore

        log = logging.getLogger("bench")
        self.engine, _ = load_engine(True, log)
        self.engine_times: list[float] = []
        push = self.engine.push

        def timed(*args: Any, **kwargs: Any) -> bytes | None:
            start = time.process_time()
            try:
                return push(*args, **kwargs)
            finally:
                self.engine_times.append(time.process_time() - start)

        self.engine.push = timed  # type: ignore[method-assign]
        self.store = MemoryStore(server_id="bench")
        config = ServiceConfig(rate_limits=None)
        self.service = SyncService(self.store, self.engine, config, log)
        self.peer = Peer()
        self.member = self.service.connect(self.peer)
        self.code = ""

    async def send(self, mtype: str, **data: Any) -> dict[str, Any]:
        await self.service.handle(self.member, json.dumps({"type": mtype, **data}))
        reply: dict[str, Any] = json.loads(self.peer.last)
        if reply["type"] == "error":
            raise RuntimeError(reply)
        return reply

    async def start(self) -> None:
        await self.service.start()
        self.code = (await self.send("create_session", title="bench"))["session_code"]

    async def pushes(self, cell_id: str, sources: list[str]) -> tuple[list[float], list[float]]:
        """Push every source; the engine's and the whole handle's CPU time of each push (s)."""
        frames = [
            json.dumps({"type": "push_cell", "cell_id": cell_id, "content": {"source": s}})
            for s in sources
        ]
        handle, member, peer = self.service.handle, self.member, self.peer
        self.engine_times.clear()
        totals: list[float] = []
        for frame in frames:
            start = time.process_time()
            await handle(member, frame)
            totals.append(time.process_time() - start)
            if '"push_ack"' not in peer.last:
                raise RuntimeError(peer.last[:300])
        return list(self.engine_times), totals

    async def state_size(self, cell_id: str) -> int:
        record = await self.store.get_cell(self.code, cell_id)
        assert record is not None and record.crdt_state is not None
        return len(record.crdt_state)


def figures(engine: list[float], total: list[float]) -> dict[str, float]:
    """The quietest of the windows of ``WINDOW`` pushes (least engine p50): the machine may be
    busy with other work, and the code under test is the same in every window."""
    ms: Callable[[float], float] = lambda s: round(s * 1000, 4)  # noqa: E731
    windows = [
        (engine[i : i + WINDOW], total[i : i + WINDOW]) for i in range(0, len(engine), WINDOW)
    ]
    quiet_engine, quiet_total = min(windows, key=lambda w: statistics.median(w[0]))
    return {
        "engine_p50_ms": ms(statistics.median(quiet_engine)),
        "engine_p90_ms": ms(statistics.quantiles(quiet_engine, n=10)[-1]),
        "engine_mean_ms": ms(statistics.fmean(quiet_engine)),
        "handle_p50_ms": ms(statistics.median(quiet_total)),
        "handle_mean_ms": ms(statistics.fmean(quiet_total)),
        "all_engine_mean_ms": ms(statistics.fmean(engine)),
        "windows": len(windows),
    }


async def sizes(bench: Bench, quick: bool) -> list[dict[str, Any]]:
    rows = []
    for kb in SIZES_KB:
        cell_id = f"size{kb}"
        first = cell(kb)
        await bench.pushes(cell_id, [first])
        sources = list(typing(first, SPAN // (3 if quick else 1)))
        engine, total = await bench.pushes(cell_id, sources)
        state = await bench.state_size(cell_id)
        row = {"cell_kb": kb, "pushes": len(sources), **figures(engine, total)}
        rows.append({**row, "state_bytes": state, "text_bytes": len(sources[-1].encode())})
    return rows


async def history(bench: Bench, quick: bool) -> list[dict[str, Any]]:
    """One cell pushed ``HISTORY_PUSHES`` times; the figures of the ``SPAN`` pushes before each
    mark, and the state's size at the mark."""
    cell_id, first = "history", cell(1.6)
    await bench.pushes(cell_id, [first])
    total_pushes = HISTORY_PUSHES // (5 if quick else 1)
    sources = list(typing(first, total_pushes))
    marks = [m for m in (SPAN, 1000, 2000, 3000, 4000, 5000) if m <= total_pushes]
    rows, done = [], 0
    for mark in marks:
        if mark - SPAN > done:  # the pushes before the span (not reported)
            await bench.pushes(cell_id, sources[done : mark - SPAN])
        engine, total = await bench.pushes(cell_id, sources[mark - SPAN : mark])
        done = mark
        state = await bench.state_size(cell_id)
        text = len(sources[mark - 1].encode())
        row = {"after_pushes": mark, **figures(engine, total)}
        rows.append({**row, "state_bytes": state, "text_bytes": text})
    return rows


async def students(bench: Bench) -> dict[str, Any]:
    """Students pull the grown cell: are their stored bases one shared bytes object?"""
    from notebook_sync_ydoc.store import PulledCell, StudentRecord

    record = await bench.store.get_cell(bench.code, "history")
    assert record is not None and record.crdt_state is not None
    ids = []
    for n in range(STUDENTS):
        student = StudentRecord(student_id=f"s{n}", identity="", name=f"S{n}", joined=0.0)
        await bench.store.put_student(bench.code, student)
        pulled = PulledCell(seq=record.seq, base_source=record.source, base_state=record.crdt_state)
        await bench.store.record_pull(bench.code, student.student_id, "history", pulled)
        back = await bench.store.get_student(bench.code, student.student_id)
        assert back is not None
        ids.append(id(back.pulled["history"].base_state))
    return {
        "students": STUDENTS,
        "state_bytes": len(record.crdt_state),
        "distinct_base_objects": len(set(ids)),
        "shares_the_cell_state": ids[0] == id(record.crdt_state),
    }


async def measure(quick: bool) -> dict[str, Any]:
    import notebook_sync_ydoc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)  # as the server runs (app.gc_tuning)
    bench = Bench()
    await bench.start()
    try:
        result = {
            "package": str(Path(notebook_sync_ydoc.__file__).parent),
            "sizes": await sizes(bench, quick),
            "history": await history(bench, quick),
            "memory_store_pulls": await students(bench),
            "compactions": int(getattr(bench.engine, "compactions", 0)),
        }
    finally:
        await bench.service.stop()
    return result


def run_side(pythonpath: Path, quick: bool) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    args = [sys.executable, __file__, "--measure"] + (["--quick"] if quick else [])
    done = subprocess.run(args, env=env, cwd=pythonpath, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def tree(into: Path, rev: str) -> None:
    """The package as committed at ``rev`` (what the working tree holds besides is not measured)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "notebook_sync_ydoc"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def show(name: str, side: dict[str, Any]) -> None:
    print(f"\n{name}: {side['package']}  (compactions: {side['compactions']})")
    print("  cell      pushes  engine p50  mean     handle p50  mean     state B   text B")
    for r in side["sizes"]:
        print(
            f"  {r['cell_kb']:>4} KB  {r['pushes']:>6}  {r['engine_p50_ms']:8.3f}  "
            f"{r['engine_mean_ms']:8.3f}  {r['handle_p50_ms']:8.3f}  {r['handle_mean_ms']:8.3f}"
            f"  {r['state_bytes']:>8}  {r['text_bytes']:>7}"
        )
    print("  after     window  engine p50  mean     handle p50  mean     state B   text B")
    for r in side["history"]:
        print(
            f"  {r['after_pushes']:>7}  {WINDOW:>6}  {r['engine_p50_ms']:8.3f}  "
            f"{r['engine_mean_ms']:8.3f}  {r['handle_p50_ms']:8.3f}  {r['handle_mean_ms']:8.3f}"
            f"  {r['state_bytes']:>8}  {r['text_bytes']:>7}"
        )
    m = side["memory_store_pulls"]
    print(
        f"  {m['students']} students pulled a {m['state_bytes']} B state: "
        f"{m['distinct_base_objects']} distinct base object(s), "
        f"shared with the cell: {m['shares_the_cell_state']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smaller run, nothing written")
    parser.add_argument("--baseline", default=BASELINE, help="the 'before' commit")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # one side
    args = parser.parse_args()
    quick, baseline = args.quick, args.baseline
    if args.measure:
        print(json.dumps(asyncio.run(measure(quick))))
        return 0
    started = time.monotonic()
    load = [round(x, 2) for x in os.getloadavg()]  # other work on the machine, for the record
    with tempfile.TemporaryDirectory(prefix="push-history-") as tmp:
        tree(Path(tmp) / "before", baseline)
        before = run_side(Path(tmp) / "before", quick)
        tree(Path(tmp) / "after", "HEAD")
        after = run_side(Path(tmp) / "after", quick)
    show(f"before (git archive {baseline})", before)
    show("after (git archive HEAD)", after)
    report = {
        "command": "python tests/benchmarks/push_history.py" + (" --quick" if quick else ""),
        "what": "typing-sized push_cell (one character) handled in-process: SyncService over "
        "MemoryStore; engine = engine.push, handle = the whole frame; CPU ms per push "
        "(time.process_time)",
        "before_tree": f"git archive {baseline}",
        "after_tree": "git archive HEAD",
        "cpu": os.cpu_count(),
        "load_average_at_start": load,
        "seconds": round(time.monotonic() - started, 1),
        "before": {k: v for k, v in before.items() if k != "package"},
        "after": {k: v for k, v in after.items() if k != "package"},
    }
    if not quick:
        OUT.write_text(json.dumps(report, indent=1) + "\n")
        print(f"\nwrote {OUT.relative_to(ROOT)} ({report['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
