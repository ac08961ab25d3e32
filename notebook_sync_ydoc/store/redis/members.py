"""Running the session scripts with every key they touch in ``KEYS``.

A session script that refreshes the TTL of every key of its session (the pending_update key of
each cell and the key of each student included) is given those keys in ``KEYS`` too
(``lua/prelude.lua``). That happens once per half of the session's lifetime, and on every
``reorder_cells``, ``move_cell`` and ``end_session`` (which touch or shorten them all); any
other write touches no member key and is sent with none (:data:`WITH_MEMBERS`), so its cost
does not grow with the class. The store remembers, per session, the cells and students it last
saw (:class:`MemberCache`, bounded, least recently used first out) and passes their keys when
they are needed; a script whose member keys miss a cell or a student of the session when it
needs them writes nothing and answers ``stale`` with the session's members, which join the
cache (never replace it: see :meth:`MemberCache.merge`), and the call is made again with them
(:data:`ATTEMPTS` times at most). Keys of members that are gone are allowed (and left alone),
so a server adds a cell or a student it is about to write to its cache first: its concurrent
scripts include it and are not refused.

With ``wait_replicas`` set, every script that changes a session's content is followed by
``WAIT`` (:meth:`~.connection.RedisConnection.run_acked`); a write that fewer replicas
acknowledged in time answers :class:`StoreUnavailable` (it may or may not be kept: Redis cannot
take a write back).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..base import StoreTTL, StoreUnavailable
from .connection import RedisConnection
from .keys import KeySpace
from .records import text
from .scripts import SessionScript

ATTEMPTS = 16  # a class joining through many servers at once: each stale reply adds them all
# the scripts that always touch every member key (the others only once per half lifetime)
WITH_MEMBERS: frozenset[SessionScript] = frozenset({"reorder_cells", "move_cell", "end_session"})
# the scripts after which a write must be on the replicas before it is answered (touch_session
# only refreshes lifetimes; presence is rebuilt by heartbeats)
ACKED: frozenset[SessionScript] = frozenset(
    {
        "create_session",
        "end_session",
        "write_cell",
        "set_sync_allowed",
        "remove_cell",
        "reorder_cells",
        "move_cell",
        "put_student",
        "record_pull",
        "mark_pull",
        "put_help",
        "delete_help",
    }
)


@dataclass
class Members:
    """The cells (index order not needed) and students of one session, as last seen (plus
    those this server is writing), and their keys, encoded once."""

    cells: dict[str, None] = field(default_factory=dict)  # an ordered set
    students: dict[str, None] = field(default_factory=dict)
    _keys: tuple[list[bytes], int] | None = None  # member keys, how many are cells'

    def add_cell(self, cell_id: str) -> None:
        if cell_id not in self.cells:
            self.cells[cell_id] = None
            self._keys = None

    def drop_cell(self, cell_id: str) -> None:
        if cell_id in self.cells:
            del self.cells[cell_id]
            self._keys = None

    def add_student(self, student_id: str) -> None:
        if student_id not in self.students:
            self.students[student_id] = None
            self._keys = None

    def keys(self, space: KeySpace, code: str) -> tuple[list[bytes], int]:
        """The member keys (cells' first) and how many are cells'."""
        if self._keys is None:
            cells = [space.pending(code, c).encode() for c in self.cells]
            students = [space.student(code, s).encode() for s in self.students]
            self._keys = ([*cells, *students], len(cells))
        return self._keys


class MemberCache:
    """Members of the sessions this server works on; at most ``capacity`` sessions."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, Members] = OrderedDict()

    def get(self, code: str) -> Members:
        entry = self._entries.get(code)
        if entry is None:
            entry = self._entries[code] = Members()
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(code)
        return entry

    def replace(self, code: str, cells: list[bytes], students: list[bytes]) -> None:
        entry = self.get(code)
        entry.cells = dict.fromkeys(text(c) for c in cells)
        entry.students = dict.fromkeys(text(s) for s in students)
        entry._keys = None

    def merge(self, code: str, cells: list[bytes], students: list[bytes]) -> None:
        """Add the members a ``stale`` reply names, keeping those already known: a member this
        server is writing at this moment is not in the session yet, and dropping it from the
        cache would make every script of this server stale again the moment that write lands
        (a class joining at once through one server exhausted its attempts that way). A
        member that is gone costs only its key in ``KEYS`` (allowed, left alone)."""
        entry = self.get(code)
        before = (len(entry.cells), len(entry.students))
        for c in cells:
            entry.cells.setdefault(text(c), None)
        for s in students:
            entry.students.setdefault(text(s), None)
        if (len(entry.cells), len(entry.students)) != before:
            entry._keys = None

    def forget(self, code: str) -> None:
        self._entries.pop(code, None)

    def __len__(self) -> int:
        return len(self._entries)


def _is_stale(reply: Any) -> bool:
    return isinstance(reply, list) and len(reply) == 3 and text(reply[0]) == "stale"


class SessionScripts:
    """The session scripts of one store: their keys, common arguments, retries and WAIT."""

    def __init__(
        self, conn: RedisConnection, keys: KeySpace, server_id: str, ttl: StoreTTL
    ) -> None:
        self._conn = conn
        self._keys = keys
        self._server_id = server_id
        self._ttl = ttl
        self._sharded = conn.mode.sharded
        self._wait = conn.mode.wait_replicas
        self._wait_ms = conn.mode.wait_timeout_ms
        self.members = MemberCache()
        self.stale_replies = 0  # scripts run again with the right members (for tests, status)

    def _common(self, code: str, fixed: int, cells: int) -> list[Any]:
        """ARGV[1..9] of every session script (``lua/prelude.lua``)."""
        return [
            max(1, int(self._ttl.active * 1000)),
            max(1, int(self._ttl.ended * 1000)),
            self._keys.pending_prefix(code),
            self._keys.student_prefix(code),
            self._keys.channel(code),
            self._server_id,
            "1" if self._sharded else "0",
            fixed,
            cells,
        ]

    async def create(self, code: str, args: list[Any]) -> bool:
        """``create_session``: a new session has no member keys."""
        keys = self._keys.session_keys(code)
        created = await self._call("create_session", keys, [*self._common(code, 5, 0), *args])
        if created:
            self.members.replace(code, [], [])
        return bool(created)

    async def run(
        self,
        name: SessionScript,
        code: str,
        own: str | None,
        args: list[Any],
        more: tuple[str, ...] = (),
    ) -> Any:
        """Run a session script on ``code`` (``own``: its KEYS[6], if it has one, ``more``
        the keys after it) with the member keys it needs; the reply, never ``stale``."""
        fixed: list[str | bytes] = [*self._keys.session_keys(code, own), *more]
        with_members = name in WITH_MEMBERS
        for _ in range(ATTEMPTS):
            members, cells = (
                self.members.get(code).keys(self._keys, code) if with_members else ([], 0)
            )
            common = self._common(code, len(fixed), cells)
            reply = await self._call(name, [*fixed, *members], [*common, *args])
            if not _is_stale(reply):
                return reply
            self.stale_replies += 1
            self.members.merge(code, reply[1], reply[2])
            with_members = True  # a refresh of every key is due: send them all
        raise StoreUnavailable(
            f"the cells and students of session {code} kept changing during {ATTEMPTS} "
            "attempts; try again"
        )

    async def _call(self, name: SessionScript, keys: Sequence[str | bytes], args: list[Any]) -> Any:
        if not self._wait or name not in ACKED:
            return await self._conn.run(name, keys, args)
        reply, acked = await self._conn.run_acked(name, keys, args, self._wait, self._wait_ms)
        if not _is_stale(reply) and acked < self._wait:
            raise StoreUnavailable(
                f"redis unavailable at {self._conn.redacted_url}: the write was acknowledged "
                f"by {acked} of the {self._wait} replica(s) required within {self._wait_ms} ms "
                "(it may or may not be kept)"
            )
        return reply
