"""Issue 16, item 3 ("Cheaper pulls"): the push fast path accepts exactly what the schema does
and serves only the schema it was written for; the screening of big frames checks what it
always checked; the YDoc engine's pull memos give what a computation gives."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from notebook_sync_ydoc.engines.ydoc_engine import YDocEngine, cell_text, load_cell
from notebook_sync_ydoc.merge import PullInput
from notebook_sync_ydoc.protocol.screening import SCAN_LIMIT
from notebook_sync_ydoc.protocol.validation import MessageValidator, ProtocolError, load_schema
from notebook_sync_ydoc.session.locks import KeyedLocks

SCHEMA = load_schema()
VALIDATOR = MessageValidator(SCHEMA)
BIG = "x" * (SCAN_LIMIT + 10)
SCALARS = st.one_of(
    st.sampled_from(["c1", "code", "raw", "markdown", "ABC234", "abc\n", "", "a" * 129, BIG]),
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.sampled_from([1_000_000, 1_000_001, 2**53, 1.0]),
    st.text(max_size=6),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(
        st.sampled_from(["source", "cell_type", "metadata", "sync_allowed", "outputs", "x"]),
        st.one_of(SCALARS, st.dictionaries(st.sampled_from(["a"]), SCALARS, max_size=1)),
        max_size=3,
    ),
)
KEYS = ["req_id", "session_code", "index", "sync_allowed", "metadata", "content", "extra"]


@st.composite
def pushes(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {"type": "push_cell"}
    if draw(st.integers(0, 9)) > 0:
        data["cell_id"] = draw(VALUES)
    if draw(st.integers(0, 9)) > 1:  # mostly a plausible content
        content: dict[str, Any] = {"source": draw(st.one_of(st.text(max_size=5), VALUES))}
        for key in draw(st.lists(st.sampled_from(["cell_type", "metadata", "x"]), unique=True)):
            content[key] = draw(VALUES)
        data["content"] = content
    for key in draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=3)):
        data[key] = draw(VALUES)
    return data


def schema_valid(schema: dict[str, Any], data: dict[str, Any]) -> bool:
    sub = {"$defs": schema["$defs"], **schema["$defs"]["messages"][data["type"]]}
    return Draft202012Validator(sub).is_valid(data)


def accepted(validator: MessageValidator, data: dict[str, Any]) -> bool:
    try:
        validator.parse(json.dumps(data))
    except ProtocolError:
        return False
    return True


@settings(max_examples=800, deadline=None)
@given(pushes())
def test_the_push_fast_path_accepts_exactly_what_the_schema_accepts(data: dict[str, Any]) -> None:
    assert accepted(VALIDATOR, data) == schema_valid(SCHEMA, data), data


@st.composite
def pulls(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {"type": "request_sync", "cell_id": draw(st.sampled_from(["c", "", 5]))}
    keys = ["with_outputs", "local_source", "base_seq", "strategy", "source", "req_id", "extra"]
    for key in draw(st.lists(st.sampled_from(keys), unique=True, max_size=3)):
        data[key] = draw(VALUES)
    return data


@settings(max_examples=400, deadline=None)
@given(pulls())
def test_the_pull_fast_path_accepts_exactly_what_the_schema_accepts(data: dict[str, Any]) -> None:
    assert accepted(VALIDATOR, data) == schema_valid(SCHEMA, data), data


def test_the_usual_push_takes_the_fast_path() -> None:
    assert VALIDATOR.fast_paths == {"request_sync", "push_cell"}
    usual = {
        "type": "push_cell",
        "req_id": "r1",
        "cell_id": "c1",
        "content": {"source": "x = 1\n", "cell_type": "code", "metadata": {"tags": []}},
        "metadata": {"sync_allowed": True},
        "index": 3,
    }

    class Unused:
        def iter_errors(self, data: Any) -> Any:
            raise AssertionError("the usual push took the generic validation")

    validator = MessageValidator(SCHEMA)
    validator._validators["push_cell"] = Unused()  # type: ignore[assignment]
    assert validator.parse(json.dumps(usual)).data == usual


def _changed(edit: Any) -> dict[str, Any]:
    schema = copy.deepcopy(SCHEMA)
    edit(schema["$defs"])
    return schema


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["cell_type"].update(enum=["code"]),
        lambda d: d["messages"]["push_cell"]["required"].append("index"),
        lambda d: d["messages"]["push_cell"].update(additionalProperties=False),
        lambda d: d["messages"]["push_cell"]["properties"]["index"].update(maximum=10),
        lambda d: d["messages"]["push_cell"]["properties"]["content"].update(maxProperties=2),
        lambda d: d["messages"]["push_cell"]["properties"].update(sync_allowed={"const": True}),
        lambda d: d["messages"]["request_sync"]["properties"]["base_seq"].update(
            {"not": {"const": 5}}
        ),
        lambda d: d["cell_id"].update(pattern="^[a-z]{1,8}$"),
    ],
)
def test_a_fast_path_serves_only_the_schema_it_was_written_for(edit: Any) -> None:
    """A schema that says more about a key the fast path accepts turns the path off (frames
    then take the full validation); a new optional property does not, nor one less (the
    schema then allows anything there)."""
    assert MessageValidator(_changed(edit)).fast_paths < VALIDATOR.fast_paths


def test_a_new_optional_property_keeps_the_fast_path() -> None:
    def add(defs: dict[str, Any]) -> None:
        defs["messages"]["push_cell"]["properties"]["share_outputs"] = {"type": "boolean"}
        content = defs["messages"]["push_cell"]["properties"]["content"]
        content["properties"]["outputs"] = {"type": "array"}
        content["description"] = "noted"
        defs["messages"]["push_cell"]["properties"].pop("index")

    validator = MessageValidator(_changed(add))
    assert "push_cell" in validator.fast_paths
    frame = {"type": "push_cell", "cell_id": "c", "content": {"source": "", "outputs": 1}}
    assert not accepted(validator, frame)  # not the fast path's key: the full validation


@pytest.mark.parametrize(
    "raw",
    [
        '{"type":"ping","x":"\\ud800' + "a" * SCAN_LIMIT + '"}',
        '{"type":"ping","y":"' + "a" * SCAN_LIMIT + '","\\udfff":1}',
        '{"type":"ping","y":"\\u00e9' + "a" * SCAN_LIMIT + '\\udc00"}',
        '{"type":"ping","y":"' + "b" * SCAN_LIMIT + '","x":' + "[" * 33 + "]" * 33 + "}",
        '{"type":"ping","y":"' + "b" * SCAN_LIMIT + '","x":' + '{"a":' * 33 + "1" + "}" * 34,
    ],
)
def test_big_frames_are_screened_as_small_ones(raw: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        VALIDATOR.parse(raw)
    assert refused.value.code == "invalid_message"


def test_big_frames_with_valid_unicode_pass() -> None:
    raw = json.dumps({"type": "ping", "x": "\U0001f600 é" + "a" * SCAN_LIMIT, "y": [[[]]]})
    assert VALIDATOR.parse(raw).type == "ping"


LINES = "".join(f"line {n} = {n}\n" for n in range(40))


def _version(k: int) -> str:
    lines = LINES.splitlines(keepends=True)
    lines[3] = f"teacher = {k}\n"
    return "".join(lines)


def _applied(base_state: bytes, update: bytes) -> str:
    doc = load_cell(base_state, 77)
    doc.apply_update(update)
    return cell_text(doc)


def test_pull_memos_give_what_a_fresh_engine_gives() -> None:
    """A class pulling one change: every pull's update equals a fresh engine's (no memo) and
    brings the base state to the pulled text; merges stay per student."""
    engine = YDocEngine()
    states = [engine.push(None, None, _version(0))]
    for k in (1, 2):
        states.append(engine.push(states[-1], None, _version(k)))
    base, theirs = states[1], states[2]
    assert base is not None and theirs is not None
    for n in range(4):
        for mine, status in ((None, "fast_forward"), (_version(1) + f"mine = {n}\n", "merged")):
            request = PullInput(_version(2), theirs, _version(1), base, mine)
            outcome = engine.pull(request)
            fresh = YDocEngine().pull(request)
            assert outcome.status == status and outcome.update is not None
            assert outcome.update == fresh.update
            assert _applied(base, outcome.update) == outcome.source
        first = engine.pull(PullInput(_version(2), theirs, None, None, None))
        assert first.update == theirs
        assert engine.text_delta(_version(1), _version(2)) == YDocEngine().text_delta(
            _version(1), _version(2)
        )
    assert engine.reconciled == 0


def test_a_state_the_store_did_not_mean_is_still_rebuilt() -> None:
    """The memos are keyed by the exact state: a source that does not match the stored state
    (a JSON-mode server wrote it) is still edited in, and counted."""
    engine = YDocEngine()
    base = engine.push(None, None, _version(0))
    theirs = engine.push(base, None, _version(1))
    assert base is not None and theirs is not None
    engine.pull(PullInput(_version(1), theirs, _version(0), base, None))  # memos filled
    outcome = engine.pull(PullInput(_version(5), theirs, _version(0), base, None))
    assert outcome.update is not None and _applied(base, outcome.update) == _version(5)


async def test_keyed_locks_serialize_a_key_and_forget_it() -> None:
    locks = KeyedLocks()
    order: list[str] = []

    async def hold(name: str, key: str) -> None:
        async with locks.hold(key):
            order.append(f"{name} in")
            await asyncio.sleep(0.01)
            order.append(f"{name} out")

    await asyncio.gather(hold("a", "k"), hold("b", "k"), hold("c", "other"))
    assert order.index("a out") < order.index("b in") and len(locks) == 0
    async with locks.hold("k"):
        waiter = asyncio.ensure_future(hold("d", "k"))
        await asyncio.sleep(0.01)
        assert len(locks) == 1
        waiter.cancel()  # cancelled while waiting: it leaves no trace
        with pytest.raises(asyncio.CancelledError):
            await waiter
    assert len(locks) == 0 and "d in" not in order
    with pytest.raises(KeyError):
        async with locks.hold("k"):
            raise KeyError("inside")
    assert len(locks) == 0


class _Peer:
    groups: frozenset[str] = frozenset()
    named = True

    def __init__(self, name: str) -> None:
        self.conn_id = self.identity = self.display_name = name
        self.frames: list[dict[str, Any]] = []

    def send_text(self, text: str) -> None:
        self.frames.append(json.loads(text))

    def close(self, code: int, reason: str) -> None:
        pass


async def test_a_pull_reaches_the_students_other_tabs_only() -> None:
    """The room counts each student's connections: a pull tells that student's other tabs
    (cell_pulled), nobody else's, and none once the other tab has left."""
    import logging

    from notebook_sync_ydoc.engines import load_engine
    from notebook_sync_ydoc.session import ServiceConfig, SyncService
    from notebook_sync_ydoc.store.memory import MemoryStore

    log = logging.getLogger("test")
    service = SyncService(
        MemoryStore(), load_engine(False, log)[0], ServiceConfig(rate_limits=None), log
    )
    await service.start()
    try:

        async def send(peer: _Peer, member: Any, **data: Any) -> dict[str, Any]:
            await service.handle(member, json.dumps(data))
            return peer.frames[-1]

        teacher = _Peer("t")
        t = service.connect(teacher)
        code = (await send(teacher, t, type="create_session"))["session_code"]
        peers = [_Peer(f"s{n}") for n in range(3)]
        members = [service.connect(p) for p in peers]
        key = (await send(peers[0], members[0], type="join_session", session_code=code))[
            "student_key"
        ]
        await send(peers[1], members[1], type="join_session", session_code=code, student_key=key)
        await send(peers[2], members[2], type="join_session", session_code=code)
        for k in range(2):
            await send(teacher, t, type="push_cell", cell_id="c", content={"source": f"{k}\n"})
            await asyncio.sleep(0.01)
            for peer in peers:
                peer.frames.clear()
            reply = await send(peers[0], members[0], type="request_sync", cell_id="c")
            assert reply["type"] == "cell_content_update"
            assert [f["type"] for f in peers[1].frames] == (["cell_pulled"] if k == 0 else [])
            assert not [f for f in peers[2].frames if f["type"] == "cell_pulled"]
            await send(peers[1], members[1], type="leave_session")
    finally:
        await service.stop()
