"""Background tasks of the service: kept referenced until they end, cancelled by ``stop()``,
and never failing silently (every exception is logged)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from ..store import StoreUnavailable

__all__ = ["TaskSet"]


class TaskSet:
    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Awaitable[None], what: str) -> None:
        """Run ``coro`` in the background; its failure is logged as ``what`` failing."""

        async def runner() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except StoreUnavailable as exc:
                self.log.warning("notebook-sync: %s failed, store unavailable: %s", what, exc)
            except Exception:
                self.log.exception("notebook-sync: %s failed", what)

        self.track(asyncio.ensure_future(runner()))

    def track(self, task: asyncio.Task[None]) -> None:
        """Keep a reference to a background task until it ends; stop() cancels it."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
