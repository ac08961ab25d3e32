"""What the embedded stores share: the in-memory state of a session, and the journal each change
is written to before it is made.

:class:`~.memory.MemoryStore` keeps every session in a :class:`SessionState` and calls its
:class:`Journal` with each change *before* changing the state; a journal that raises
:class:`~.base.StoreUnavailable` leaves the state as it was, so nothing half-written is ever seen.
The memory store's journal keeps nothing; the SQLite store's (``sqlite/journal.py``) writes each
change in one short transaction.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

from .base import (
    CellRecord,
    HelpRequest,
    PulledCell,
    PullMark,
    SessionRecord,
    SessionStatus,
    StoreEvent,
    StudentRecord,
)


@dataclass
class SessionState:
    """One session in an embedded store."""

    record: SessionRecord
    expires: float  # time.monotonic() deadline
    seq: int = 0
    cells: dict[str, CellRecord] = field(default_factory=dict)
    students: dict[str, StudentRecord] = field(default_factory=dict)
    presence: set[tuple[str, str]] = field(default_factory=set)  # (student_id, conn_id)
    online: dict[str, int] = field(default_factory=dict)  # student_id -> connections in presence
    help: dict[tuple[str, str], HelpRequest] = field(default_factory=dict)  # (student, cell)


class Journal:
    """Where changes go before they are made. This one (the memory store's) keeps nothing.

    ``expires`` arguments are the session's new ``time.monotonic()`` deadline. Every method is
    synchronous (no other coroutine runs between the journal and the change of the state), and
    :meth:`durable` is awaited before a write is answered.
    """

    def create_session(self, state: SessionState) -> None:
        """A new session (any leftover of an expired one with the same code is replaced)."""

    def update_session(self, record: SessionRecord, expires: float) -> None:
        """The session's status, ``updated`` time and lifetime (end, touch)."""

    def write_cell(
        self, code: str, record: CellRecord, expires: float, outputs_changed: bool = True
    ) -> None:
        """The cell's new record; ``outputs_changed``: its outputs differ from the stored ones
        (else they need no writing)."""

    def set_sync_allowed(self, code: str, cell_id: str, allowed: bool, expires: float) -> None: ...

    def remove_cell(self, code: str, cell_id: str, seq: int, expires: float) -> None: ...

    def reorder_cells(self, code: str, indexes: dict[str, int], expires: float) -> None:
        """New ``index`` of the cells named (the others keep theirs)."""

    def move_cell(self, code: str, from_id: str, to_id: str, expires: float) -> None:
        """A cell's new id: its record, and every student's pulls, marks and help of it."""

    def put_student(self, code: str, student: StudentRecord, new: bool, expires: float) -> None: ...

    def record_pull(
        self, code: str, student_id: str, cell_id: str, pulled: PulledCell, expires: float
    ) -> None: ...

    def mark_pull(
        self, code: str, student_id: str, cell_id: str, mark: PullMark, expires: float
    ) -> None: ...

    def put_help(self, code: str, request: HelpRequest, expires: float) -> None: ...

    def delete_help(self, code: str, student_id: str, cell_id: str, expires: float) -> None: ...

    def drop_sessions(self, codes: list[str]) -> None:
        """Expired sessions, with everything of theirs."""

    async def durable(self) -> None:
        """Return once every change journaled so far is as durable as promised."""
        return None


class EmbeddedPart(abc.ABC):
    """What a part of the embedded store (its help, its order operations) needs of the store
    it is mixed into (:class:`~.memory.MemoryStore`): the journal, the sessions, lifetimes and
    events."""

    _journal: Journal
    server_id: str

    @abc.abstractmethod
    def _get(self, code: str) -> SessionState | None: ...

    @abc.abstractmethod
    def _writable(self, code: str) -> SessionState | None: ...

    @abc.abstractmethod
    def _deadline(self, status: SessionStatus) -> float: ...

    @abc.abstractmethod
    def _emit(self, event: StoreEvent) -> None: ...
