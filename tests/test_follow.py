"""The follow room (issue 6): a live read-only Yjs view of a session, served with
pycrdt-websocket at /notebook-sync/room/<CODE>. Real servers, real websockets; the follower is
pycrdt's Provider (notebook_sync_ydoc.clients.follow), as a browser's y-websocket would be."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import Connector, classroom
from pycrdt import (
    Array,
    Doc,
    Map,
    Text,
    YMessageType,
    YSyncMessageType,
    create_update_message,
)
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from notebook_sync_ydoc.clients import StudentClient, TeacherClient
from notebook_sync_ydoc.clients.follow import FollowClient, room_url
from notebook_sync_ydoc.protocol import CLOSE_SESSION_ENDED
from notebook_sync_ydoc.testing import JupyterServerProcess

Factory = Callable[..., JupyterServerProcess]


@pytest.fixture
async def follow() -> Any:
    """``await follow(server, code, key)``: followers closed at the end of the test."""
    opened: list[FollowClient] = []

    async def factory(server: JupyterServerProcess, code: str, key: str | None, **kw: Any) -> Any:
        kw.setdefault("token", server.token)
        client = await FollowClient.connect(server.base_url, code, key, **kw)
        opened.append(client)
        return client

    yield factory
    for client in opened:
        await client.close()


async def status(server: JupyterServerProcess) -> dict[str, Any]:
    return await asyncio.to_thread(server.status)


async def wait_status(
    server: JupyterServerProcess, condition: Callable[[dict[str, Any]], bool], timeout: float = 10
) -> dict[str, Any]:
    """Poll /notebook-sync/status until ``condition`` holds (deadline, no fixed sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        current = await status(server)
        if condition(current):
            return current
        if loop.time() > deadline:
            raise TimeoutError(f"status never matched: {current}")
        await asyncio.sleep(0.02)  # polling interval of a condition with a deadline


def view(follower: FollowClient) -> list[tuple[str, str, str, bool]]:
    """(id, type, source, locked) of every cell, in order."""
    return [
        (c["id"], c["cell_type"], c["source"], bool(c["metadata"]["notebook_sync"]["locked"]))
        for c in follower.cells()
    ]


# ---------------------------------------------------------------------------------------------


async def test_follower_sees_pushes_toggles_and_order(
    server: JupyterServerProcess, connect: Connector, follow: Any
) -> None:
    """Both server modes: the room only needs the store's sources."""
    teacher, code, (student,) = await classroom(connect, server)
    await teacher.push_cell("a", "x = 1\n")
    await teacher.push_cell("b", "# Title", cell_type="markdown")
    await teacher.push_cell("c", "SECRET = 42\n", sync_allowed=False)
    follower: FollowClient = await follow(server, code, student.student_key)
    assert view(follower) == [
        ("a", "code", "x = 1\n", False),
        ("b", "markdown", "# Title", False),
        ("c", "code", "", True),
    ]
    cell_c = follower.cells()[2]
    assert cell_c["outputs"] == [] and cell_c["metadata"]["notebook_sync"]["seq"] == 3

    # a push edits the source
    await teacher.push_cell("a", "x = 1\ny = 2  # é 🎉\n")
    await follower.wait_until(lambda: follower.sources()["a"] == "x = 1\ny = 2  # é 🎉\n")
    await teacher.push_cell("a", "x = 10\ny = 2  # é 🎉 !\n")
    await follower.wait_until(lambda: follower.sources()["a"] == "x = 10\ny = 2  # é 🎉 !\n")
    # unlocking shows the content, locking hides it
    await teacher.toggle_sync("c", True)
    await follower.wait_until(lambda: ("c", "code", "SECRET = 42\n", False) in view(follower))
    await teacher.toggle_sync("a", False)
    await follower.wait_until(lambda: ("a", "code", "", True) in view(follower))
    # order: a moved to the end, a new cell at the front, a type change, a removal
    await teacher.push_cell("a", "x = 10\n", index=10)
    await follower.wait_until(lambda: follower.order() == ["b", "c", "a"])
    await teacher.push_cell("z", "first\n", index=0)
    await follower.wait_until(lambda: follower.order() == ["z", "b", "c", "a"])
    await teacher.push_cell("b", "raw text", cell_type="raw")
    await follower.wait_until(lambda: ("b", "raw", "raw text", False) in view(follower))
    await teacher.remove_cell("z")
    await follower.wait_until(lambda: follower.order() == ["b", "c", "a"])
    expected = [
        ("b", "raw", "raw text", False),
        ("c", "code", "SECRET = 42\n", False),
        ("a", "code", "", True),
    ]
    assert view(follower) == expected
    # a follower arriving now gets the same document in one sync
    late: FollowClient = await follow(server, code, teacher.teacher_key)
    assert view(late) == expected
    assert late.cells() == follower.cells()


async def test_locked_content_never_reaches_a_follower(
    ydoc_server: JupyterServerProcess, connect: Connector, follow: Any
) -> None:
    teacher, code, (student,) = await classroom(connect, ydoc_server)
    await teacher.push_cell("open", "visible\n")
    await teacher.push_cell("quiz", "ANSWER_ONE\n", sync_allowed=False)
    follower: FollowClient = await follow(ydoc_server, code, student.student_key)
    await teacher.push_cell("quiz", "ANSWER_TWO\n")  # a push keeps the cell locked
    await teacher.push_cell("open", "visible, edited\n")
    await follower.wait_until(lambda: follower.sources()["open"] == "visible, edited\n")
    assert follower.sources()["quiz"] == "" and "quiz" in follower.locked()
    assert "quiz" not in (follower.teacher_state() or {}).get("cells", {})
    wire = b"".join(follower.frames)
    assert b"visible" in wire and b"ANSWER" not in wire


async def test_student_write_attempts_change_nothing(
    ydoc_server: JupyterServerProcess, connect: Connector, follow: Any
) -> None:
    """A follower that edits its copy (the provider sends the update), sends a forged sync
    step 2, or forges awareness: the server drops it all; nobody else sees anything of it."""
    teacher, code, (mallory, bob) = await classroom(connect, ydoc_server, students=2)
    await teacher.push_cell("a", "x = 1\n")
    attacker: FollowClient = await follow(ydoc_server, code, mallory.student_key)
    watcher: FollowClient = await follow(ydoc_server, code, bob.student_key)
    await watcher.wait_until(lambda: watcher.teacher_state() is not None)
    before = (await status(ydoc_server))["follow"]

    # 1. edit the local document: the pycrdt Provider sends it as a sync update
    with attacker.doc.transaction():
        cells = attacker.notebook.ycells
        text = cells[0]["source"]
        assert isinstance(text, Text)
        text.insert(0, "import os; os.system('rm -rf ~')  # ")
        cells.append(attacker.notebook.create_ycell({"cell_type": "code", "source": "EVIL"}))
    # 2. a forged sync step 2 / update from a separate document
    forged = Doc()
    forged.get("cells", type=Array).append(Map({"id": "x", "source": Text("EVIL2")}))
    step2 = create_update_message(forged.get_update())[2:]
    await attacker.send(bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP2]) + step2)
    await attacker.send(create_update_message(forged.get_update()))
    # 3. awareness: pretend to be the room (its client id), or carry the room's key
    room_id = attacker.teacher_client_id()
    assert room_id is not None
    fake = {"notebook_sync": {"role": "teacher", "cells": {"EVIL": 1}, "roster": []}}
    clock = attacker.awareness.meta[room_id]["clock"]
    await attacker.send_awareness([(room_id, clock + 100, fake)])
    await attacker.send_awareness([(attacker.doc.client_id, 1, fake)])
    await attacker.set_awareness({"user": {"name": "Mallory"}})  # allowed: its own state

    after = await wait_status(
        ydoc_server,
        lambda s: (
            s["follow"]["dropped_updates"] >= before["dropped_updates"] + 3
            and s["follow"]["dropped_awareness"] >= before["dropped_awareness"] + 2
        ),
    )
    assert after["follow"]["rooms"] >= 1
    await watcher.wait_until(
        lambda: any(
            s.get("user", {}).get("name") == "Mallory" for s in watcher.awareness.states.values()
        )
    )
    # the teacher pushes: everyone sees the teacher's text, nothing of the attempts
    ack = await teacher.push_cell("a", "x = 2\n")
    await watcher.wait_until(lambda: watcher.sources().get("a") == "x = 2\n")
    assert view(watcher) == [("a", "code", "x = 2\n", False)]
    await watcher.wait_until(
        lambda: (watcher.teacher_state() or {}).get("cells") == {"a": ack["seq"]}
    )
    assert watcher.teacher_client_id() == room_id
    fresh: FollowClient = await follow(ydoc_server, code, bob.student_key)
    assert view(fresh) == [("a", "code", "x = 2\n", False)]
    assert b"EVIL" not in b"".join(watcher.frames + fresh.frames)
    # a follower that leaves takes its awareness state with it
    await attacker.close()
    await watcher.wait_until(
        lambda: all(
            s.get("user", {}).get("name") != "Mallory" for s in watcher.awareness.states.values()
        )
    )
    # and the JSON protocol's pull gives the teacher's cell
    await bob.wait_for_update("a")
    assert (await bob.pull("a"))["content"]["source"] == "x = 2\n"


