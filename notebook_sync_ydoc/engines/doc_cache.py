"""The teacher's cell documents kept decoded between pushes (issue 16, item 2).

Without it every push decodes the stored CRDT state of the cell (and the decode grows with the
cell's history). :class:`CellDocCache` keeps, per (session, cell), the document this server last
wrote and the exact state bytes it encoded to. A push reuses the document only when the store
still holds exactly those bytes: any other writer in between (another server through Redis, a
JSON-mode server, a push of this server that the store refused) leaves other bytes there, and
the push decodes them instead. A stale document is never used.

Bounded: at most ``max_entries`` documents and ``max_bytes`` (estimated: a decoded document costs
a few times its encoded state), least recently used dropped first. One instance per engine,
made by whoever makes the engine (:func:`.factory.load_engine`); no module-level state. Not
thread-safe: the server's event loop is its only user. No pycrdt here (the factory imports this
module in JSON mode too): documents are opaque.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import CellKey as CacheKey

if TYPE_CHECKING:  # .splice reads with .ytext, which imports pycrdt: JSON mode runs without it
    from .splice import Layout

__all__ = ["DOC_OVERHEAD", "CacheKey", "CellDocCache", "HotCell"]

DOC_OVERHEAD = 4  # estimated bytes held per byte of encoded state (document, text, state)
ENTRY_FLOOR = 4096  # estimated bytes held by the smallest entry


@dataclass(eq=False)
class HotCell:
    """A decoded teacher document: ``doc`` reads ``text`` and encodes to exactly ``state``
    (``layout``: where its structs lie in ``state``, for :func:`.splice.splice`)."""

    doc: Any
    text: str
    state: bytes
    layout: Layout | None = None

    @property
    def weight(self) -> int:
        return DOC_OVERHEAD * len(self.state) + ENTRY_FLOOR


class CellDocCache:
    """(session, cell) -> the document this server last wrote, LRU, bounded in count and size.

    ``hits``, ``misses`` (no entry, or the store holds other bytes) and ``evictions`` are plain
    ints, read them for metrics."""

    def __init__(self, max_entries: int = 1024, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[CacheKey, HotCell] = OrderedDict()
        self._bytes = 0
        self.hits = self.misses = self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """The estimated bytes the entries hold."""
        return self._bytes

    def take(self, key: CacheKey, state: bytes | None) -> HotCell | None:
        """The document of ``key`` if it encodes to exactly ``state`` (what the store holds
        now), removed from the cache (the caller edits it, then :meth:`put`s it back); else
        None, and a stale entry is dropped."""
        entry = self._entries.pop(key, None)
        if entry is None:
            self.misses += 1
            return None
        self._bytes -= entry.weight
        # identity first: the store usually hands back the very bytes object this server wrote
        if state is not None and (entry.state is state or entry.state == state):
            self.hits += 1
            return entry
        self.misses += 1
        return None

    def put(self, key: CacheKey, entry: HotCell) -> None:
        """Keep ``entry`` as the document whose state the store is about to hold for ``key``."""
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.weight
        if entry.weight > self.max_bytes:
            return
        self._entries[key] = entry
        self._bytes += entry.weight
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _key, dropped = self._entries.popitem(last=False)
            self._bytes -= dropped.weight
            self.evictions += 1

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0
