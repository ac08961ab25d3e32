"""A connection as the use cases see it: the transport's :class:`Peer` and this server's
:class:`Member` record of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..protocol.messages import encode
from .limits import ConnectionBudget

__all__ = ["Member", "Peer", "Role"]

Role = Literal["teacher", "student"]


class Peer(Protocol):
    """One client connection, as the transport provides it."""

    conn_id: str
    identity: str  # the Jupyter user name
    display_name: str
    groups: frozenset[str]
    # the identity names a person (JupyterHub's user), not an anonymous token user: only then is
    # it shown on the teacher's roster beside the name the student typed
    named: bool

    def send_text(self, text: str) -> None:
        """Queue one frame; never blocks (a full queue closes the connection)."""

    def close(self, code: int, reason: str) -> None:
        """Close the connection (the service gives up on it: see :mod:`.limits`)."""


@dataclass(eq=False, slots=True, weakref_slot=True)
class Member:
    """This server's view of one connection (slots: one per connected student)."""

    peer: Peer
    role: Role | None = None
    code: str | None = None
    student_id: str | None = None
    name: str = ""
    pulled: dict[str, int] = field(default_factory=dict)  # cell -> seq pulled
    notified: dict[str, int] = field(default_factory=dict)  # cell -> seq announced (dedupe)
    joining: bool = False  # events are held back until session_joined has been sent
    missed: bool = False  # an event arrived while joining: catch up again
    budget: ConnectionBudget | None = None  # what it may still send (None: no limit)
    roster_version: int = -1  # a teacher's: the roster_update version it holds (-1: none)

    def send(self, message: dict[str, Any]) -> None:
        self.peer.send_text(encode(message))
