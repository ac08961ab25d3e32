"""What a pull computes once and a whole class reuses (issue 16, item 3).

After a push, every student pulls the same teacher state from the same base (the state they all
pulled last time): the decode of those states, the teacher's delta from the base and a
fast-forward's update are the same for all of them. :class:`Recent` keeps the latest of such
results, keyed by exactly what they were computed from (the state bytes themselves, the texts
themselves: never a digest), so a hit is what a computation would give.

Bounded in entries and in weight (about the bytes an entry holds), least recently used dropped
first. One instance per use in an engine; no module-level state. Not thread-safe: the server's
event loop is its only user. No pycrdt here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

from ..merge import Hunk, diff_lines, split_lines

__all__ = ["Recent", "TheirsDiffs"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    """``key -> value``, LRU, at most ``max_entries`` entries and ``max_weight`` in total.

    ``hits`` and ``misses`` are plain ints, read them for metrics."""

    def __init__(self, max_entries: int = 64, max_weight: int = 4 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_weight = max_weight
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._weight = 0
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def weight(self) -> int:
        return self._weight

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: K, value: V, weight: int) -> None:
        """Keep ``value`` for ``key``; ``weight``: about the bytes it holds (keys included)."""
        old = self._entries.pop(key, None)
        if old is not None:
            self._weight -= old[1]
        if weight > self.max_weight:
            return
        self._entries[key] = (value, weight)
        self._weight += weight
        while len(self._entries) > self.max_entries or self._weight > self.max_weight:
            _key, (_value, dropped) = self._entries.popitem(last=False)
            self._weight -= dropped

    def clear(self) -> None:
        self._entries.clear()
        self._weight = 0


class TheirsDiffs:
    """The line diff of a base and the teacher's text, for the merges of a class's pulls (every
    student who edited merges the same two against their own text): computed once per pair
    while it is recent. Pass it to :func:`..merge.plan_pull`."""

    def __init__(self) -> None:
        self.recent: Recent[tuple[str, str], tuple[Hunk, ...]] = Recent()

    def __call__(self, base: str, theirs: str) -> Sequence[Hunk]:
        key = (base, theirs)
        hunks = self.recent.get(key)
        if hunks is None:
            hunks = tuple(diff_lines(split_lines(base), split_lines(theirs)))
            self.recent.put(key, hunks, len(base) + len(theirs) + 64 * (len(hunks) + 1))
        return hunks
