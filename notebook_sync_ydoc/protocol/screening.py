"""What every frame must pass before the schema sees it (docs/architecture.md, "Security").

JSON that Python's parser accepts is not all fit to use: ``NaN`` and ``Infinity`` are not JSON
(a browser's ``JSON.parse`` refuses them when they are sent on), a ``\\ud800`` escape yields a
string no UTF-8 encoder can write, nesting a thousand deep overflows the recursion of the parser
or of anything that walks the result, and an nbformat source given as an array of 500,000
strings takes the generic schema validator seconds. Each is refused here with
``invalid_message``, at a cost bounded by the frame's size, before anything changes.

Source arrays (``content.source``, ``local_source``) are joined into one string here, so the
schema and the use cases only ever see strings.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, NoReturn

__all__ = ["MAX_DEPTH", "MAX_SOURCE_ITEMS", "load_frame", "scrub"]

MAX_DEPTH: Final = 32  # nesting levels of objects and arrays in one frame
MAX_SOURCE_ITEMS: Final = 100_000  # strings in one nbformat source array
SCAN_LIMIT: Final = 2048  # characters: a longer frame is walked for both checks, not scanned
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class FrameRefused(ValueError):
    """The frame is not fit to use; the message says why (it becomes ``invalid_message``)."""


def _refuse(message: str) -> NoReturn:
    raise FrameRefused(message)


def _no_constants(name: str) -> NoReturn:
    _refuse(f"{name} is not JSON")


def load_frame(raw: str | bytes) -> Any:
    """Parse one frame strictly: valid UTF-8, no NaN/Infinity, at most :data:`MAX_DEPTH`
    levels, no lone surrogates; source arrays joined. Raises :class:`FrameRefused`."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            _refuse(f"not valid UTF-8: {exc.reason} at byte {exc.start}")
    try:
        data = json.loads(raw, parse_constant=_no_constants)
    except RecursionError:
        _refuse(f"nested deeper than {MAX_DEPTH} levels")
    except ValueError as exc:  # JSONDecodeError, FrameRefused from parse_constant
        _refuse(f"not valid JSON: {exc}")
    if len(raw) > SCAN_LIMIT:
        # Mostly one big source string: a scan of the text costs passes over every character,
        # a walk one step per value (and an ASCII string is known to encode without reading
        # it: str.isascii is a flag), so it is walked for both checks.
        _walk(data, True)
    else:
        deep = raw.count("[") + raw.count("{") > MAX_DEPTH  # else it cannot be too deep
        surrogates = _SURROGATE_ESCAPE.search(raw) is not None  # else every string encodes
        if deep or surrogates:
            _walk(data, surrogates)
    if isinstance(data, dict):
        _join_sources(data)
    return data


def _walk(value: Any, surrogates: bool) -> None:
    """One pass over the parsed frame, level by level: its depth, and (if ``surrogates``) any
    string that is not valid Unicode (their join is read only if it is not ASCII). No
    recursion, and the per-item work is C (list extends and one join), so even a 4 MiB frame
    of empty arrays costs tens of milliseconds."""
    level: list[Any] = [value]
    strings: list[str] = []
    depth = 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            _refuse(f"nested deeper than {MAX_DEPTH} levels")
        children: list[Any] = []
        for item in level:
            if type(item) is dict:
                children.extend(item.values())
                if surrogates:
                    strings.extend(item)
            else:
                children.extend(item)
        if surrogates:
            strings.extend([c for c in children if type(c) is str])
        level = [c for c in children if type(c) is dict or type(c) is list]
    if surrogates and not _encodable("".join(strings)):
        _refuse("a string holds a lone UTF-16 surrogate (not valid Unicode)")


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _join_sources(data: dict[str, Any]) -> None:
    content = data.get("content")
    if isinstance(content, dict) and isinstance(content.get("source"), list):
        content["source"] = _joined(content["source"], "content.source")
    if isinstance(data.get("local_source"), list):
        data["local_source"] = _joined(data["local_source"], "local_source")


def _joined(items: list[Any], where: str) -> str:
    if len(items) > MAX_SOURCE_ITEMS:
        _refuse(f"{where}: more than {MAX_SOURCE_ITEMS} lines")
    if not all(type(item) is str for item in items):
        _refuse(f"{where}: a source array holds only strings")
    return "".join(items)


def scrub(value: Any) -> Any:
    """``value`` made fit for strict JSON: lone surrogates replaced (U+FFFD), NaN and the
    infinities as null. For data stored by an older version that checked less; never needed
    for what this version accepts."""
    if isinstance(value, str):
        if _encodable(value):
            return value
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    return value
