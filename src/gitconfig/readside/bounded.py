"""``Bounded``: the one bounded map of the read side, a dict emptied when an insert finds it
full (``docs/decisions.md``, "The read side's caches").

Reads are the dict's own ``get`` and ``in`` (C code, no lock: a dict read is atomic), so a
cached answer costs one lookup on the hottest paths (a flag check through the service is
about 0.7 µs in all). Inserts take a lock, so the bound holds when threads fill one map at
once. Emptying the map instead of evicting its least recently used item keeps reads free of
bookkeeping: every value is a function of its immutable key, so a map emptied by a burst of
new keys costs only their recomputation.
"""

from __future__ import annotations

import threading
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Bounded(dict[K, V]):
    """A dict of at most ``limit`` items: an insert (``map[key] = value`` or ``put``) that
    finds it full empties it first. Read it as a dict; insert only with those two (``update``
    and ``setdefault`` would bypass the bound)."""

    __slots__ = ("_lock", "limit")

    def __init__(self, limit: int) -> None:
        super().__init__()
        if limit < 1:
            raise ValueError(f"a bounded map holds at least one item, not {limit}")
        self.limit = limit
        self._lock = threading.Lock()

    def __setitem__(self, key: K, value: V) -> None:
        with self._lock:
            if len(self) >= self.limit and key not in self:
                self.clear()
            super().__setitem__(key, value)

    def put(self, key: K, value: V) -> V:
        """Insert ``value`` under ``key`` and return it (``cached = map.put(key, made)``)."""
        self[key] = value
        return value

    def __repr__(self) -> str:
        return f"Bounded({len(self)}/{self.limit})"
