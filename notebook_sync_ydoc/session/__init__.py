"""The classroom use cases, with no Tornado and no pycrdt: a transport hands each connection
to :class:`SyncService` as a :class:`Peer`; shared state is in the injected store."""

from __future__ import annotations

from .service import Member, Peer, ServiceConfig, StoreListener, SyncService

__all__ = ["Member", "Peer", "ServiceConfig", "StoreListener", "SyncService"]
