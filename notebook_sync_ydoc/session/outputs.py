"""Shared outputs of a cell, bounded in size (docs/architecture.md, "Order and outputs").

The teacher's outputs travel with a push when the teacher shares them. Their size is the size
of their compact JSON (UTF-8), every mime bundle counted, base64 images included. Over
``max_output_bytes`` each output that does not fit any more is replaced by a placeholder (a
``display_data`` whose ``text/plain`` says how large it was and what the limit is); if the
placeholders themselves do not fit, the whole list is one placeholder.
"""

from __future__ import annotations

import json
from typing import Any

from ..protocol import METADATA_KEY

__all__ = ["bound_outputs", "output_size", "placeholder"]


def output_size(output: Any) -> int:
    """Bytes of ``output`` as compact JSON (UTF-8)."""
    return len(json.dumps(output, separators=(",", ":"), ensure_ascii=False).encode())


def _kb(size: int) -> str:
    return f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} bytes"


def placeholder(size: int, limit: int) -> dict[str, Any]:
    """What replaces an output of ``size`` bytes over the ``limit``."""
    return {
        "output_type": "display_data",
        "data": {
            "text/plain": f"output too large to share ({_kb(size)}; limit {_kb(limit)})",
        },
        "metadata": {METADATA_KEY: {"placeholder": True, "bytes": size}},
    }


def bound_outputs(outputs: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """``outputs`` with what does not fit in ``limit`` bytes replaced by placeholders."""
    sizes = [output_size(o) for o in outputs]
    total = sum(sizes)
    if total <= limit:
        return outputs
    out: list[dict[str, Any]] = []
    used = 0
    for output, size in zip(outputs, sizes, strict=True):
        if used + size <= limit:
            out.append(output)
            used += size
        else:
            stand_in = placeholder(size, limit)
            out.append(stand_in)
            used += output_size(stand_in)
    if used > limit:
        return [placeholder(total, limit)]
    return out
