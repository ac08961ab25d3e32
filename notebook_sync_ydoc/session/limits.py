"""Per-connection budgets: how many messages, and how many bytes, one connection may send.

A token bucket per resource: ``burst`` to start with, refilled at ``rate`` per second. A frame
that does not fit is answered ``rate_limited`` without being parsed (so a flood costs the server
almost nothing); a connection that keeps sending past its budget (more refused frames in a row
than its burst) is closed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Budget", "ConnectionBudget", "RateLimits"]


@dataclass(frozen=True)
class RateLimits:
    messages_per_second: float = 20.0
    message_burst: int = 200  # "Pull all" on a notebook of 200 cells fits in one burst
    bytes_per_second: float = 1024 * 1024  # a 1 MiB push a second; parsing stays a fraction
    byte_burst: int = 8 * 1024 * 1024


@dataclass(slots=True)
class Budget:
    """One token bucket."""

    rate: float
    burst: float
    tokens: float = -1.0  # full on first use
    stamp: float = 0.0

    def take(self, amount: float, now: float) -> bool:
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if amount > self.tokens:
            return False
        self.tokens -= amount
        return True


@dataclass(slots=True)
class ConnectionBudget:
    """A connection's message and byte budgets, and its run of refused frames."""

    limits: RateLimits
    clock: Callable[[], float]
    refused_in_a_row: int = 0
    messages: Budget = field(init=False)
    bytes: Budget = field(init=False)

    def __post_init__(self) -> None:
        self.messages = Budget(self.limits.messages_per_second, self.limits.message_burst)
        self.bytes = Budget(self.limits.bytes_per_second, self.limits.byte_burst)

    def admit(self, size: int) -> bool:
        """Whether a frame of ``size`` bytes fits now (and, if so, take it from the budget)."""
        now = self.clock()
        if self.messages.take(1, now) and self.bytes.take(size, now):
            self.refused_in_a_row = 0
            return True
        self.refused_in_a_row += 1
        return False

    @property
    def abusive(self) -> bool:
        """More frames refused in a row than a whole burst: not a client that backs off."""
        return self.refused_in_a_row > self.limits.message_burst
