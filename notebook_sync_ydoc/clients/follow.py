"""A Yjs follower of a session's follow room (``/notebook-sync/room/<CODE>``), in Python.

It is what a browser's y-websocket provider does, with pycrdt's :class:`~pycrdt.Provider` for
the document sync and a :class:`~pycrdt.Awareness` mirror for the awareness messages::

    follower = await FollowClient.connect("http://127.0.0.1:8888/", code, key, token="...")
    await follower.wait_until(lambda: "intro" in follower.sources())
    print(follower.teacher_state()["cells"])      # {cell_id: seq} of the shared cells
    await follower.close()

Needs pycrdt and jupyter-ydoc (tests, benchmarks, scripts).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from jupyter_ydoc import YNotebook
from pycrdt import Awareness, Doc, Provider, YMessageType, create_awareness_message, read_message
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from ..follow.awareness import encode_awareness
from ..protocol import METADATA_KEY

DEFAULT_TIMEOUT = 10.0


def room_url(base_url: str, code: str, key: str | None, token: str | None = None) -> str:
    """``http://host:port/base/`` -> ``ws://host:port/base/notebook-sync/room/CODE?key=...``."""
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    query: dict[str, str] = {}
    if key is not None:
        query["key"] = key
    if token is not None:
        query["token"] = token
    return urlunsplit(
        (scheme, parts.netloc, f"{path}notebook-sync/room/{code}", urlencode(query), "")
    )


class FollowClient:
    """One follower: its document (a ``YNotebook``), the awareness states it has received,
    and every raw frame received (``frames``, for tests that look at the wire)."""

    def __init__(self, ws: WebSocketClientConnection, path: str, timeout: float) -> None:
        self.ws = ws
        self._path = path
        self.timeout = timeout
        self.doc: Doc[Any] = Doc()
        self.notebook = YNotebook(self.doc)
        self.awareness = Awareness(self.doc)
        self.frames: list[bytes] = []
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._changed = asyncio.Event()
        self.doc.observe(lambda _event: self._changed.set())
        self.provider = Provider(self.doc, self)
        self._task: asyncio.Future[None] | None = None

    @classmethod
    async def connect(
        cls,
        base_url: str,
        code: str,
        key: str | None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        wait_synced: bool = True,
    ) -> FollowClient:
        """Connect (raises ``tornado.httpclient.HTTPClientError`` when refused) and, unless
        ``wait_synced`` is false, wait for the first complete sync."""
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"token {token}"
        url = room_url(base_url, code, key)
        request = HTTPRequest(url, headers=all_headers, connect_timeout=timeout)
        ws = await websocket_connect(request, max_message_size=64 * 1024 * 1024)
        client = cls(ws, urlsplit(url).path, timeout)
        client._task = asyncio.ensure_future(client.provider.start())
        await client.provider.started.wait()
        if wait_synced:
            await asyncio.wait_for(client.provider.synced.wait(), timeout)
        return client

    # the pycrdt Channel the provider reads and writes ----------------------------------------
    @property
    def path(self) -> str:
        return self._path

    def __aiter__(self) -> FollowClient:
        return self

    async def __anext__(self) -> bytes:
        while True:
            message = await self.ws.read_message()
            if message is None:
                self.close_code = self.ws.close_code
                self.closed.set()
                self._changed.set()
                raise StopAsyncIteration
            if isinstance(message, str):
                continue
            self.frames.append(message)
            if message and message[0] == YMessageType.AWARENESS:
                self.awareness.apply_awareness_update(read_message(message[1:]), "remote")
                self._changed.set()
                continue
            return message

    async def recv(self) -> bytes:
        return await self.__anext__()

    async def send(self, message: bytes) -> None:
        await self.ws.write_message(message, binary=True)

    # what a test looks at ----------------------------------------------------------------------
    def cells(self) -> list[dict[str, Any]]:
        return list(self.notebook.get()["cells"])

    def sources(self) -> dict[str, str]:
        return {c["id"]: c["source"] for c in self.cells()}

    def order(self) -> list[str]:
        return [c["id"] for c in self.cells()]

    def outputs(self) -> dict[str, list[dict[str, Any]]]:
        """Each code cell's outputs as shown (the teacher's shared ones; empty: none shared,
        or the cell is locked). Render them as untrusted output."""
        return {c["id"]: list(c.get("outputs", [])) for c in self.cells() if "outputs" in c}

    def locked(self) -> set[str]:
        return {c["id"] for c in self.cells() if c["metadata"].get(METADATA_KEY, {}).get("locked")}

    def teacher_client_id(self) -> int | None:
        for client_id, state in self.awareness.states.items():
            if isinstance(state, dict) and METADATA_KEY in state:
                return client_id
        return None

    def teacher_state(self) -> dict[str, Any] | None:
        """The room's (the teacher's) awareness state: ``notebook_sync`` of the server."""
        client_id = self.teacher_client_id()
        if client_id is None:
            return None
        state: dict[str, Any] = self.awareness.states[client_id][METADATA_KEY]
        return state

    async def wait_until(self, condition: Callable[[], bool], timeout: float | None = None) -> None:
        """Return once ``condition()`` holds (checked after every received change), or raise
        TimeoutError at the deadline."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (timeout or self.timeout)
        while not condition():
            if self.closed.is_set():
                raise ConnectionError(f"follow room closed ({self.close_code})")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("condition not reached")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue

    async def set_awareness(self, state: dict[str, Any] | None) -> None:
        """Publish this follower's own awareness state (as a y-websocket client does)."""
        self.awareness.set_local_state(state)
        clock = self.awareness.meta[self.awareness.client_id]["clock"]
        await self.send_awareness([(self.awareness.client_id, clock, state)])

    async def send_awareness(self, entries: list[tuple[int, int, dict[str, Any] | None]]) -> None:
        await self.send(create_awareness_message(encode_awareness(entries)))

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            await self.provider.stop()
            await asyncio.gather(self._task, return_exceptions=True)
        self.ws.close()
        self.closed.set()
