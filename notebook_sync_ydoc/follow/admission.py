"""Who may follow a session (no pycrdt here: the transport imports it without the rooms)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Admission", "FollowRefused", "Role"]

Role = Literal["teacher", "student"]


class FollowRefused(Exception):
    """A connection may not follow: ``status`` is the HTTP status of the refused handshake."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Admission:
    """Who may follow: the session and the member's role (never the key itself)."""

    code: str
    role: Role
    student_id: str | None
    name: str
    identity: str