async def test_outsiders_are_refused(
    ydoc_server: JupyterServerProcess, connect: Connector, follow: Any
) -> None:
    teacher, code, (student,) = await classroom(connect, ydoc_server)
    other_teacher: TeacherClient = await connect(ydoc_server, TeacherClient)
    other_code = (await other_teacher.create_session("other"))["session_code"]
    refused: dict[str, int] = {}
    attempts: dict[str, tuple[str, str | None, dict[str, Any]]] = {
        "no key": (code, None, {}),
        "empty key": (code, "", {}),
        "wrong key": (code, "not-a-key", {}),
        "key of another session": (other_code, student.student_key or "", {}),
        "unknown session": ("ZZZZZZ", teacher.teacher_key, {}),
        "no jupyter token": (code, teacher.teacher_key, {"token": None}),
    }
    for name, (room, key, extra) in attempts.items():
        kwargs: dict[str, Any] = {"token": ydoc_server.token, **extra}
        with pytest.raises(HTTPClientError) as err:
            await FollowClient.connect(ydoc_server.base_url, room, key, **kwargs)
        refused[name] = err.value.code
    assert refused == {
        "no key": 403,
        "empty key": 403,
        "wrong key": 403,
        "key of another session": 403,
        "unknown session": 404,
        "no jupyter token": 403,
    }
    # a browser (login cookie): Jupyter's origin rule, as on /notebook-sync/ws
    login = await AsyncHTTPClient().fetch(
        ydoc_server.base_url + "api/status",
        headers={"Authorization": f"token {ydoc_server.token}"},
    )
    cookie = "; ".join(c.split(";", 1)[0] for c in login.headers.get_list("Set-Cookie"))
    evil = {"Cookie": cookie, "Origin": "http://evil.example"}
    with pytest.raises(HTTPClientError) as err:
        await FollowClient.connect(ydoc_server.base_url, code, teacher.teacher_key, headers=evil)
    assert err.value.code == 403
    same = {"Cookie": cookie, "Origin": f"http://127.0.0.1:{ydoc_server.port}"}
    browser: FollowClient = await follow(
        ydoc_server, code, teacher.teacher_key, headers=same, token=None
    )
    assert browser.teacher_state() is not None
    # the members get in; the key never shows in the server log
    await follow(ydoc_server, code, teacher.teacher_key)
    follower: FollowClient = await follow(ydoc_server, code, student.student_key)
    log = ydoc_server.log_text()
    assert teacher.teacher_key and teacher.teacher_key not in log
    assert student.student_key and student.student_key not in log
    # an ended session closes its followers (4410) and refuses new ones (410)
    await teacher.end_session()
    await follower.wait_until(lambda: follower.closed.is_set(), timeout=10)
    assert follower.close_code == CLOSE_SESSION_ENDED
    with pytest.raises(HTTPClientError) as err:
        await FollowClient.connect(
            ydoc_server.base_url, code, student.student_key, token=ydoc_server.token
        )
    assert err.value.code == 410


