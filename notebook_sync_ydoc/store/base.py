"""The store interface: what the session service needs from the embedded stores and from Redis.

Every store implements :class:`Store` and passes one contract test suite
(``tests/store_contract.py``): the SQLite store (the default: one server, durable), the memory
store (one server, nothing kept) and Redis (many servers).

Writes that change a cell and notify (``write_cell``, ``set_sync_allowed``, ``remove_cell``,
``end_session``) are atomic with their event: in Redis one Lua script writes the data, bumps the
sequence, updates the index and PUBLISHes; in the embedded stores one synchronous step does the
same (SQLite: one transaction committed first). An event is a *hint*: subscribers that miss one
catch up from :meth:`Store.list_cells`.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

SessionStatus = Literal["active", "ended"]
EventType = Literal["cell", "sync", "removed", "ended", "roster", "help", "order", "moved"]
Outputs = list[dict[str, Any]]  # nbformat outputs of a cell (already bounded in size)
MarkStatus = Literal["conflict", "kept"]


class StoreError(Exception):
    """Base class of store failures."""


class StoreUnavailable(StoreError):
    """The store cannot be reached (Redis down, timeout). Callers answer ``store_unavailable``."""


class SeqConflict(StoreError):
    """``write_cell`` was given an ``expect_seq`` that no longer matches: read again and retry."""


class SessionGone(StoreError):
    """The session does not exist (never created, or expired)."""


@dataclass
class SessionRecord:
    code: str
    teacher_identity: str
    teacher_key_hash: str
    title: str
    mode: str  # "ydoc" | "json": the mode of the server that created it
    status: SessionStatus = "active"
    created: float = 0.0
    updated: float = 0.0


@dataclass
class CellWrite:
    """What the teacher pushed for one cell."""

    cell_id: str
    source: str
    cell_type: str = "code"
    metadata: dict[str, Any] = field(default_factory=dict)
    crdt_state: bytes | None = None  # YDoc mode: the merged state of the cell document
    # None keeps the stored value (True for a new cell): a push never silently re-allows a cell
    sync_allowed: bool | None = None
    index: int | None = None  # position in the teacher's notebook; None keeps the old one (a new
    # cell without an index goes after the last one)
    # whether the teacher shares this cell's outputs: True stores ``outputs``, False clears them,
    # None keeps what is stored
    share_outputs: bool | None = None
    outputs: Outputs | None = None


@dataclass
class CellRecord:
    """A cell's pending update, as stored."""

    cell_id: str
    seq: int
    source: str
    cell_type: str
    metadata: dict[str, Any]
    crdt_state: bytes | None
    sync_allowed: bool
    index: int
    updated: float
    outputs: Outputs | None = None  # None: the teacher does not share this cell's outputs


@dataclass(frozen=True)
class CellIndexEntry:
    """One row of the session index: enough for catch-up without reading content."""

    cell_id: str
    seq: int
    index: int
    sync_allowed: bool
    cell_type: str


@dataclass
class PulledCell:
    seq: int
    base_source: str
    base_state: bytes | None = None  # YDoc mode: the teacher's cell state that was pulled


@dataclass(frozen=True)
class PullMark:
    """How a student's last pull of a cell that did not simply apply ended (the progress view):
    ``conflict`` (shown, not resolved) or ``kept`` (strategy mine), for the cell's ``seq``. A
    later pull of a newer seq makes it stale; nothing ever needs to clear it."""

    status: MarkStatus
    seq: int
    at: float = 0.0


@dataclass
class StudentRecord:
    student_id: str  # derived from (jupyter identity, student key); never the key itself
    identity: str
    name: str
    joined: float = 0.0
    online: bool = False  # filled in by list_students/get_student from presence
    pulled: dict[str, PulledCell] = field(default_factory=dict)
    marks: dict[str, PullMark] = field(default_factory=dict)  # cell id -> last mark


