"""Back-to-back replies on /notebook-sync/ws: how long the second waits after the first.

    python tests/benchmarks/reply_gap.py [--rounds 200]

One request answered with two frames (a resume: session_resumed, then the roster), over and
over, on one server (embedded store). With Nagle's algorithm on the server's socket the second
small frame can wait for the client's delayed ACK (about 40 ms on Linux); with TCP_NODELAY it
follows at once. Prints the gap's median and p90 and writes
docs/performance/reply_gap.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from procstat import UNLIMITED, loadavg  # noqa: E402
from tornado.websocket import websocket_connect  # noqa: E402

from notebook_sync_ydoc.testing import JupyterServerProcess  # noqa: E402


async def measure(server: JupyterServerProcess, rounds: int) -> list[float]:
    """A teacher resumes its session, over and over: ``session_resumed`` then ``roster_update``,
    two frames for one request; the gap between them."""
    url = server.base_url.replace("http://", "ws://") + f"notebook-sync/ws?token={server.token}"
    ws = await websocket_connect(url, max_message_size=1 << 20)
    gaps: list[float] = []
    try:
        await ws.write_message(json.dumps({"type": "create_session", "title": "gap"}))
        created = json.loads(str(await ws.read_message()))
        resume = json.dumps(
            {
                "type": "resume_session",
                "session_code": created["session_code"],
                "teacher_key": created["teacher_key"],
            }
        )
        for _ in range(rounds):
            await ws.write_message(resume)
            await ws.read_message()  # session_resumed
            first = time.perf_counter()
            await ws.read_message()  # roster_update
            gaps.append((time.perf_counter() - first) * 1000)
    finally:
        ws.close()
    return gaps


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--out", default=str(ROOT / "docs" / "performance" / "reply_gap.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nbsync-gap-") as tmp:
        server = JupyterServerProcess(Path(tmp) / "one", options=dict(UNLIMITED)).start()
        try:
            gaps = asyncio.run(measure(server, args.rounds))
        finally:
            server.stop()
    gaps.sort()
    result = {
        "rounds": args.rounds,
        "gap_ms_median": round(statistics.median(gaps), 3),
        "gap_ms_p90": round(gaps[int(len(gaps) * 0.9)], 3),
        "loadavg": loadavg(),
    }
    print(json.dumps(result))
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
