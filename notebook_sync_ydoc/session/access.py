"""Who may act in a session: keys, student ids, session codes and the join rate limit."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from ..protocol import SESSION_CODE_ALPHABET, ProtocolError
from ..store import SessionRecord, Store, StudentRecord
from .members import Peer, Role

__all__ = ["Access", "JoinLimiter", "KeyHolder", "hash_key", "new_session_code", "student_id_for"]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def student_id_for(student_key: str) -> str:
    """The student's id: derived from the student key alone, revealing nothing of it.

    A student is not the pair (Jupyter identity, student key) (docs/architecture.md,
    "Protocol"): jupyter_server gives a token-authenticated client without a login cookie a new
    random anonymous identity on every connection (and every browser profile on a workshop
    server its own), so binding state to the identity would lose it on reconnect. The key is a
    192-bit secret known only to the student's client; the identity is recorded with the student
    and shown to the teacher.
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


@dataclass(frozen=True)
class KeyHolder:
    """Whose key was presented: the session, the role it gives, and the student (if one)."""

    session: SessionRecord
    role: Role
    student: StudentRecord | None


class Access:
    """Every check of who may do what, for the sync socket and the follow rooms alike: who may
    create sessions, which session a code names, whose a key is; failed attempts (unknown code,
    wrong key) count against the identity, over one shared limit."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float],
        *,
        failures_per_minute: int,
        teacher_users: frozenset[str],
        teacher_groups: frozenset[str],
        not_found_hint: str = "",
    ) -> None:
        self.store = store
        self.clock = clock
        self.limiter = JoinLimiter(failures_per_minute)
        self.teacher_users = teacher_users
        self.teacher_groups = teacher_groups
        self.not_found_hint = not_found_hint

    def may_teach(self, peer: Peer) -> bool:
        """Anyone, unless ``teacher_users``/``teacher_groups`` are configured."""
        return self.may_teach_identity(peer.identity, peer.groups)

    def may_teach_identity(self, identity: str, groups: frozenset[str]) -> bool:
        users, allowed = self.teacher_users, self.teacher_groups
        if not users and not allowed:
            return True
        return identity in users or bool(allowed & groups)

    def policy(self) -> str:
        """Who may start sessions, in words (for the log and for a refusal)."""
        if not self.teacher_users and not self.teacher_groups:
            return "anyone may start sessions"
        parts = []
        if self.teacher_users:
            parts.append("users " + ", ".join(sorted(self.teacher_users)))
        if self.teacher_groups:
            parts.append("members of the groups " + ", ".join(sorted(self.teacher_groups)))
        return "only " + " and ".join(parts) + " may start sessions"

    async def find_session(
        self, identity: str, code: str, teacher_key: str | None = None
    ) -> SessionRecord:
        """The session ``code`` names (and, with ``teacher_key``, that the key is its teacher's).
        Raises ``rate_limited``, ``session_not_found`` or ``forbidden``."""
        now = self.clock()
        self.limiter.check(identity, now)
        code = code.upper()
        session = await self.store.get_session(code)
        if session is None:
            self.limiter.failed(identity, now)
            hint = f" ({self.not_found_hint})" if self.not_found_hint else ""
            raise ProtocolError("session_not_found", f"no session with code {code}{hint}")
        if teacher_key is not None and not _is_teacher_key(session, teacher_key):
            self.limiter.failed(identity, now)
            raise ProtocolError("forbidden", "that teacher key does not belong to this session")
        return session

    async def key_holder(self, identity: str, code: str, key: str) -> KeyHolder:
        """Whose ``key`` is in session ``code``: the teacher's or a student's. Raises
        ``rate_limited``, ``session_not_found``, ``forbidden`` (no or a wrong key) or
        ``session_ended``; never puts the key in a message."""
        now = self.clock()
        self.limiter.check(identity, now)
        code = code.upper()
        try:
            if not code or len(code) > 32 or any(c not in SESSION_CODE_ALPHABET for c in code):
                raise ProtocolError("session_not_found", "no such session")
            if not key:
                raise ProtocolError("forbidden", "a session key is required (query parameter key)")
            session = await self.store.get_session(code)
            if session is None:
                raise ProtocolError("session_not_found", "no such session")
            if session.status == "ended":
                raise ProtocolError("session_ended", "the session has ended")
            if _is_teacher_key(session, key):
                return KeyHolder(session, "teacher", None)
            student = await self.store.get_student(code, student_id_for(key))
            if student is None:
                raise ProtocolError("forbidden", "that key does not belong to this session")
        except ProtocolError as exc:
            if exc.code != "session_ended":
                self.limiter.failed(identity, now)
            raise
        return KeyHolder(session, "student", student)


def _is_teacher_key(session: SessionRecord, key: str) -> bool:
    return hmac.compare_digest(hash_key(key), session.teacher_key_hash)
