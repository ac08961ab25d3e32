"""Every message the server sends, built in one place (the shapes are the shipped schema's and
docs/architecture.md's), and the one encoder of frames."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["encode", "error_message"]


def error_message(code: str, message: str, req_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if req_id is not None:
        out["req_id"] = req_id
    return out


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)