async def test_awareness_carries_available_cells_and_roster(
    ydoc_server: JupyterServerProcess, connect: Connector, follow: Any
) -> None:
    teacher, code, (ada,) = await classroom(connect, ydoc_server)
    await teacher.push_cell("a", "1\n")
    await teacher.push_cell("b", "2\n", sync_allowed=False)
    follower: FollowClient = await follow(ydoc_server, code, teacher.teacher_key)

    def roster_names() -> list[tuple[str, bool]]:
        state = follower.teacher_state() or {}
        return [(s["name"], s["online"]) for s in state.get("roster", [])]

    def json_roster() -> list[dict[str, Any]]:
        return [
            {"student_id": s["student_id"], "name": s["name"], "online": s["online"]}
            for s in teacher.roster or []
        ]

    await follower.wait_until(lambda: roster_names() == [("student0", True)])
    state = follower.teacher_state()
    assert state is not None
    assert state["cells"] == {"a": 1}
    assert state["role"] == "teacher" and state["session_code"] == code
    assert state["status"] == "active" and state["title"] == "test"
    # a push and an unlock show up as the available-cell map
    await teacher.push_cell("a", "1 + 1\n")
    await follower.wait_until(lambda: (follower.teacher_state() or {})["cells"] == {"a": 3})
    await teacher.toggle_sync("b", True)
    await follower.wait_until(lambda: (follower.teacher_state() or {})["cells"] == {"a": 3, "b": 2})
    # students join and leave: the roster follows, and agrees with the JSON roster
    grace: StudentClient = await connect(ydoc_server, StudentClient)
    await grace.join(code, name="Grace")
    await follower.wait_until(lambda: roster_names() == [("student0", True), ("Grace", True)])
    await ada.close()
    await follower.wait_until(lambda: roster_names() == [("student0", False), ("Grace", True)])
    # the JSON roster (teacher's /ws) names the same students with the same presence
    expected = (follower.teacher_state() or {})["roster"]
    assert [s["name"] for s in expected] == ["student0", "Grace"]
    for _ in range(50):  # each roster_update the teacher receives, until they agree
        if json_roster() == expected:
            break
        await teacher.next_message("roster_update", timeout=10)
    assert json_roster() == expected


