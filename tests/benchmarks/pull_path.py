"""What a pull costs the server, in-process, before and after issue 16, item 3 ("Cheaper
pulls"); and what handling a ``push_cell`` frame costs as the cell grows.

    python tests/benchmarks/pull_path.py [--quick] [--baseline REV] [--after REV|DIR]
    python tests/benchmarks/pull_path.py --profile ydoc:1:fast_forward   # needs pyinstrument

Each side runs in its own process, in-process like the server runs it: :class:`SyncService`
over the embedded in-memory store (the pull path of the SQLite store is the same: it reads from
memory; its write of the pull is one journal transaction, not measured here). Before is the
package as committed at ``--baseline`` (default: the commit this work started from), after is
``--after`` (a commit, or a directory holding a ``notebook_sync_ydoc``) or, by default, the
working tree's ``notebook_sync_ydoc`` as it is now (copied, so that the measurement does not see
edits made meanwhile).

Per pull it records the CPU time of the process (``time.process_time``: other work on the
machine does not count) of the whole ``handle`` of one ``request_sync`` frame: parse and
validation, the store's reads, the merge, the store's write of the pull, the reply built and
encoded; and the same plus the loop steps right after it, in which the store's dispatcher handles
the event the pull published (its roster event: the roster and progress view scheduled; the
coalesced roster itself, 0.1 s later, is not counted). Workloads, in YDoc and JSON mode, for
cells of 1 and 10 KB (the teacher changes one line near the top before each round, every
student pulls once):

- ``fast_forward``: the student has not edited (``local_source`` = its base), no ``base_seq``
  (the reply carries the CRDT update in YDoc mode, as the herd benchmark's pulls do);
- ``merge``: the student added a line of their own at the end: a clean three-way merge;
- ``delta``: a fast-forward pull with ``base_seq`` (delta pulls, what the browser sends);
- ``conflict``: the student edited the line the teacher changes.

Push: one typed character per ``push_cell`` frame to a 1, 10 and 100 KB cell (YDoc mode), the
whole ``handle`` and, separately, ``MessageValidator.parse`` of the same frames.

Each side runs ``REPEATS`` times, before and after alternating; each row reports the median and
mean over its pulls (microseconds) of the run with the least median (the machine may be busy
with other work). Prints a table and writes docs/performance/pull_path.json (not with
``--quick``, which runs each side once, smaller). A run takes under a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "performance" / "pull_path.json"
BASELINE = "3d6a02b"  # the last commit before issue 16, item 3
KINDS = ("fast_forward", "merge", "delta", "conflict")
SIZES_KB = (1, 10)
PUSH_KB = (1, 10, 100)
STUDENTS = 20
ROUNDS = 15
PUSHES = 200
# loop steps after each pull, in its time: the store's dispatcher handles the events the pull
# published (its roster event: the progress view and the roster scheduled)
EVENT_STEPS = 2
REPEATS = 4  # runs of each side, alternating; per row the quietest is reported
LINE = "    total = compute(value, other) + offset  # a line of code\n"


def cell(kb: float) -> str:
    size = int(kb * 1024)
    return (LINE * (size // len(LINE) + 1))[:size].rpartition("\n")[0] + "\n"


def teachers_version(text: str, k: int) -> str:
    """``text`` with its second line as the teacher's ``k``-th version of it."""
    lines = text.splitlines(keepends=True)
    lines[1] = f"y = {k}  # the teacher changes this line\n"
    return "".join(lines)


class Peer:
    """A connection that keeps only the last frame."""

    groups: frozenset[str] = frozenset()
    named = True

    def __init__(self, name: str) -> None:
        self.conn_id = name
        self.identity = name
        self.display_name = name
        self.last = ""

    def send_text(self, text: str) -> None:
        self.last = text

    def close(self, code: int, reason: str) -> None:
        pass


