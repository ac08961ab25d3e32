"""The use cases on their own: :class:`SyncService` over the embedded store, with recording peers
in place of sockets (no server process, no Tornado). Each test is what a teacher or a student
does, in both engines; the end-to-end suites (test_protocol.py and others) cover the same over
real websockets."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from notebook_sync_ydoc.engines import CellEngine, JsonEngine
from notebook_sync_ydoc.engines.ydoc_engine import YDocEngine
from notebook_sync_ydoc.protocol import ProtocolError
from notebook_sync_ydoc.session import Member, ServiceConfig, SyncService
from notebook_sync_ydoc.store import StoreUnavailable
from notebook_sync_ydoc.store.memory import MemoryStore

WAIT = 5.0  # seconds a test waits for a frame before it fails


class RecordingPeer:
    """A connection that keeps every frame the service sends it."""

    def __init__(self, identity: str, groups: frozenset[str] = frozenset()) -> None:
        self.conn_id = f"conn-{identity}"
        self.identity = identity
        self.display_name = identity.title()
        self.groups = groups
        self.named = True
        self.frames: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()

    def send_text(self, text: str) -> None:
        self.frames.append(json.loads(text))
        self._arrived.set()

    def of(self, mtype: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == mtype]

    async def wait_for(
        self, mtype: str, where: Callable[[dict[str, Any]], bool] = lambda f: True
    ) -> dict[str, Any]:
        """The first frame of ``mtype`` matching ``where``, waiting for it if need be."""
        async with asyncio.timeout(WAIT):
            while True:
                for frame in self.frames:
                    if frame["type"] == mtype and where(frame):
                        return frame
                self._arrived.clear()
                await self._arrived.wait()


class Client:
    """One connection: send a message, get its direct reply (matched by req_id)."""

    def __init__(self, service: SyncService, identity: str, **peer: Any) -> None:
        self.service = service
        self.peer = RecordingPeer(identity, **peer)
        self.member: Member = service.connect(self.peer)
        self._n = 0

    async def send(self, mtype: str, **data: Any) -> dict[str, Any]:
        self._n += 1
        req_id = f"{self.peer.identity}-{self._n}"
        frame = json.dumps({"type": mtype, "req_id": req_id, **data})
        await self.service.handle(self.member, frame)  # a direct reply is sent before it returns
        replies = [f for f in self.peer.frames if f.get("req_id") == req_id]
        assert len(replies) == 1, (req_id, self.peer.frames)
        return replies[0]

    async def ok(self, mtype: str, **data: Any) -> dict[str, Any]:
        reply = await self.send(mtype, **data)
        assert reply["type"] != "error", reply
        return reply

    async def error(self, mtype: str, **data: Any) -> str:
        reply = await self.send(mtype, **data)
        assert reply["type"] == "error", reply
        return str(reply["code"])


@pytest.fixture(params=["json", "ydoc"])
async def service(request: pytest.FixtureRequest) -> AsyncIterator[SyncService]:
    engine: CellEngine = JsonEngine() if request.param == "json" else YDocEngine()
    config = ServiceConfig(join_failures_per_minute=3, roster_interval=0.01)
    svc = SyncService(MemoryStore(server_id="unit"), engine, config, logging.getLogger("unit"))
    await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()


async def classroom(service: SyncService, *sources: str) -> tuple[Client, Client, str]:
    """A teacher with a session whose cells c0, c1, ... hold ``sources``, and a joined student."""
    teacher = Client(service, "teacher")
    code = (await teacher.ok("create_session", title="Lesson"))["session_code"]
    for i, source in enumerate(sources):
        await teacher.ok("push_cell", cell_id=f"c{i}", content={"source": source}, index=i)
    student = Client(service, "student")
    await student.ok("join_session", session_code=code, name="Ada")
    return teacher, student, code


async def test_a_push_is_announced_and_a_pull_brings_it(service: SyncService) -> None:
    teacher, student, _code = await classroom(service, "x = 1\n")
    joined = student.peer.of("session_joined")[0]
    assert [c["cell_id"] for c in joined["cells"]] == ["c0"]
    await student.peer.wait_for("update_available", lambda f: f["cell_id"] == "c0")
    reply = await student.ok("request_sync", cell_id="c0")
    assert (reply["status"], reply["content"]["source"]) == ("fast_forward", "x = 1\n")
    roster = await teacher.peer.wait_for(
        "roster_update", lambda f: f["students"] and f["students"][0]["pulled"].get("c0") == 1
    )
    assert roster["students"][0]["name"] == "Ada"
    ack = await teacher.ok("push_cell", cell_id="c0", content={"source": "x = 2\n"})
    await student.peer.wait_for("update_available", lambda f: f["seq"] == ack["seq"])


async def test_an_unchanged_push_makes_no_seq_and_no_news(service: SyncService) -> None:
    teacher, student, _code = await classroom(service, "a\n")
    again = await teacher.ok("push_cell", cell_id="c0", content={"source": "a\n"})
    assert again["unchanged"] is True and again["seq"] == 1
    await teacher.ok("push_cell", cell_id="c1", content={"source": "b\n"})  # a later event
    await student.peer.wait_for("update_available", lambda f: f["cell_id"] == "c1")
    assert [f["cell_id"] for f in student.peer.of("update_available")] == ["c0", "c1"]


async def test_roles_are_enforced(service: SyncService) -> None:
    teacher, student, code = await classroom(service, "a\n")
    assert await student.error("push_cell", cell_id="c0", content={"source": "mine"}) == (
        "forbidden"
    )
    assert await student.error("toggle_sync", cell_id="c0", sync_allowed=False) == "forbidden"
    assert await teacher.error("request_sync", cell_id="c0") == "forbidden"
    outsider = Client(service, "outsider")
    assert await outsider.error("request_sync", cell_id="c0") == "not_in_session"
    assert await outsider.error("resume_session", session_code=code, teacher_key="x" * 32) == (
        "forbidden"
    )


async def test_a_locked_cell_cannot_be_pulled_or_previewed(service: SyncService) -> None:
    teacher, student, _code = await classroom(service, "secret\n")
    await teacher.ok("toggle_sync", cell_id="c0", sync_allowed=False)
    await student.peer.wait_for("sync_allowed_update", lambda f: f["sync_allowed"] is False)
    assert await student.error("request_sync", cell_id="c0") == "sync_not_allowed"
    assert await student.error("preview", cell_id="c0") == "sync_not_allowed"
    await teacher.ok("toggle_sync", cell_id="c0", sync_allowed=True)
    reply = await student.ok("request_sync", cell_id="c0")
    assert reply["content"]["source"] == "secret\n"


async def test_a_student_edit_merges_and_a_clash_asks(service: SyncService) -> None:
    teacher, student, _code = await classroom(service, "a = 1\nb = 2\nc = 3\n")
    await student.ok("request_sync", cell_id="c0")
    await teacher.ok("push_cell", cell_id="c0", content={"source": "a = 1\nb = 2\nc = 30\n"})
    merged = await student.ok("request_sync", cell_id="c0", local_source="a = 10\nb = 2\nc = 3\n")
    assert (merged["status"], merged["content"]["source"]) == (
        "merged",
        "a = 10\nb = 2\nc = 30\n",
    )
    await teacher.ok("push_cell", cell_id="c0", content={"source": "a = 1\nb = 2\nc = 31\n"})
    mine = "a = 10\nb = 2\nc = 32\n"
    clash = await student.ok("request_sync", cell_id="c0", local_source=mine)
    assert clash["status"] == "conflict" and clash["mine"] == mine and clash["conflicts"]
    taken = await student.ok("request_sync", cell_id="c0", local_source=mine, strategy="theirs")
    assert (taken["status"], taken["mine"]) == ("replaced", mine)
    assert taken["content"]["source"] == "a = 1\nb = 2\nc = 31\n"


async def test_a_newer_seq_with_the_same_source_is_delivered_once(service: SyncService) -> None:
    """Rule 3: only the type changed; the pull delivers it keeping the student's text."""
    teacher, student, _code = await classroom(service, "# Title\n")
    await student.ok("request_sync", cell_id="c0")
    await teacher.ok(
        "push_cell", cell_id="c0", content={"source": "# Title\n", "cell_type": "markdown"}
    )
    reply = await student.ok("request_sync", cell_id="c0", local_source="# My title\n")
    assert (reply["status"], reply["content"]) == (
        "merged",
        {"source": "# My title\n", "cell_type": "markdown", "metadata": {}},
    )
    assert await student.error("request_sync", cell_id="c0") == "no_update"


