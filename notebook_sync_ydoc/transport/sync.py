"""``/notebook-sync/ws``: the sync socket (Tornado only; the use cases are :mod:`..session`)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from jupyter_server.auth.decorator import ws_authenticated
from tornado.websocket import WebSocketClosedError

from ..protocol import CLOSE_SLOW_CLIENT
from ..session import Member, SyncService
from .base import AuthorizedWebSocket

NO_GROUPS: frozenset[str] = frozenset()  # shared by connections without groups (216 bytes each)
HARD_FRAME_LIMIT_FACTOR = 4  # frames up to this times max_message_bytes get an error, not a close


class QueuedPeer:
    """A connection's outgoing side, bounded: at most ``queue_size`` frames not yet flushed.

    A frame is handed to Tornado at once (``write_message`` buffers it and writes what the socket
    takes); it counts as queued until Tornado reports it flushed. A client that does not read
    fills its queue; it is then closed (code 1013, "try again later") instead of growing memory
    or stalling the broadcast to everyone else. Writing directly, not through a writer task per
    connection, keeps a broadcast to N students at N writes: no task wake-ups per frame.
    """

    __slots__ = (
        "_handler",
        "_limit",
        "_unflushed",
        "closed",
        "conn_id",
        "display_name",
        "groups",
        "identity",
        "named",
    )

    def __init__(
        self,
        handler: SyncWebSocketHandler,
        identity: str,
        display_name: str,
        groups: frozenset[str],
        queue_size: int,
        named: bool = True,
    ) -> None:
        self.conn_id = uuid.uuid4().hex[:16]
        self.identity = identity
        self.display_name = display_name
        self.groups = groups
        self.named = named
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
            self._handler.close(CLOSE_SLOW_CLIENT, "send queue full; reconnect to catch up")
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

    def close(self, code: int, reason: str) -> None:
        self.stop()
        self._handler.close(code, reason)


class SyncWebSocketHandler(AuthorizedWebSocket):
    """``/notebook-sync/ws``: JSON text frames; the connection is handed to the session service
    (:meth:`.SyncService.connect`, one :meth:`~.SyncService.handle` per frame)."""

    auth_action = "write"

    def initialize(self, name: str, service: SyncService, queue_size: int) -> None:
        super().initialize(name)
        self.service = service
        self.queue_size = queue_size
        self.peer: QueuedPeer | None = None
        self.member: Member | None = None

    @property
    def max_message_size(self) -> int:
        # Tornado closes the connection above this; below it, service.handle answers too_large.
        return self.service.config.max_message_bytes * HARD_FRAME_LIMIT_FACTOR

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        await self.pre_get()
        await self.service.ensure_started()
        result = super().get(*args, **kwargs)
        if result is not None:
            await result

    def open(self, *args: Any, **kwargs: Any) -> None:
        super().open(*args, **kwargs)
        # Two replies in a row (a join, then its update_available; Pull all) would otherwise
        # wait on Nagle's algorithm for the client's delayed ACK (~40 ms on Linux).
        self.set_nodelay(True)
        identity, display, groups = self.identity()
        named = self.named_user()
        self.drop_handshake_state()
        self.peer = QueuedPeer(
            self, identity, display, groups or NO_GROUPS, self.queue_size, named=named
        )
        self.peer.start()
        self.member = self.service.connect(self.peer)

    async def on_message(self, message: str | bytes) -> None:
        if self.member is not None:
            await self.service.handle(self.member, message)

    def on_close(self) -> None:
        super().on_close()
        if self.peer is not None:
            self.peer.stop()
        if self.member is not None:
            member, self.member = self.member, None
            task = asyncio.ensure_future(self.service.disconnect(member))
            self.service.track(task)


__all__ = ["QueuedPeer", "SyncWebSocketHandler"]
