"""Transport only: the websocket and status handlers. The use cases live in service.py."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import TYPE_CHECKING, Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from .service import Member, SyncService

if TYPE_CHECKING:
    from .app import NotebookSyncExtensionApp

AUTH_RESOURCE = "notebook_sync"
HARD_FRAME_LIMIT_FACTOR = 4  # frames up to this times max_message_bytes get an error, not a close


class QueuedPeer:
    """A connection's outgoing side, bounded: at most ``queue_size`` frames not yet flushed.

    A frame is handed to Tornado at once (``write_message`` buffers it and writes what the socket
    takes); it counts as queued until Tornado reports it flushed. A client that does not read
    fills its queue; it is then closed (code 1013, "try again later") instead of growing memory
    or stalling the broadcast to everyone else. Writing directly, not through a writer task per
    connection, keeps a broadcast to N students at N writes: no task wake-ups per frame.
    """

    def __init__(
        self,
        handler: SyncWebSocketHandler,
        identity: str,
        display_name: str,
        groups: frozenset[str],
        queue_size: int,
    ) -> None:
        self.conn_id = uuid.uuid4().hex[:16]
        self.identity = identity
        self.display_name = display_name
        self.groups = groups
        self._handler = handler
        self._limit = max(1, queue_size)
        self._unflushed = 0
        self.closed = False

    def start(self) -> None:
        """Nothing to start (kept for the transport's life cycle)."""

    def send_text(self, text: str) -> None:
        if self.closed:
            return
        if self._unflushed >= self._limit:
            self._handler.log.warning(
                "notebook-sync: closing slow connection %s (%d frames queued)",
                self.conn_id,
                self._unflushed,
            )
            self.stop()
            self._handler.close(1013, "send queue full; reconnect to catch up")
            return
        try:
            written = self._handler.write_message(text)
        except WebSocketClosedError:
            self.closed = True
            return
        stream = getattr(self._handler.ws_connection, "stream", None)
        if stream is not None and not stream.writing():
            # The socket took the whole frame: its write future is resolved, so the Task that
            # write_message returned ends without error; nothing to count, nothing to retrieve.
            return
        self._unflushed += 1
        written.add_done_callback(self._flushed_later)

    def _flushed_later(self, written: asyncio.Future[None]) -> None:
        self._unflushed -= 1
        if not written.cancelled() and written.exception() is not None:
            self.closed = True  # closed while writing (the exception is retrieved here)

    def stop(self) -> None:
        self.closed = True


def _groups_of(user: Any) -> frozenset[str]:
    """JupyterHub users carry their groups (``hub_user``); other identity providers may not."""
    hub_user = getattr(user, "hub_user", None)
    if isinstance(hub_user, dict):
        groups = hub_user.get("groups") or []
        return frozenset(str(g) for g in groups)
    return frozenset(str(g) for g in (getattr(user, "groups", None) or []))


class SyncWebSocketHandler(WebSocketMixin, WebSocketHandler, ExtensionHandlerMixin, JupyterHandler):
    """``/notebook-sync/ws``: JSON text frames, Jupyter authentication, Jupyter's origin rules
    (WebSocketMixin.check_origin: same host, or allow_origin / allow_origin_pat)."""

    auth_resource = AUTH_RESOURCE

    def initialize(  # type: ignore[override]
        self, name: str, service: SyncService, queue_size: int
    ) -> None:
        super().initialize(name)
        self.service = service
        self.queue_size = queue_size
        self.peer: QueuedPeer | None = None
        self.member: Member | None = None

    @property
    def max_message_size(self) -> int:
        # Tornado closes the connection above this; below it, service.handle answers too_large.
        return self.service.config.max_message_bytes * HARD_FRAME_LIMIT_FACTOR

    async def pre_get(self) -> None:
        user = self.current_user
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, user, "write", AUTH_RESOURCE)
        )
        if not allowed:
            raise web.HTTPError(403)

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        await self.pre_get()
        await self.service.ensure_started()
        result = super().get(*args, **kwargs)
        if result is not None:
            await result

    def open(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().open(*args, **kwargs)
        user = self.current_user
        identity = str(getattr(user, "username", None) or user)
        display = str(getattr(user, "display_name", None) or getattr(user, "name", "") or identity)
        self.peer = QueuedPeer(self, identity, display, _groups_of(user), self.queue_size)
        self.peer.start()
        self.member = self.service.connect(self.peer)

    async def on_message(self, message: str | bytes) -> None:
        if self.member is not None:
            await self.service.handle(self.member, message)

    def on_close(self) -> None:
        if self.ping_callback is not None:
            self.ping_callback.stop()
        if self.peer is not None:
            self.peer.stop()
        if self.member is not None:
            member, self.member = self.member, None
            task = asyncio.ensure_future(self.service.disconnect(member))
            self.service.track(task)


class StatusHandler(ExtensionHandlerMixin, APIHandler):
    """``GET /notebook-sync/status``: version, mode, store kind and health, counts."""

    auth_resource = AUTH_RESOURCE

    def initialize(  # type: ignore[override]
        self, name: str, service: SyncService, app: NotebookSyncExtensionApp
    ) -> None:
        super().initialize(name)
        self.service = service
        self.app = app

    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.service.ensure_started()
        status = self.app.status()
        health = await self.service.store_health()
        status["store"] = health
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(status))


__all__ = ["AUTH_RESOURCE", "JupyterHandler", "StatusHandler", "SyncWebSocketHandler"]
