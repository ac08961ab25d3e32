"""Follow rooms: a live, read-only Yjs view of a session's shared cells.

:mod:`.room` (one session's room), :mod:`.manager` (a server's rooms and admission),
:mod:`.awareness` (the awareness wire format). This package's top level imports no pycrdt, so
the transport can name :class:`Admission` and :class:`FollowRefused` in JSON mode; the app
imports :mod:`.manager` only when follow rooms can run.
"""

from __future__ import annotations

from .admission import Admission, FollowRefused

__all__ = ["Admission", "FollowRefused"]
