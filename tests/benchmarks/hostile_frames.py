"""What refusing (or accepting) the worst frames costs: the event-loop time of parsing,
screening and validating each one, in this process (the same code the server runs per frame).

    python tests/benchmarks/hostile_frames.py

Prints one line per frame and writes docs/performance/hostile_frames.json. Every frame is at most
the default max_message_bytes (4 MiB); the byte budget of a connection (rate_limit_bytes) bounds
how often one connection can send the expensive ones.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from notebook_sync_ydoc.protocol import MessageValidator, ProtocolError

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 4 * 1024 * 1024 - 200  # under the default max_message_bytes
REPEATS = 3


def push(source: str = '"x"', extra: str = "") -> str:
    return '{"type":"push_cell","cell_id":"c1","content":{"source":' + source + extra + "}}"


def frames() -> dict[str, Callable[[], str]]:
    return {
        "1,000 levels deep": lambda: "[" * 1000 + "]" * 1000,
        "100,000 levels deep": lambda: "[" * 100_000 + "]" * 100_000,
        "metadata 600 deep": lambda: push(extra=',"metadata":{"a":' + "[" * 600 + "]" * 600 + "}"),
        "source array of 500,000 strings": lambda: push(source=json.dumps(["a"] * 500_000)),
        "local_source array of 500,000": lambda: (
            '{"type":"request_sync","cell_id":"c1","local_source":'
            + json.dumps(["a"] * 500_000)
            + "}"
        ),
        "4 MiB of empty arrays in metadata": lambda: push(
            extra=',"metadata":{"a":[' + ",".join(["[]"] * (LIMIT // 3)) + "]}"
        ),
        "4 MiB of numbers in metadata": lambda: push(
            extra=',"metadata":{"a":[' + ",".join(["0"] * (LIMIT // 2)) + "]}"
        ),
        "4 MiB of lone surrogates": lambda: push(source='"' + "\\ud800" * (LIMIT // 6) + '"'),
        "4 MiB of valid surrogate pairs": lambda: push(
            source='"' + "\\ud83d\\ude00" * (LIMIT // 12) + '"'
        ),
        "NaN in metadata": lambda: push(extra=',"metadata":{"n":NaN}'),
        "4 MiB plain source (accepted)": lambda: push(source=json.dumps("x = 1\n" * (LIMIT // 8))),
    }


def main() -> int:
    validator = MessageValidator()
    # as the server runs it: app.gc_tuning raises the collector's thresholds at start
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    results = []
    for name, make in frames().items():
        raw = make()
        best = float("inf")
        outcome = ""
        for _ in range(REPEATS):
            start = time.perf_counter()
            try:
                validator.parse(raw)
                outcome = "accepted"
            except ProtocolError as exc:
                outcome = f"{exc.code}: {exc.message[:60]}"
            best = min(best, time.perf_counter() - start)
        results.append(
            {"frame": name, "bytes": len(raw), "ms": round(best * 1000, 2), "outcome": outcome}
        )
        print(f"{name:36s} {len(raw) / 1e6:5.2f} MB {best * 1000:8.1f} ms  {outcome}")
    out = ROOT / "docs" / "performance" / "hostile_frames.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
