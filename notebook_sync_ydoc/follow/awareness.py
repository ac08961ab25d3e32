"""The y-protocols awareness wire format: varUint(n) then n * (varUint client, varUint clock,
varString state). Shared by the follow rooms and the Python follow client."""

from __future__ import annotations

import json
from typing import Any

from pycrdt import Encoder, YMessageType

from ..engines.ytext import VarReader

__all__ = ["QUERY_AWARENESS", "AwarenessEntry", "encode_awareness", "parse_awareness_message"]

QUERY_AWARENESS = 3  # y-protocols message type: "send me every awareness state"


AwarenessEntry = tuple[int, int, "dict[str, Any] | None"]


def parse_awareness_message(message: bytes) -> list[AwarenessEntry]:
    """The entries of an awareness message (type byte included). Raises ValueError."""
    try:
        outer = VarReader(message)
        if outer.var_uint() != YMessageType.AWARENESS:
            raise ValueError("not an awareness message")
        reader = VarReader(outer.var_bytes())
        entries: list[AwarenessEntry] = []
        for _ in range(reader.var_uint()):
            client_id = reader.var_uint()
            clock = reader.var_uint()
            text = reader.var_bytes().decode("utf-8")
            state = json.loads(text) if text else None
            if state is not None and not isinstance(state, dict):
                raise ValueError("an awareness state must be an object or null")
            entries.append((client_id, clock, state))
        return entries
    except (IndexError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"malformed awareness message: {exc}") from exc


def encode_awareness(entries: list[AwarenessEntry]) -> bytes:
    """An awareness *update* (without the message type) of ``entries``."""
    encoder = Encoder()
    encoder.write_var_uint(len(entries))
    for client_id, clock, state in entries:
        encoder.write_var_uint(client_id)
        encoder.write_var_uint(clock)
        encoder.write_var_string(json.dumps(state, separators=(",", ":")))
    return encoder.to_bytes()


# --------------------------------------------------------------------------------------------
