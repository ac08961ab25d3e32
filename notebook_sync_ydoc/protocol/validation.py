"""The websocket protocol: the shipped JSON Schema, validation, error codes and replies."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .screening import FrameRefused, load_frame

ERROR_CODES: Final = (
    "invalid_message",
    "unknown_type",
    "too_large",
    "rate_limited",
    "session_not_found",
    "session_ended",
    "not_in_session",
    "forbidden",
    "sync_not_allowed",
    "cell_not_found",
    "no_update",
    "store_unavailable",
    "internal",
)

SESSION_CODE_ALPHABET: Final = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


class ProtocolError(Exception):
    """A request that is answered with ``error {code, message}``; the connection stays open."""

    def __init__(self, code: str, message: str, req_id: str | None = None) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.req_id = req_id  # a refused frame's own valid req_id: its error still answers it


def load_schema() -> dict[str, Any]:
    """The protocol's JSON Schema as shipped in the package."""
    text = (
        resources.files("notebook_sync_ydoc")
        .joinpath("schema/protocol.schema.json")
        .read_text(encoding="utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


@dataclass(frozen=True)
class Message:
    type: str
    data: dict[str, Any]
    req_id: str | None


class MessageValidator:
    """Validates client frames against the shipped schema, one compiled validator per type."""

    def __init__(self, schema: dict[str, Any] | None = None) -> None:
        self.schema = schema if schema is not None else load_schema()
        Draft202012Validator.check_schema(self.schema)
        defs = self.schema["$defs"]
        self._validators: dict[str, Draft202012Validator] = {}
        for name, sub in defs["messages"].items():
            wrapped = {"$defs": defs, **sub}
            self._validators[name] = Draft202012Validator(wrapped)

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self._validators)

    def parse(self, raw: str | bytes) -> Message:
        """Decode and validate one frame, or raise :class:`ProtocolError`."""
        try:
            data = load_frame(raw)
        except FrameRefused as exc:
            raise ProtocolError("invalid_message", str(exc)) from None
        if not isinstance(data, dict):
            raise ProtocolError("invalid_message", "a message must be a JSON object")
        req_id = data.get("req_id")
        if "req_id" in data and not (isinstance(req_id, str) and 0 < len(req_id) <= 64):
            raise ProtocolError("invalid_message", "req_id must be a string of 1 to 64 characters")
        mtype = data.get("type")
        if not isinstance(mtype, str):
            raise ProtocolError("invalid_message", "a message needs a string 'type'", req_id)
        validator = self._validators.get(mtype)
        if validator is None:
            raise ProtocolError("unknown_type", f"unknown message type {mtype[:40]!r}", req_id)
        fast = _FAST_ACCEPT.get(mtype)
        if fast is not None and fast(data):
            return Message(type=mtype, data=data, req_id=req_id)
        error = _first_error(validator, data)
        if error is not None:
            raise ProtocolError("invalid_message", f"{mtype}: {error}", req_id)
        return Message(type=mtype, data=data, req_id=req_id)


# The herd path: a pull is the message a whole class sends at once. A frame of the usual shape
# is accepted without the generic JSON Schema walk (~40 us a frame); the check accepts only what
# the schema accepts (stricter: anything else goes through the full validation, which also
# words the error).
_CELL_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}\Z")
_STRATEGIES = ("theirs", "mine")
_MAX_SEQ = 2**53 - 1  # the schema's bound (a JSON number every client reads exactly)


def _fast_pull(data: dict[str, Any]) -> bool:
    cell_id = data.get("cell_id")
    if type(cell_id) is not str or _CELL_ID.match(cell_id) is None:
        return False
    for key, value in data.items():
        if key in ("type", "req_id", "cell_id"):  # type and req_id were checked by parse()
            continue
        if key == "local_source":
            if value is not None and type(value) is not str:
                return False
        elif key == "strategy":
            if type(value) is not str or value not in _STRATEGIES:
                return False
        elif key == "base_seq":
            if value is not None and not (type(value) is int and 0 <= value <= _MAX_SEQ):
                return False
        else:
            return False
    return True


_FAST_ACCEPT = {"request_sync": _fast_pull}


def _first_error(validator: Draft202012Validator, data: dict[str, Any]) -> str | None:
    best: ValidationError | None = None
    for err in validator.iter_errors(data):
        if best is None or len(err.path) > len(best.path):
            best = err
    if best is None:
        return None
    where = "/".join(str(p) for p in best.absolute_path) or "message"
    detail = best.message
    if len(detail) > 160:
        detail = detail[:157] + "..."
    return f"{where}: {detail}"


def as_text(value: str | list[str] | None) -> str | None:
    """nbformat allows a source as a list of lines; the protocol works on one string."""
    if value is None or isinstance(value, str):
        return value
    return "".join(value)