async def test_a_removed_cell_and_the_end_reach_the_student(service: SyncService) -> None:
    teacher, student, _code = await classroom(service, "a\n", "b\n")
    await teacher.ok("remove_cell", cell_id="c1")
    await student.peer.wait_for("cell_removed", lambda f: f["cell_id"] == "c1")
    assert await student.error("request_sync", cell_id="c1") == "cell_not_found"
    await teacher.ok("end_session")
    await student.peer.wait_for("session_ended")
    assert await student.error("request_sync", cell_id="c0") == "not_in_session"
    assert await teacher.error("push_cell", cell_id="c0", content={"source": "x"}) == (
        "not_in_session"
    )


async def test_a_rejoin_with_the_key_resumes_what_was_pulled(service: SyncService) -> None:
    _teacher, student, code = await classroom(service, "a\n", "b\n")
    await student.ok("request_sync", cell_id="c0")
    key = student.peer.of("session_joined")[0]["student_key"]
    await service.disconnect(student.member)
    again = Client(service, "student")
    joined = await again.ok("join_session", session_code=code, student_key=key)
    assert joined["resumed"] is True
    assert {c["cell_id"]: c["pulled_seq"] for c in joined["cells"]} == {"c0": 1, "c1": 0}
    # only the cell not pulled yet is announced
    await again.peer.wait_for("update_available", lambda f: f["cell_id"] == "c1")
    assert [f["cell_id"] for f in again.peer.of("update_available")] == ["c1"]


