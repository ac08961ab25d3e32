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
        # a fast path serves only the schema it was written for (see _FAST_SCHEMAS)
        self._fast = {
            mtype: accept
            for mtype, accept in _FAST_ACCEPT.items()
            if _written_for_schema(self.schema, mtype)
        }

    @property
    def fast_paths(self) -> frozenset[str]:
        """The message types whose usual frames skip the generic schema walk."""
        return frozenset(self._fast)

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
        fast = self._fast.get(mtype)
        if fast is not None and fast(data):
            return Message(type=mtype, data=data, req_id=req_id)
        error = _first_error(validator, data)
        if error is not None:
            raise ProtocolError("invalid_message", f"{mtype}: {error}", req_id)
        return Message(type=mtype, data=data, req_id=req_id)


# The herd path: a pull is the message a whole class sends at once, a push the one a teacher
# typing with auto-push sends all the time. A frame of the usual shape is accepted without the
# generic JSON Schema walk (~40 us for a pull, ~100 us for a push); the check accepts only what
# the schema accepts (stricter: anything else goes through the full validation, which also
# words the error). Each is enabled only while the shipped schema still says, for every key the
# check accepts, exactly what it was written for (_FAST_SCHEMAS).
_CELL_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}\Z")
_SESSION_CODE = re.compile(r"[23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjklmnpqrstuvwxyz]{6,16}\Z")
_STRATEGIES = ("theirs", "mine")
_CELL_TYPES = ("code", "markdown", "raw")
_MAX_SEQ = 2**53 - 1  # the schema's bound (a JSON number every client reads exactly)
_MAX_INDEX = 1_000_000


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
        elif key == "with_outputs":
            if type(value) is not bool:
                return False
        else:
            return False
    return True


def _fast_push(data: dict[str, Any]) -> bool:
    if "cell_id" not in data or "content" not in data:
        return False
    for key, value in data.items():
        if key in ("type", "req_id"):  # checked by parse()
            continue
        if key == "cell_id":
            if type(value) is not str or _CELL_ID.match(value) is None:
                return False
        elif key == "content":
            if type(value) is not dict or not _fast_content(value):
                return False
        elif key == "session_code":
            if type(value) is not str or _SESSION_CODE.match(value) is None:
                return False
        elif key == "index":
            if type(value) is not int or not 0 <= value <= _MAX_INDEX:
                return False
        elif key == "sync_allowed":
            if type(value) is not bool:
                return False
        elif key == "metadata":
            if type(value) is not dict or any(
                k != "sync_allowed" or type(v) is not bool for k, v in value.items()
            ):
                return False
        else:
            return False
    return True


def _fast_content(content: dict[str, Any]) -> bool:
    """A push's ``content``: its source is a string here (the screening joined an array)."""
    if type(content.get("source")) is not str:
        return False
    for key, value in content.items():
        if key == "cell_type":
            if type(value) is not str or value not in _CELL_TYPES:
                return False
        elif key == "metadata":
            if type(value) is not dict:
                return False
        elif key != "source":
            return False
    return True


_FAST_ACCEPT = {"request_sync": _fast_pull, "push_cell": _fast_push}

_REF = "#/$defs/"
# What each fast path was written for: the schema of the keys it accepts and the definitions
# they refer to. More properties in the shipped schema are fine (their frames take the full
# validation), and so are fewer (the schema then allows anything there: no keyword besides
# these, such as additionalProperties, is allowed). Notes (description, title, $comment) do not
# count.
_FAST_DEFS: dict[str, Any] = {
    "req_id": {"type": "string", "minLength": 1, "maxLength": 64},
    "session_code": {
        "type": "string",
        "pattern": "^[23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjklmnpqrstuvwxyz]{6,16}$",
    },
    "cell_id": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,128}$"},
    "cell_type": {"enum": list(_CELL_TYPES)},
    "cell_metadata": {"type": "object"},
}
_STRINGS = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
_FAST_SCHEMAS: dict[str, dict[str, Any]] = {
    "request_sync": {
        "type": "object",
        "required": ["cell_id"],
        "properties": {
            "type": {"const": "request_sync"},
            "req_id": {"$ref": _REF + "req_id"},
            "cell_id": {"$ref": _REF + "cell_id"},
            "local_source": {"anyOf": [*_STRINGS["anyOf"], {"type": "null"}]},
            "strategy": {"enum": list(_STRATEGIES)},
            "base_seq": {
                "anyOf": [{"type": "integer", "minimum": 0, "maximum": _MAX_SEQ}, {"type": "null"}]
            },
            "with_outputs": {"type": "boolean"},
        },
    },
    "push_cell": {
        "type": "object",
        "required": ["cell_id", "content"],
        "properties": {
            "type": {"const": "push_cell"},
            "req_id": {"$ref": _REF + "req_id"},
            "session_code": {"$ref": _REF + "session_code"},
            "cell_id": {"$ref": _REF + "cell_id"},
            "index": {"type": "integer", "minimum": 0, "maximum": _MAX_INDEX},
            "sync_allowed": {"type": "boolean"},
            "content": {
                "type": "object",
                "required": ["source"],
                "properties": {
                    "source": _STRINGS,
                    "cell_type": {"$ref": _REF + "cell_type"},
                    "metadata": {"$ref": _REF + "cell_metadata"},
                },
            },
            "metadata": {"type": "object", "properties": {"sync_allowed": {"type": "boolean"}}},
        },
    },
}
_NOTES = frozenset({"description", "title", "$comment"})


def _written_for_schema(schema: dict[str, Any], mtype: str) -> bool:
    """Whether the fast path of ``mtype`` accepts only what ``schema`` accepts: the schema
    says what the path was written for about every key the path accepts, and no more."""
    defs = schema.get("$defs", {})
    message = defs.get("messages", {}).get(mtype)
    return (
        message is not None
        and _covers(message, _FAST_SCHEMAS[mtype])
        and all(_plain(defs.get(name)) == want for name, want in _FAST_DEFS.items())
    )


def _covers(schema: Any, written: dict[str, Any]) -> bool:
    """``schema`` (an object's) says what ``written`` says: the same keywords (besides notes),
    the same subschemas of the properties both name and no more required ones."""
    if not isinstance(schema, dict) or set(schema) - _NOTES - {"properties"} != set(written) - {
        "properties"
    }:
        return False
    for key, want in written.items():
        have = schema[key] if key in schema else None
        if key == "properties":
            if not isinstance(have, dict) or any(
                name in have and not _same(have[name], sub) for name, sub in want.items()
            ):
                return False
        elif key == "required":
            if not isinstance(have, list) or not set(have) <= set(want):
                return False
        elif _plain(have) != want:
            return False
    return True


def _same(schema: Any, written: dict[str, Any]) -> bool:
    if "properties" in written:  # an object: its own properties may grow too
        return _covers(schema, written)
    return bool(_plain(schema) == written)


def _plain(value: Any) -> Any:
    """``value`` without its notes."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in _NOTES}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


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
