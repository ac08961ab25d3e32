"""In-process event delivery for the embedded stores (one server process per store).

Events go through an :class:`asyncio.Queue` consumed by one dispatcher task (started in
:meth:`EventDispatcher.start`, drained and stopped in :meth:`EventDispatcher.stop`), which calls
the store's event handler in order, for subscribed sessions only. Enqueueing is synchronous, so a
store can enqueue an event in the same step as the write it describes: no event can be delivered
before its data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from .base import EventHandler, StoreEvent

log = logging.getLogger(__name__)

# put on the queue by stop() so the dispatcher drains what came before it, then ends
_STOP = object()
STOP_DRAIN_S = 5.0  # a stuck handler cannot block shutdown for longer


class EventDispatcher:
    """Subscriptions and in-order delivery of one store's events (see the module docstring)."""

    def __init__(self, handler: Callable[[], EventHandler | None], name: str) -> None:
        self._handler = handler  # read at delivery time: set_handlers may come after start
        self._name = name
        self.subscribed: set[str] = set()
        self._queue: asyncio.Queue[object] | None = None  # made in the running loop
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def _events(self) -> asyncio.Queue[object]:
        if self._queue is None:
            self._queue = asyncio.Queue()
        return self._queue

    def start(self) -> None:
        """Start delivering (idempotent); events emitted before are kept and delivered now."""
        if self._task is None:
            self._events()
            self._task = asyncio.create_task(self._dispatch(), name=f"{self._name}-dispatch")

    async def stop(self) -> None:
        """Deliver what was emitted before, then end (bounded by ``STOP_DRAIN_S``)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._events().put_nowait(_STOP)
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=STOP_DRAIN_S)
        except TimeoutError:
            log.warning(
                "%s: event dispatcher did not drain in %s s; cancelling", self._name, STOP_DRAIN_S
            )
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def emit(self, event: StoreEvent) -> None:
        self._events().put_nowait(event)

    def subscribe(self, code: str) -> None:
        self.subscribed.add(code)

    def unsubscribe(self, code: str) -> None:
        self.subscribed.discard(code)

    async def _dispatch(self) -> None:
        queue = self._events()
        while True:
            item = await queue.get()
            if item is _STOP:
                return
            assert isinstance(item, StoreEvent)
            handler = self._handler()
            if handler is None or item.code not in self.subscribed:
                continue
            try:
                await handler(item)
            except Exception:
                log.exception("%s: event handler failed for %s", self._name, item)