@dataclass
class HelpRequest:
    """A student's help request on one cell (at most one per student and cell), with the
    teacher's answer. Private: only the session's teacher and that student ever read it."""

    student_id: str
    cell_id: str
    request_id: str  # new for every request: an answer names the request it answers
    name: str  # the student's name and Jupyter identity when asking
    identity: str
    note: str
    source: str  # the student's source when asking: the base of a suggestion's merge
    opened: float
    resolved: bool = False
    answer_note: str | None = None
    suggestion: str | None = None  # the teacher's suggested source, until pulled or dismissed
    answers: int = 0  # how many answers so far
    suggestion_seq: int = 0  # how many suggestions so far: the seq of the private update
    answered: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "sid": self.student_id, "cid": self.cell_id, "rid": self.request_id,
            "name": self.name, "user": self.identity, "note": self.note, "src": self.source,
            "opened": self.opened, "resolved": self.resolved, "anote": self.answer_note,
            "sugg": self.suggestion, "answers": self.answers, "sseq": self.suggestion_seq,
            "answered": self.answered,
        }  # fmt: skip

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> HelpRequest:
        return cls(
            student_id=str(d["sid"]), cell_id=str(d["cid"]), request_id=str(d["rid"]),
            name=str(d.get("name", "")), identity=str(d.get("user", "")),
            note=str(d.get("note", "")), source=str(d.get("src", "")),
            opened=float(d.get("opened", 0.0)), resolved=bool(d.get("resolved", False)),
            answer_note=None if d.get("anote") is None else str(d["anote"]),
            suggestion=None if d.get("sugg") is None else str(d["sugg"]),
            answers=int(d.get("answers", 0)), suggestion_seq=int(d.get("sseq", 0)),
            answered=float(d.get("answered", 0.0)),
        )  # fmt: skip


@dataclass(frozen=True)
class StoreEvent:
    """A small notification; published atomically with the write it describes."""

    type: EventType
    code: str
    cell_id: str | None = None
    seq: int = 0
    sync_allowed: bool | None = None
    origin: str = ""  # the server id that caused it
    # "cell" and "sync" events carry the cell's index entry, so receivers need no read
    index: int | None = None
    cell_type: str | None = None
    # "help" events: whose request of which cell changed (never its content). Not ``cell_id``:
    # listeners of cell events (the follow rooms) have nothing to do with it.
    student_id: str | None = None
    help_cell: str | None = None
    # "order" events: every cell id of the session in its new order (index = position); not
    # ``cell_id``. "moved" events: ``cell_id`` is the new id, ``from_id`` the old one.
    order: tuple[str, ...] | None = None
    from_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "seq": self.seq, "origin": self.origin}
        for name in (
            "cell_id", "sync_allowed", "index", "cell_type", "student_id", "help_cell", "from_id"
        ):  # fmt: skip
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.order is not None:
            out["order"] = list(self.order)
        return out

    def entry(self) -> CellIndexEntry | None:
        """The index entry this event carries, if it carries a whole one."""
        if (
            self.cell_id is None
            or self.sync_allowed is None
            or self.index is None
            or self.cell_type is None
        ):
            return None
        return CellIndexEntry(self.cell_id, self.seq, self.index, self.sync_allowed, self.cell_type)

    @classmethod
    def from_dict(cls, code: str, data: dict[str, Any]) -> StoreEvent:
        return cls(
            type=data["type"],
            code=code,
            cell_id=data.get("cell_id"),
            seq=int(data.get("seq", 0)),
            sync_allowed=data.get("sync_allowed"),
            origin=str(data.get("origin", "")),
            index=int(data["index"]) if data.get("index") is not None else None,
            cell_type=data.get("cell_type"),
            student_id=data.get("student_id"),
            help_cell=data.get("help_cell"),
            order=tuple(str(c) for c in data["order"]) if data.get("order") is not None else None,
            from_id=data.get("from_id"),
        )


EventHandler = Callable[[StoreEvent], Awaitable[None]]
ResyncHandler = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class StoreTTL:
    """Lifetimes of a session's keys, in seconds (fractions allowed: Redis uses PEXPIRE),
    refreshed on activity."""

    active: float = 7 * 24 * 3600
    ended: float = 3600


@dataclass(frozen=True)
class StoreSettings:
    """What the app's configuration says of the store; each store class takes what it needs
    (:meth:`Store.from_settings`)."""

    server_id: str
    ttl: StoreTTL
    url: str = ""  # Redis: redis:// or rediss://, credentials in the URL
    prefix: str = "nbsync:"
    ssl_ca_certs: str | None = None
    ssl_check_hostname: bool = True
    reconnect_min: float = 0.1  # seconds before the first reconnection attempt
    presence_lifetime: float = 30.0  # Redis: how long a dead server's students stay online
    path: str = ""  # SQLite: the store file
    synchronous: str = "NORMAL"  # SQLite: "NORMAL" (survives kill -9) or "FULL" (+ power loss)
    # Redis Cluster: url names seed node(s) (comma-separated), cluster_nodes more (host:port)
    cluster: bool = False
    cluster_nodes: tuple[str, ...] = ()
    # Redis Sentinel: the sentinels (host:port) and the name of the primary they watch
    sentinels: tuple[str, ...] = ()
    sentinel_master: str = ""
    sentinel_password: str = ""
    wait_replicas: int = 0  # Redis: a write waits (WAIT) for this many replicas before success
    wait_timeout_ms: int = 1000


