"""Names the wire shares with every client: websocket close codes and the key the follow room
owns in cell metadata and awareness. The frontend defines the same (src/api/)."""

from __future__ import annotations

from typing import Final

__all__ = [
    "CLOSE_INTERNAL_ERROR",
    "CLOSE_POLICY",
    "CLOSE_SESSION_ENDED",
    "CLOSE_SHUTDOWN",
    "CLOSE_SLOW_CLIENT",
    "METADATA_KEY",
]

CLOSE_SHUTDOWN: Final = 1001  # the server is going away (reconnect later)
CLOSE_POLICY: Final = 1008  # the client kept sending past its rate limit (slow down)
CLOSE_INTERNAL_ERROR: Final = 1011  # the server could not open what was asked (try again)
CLOSE_SLOW_CLIENT: Final = 1013  # the client's send queue overflowed (reconnect and catch up)
CLOSE_SESSION_ENDED: Final = 4410  # the session ended (do not reconnect)
METADATA_KEY: Final = "notebook_sync"  # cell metadata and awareness key owned by the room
