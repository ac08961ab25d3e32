"""Key and channel names of the Redis store.

Keys (``P`` is the prefix, default ``nbsync:``; ``{CODE}`` is the session code in literal braces,
the Redis Cluster hash tag, so every key of a session lives in one slot):

=====================================  ==========  ============================================
key                                    type        holds
=====================================  ==========  ============================================
``P session:{CODE}``                   hash        code, teacher_identity, teacher_key_hash,
                                                   title, mode, status, created, updated
``P session:{CODE}:seq``               string      the session's last seq (INCR)
``P session:{CODE}:cells``             hash        the index: cell id -> JSON
                                                   ``{"seq", "index", "a" (sync_allowed),
                                                   "t" (cell_type)}``; sorted by (index, seq)
                                                   when read (a hash, not a sorted set, because
                                                   the entry carries more than one number)
``P pending_update:{CODE}:<cell_id>``  hash        source, cell_type, metadata (JSON),
                                                   crdt_state (raw bytes; absent = None),
                                                   sync_allowed ("1"/"0"), index, seq, updated
``P session:{CODE}:students``          sorted set  student id, scored by join time
``P student:{CODE}:<student_id>``      hash        ``i`` identity, ``n`` name, ``j`` joined;
                                                   per pulled cell ``p:<cell_id>`` JSON
                                                   ``{"seq", "src"}`` and ``s:<cell_id>`` the
                                                   raw base state bytes (absent = None)
``P session:{CODE}:presence``          sorted set  JSON ``[student_id, server_id, conn_id]``
                                                   scored by expiry (ms, Redis ``TIME``)
``P sessions``                         sorted set  codes of created sessions (for
                                                   ``count_sessions``; cleaned when read)
=====================================  ==========  ============================================

Pub/sub channel of a session: ``P sync_session_{CODE}`` (braces included, e.g.
``nbsync:sync_session_{ABC234}``), carrying ``json(StoreEvent.to_dict())``. Every server also
subscribes its own control channel ``P server:<server_id>`` so its subscriber connection is
always in subscribed mode (liveness PINGs work even with no session).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeySpace:
    """Every key and channel name under one prefix."""

    prefix: str = "nbsync:"

    def session(self, code: str) -> str:
        return f"{self.prefix}session:{{{code}}}"

    def seq(self, code: str) -> str:
        return f"{self.session(code)}:seq"

    def cells(self, code: str) -> str:
        return f"{self.session(code)}:cells"

    def students(self, code: str) -> str:
        return f"{self.session(code)}:students"

    def presence(self, code: str) -> str:
        return f"{self.session(code)}:presence"

    def pending_prefix(self, code: str) -> str:
        """The pending_update key of a cell is this prefix followed by the cell id."""
        return f"{self.prefix}pending_update:{{{code}}}:"

    def pending(self, code: str, cell_id: str) -> str:
        return self.pending_prefix(code) + cell_id

    def student_prefix(self, code: str) -> str:
        """The key of a student is this prefix followed by the student id."""
        return f"{self.prefix}student:{{{code}}}:"

    def student(self, code: str, student_id: str) -> str:
        return self.student_prefix(code) + student_id

    @property
    def registry(self) -> str:
        """The sorted set of created sessions."""
        return f"{self.prefix}sessions"

    def session_keys(self, code: str, extra: str | None = None) -> list[str]:
        """``KEYS`` of a session script: session, seq, cells, students, presence[, extra]."""
        keys = [
            self.session(code),
            self.seq(code),
            self.cells(code),
            self.students(code),
            self.presence(code),
        ]
        if extra is not None:
            keys.append(extra)
        return keys

    # channels --------------------------------------------------------------------------------
    def channel(self, code: str) -> str:
        """The pub/sub channel of a session."""
        return f"{self.prefix}sync_session_{{{code}}}"

    def code_of(self, channel: str) -> str | None:
        """The session code of a session channel; None for any other channel."""
        head = f"{self.prefix}sync_session_{{"
        if not (channel.startswith(head) and channel.endswith("}")):
            return None
        return channel[len(head) : -1]

    def control(self, server_id: str) -> str:
        """The control channel of one server."""
        return f"{self.prefix}server:{server_id}"
