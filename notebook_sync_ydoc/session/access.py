"""Who may act in a session: keys, student ids, session codes and the join rate limit."""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict, deque

from ..protocol import SESSION_CODE_ALPHABET, ProtocolError

__all__ = ["JoinLimiter", "hash_key", "new_session_code", "student_id_for"]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def student_id_for(student_key: str) -> str:
    """The student's id: derived from the student key alone, revealing nothing of it.

    DESIGN §6 made a student the pair (Jupyter identity, student key). jupyter_server gives a
    token-authenticated client without a login cookie a new random anonymous identity on every
    connection (and every browser profile on a workshop server its own), so binding state to the
    identity would lose it on reconnect. The key is a 192-bit secret known only to the student's
    client; the identity is recorded with the student and shown to the teacher.
    """
    return hashlib.sha256(b"student\x00" + student_key.encode()).hexdigest()[:24]


def new_session_code(length: int) -> str:
    return "".join(secrets.choice(SESSION_CODE_ALPHABET) for _ in range(length))


class JoinLimiter:
    """Counts failed joins per identity over a sliding minute (bounded memory)."""

    def __init__(self, per_minute: int, max_identities: int = 10_000) -> None:
        self.per_minute = per_minute
        self.max_identities = max_identities
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def check(self, identity: str, now: float) -> None:
        window = self._failures.get(identity)
        if window is None:
            return
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= self.per_minute:
            wait = int(60 - (now - window[0])) + 1
            raise ProtocolError("rate_limited", f"too many failed joins; try again in {wait} s")

    def failed(self, identity: str, now: float) -> None:
        window = self._failures.setdefault(identity, deque())
        self._failures.move_to_end(identity)
        window.append(now)
        while len(self._failures) > self.max_identities:
            self._failures.popitem(last=False)