class Store(abc.ABC):
    """Shared state of sessions, cells and students, plus the events between servers.

    Lifecycle: ``await start()`` before use, ``await stop()`` at shutdown. Every coroutine may
    raise :class:`StoreUnavailable`; none returns a silent success when the write did not happen.
    """

    kind: str = "abstract"
    shared: bool = False  # whether other Jupyter servers see the same sessions (Redis)
    # Seconds between re-reads of who is online, for students of other servers whose presence
    # runs out with no event (their server died); 0: every change of presence is an event here.
    presence_recheck: float = 0.0
    # Whether reads answer from this process's memory without waiting (the embedded stores): a
    # use case then awaits independent reads in turn instead of gathering them (the tasks of a
    # gather cost more than such reads; for a store across the network they save round trips).
    local_reads: bool = False

    def __init__(self, *, server_id: str, ttl: StoreTTL | None = None) -> None:
        self.server_id = server_id
        self.ttl = ttl or StoreTTL()
        self._event_handler: EventHandler | None = None
        self._resync_handler: ResyncHandler | None = None

    @classmethod
    @abc.abstractmethod
    def from_settings(cls, settings: StoreSettings) -> Store:
        """The store the app's configuration describes (``store_class`` is configurable)."""

    def describe(self) -> str:
        """One line for the server log (never a secret)."""
        return f"{self.kind} store"

    def set_handlers(self, on_event: EventHandler, on_resync: ResyncHandler) -> None:
        """``on_event`` gets every event of a subscribed session (this server's own included);
        ``on_resync(code)`` is called for every subscribed code after a *re*-subscription (the
        connection to the store was lost and restored), when events may have been lost. It is
        not called after the first :meth:`subscribe`: that caller reads the index itself.
        Exceptions raised by either handler are logged by the store, never propagated."""
        self._event_handler = on_event
        self._resync_handler = on_resync

    # lifecycle -------------------------------------------------------------------------------
    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    async def health(self) -> dict[str, Any]:
        """``{"ok": bool, ...}`` with no secret in it."""

    # events ----------------------------------------------------------------------------------
    @abc.abstractmethod
    async def subscribe(self, code: str) -> None:
        """Start receiving events of ``code`` (idempotent). Returns once subscribed, so a caller
        that reads the index afterwards cannot miss an event in between."""

    @abc.abstractmethod
    async def unsubscribe(self, code: str) -> None: ...

    @abc.abstractmethod
    async def publish(self, event: StoreEvent) -> None:
        """Publish an event with no data write (roster changes)."""

    # sessions --------------------------------------------------------------------------------
    @abc.abstractmethod
    async def create_session(self, session: SessionRecord) -> bool:
        """Store a new session; False (and nothing written) if the code is taken."""

    @abc.abstractmethod
    async def get_session(self, code: str) -> SessionRecord | None: ...

    @abc.abstractmethod
    async def end_session(self, code: str, now: float) -> SessionRecord | None:
        """Mark ended, shorten every key's TTL to ``ttl.ended``, publish ``ended``. None if the
        session does not exist; ending an ended session returns it without a second event."""

    @abc.abstractmethod
    async def touch_session(self, code: str, now: float) -> None:
        """Refresh the TTL of every key of the session and its ``updated`` time (an ended
        session keeps the short ``ttl.ended``). A missing session is a no-op."""

    # cells -----------------------------------------------------------------------------------
    @abc.abstractmethod
    async def write_cell(self, code: str, cell: CellWrite, expect_seq: int | None) -> CellRecord:
        """Atomically: next session seq, store content, update the index, publish ``cell``.

        ``expect_seq``: the seq the caller based ``crdt_state`` on (0 = the cell must not
        exist); a mismatch raises :class:`SeqConflict`. None skips the check.
        Raises :class:`SessionGone` when the session does not exist or has ended (an ended
        session takes no more writes).
        """

    @abc.abstractmethod
    async def set_sync_allowed(self, code: str, cell_id: str, allowed: bool) -> CellRecord | None:
        """Atomically set ``sync_allowed`` (seq unchanged) and publish ``sync``; None if the cell
        (or the session) is absent. Raises :class:`SessionGone` if the session has ended."""

    @abc.abstractmethod
    async def remove_cell(self, code: str, cell_id: str) -> int | None:
        """Atomically delete the cell, bump seq, publish ``removed``; the new seq, or None if the
        cell (or the session) is absent. Raises :class:`SessionGone` if the session has ended."""

    @abc.abstractmethod
    async def reorder_cells(self, code: str, order: list[str]) -> list[str] | None:
        """Atomically give the cells their order in the teacher's notebook and publish
        ``order``: the cells named in ``order`` first, in that order, then the session's other
        cells in their present order; every cell's ``index`` becomes its position. No seq
        changes. Returns the full order; None (nothing written) if a named cell is not in the
        session or the session is absent. Raises :class:`SessionGone` if it has ended."""

    @abc.abstractmethod
    async def move_cell(self, code: str, from_id: str, to_id: str) -> CellRecord | None:
        """Atomically give a cell a new id (a cut and paste in the teacher's notebook): the
        record, its place in the index, and every student's pulled state, pull mark and help
        request of it move to ``to_id``; no seq changes; publish ``moved``. None (nothing
        written) if ``from_id`` is absent or ``to_id`` present. Raises :class:`SessionGone` if
        the session has ended."""

    @abc.abstractmethod
    async def get_cell(self, code: str, cell_id: str) -> CellRecord | None: ...

    @abc.abstractmethod
    async def list_cells(self, code: str) -> list[CellIndexEntry]:
        """The session index, ordered by (index, seq)."""

    @abc.abstractmethod
    async def cell_count(self, code: str) -> int: ...

    # students --------------------------------------------------------------------------------
    @abc.abstractmethod
    async def put_student(self, code: str, student: StudentRecord) -> None:
        """Create the student, or update identity/name/joined (pulled state is kept).
        Raises :class:`SessionGone` when the session does not exist."""

    @abc.abstractmethod
    async def get_student(self, code: str, student_id: str) -> StudentRecord | None: ...

    @abc.abstractmethod
    async def record_pull(
        self, code: str, student_id: str, cell_id: str, pulled: PulledCell
    ) -> None:
        """Store what the student pulled of a cell. Raises :class:`SessionGone` when the session
        does not exist and :class:`StoreError` when the student was never put."""

    @abc.abstractmethod
    async def list_students(self, code: str) -> list[StudentRecord]:
        """All students of the session, ``online`` filled in, ordered by join time."""

    @abc.abstractmethod
    async def set_presence(self, code: str, student_id: str, conn_id: str, online: bool) -> None:
        """Mark one connection of a student on this server online or offline. A student is
        online while any of its connections on any live server is. A server that dies leaves
        no student online for longer than the presence lifetime. Going online in a missing
        session raises :class:`SessionGone`; going offline there is a no-op."""

    @abc.abstractmethod
    async def mark_pull(self, code: str, student_id: str, cell_id: str, mark: PullMark) -> None:
        """Store how the student's last pull of a cell ended (replacing the cell's last mark).
        Raises :class:`SessionGone` when the session does not exist and :class:`StoreError`
        when the student was never put."""

    # help requests ---------------------------------------------------------------------------
    @abc.abstractmethod
    async def put_help(self, code: str, request: HelpRequest, expect_id: str | None = None) -> bool:
        """Atomically write the student's request of that cell (replacing any) and publish
        ``help`` (``student_id``, ``help_cell``; never content). ``expect_id``: only if the
        stored request has that ``request_id`` (False, nothing written, otherwise).
        Raises :class:`SessionGone` when the session does not exist or has ended and
        :class:`StoreError` when the student was never put."""

    @abc.abstractmethod
    async def delete_help(
        self, code: str, student_id: str, cell_id: str, expect_id: str | None = None
    ) -> bool:
        """Atomically delete the request and publish ``help``; False if there was none (or
        not the one ``expect_id`` names). Raises :class:`SessionGone` as :meth:`put_help`."""

    @abc.abstractmethod
    async def get_help(self, code: str, student_id: str, cell_id: str) -> HelpRequest | None: ...

    @abc.abstractmethod
    async def list_help(self, code: str, student_id: str | None = None) -> list[HelpRequest]:
        """The session's requests (of one student if given), oldest ``opened`` first."""

    @abc.abstractmethod
    async def count_sessions(self) -> int:
        """Active sessions (for ``status``; may be approximate on Redis)."""
