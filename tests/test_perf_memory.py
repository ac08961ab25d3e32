"""What one connected student costs (issue 16, lecture-hall scale: <= 20 KB per student): the
per-connection objects of the session layer and the transport carry no instance dict."""

from __future__ import annotations

import weakref
from typing import Any

import pytest

from notebook_sync_ydoc.session.limits import Budget, ConnectionBudget, RateLimits
from notebook_sync_ydoc.session.members import Member
from notebook_sync_ydoc.transport.sync import QueuedPeer


class FakePeer:
    conn_id = identity = display_name = "p"
    groups: frozenset[str] = frozenset()
    named = True

    def send_text(self, text: str) -> None:
        pass

    def close(self, code: int, reason: str) -> None:
        pass


def test_per_connection_objects_have_slots() -> None:
    budget = ConnectionBudget(RateLimits(), lambda: 0.0)
    member = Member(peer=FakePeer(), budget=budget)
    peer = QueuedPeer(Any, "u", "U", frozenset(), 4)  # type: ignore[arg-type]
    for obj in (member, budget, budget.messages, peer):
        assert not hasattr(obj, "__dict__"), type(obj).__name__
    with pytest.raises(AttributeError):
        member.extra = 1  # type: ignore[attr-defined]
    assert weakref.ref(member)() is member  # help_feed and progress hold members weakly
    assert isinstance(budget.messages, Budget) and budget.admit(10)
    assert member.pulled == {} and member.notified == {} and member.pulled is not member.notified
