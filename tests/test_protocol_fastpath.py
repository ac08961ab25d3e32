"""The validator accepts a frame exactly when the shipped JSON Schema does, fast paths included
(frames a whole class sends at once skip the generic schema walk): the schema stays the
contract."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from notebook_sync_ydoc.protocol.validation import (
    _FAST_ACCEPT,
    MessageValidator,
    ProtocolError,
    load_schema,
)

SCHEMA = load_schema()
VALIDATOR = MessageValidator(SCHEMA)
VALUES = st.one_of(
    st.sampled_from(["c1", "cell_001", "theirs", "mine", "both", "", "a" * 129, "../x", "ABC234"]),
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.sampled_from([2**53 - 1, 2**53, 1.0]),
    st.text(max_size=8),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.sampled_from(["source", "x"]), st.text(max_size=3), max_size=2),
)
OPTIONAL = ["req_id", "local_source", "strategy", "base_seq", "session_code", "content", "extra"]


@st.composite
def frames(draw: st.DrawFn) -> dict[str, Any]:
    mtype = draw(st.sampled_from(sorted(_FAST_ACCEPT)))
    data: dict[str, Any] = {"type": mtype}
    if draw(st.integers(0, 9)) > 0:  # mostly with a cell_id, mostly a plausible one
        data["cell_id"] = draw(VALUES)
    for key in draw(st.lists(st.sampled_from(OPTIONAL), unique=True, max_size=3)):
        data[key] = draw(VALUES)
    return data


def schema_valid(data: dict[str, Any]) -> bool:
    sub = {"$defs": SCHEMA["$defs"], **SCHEMA["$defs"]["messages"][data["type"]]}
    return Draft202012Validator(sub).is_valid(data)


def accepted(data: dict[str, Any]) -> bool:
    try:
        VALIDATOR.parse(json.dumps(data))
    except ProtocolError:
        return False
    return True


@settings(max_examples=600, deadline=None)
@given(frames())
def test_validator_accepts_exactly_what_the_schema_accepts(data: dict[str, Any]) -> None:
    assert accepted(data) == schema_valid(data), data


def test_the_usual_pull_takes_the_fast_path() -> None:
    usual = {"type": "request_sync", "req_id": "r1", "cell_id": "c1", "local_source": "x = 1\n"}
    assert _FAST_ACCEPT["request_sync"](usual)
    assert accepted(usual) and schema_valid(usual)
    assert not accepted({**usual, "req_id": 5})


def test_a_refused_frame_is_answered_under_its_own_req_id() -> None:
    """A client waiting on its request hears why it was refused (not a timeout)."""
    for frame in (
        {"type": "request_sync", "req_id": "r7", "cell_id": "c", "base_seq": -1},
        {"type": "request_sync", "req_id": "r7", "cell_id": "c", "strategy": None},
        {"type": "no_such_type", "req_id": "r7"},
    ):
        try:
            VALIDATOR.parse(json.dumps(frame))
        except ProtocolError as exc:
            assert exc.req_id == "r7", frame
        else:
            raise AssertionError(f"accepted {frame}")
