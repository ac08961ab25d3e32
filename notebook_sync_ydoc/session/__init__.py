"""The classroom use cases, with no Tornado and no pycrdt: a transport hands each connection
to :class:`SyncService` as a :class:`Peer`; shared state is in the injected store.

:mod:`.service` (the entry point), :mod:`.teacher` and :mod:`.student` (the use cases),
:mod:`.fanout` (store events to sockets, catch-up), :mod:`.rooms` (this server's rooms and
subscriptions), :mod:`.access` (keys, codes, who may teach, join limits), :mod:`.context`
(what they share), :mod:`.members`, :mod:`.tasks`.
"""

from __future__ import annotations

from .context import ServiceConfig
from .fanout import StoreListener
from .members import Member, Peer
from .service import SyncService

__all__ = ["Member", "Peer", "ServiceConfig", "StoreListener", "SyncService"]