# ---------------------------------------------------------------------------------------------


def broken_pycrdt(tmp_path: Path) -> dict[str, str]:
    shadow = tmp_path / "shadow" / "pycrdt"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('raise ImportError("pycrdt is broken here")\n')
    return {"PYTHONPATH": str(tmp_path / "shadow")}


async def test_without_pycrdt_the_room_is_404_and_status_says_why(
    nbsync_server_factory: Factory, connect: Connector, tmp_path: Path
) -> None:
    server = nbsync_server_factory(env=broken_pycrdt(tmp_path))
    current = await status(server)
    assert current["mode"] == "json"
    assert current["follow"]["available"] is False
    assert "pycrdt is broken here" in current["follow"]["reason"]
    request = urllib.request.Request(
        server.base_url + "notebook-sync/room/ABCDEF?key=k",
        headers={"Authorization": f"token {server.token}"},
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        await asyncio.to_thread(urllib.request.urlopen, request, timeout=5)
    assert err.value.code == 404
    assert "pycrdt is broken here" in json.loads(err.value.read())["reason"]
    # the JSON protocol is unaffected
    teacher, code, (student,) = await classroom(connect, server)
    await teacher.push_cell("a", "x\n")
    await student.wait_for_update("a")
    assert room_url(server.base_url, code, "k").endswith(f"/notebook-sync/room/{code}?key=k")


# --------------------------------------------------------------------------------------------
# many servers: each hosts its own replica, fed from Redis


def redis_pair(
    factory: Factory, url: str, prefix: str, **b_options: Any
) -> tuple[JupyterServerProcess, JupyterServerProcess]:
    a = factory(redis_url=url, key_prefix=prefix)
    b = factory(redis_url=url, key_prefix=prefix, **b_options)
    return a, b


@pytest.mark.redis
async def test_follower_on_another_server_sees_every_push(
    nbsync_server_factory: Factory,
    redis_url: str,
    redis_prefix: str,
    connect: Connector,
    follow: Any,
) -> None:
    a, b = redis_pair(nbsync_server_factory, redis_url, redis_prefix)
    teacher: TeacherClient = await connect(a, TeacherClient)
    code = (await teacher.create_session("two servers"))["session_code"]
    ada: StudentClient = await connect(b, StudentClient)
    await ada.join(code, name="Ada")
    far: FollowClient = await follow(b, code, ada.student_key)
    near: FollowClient = await follow(a, code, teacher.teacher_key)
    for i in range(40):
        cell = f"c{i % 5}"
        source = f"step = {i}\n" + "# ünïcode ✓\n" * (i % 3)
        ack = await teacher.push_cell(cell, source)
        await far.wait_until(lambda c=cell, s=source: far.sources().get(c) == s)
        await far.wait_until(
            lambda c=cell, q=ack["seq"]: (far.teacher_state() or {}).get("cells", {}).get(c) == q
        )
    await teacher.toggle_sync("c1", False)
    await far.wait_until(lambda: "c1" in far.locked() and far.sources()["c1"] == "")
    await teacher.push_cell("c4", "moved\n", index=2)  # after c2 (same index, older seq)
    await far.wait_until(lambda: far.order() == ["c0", "c1", "c2", "c4", "c3"])
    await near.wait_until(lambda: near.cells() == far.cells())
    # the order is the session index's, as the JSON protocol lists it
    late: StudentClient = await connect(b, StudentClient)
    joined = await late.join(code, name="Late")
    assert [c["cell_id"] for c in joined["cells"]] == far.order()

    def roster(follower: FollowClient) -> list[tuple[str, bool]]:
        students = (follower.teacher_state() or {}).get("roster", [])
        return [(s["name"], s["online"]) for s in students]

    await far.wait_until(lambda: roster(far) == [("Ada", True), ("Late", True)])
    await near.wait_until(lambda: roster(near) == [("Ada", True), ("Late", True)])
    assert (await status(b))["follow"]["rooms"] == 1


@pytest.mark.redis
async def test_lost_pubsub_message_reaches_the_follower_after_resync(
    nbsync_server_factory: Factory, redis_server: Any, connect: Connector, follow: Any
) -> None:
    """Pub/sub is at-most-once: a push published while the follower's server had no
    subscriber connection reaches the room through the reload after the re-subscription."""
    a, b = redis_pair(nbsync_server_factory, redis_server.url, "nbsync:", redis_reconnect_delay=1.5)
    teacher: TeacherClient = await connect(a, TeacherClient)
    code = (await teacher.create_session())["session_code"]
    await teacher.push_cell("a", "before\n")
    follower: FollowClient = await follow(b, code, teacher.teacher_key)
    assert follower.sources() == {"a": "before\n"}
    reloads = (await status(b))["follow"]["reloads"]
    raw = redis_server.client()
    try:
        assert raw.client_kill_filter(_type="pubsub") >= 1
    finally:
        raw.close()
    await teacher.push_cell("a", "during the outage\n")
    await teacher.push_cell("b", "new during the outage\n")
    await follower.wait_until(
        lambda: follower.sources() == {"a": "during the outage\n", "b": "new during the outage\n"},
        timeout=20,
    )
    assert (await status(b))["follow"]["reloads"] > reloads, "delivered by the reload"


@pytest.mark.redis
async def test_store_outage_refuses_new_followers_with_503(
    nbsync_server_factory: Factory, redis_server: Any, connect: Connector, follow: Any
) -> None:
    """Admission reads the store: with Redis down the handshake answers 503 (never a room
    that silently shows nothing); a follower connected before keeps its document."""
    server = nbsync_server_factory(redis_url=redis_server.url, redis_reconnect_delay=0.2)
    teacher, code, (student,) = await classroom(connect, server)
    await teacher.push_cell("a", "kept\n")
    follower: FollowClient = await follow(server, code, student.student_key)
    redis_server.stop()
    with pytest.raises(HTTPClientError) as err:
        await FollowClient.connect(
            server.base_url, code, student.student_key, token=server.token, timeout=30
        )
    assert err.value.code == 503
    assert follower.sources() == {"a": "kept\n"} and not follower.closed.is_set()
    redis_server.start()
    late: FollowClient = await follow(server, code, student.student_key, timeout=30)
    assert late.sources() == {"a": "kept\n"}