class Client:
    def __init__(self, service: Any, name: str) -> None:
        self.peer = Peer(name)
        self.member = service.connect(self.peer)
        self.service = service

    async def send(self, mtype: str, **data: Any) -> dict[str, Any]:
        await self.service.handle(self.member, json.dumps({"type": mtype, **data}))
        reply: dict[str, Any] = json.loads(self.peer.last)
        if reply["type"] == "error":
            raise RuntimeError(reply)
        return reply


class Side:
    """One mode's service of the tree under test."""

    def __init__(self, ydoc: bool) -> None:
        from notebook_sync_ydoc.engines import load_engine
        from notebook_sync_ydoc.session import ServiceConfig, SyncService
        from notebook_sync_ydoc.store.memory import MemoryStore

        log = logging.getLogger("bench")
        self.engine, _ = load_engine(ydoc, log)
        self.store = MemoryStore(server_id="bench")
        config = ServiceConfig(rate_limits=None, roster_interval=0.1)
        self.service = SyncService(self.store, self.engine, config, log)

    async def classroom(self, students: int) -> tuple[Client, str, list[Client]]:
        teacher = Client(self.service, "teacher")
        code = (await teacher.send("create_session", title="bench"))["session_code"]
        pupils = [Client(self.service, f"s{n}") for n in range(students)]
        for n, pupil in enumerate(pupils):
            await pupil.send("join_session", session_code=code, name=f"S{n}")
        return teacher, code, pupils

    async def pulls(
        self, kind: str, kb: int, students: int, rounds: int
    ) -> tuple[list[float], list[float]]:
        """CPU seconds of each timed pull of one workload: its handle, and its handle plus the
        events it published (handled by the store's dispatcher right after)."""
        teacher, _code, pupils = await self.classroom(students)
        text = cell(kb)
        await teacher.send("push_cell", cell_id="c", content={"source": text})
        held: dict[int, tuple[str, int]] = {}  # student -> (text, seq) as the client has it
        for n, pupil in enumerate(pupils):
            reply = await pupil.send("request_sync", cell_id="c")
            held[n] = (reply["content"]["source"], reply["seq"])
        if kind == "merge":
            held = {n: (t + f"mine = {n}\n", s) for n, (t, s) in held.items()}
        elif kind == "conflict":
            held = {n: (teachers_version(t, -1 - n), s) for n, (t, s) in held.items()}
        times: list[float] = []
        with_events: list[float] = []
        handle = self.service.handle
        for k in range(1, rounds + 1):
            await teacher.send(
                "push_cell", cell_id="c", content={"source": teachers_version(text, k)}
            )
            await asyncio.sleep(0)  # the push's event, as between rounds on a server
            for n, pupil in enumerate(pupils):
                mine, seq = held[n]
                frame: dict[str, Any] = {
                    "type": "request_sync",
                    "cell_id": "c",
                    "local_source": mine,
                }
                if kind == "delta":
                    frame["base_seq"] = seq
                raw = json.dumps(frame)
                start = time.process_time()
                await handle(pupil.member, raw)
                handled = time.process_time()
                for _ in range(EVENT_STEPS):
                    await asyncio.sleep(0)
                times.append(handled - start)
                with_events.append(time.process_time() - start)
                reply = json.loads(pupil.peer.last)
                held[n] = _held(kind, reply, mine, seq)
        return times, with_events

    async def pushes(self, kb: int, pushes: int) -> tuple[list[float], list[float]]:
        """CPU seconds of each push's whole handle, and of the validator's parse of it."""
        teacher, _code, _pupils = await self.classroom(0)
        text = cell(kb)
        await teacher.send("push_cell", cell_id="p", content={"source": text})
        middle = text.find("\n", len(text) // 2) + 1
        frames = [
            json.dumps(
                {
                    "type": "push_cell",
                    "cell_id": "p",
                    "content": {"source": text[:middle] + "x" * n + text[middle:]},
                }
            )
            for n in range(1, pushes + 1)
        ]
        handle, member, peer = self.service.handle, teacher.member, teacher.peer
        whole: list[float] = []
        for raw in frames:
            start = time.process_time()
            await handle(member, raw)
            whole.append(time.process_time() - start)
            if '"push_ack"' not in peer.last:
                raise RuntimeError(peer.last[:300])
        parse = self.service.validator.parse
        parsed: list[float] = []
        for raw in frames:
            start = time.process_time()
            parse(raw)
            parsed.append(time.process_time() - start)
        return whole, parsed


def _held(kind: str, reply: dict[str, Any], mine: str, seq: int) -> tuple[str, int]:
    """What the client holds after a pull's reply."""
    if reply["type"] != "cell_content_update":
        raise RuntimeError(reply)
    status = reply["status"]
    expected = {"fast_forward": "fast_forward", "delta": "fast_forward", "merge": "merged"}
    if status != expected.get(kind, "conflict"):
        raise RuntimeError(f"{kind}: status {status}")
    if kind == "conflict":
        return mine, seq
    if kind == "delta":
        from notebook_sync_ydoc.engines.delta import apply_delta

        if reply.get("delta"):
            return apply_delta(mine, _b64(reply["theirs_delta"])), reply["seq"]
    return reply["content"]["source"], reply["seq"]


def _b64(text: str) -> bytes:
    import base64

    return base64.b64decode(text)


def us(values: list[float]) -> dict[str, float]:
    return {
        "p50_us": round(statistics.median(values) * 1e6, 1),
        "mean_us": round(statistics.fmean(values) * 1e6, 1),
        "n": len(values),
    }


async def measure(quick: bool) -> dict[str, Any]:
    import notebook_sync_ydoc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)  # as the server runs (app.gc_tuning)
    students, rounds = (10, 8) if quick else (STUDENTS, ROUNDS)
    pulls: dict[str, Any] = {}
    push: dict[str, Any] = {}
    for mode in ("ydoc", "json"):
        side = Side(mode == "ydoc")
        await side.service.start()
        try:
            for kb in SIZES_KB:
                for kind in KINDS:
                    if kind == "delta" and mode == "json":
                        continue  # JSON mode answers a delta pull with the full text: as ff
                    times, with_events = await side.pulls(kind, kb, students, rounds)
                    pulls[f"{mode}:{kb}:{kind}"] = {
                        "handle": us(times),
                        "with_events": us(with_events),
                    }
            if mode == "ydoc":
                for kb in PUSH_KB:
                    whole, parsed = await side.pushes(kb, PUSHES // (4 if quick else 1))
                    push[str(kb)] = {"handle": us(whole), "parse": us(parsed)}
        finally:
            await side.service.stop()
    return {
        "package": str(Path(notebook_sync_ydoc.__file__).parent),
        "pulls": pulls,
        "push": push,
    }


async def profile(spec: str) -> None:
    """Profile one workload (``mode:kb:kind``, or ``push:kb``) with pyinstrument."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        raise SystemExit(
            "--profile needs pyinstrument, which is not installed: "
            f"{sys.executable} -m pip install pyinstrument"
        ) from None

    parts = spec.split(":")
    side = Side(parts[0] != "json")
    await side.service.start()
    profiler = Profiler(interval=0.0001)
    try:
        if parts[0] == "push":
            await side.pushes(int(parts[1]), 20)  # warm
            profiler.start()
            await side.pushes(int(parts[1]), 2000 // int(parts[1]) + 100)
        else:
            await side.pulls(parts[2], int(parts[1]), 5, 2)  # warm
            profiler.start()
            await side.pulls(parts[2], int(parts[1]), 40, 30)
        profiler.stop()
    finally:
        await side.service.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))


def quietest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per row, the run of the least p50 (the machine may be busy with other work, and the code
    under test is the same in every run)."""
    out = dict(runs[0])
    out["pulls"] = {
        key: {
            what: min((r["pulls"][key][what] for r in runs), key=lambda f: f["p50_us"])
            for what in ("handle", "with_events")
        }
        for key in runs[0]["pulls"]
    }
    out["push"] = {
        kb: {
            what: min((r["push"][kb][what] for r in runs), key=lambda f: f["p50_us"])
            for what in ("handle", "parse")
        }
        for kb in runs[0]["push"]
    }
    out["runs"] = len(runs)
    return out


def run_side(pythonpath: Path, quick: bool) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    args = [sys.executable, __file__, "--measure"] + (["--quick"] if quick else [])
    done = subprocess.run(args, env=env, cwd=pythonpath, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def tree(into: Path, rev: str | None) -> None:
    """The package as committed at ``rev``, as the directory ``rev`` holds it, or (None) as
    the working tree holds it now."""
    if rev is None or Path(rev).is_dir():
        shutil.copytree(
            Path(rev or ROOT) / "notebook_sync_ydoc",
            into / "notebook_sync_ydoc",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        return
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "notebook_sync_ydoc"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def show(before: dict[str, Any], after: dict[str, Any]) -> None:
    print(
        "\nCPU per pull, us (p50; mean)      handle: before      after    with its events: before"
        "      after"
    )
    for key, b in before["pulls"].items():
        a = after["pulls"][key]
        cells = []
        for what in ("handle", "with_events"):
            cells.append(
                f"{b[what]['p50_us']:>6.0f}; {b[what]['mean_us']:>5.0f} "
                f"{a[what]['p50_us']:>6.0f}; {a[what]['mean_us']:>5.0f} "
                f"x{b[what]['p50_us'] / a[what]['p50_us']:<5.2f}"
            )
        print(f"  {key:<24} {cells[0]}      {cells[1]}")
    print("\nCPU per push, us (YDoc, one typed character)   before p50; mean    after p50; mean")
    for kb, b in before["push"].items():
        a = after["push"][kb]
        for what in ("handle", "parse"):
            print(
                f"  {kb:>3} KB {what:<16} {b[what]['p50_us']:>20.0f}; {b[what]['mean_us']:>5.0f} "
                f"{a[what]['p50_us']:>11.0f}; {a[what]['mean_us']:>5.0f}   "
                f"x{b[what]['p50_us'] / a[what]['p50_us']:.2f}"
            )


def _after_tree(rev: str | None) -> str:
    if rev is None:
        return "the working tree"
    return f"the directory {rev}" if Path(rev).is_dir() else f"git archive {rev}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="each side once, smaller")
    parser.add_argument("--baseline", default=BASELINE, help="the 'before' commit")
    parser.add_argument("--after", default=None, help="the 'after' commit or directory")
    parser.add_argument("--profile", default=None, help="MODE:KB:WORKLOAD, with pyinstrument")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # one side
    args = parser.parse_args()
    quick = args.quick
    if args.measure:
        print(json.dumps(asyncio.run(measure(quick))))
        return 0
    if args.profile is not None:
        asyncio.run(profile(args.profile))
        return 0
    baseline = args.baseline
    after_rev = args.after
    started = time.monotonic()
    load = [round(x, 2) for x in os.getloadavg()]  # other work on the machine, for the record
    with tempfile.TemporaryDirectory(prefix="pull-path-") as tmp:
        tree(Path(tmp) / "before", baseline)
        tree(Path(tmp) / "after", after_rev)
        runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for _ in range(1 if quick else REPEATS):  # alternating: a change of load hits both
            for name in runs:
                runs[name].append(run_side(Path(tmp) / name, quick))
        before, after = quietest(runs["before"]), quietest(runs["after"])
    print(f"before: git archive {baseline}; after: {_after_tree(after_rev)}")
    show(before, after)
    command = "python tests/benchmarks/pull_path.py" + (" --quick" if quick else "")
    report = {
        "command": command,
        "what": "in-process: SyncService over MemoryStore; CPU per frame (time.process_time) "
        "of the whole handle of request_sync (pulls) and push_cell (push: handle, and the "
        f"validator's parse alone); {STUDENTS} students x {ROUNDS} rounds per pull row; per row "
        f"the quietest (least p50) of {REPEATS} runs of each side, alternating",
        "before_tree": f"git archive {baseline}",
        "after_tree": _after_tree(after_rev),
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
