"""The extension's route table (one place for every URL it serves)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..session import SyncService
from .follow import FOLLOW_ROUTE, FollowUnavailableHandler, FollowWebSocketHandler
from .status import StatusHandler
from .sync import SyncWebSocketHandler

if TYPE_CHECKING:
    from ..follow.manager import FollowManager

__all__ = ["FOLLOW_ROUTE", "STATUS_ROUTE", "SYNC_ROUTE", "routes"]

SYNC_ROUTE = r"/notebook-sync/ws"
STATUS_ROUTE = r"/notebook-sync/status"


def routes(
    service: SyncService,
    status: Callable[[], dict[str, Any]],
    follow: FollowManager | None,
    follow_reason: str,
    queue_size: int,
) -> list[tuple[str, type, dict[str, Any]]]:
    """Every handler with what it is given; without follow rooms their route says why (404)."""
    table: list[tuple[str, type, dict[str, Any]]] = [
        (SYNC_ROUTE, SyncWebSocketHandler, {"service": service, "queue_size": queue_size}),
        (STATUS_ROUTE, StatusHandler, {"service": service, "status": status}),
    ]
    if follow is not None:
        table.append(
            (FOLLOW_ROUTE, FollowWebSocketHandler, {"manager": follow, "queue_size": queue_size})
        )
    else:
        table.append((FOLLOW_ROUTE, FollowUnavailableHandler, {"reason": follow_reason}))
    return table