async def test_wrong_codes_are_rate_limited_for_joins_and_follows(service: SyncService) -> None:
    guesser = Client(service, "guesser")
    for _ in range(2):
        assert await guesser.error("join_session", session_code="ZZZZZZ") == "session_not_found"
    # the follow rooms' admission counts against the same limit
    with pytest.raises(ProtocolError) as refused:
        await service.access.key_holder("guesser", "ZZZZZZ", "some-key")
    assert refused.value.code == "session_not_found"
    assert await guesser.error("join_session", session_code="ZZZZZZ") == "rate_limited"


async def test_only_configured_teachers_create_sessions() -> None:
    config = ServiceConfig(teacher_groups=frozenset({"teachers"}))
    svc = SyncService(MemoryStore(server_id="unit"), JsonEngine(), config, logging.getLogger("u"))
    await svc.start()
    try:
        assert await Client(svc, "student").error("create_session") == "forbidden"
        teacher = Client(svc, "prof", groups=frozenset({"teachers"}))
        assert (await teacher.ok("create_session"))["type"] == "session_created"
    finally:
        await svc.stop()


async def test_bad_frames_get_errors_and_the_connection_stays_usable(
    service: SyncService,
) -> None:
    client = Client(service, "someone")
    for raw in ["not json", "[]", '{"type": 3}', '{"type": "fly"}', '{"type": "push_cell"}']:
        await service.handle(client.member, raw)
    codes = [f["code"] for f in client.peer.of("error")]
    assert codes == [
        "invalid_message",
        "invalid_message",
        "invalid_message",
        "unknown_type",
        "invalid_message",
    ]
    await service.handle(client.member, json.dumps({"type": "ping", "pad": "x" * (5 << 20)}))
    assert client.peer.of("error")[-1]["code"] == "too_large"
    assert (await client.ok("ping"))["type"] == "pong"
    assert service.counters["errors"] == 6


class FlakyStore(MemoryStore):
    """The embedded store, with writes that fail while ``down`` (as a lost Redis would)."""

    down = False

    async def write_cell(self, *args: Any, **kwargs: Any) -> Any:
        if self.down:
            raise StoreUnavailable("the store is down (test)")
        return await super().write_cell(*args, **kwargs)


async def test_a_push_the_store_refused_is_an_error_and_leaves_no_trace() -> None:
    store = FlakyStore(server_id="unit")
    svc = SyncService(store, JsonEngine(), ServiceConfig(), logging.getLogger("unit"))
    await svc.start()
    try:
        teacher, student, _code = await classroom(svc, "a\n")
        store.down = True
        reply = await teacher.send("push_cell", cell_id="c0", content={"source": "b\n"})
        assert (reply["type"], reply["code"]) == ("error", "store_unavailable")
        store.down = False
        pulled = await student.ok("request_sync", cell_id="c0")
        assert (pulled["seq"], pulled["content"]["source"]) == (1, "a\n")
    finally:
        await svc.stop()


async def test_keyed_locks_serialize_one_key_and_forget_it_afterwards() -> None:
    from notebook_sync_ydoc.session.locks import KeyedLocks

    locks = KeyedLocks()
    order: list[str] = []

    async def worker(key: str, name: str) -> None:
        async with locks.hold(key):
            order.append(f"{name}+")
            await asyncio.sleep(0)  # let the other worker try to enter
            order.append(f"{name}-")

    await asyncio.gather(worker("k", "a"), worker("k", "b"), worker("other", "c"))
    assert order.index("a-") < order.index("b+")  # same key: one after the other
    assert order.index("c+") < order.index("a-")  # another key: not held up
    assert len(locks) == 0
