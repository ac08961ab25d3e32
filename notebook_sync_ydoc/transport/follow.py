"""Transport of the follow rooms (:mod:`..follow`): ``/notebook-sync/room/<CODE>``.

This module never imports pycrdt: the app builds the follow manager (pycrdt, pycrdt-websocket,
jupyter-ydoc) and says why when it cannot. Without it
the route answers ``404`` with the reason (:class:`FollowUnavailableHandler`) and
``/notebook-sync/status`` shows ``follow.available: false`` and the reason.

Connecting (what a browser y-websocket provider does)::

    new WebsocketProvider(`${wsUrl}notebook-sync/room`, CODE, doc,
                          {params: {key: teacherOrStudentKey}})   # plus token=... if any

Jupyter authentication (token header/parameter or login cookie), Jupyter's authorizer (``read``
on the ``notebook_sync`` resource) and Jupyter's origin rules apply as on
``/notebook-sync/ws``. Then the ``key`` query parameter must be the session's teacher key or
one of its student keys (jupyter_server's access log shows it as ``key=[secret]``). A refused
handshake is an HTTP error: 403 (missing or wrong key), 404 (no such session), 410 (ended), 429
(too many failed attempts), 503 (store unreachable). An open connection is closed with 4410
when the session ends (do not reconnect), 1013 when the client reads too slowly (reconnect)
and 1001 when the server stops.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.websocket import WebSocketClosedError

from ..follow import Admission, FollowRefused
from ..protocol import CLOSE_INTERNAL_ERROR, CLOSE_SLOW_CLIENT
from .base import AUTH_RESOURCE, AuthorizedWebSocket

if TYPE_CHECKING:
    from ..follow.manager import FollowManager
    from ..follow.room import Follower

FOLLOW_ROUTE = r"/notebook-sync/room/(?P<code>[^/]+)"
INCOMING_QUEUE = 64  # frames read ahead of the room (then Tornado stops reading: backpressure)


class TornadoChannel:
    """A follower's websocket as :class:`~.follow.FollowTransport`: binary frames in (a small
    queue; a full one makes Tornado stop reading) and out (a bounded queue drained by one
    writer; a client that does not read is closed with 1013 instead of growing memory)."""

    def __init__(self, handler: FollowWebSocketHandler, path: str, queue_size: int) -> None:
        self._handler = handler
        self._path = path
        self._incoming: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=INCOMING_QUEUE)
        self._outgoing: asyncio.Queue[bytes] = asyncio.Queue(maxsize=queue_size)
        self._writer: asyncio.Task[None] | None = None
        self.closed = False

    @property
    def path(self) -> str:
        return self._path

    def start(self) -> None:
        self._writer = asyncio.ensure_future(self._drain())

    async def send(self, message: bytes) -> None:
        if self.closed:
            return
        try:
            self._outgoing.put_nowait(message)
        except asyncio.QueueFull:
            self._handler.log.warning(
                "notebook-sync: closing slow follower %s (%d frames queued)",
                self._path,
                self._outgoing.qsize(),
            )
            self.close(CLOSE_SLOW_CLIENT, "send queue full; reconnect to catch up")

    async def recv(self) -> bytes | None:
        if self.closed and self._incoming.empty():
            return None
        return await self._incoming.get()

    async def feed(self, message: bytes) -> None:
        if not self.closed:
            await self._incoming.put(message)

    def close(self, code: int, reason: str) -> None:
        if not self.closed:
            self._handler.close(code, reason)
        self.connection_lost()

    def connection_lost(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
        while not self._incoming.empty():  # unread frames of a closed connection are moot
            self._incoming.get_nowait()
        self._incoming.put_nowait(None)

    async def _drain(self) -> None:
        while True:
            message = await self._outgoing.get()
            try:
                await self._handler.write_message(message, binary=True)
            except WebSocketClosedError:
                self.connection_lost()
                return


class FollowWebSocketHandler(AuthorizedWebSocket):
    """``/notebook-sync/room/<CODE>?key=...``: the Yjs follow room of one session."""

    auth_action = "read"

    def initialize(self, name: str, manager: FollowManager, queue_size: int) -> None:
        super().initialize(name)
        self.manager = manager
        self.queue_size = queue_size
        self.admission: Admission | None = None
        self.channel: TornadoChannel | None = None
        self.follower: Follower | None = None

    @property
    def max_message_size(self) -> int:
        return self.manager.service.config.max_message_bytes

    @ws_authenticated
    async def get(self, code: str) -> None:
        await self.pre_get()
        await self.manager.service.ensure_started()
        identity, _display, _groups = self.identity()
        key = self.get_query_argument("key", default="") or ""
        try:
            self.admission = await self.manager.admit(code, key, identity)
        except FollowRefused as exc:
            # Logged here, without the URL: Tornado's own log line of an HTTPError with a
            # log_message would show the request URI, key included.
            self.log.info(
                "notebook-sync: follow %r refused (%d): %s", code, exc.status, exc.message
            )
            raise web.HTTPError(exc.status) from exc
        result = super().get(code)
        if result is not None:
            await result

    async def open(self, *args: Any, **kwargs: Any) -> None:
        super().open(*args, **kwargs)
        assert self.admission is not None
        # A push becomes two small frames (the update, then the awareness): without this,
        # Nagle holds the second until the client's delayed ACK (~40 ms on Linux).
        self.set_nodelay(True)
        self.channel = TornadoChannel(self, self.request.path, self.queue_size)
        self.drop_handshake_state()
        self.channel.start()
        try:
            self.follower = await self.manager.attach(self.admission, self.channel)
        except Exception:
            self.log.exception(
                "notebook-sync: could not open the follow room %s", self.admission.code
            )
            self.channel.close(CLOSE_INTERNAL_ERROR, "could not open the room; try again")
            return
        self.manager.track(asyncio.ensure_future(self.manager.serve(self.follower)))
        self.log.debug("notebook-sync: %s follows %s", self.admission.role, self.admission.code)

    async def on_message(self, message: str | bytes) -> None:
        if self.channel is not None and isinstance(message, bytes):
            await self.channel.feed(message)

    def on_close(self) -> None:
        super().on_close()
        if self.channel is not None:
            self.channel.connection_lost()


class FollowUnavailableHandler(ExtensionHandlerMixin, APIHandler):
    """The follow route when pycrdt (or pycrdt-websocket) cannot be imported: 404 and why."""

    auth_resource = AUTH_RESOURCE

    def initialize(self, name: str, reason: str) -> None:
        super().initialize(name)
        self.reason = reason

    @web.authenticated
    @authorized
    async def get(self, code: str) -> None:
        self.set_status(404)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": self.reason, "reason": self.reason}))


__all__ = [
    "FOLLOW_ROUTE",
    "FollowUnavailableHandler",
    "FollowWebSocketHandler",
    "TornadoChannel",
]
