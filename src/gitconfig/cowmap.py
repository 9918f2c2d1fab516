"""A copy-on-write mapping split into shards, so that a copy costs 1/256 of a dict copy.

The index builds each snapshot from the previous one. Copying a dict of 100,000 entries per
refresh would make a one-file refresh grow with the repository; ``CowMap.copy`` shares all
256 shard dicts with the original and copies a shard only when the copy first changes it.
The original is never changed through a copy, so a snapshot handed to readers stays as it was.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, MutableMapping
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

SHARDS = 256


class CowMap(MutableMapping[K, V]):
    __slots__ = ("_shards", "_owned", "_len")

    def __init__(self) -> None:
        self._shards: list[dict[K, V]] = [{} for _ in range(SHARDS)]
        self._owned: set[int] = set(range(SHARDS))
        self._len = 0

    def copy(self) -> CowMap[K, V]:
        clone: CowMap[K, V] = CowMap.__new__(CowMap)
        clone._shards = list(self._shards)
        clone._owned = set()
        clone._len = self._len
        return clone

    def _writable(self, key: K) -> dict[K, V]:
        index = hash(key) % SHARDS
        if index not in self._owned:
            self._shards[index] = dict(self._shards[index])
            self._owned.add(index)
        return self._shards[index]

    def __getitem__(self, key: K) -> V:
        return self._shards[hash(key) % SHARDS][key]

    def get(self, key: K, default: V | None = None) -> V | None:  # type: ignore[override]
        return self._shards[hash(key) % SHARDS].get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._shards[hash(key) % SHARDS]

    def __setitem__(self, key: K, value: V) -> None:
        shard = self._writable(key)
        if key not in shard:
            self._len += 1
        shard[key] = value

    def __delitem__(self, key: K) -> None:
        del self._writable(key)[key]
        self._len -= 1

    def __iter__(self) -> Iterator[K]:
        for shard in self._shards:
            yield from shard

    def __len__(self) -> int:
        return self._len
