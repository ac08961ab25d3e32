"""Transport of the follow rooms (:mod:`.follow`): ``/notebook-sync/room/<CODE>``.

This module never imports pycrdt: the app calls :func:`load_follow`, which imports
:mod:`.follow` (pycrdt, pycrdt-websocket, jupyter-ydoc) and says why when it cannot. Without it
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
import logging
from typing import TYPE_CHECKING, Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from .handlers import AUTH_RESOURCE

if TYPE_CHECKING:
    from .follow import Admission, Follower, FollowManager
    from .service import SyncService

FOLLOW_ROUTE = r"/notebook-sync/room/(?P<code>[^/]+)"
INCOMING_QUEUE = 64  # frames read ahead of the room (then Tornado stops reading: backpressure)


def load_follow(
    enabled: bool, service: SyncService, log: logging.Logger
) -> tuple[FollowManager | None, str]:
    """The follow-room manager, or None and the reason it is not available."""
    if not enabled:
        return None, "follow rooms switched off (follow_rooms=False)"
    try:
        from .follow import FollowManager
    except ImportError as exc:  # pycrdt / pycrdt-websocket / jupyter-ydoc missing or broken
        return None, f"follow rooms unavailable ({exc.__class__.__name__}: {exc})"
    return FollowManager(service, log), "follow rooms at /notebook-sync/room/<CODE> (Yjs)"


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
            self.close(1013, "send queue full; reconnect to catch up")

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


class FollowWebSocketHandler(
    WebSocketMixin, WebSocketHandler, ExtensionHandlerMixin, JupyterHandler
):
    """``/notebook-sync/room/<CODE>?key=...``: the Yjs follow room of one session."""

    auth_resource = AUTH_RESOURCE

    def initialize(  # type: ignore[override]
        self, name: str, manager: FollowManager, queue_size: int
    ) -> None:
        super().initialize(name)
        self.manager = manager
        self.queue_size = queue_size
        self.admission: Admission | None = None
        self.channel: TornadoChannel | None = None
        self.follower: Follower | None = None

    @property
    def max_message_size(self) -> int:
        return self.manager.service.config.max_message_bytes

    async def pre_get(self) -> None:
        user = self.current_user
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, user, "read", AUTH_RESOURCE)
        )
        if not allowed:
            raise web.HTTPError(403)

    @ws_authenticated
    async def get(self, code: str) -> None:
        from .follow import FollowRefused

        await self.pre_get()
        await self.manager.service.ensure_started()
        user = self.current_user
        identity = str(getattr(user, "username", None) or user)
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

    async def open(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().open(*args, **kwargs)
        assert self.admission is not None
        # A push becomes two small frames (the update, then the awareness): without this,
        # Nagle holds the second until the client's delayed ACK (~40 ms on Linux).
        self.set_nodelay(True)
        self.channel = TornadoChannel(self, self.request.path, self.queue_size)
        self.channel.start()
        try:
            self.follower = await self.manager.attach(self.admission, self.channel)
        except Exception:
            self.log.exception(
                "notebook-sync: could not open the follow room %s", self.admission.code
            )
            self.channel.close(1011, "could not open the room; try again")
            return
        self.manager.track(asyncio.ensure_future(self.manager.serve(self.follower)))
        self.log.debug("notebook-sync: %s follows %s", self.admission.role, self.admission.code)

    async def on_message(self, message: str | bytes) -> None:
        if self.channel is not None and isinstance(message, bytes):
            await self.channel.feed(message)

    def on_close(self) -> None:
        if self.ping_callback is not None:
            self.ping_callback.stop()
        if self.channel is not None:
            self.channel.connection_lost()


class FollowUnavailableHandler(ExtensionHandlerMixin, APIHandler):
    """The follow route when pycrdt (or pycrdt-websocket) cannot be imported: 404 and why."""

    auth_resource = AUTH_RESOURCE

    def initialize(self, name: str, reason: str) -> None:  # type: ignore[override]
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
    "load_follow",
]
