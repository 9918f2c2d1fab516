"""What the read side keeps per served snapshot: the flag checks each principal was allowed,
and the snapshot's entries sorted per filter.

Each holds one table, for one snapshot (``PerSnapshot``): it is replaced when a value is
kept from another snapshot, and dropped when the index moves (``forget``, called by the
index's listener: ``service.flags``, ``service.reads``), so the entries of a snapshot that
left the index are not held by it. The snapshot is compared by identity with a strong
reference (no ``id()`` that a new snapshot could reuse), so a request still holding an older
snapshot never reads, nor fills, the table of another.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from gitconfig.readside.bounded import Bounded

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
C = TypeVar("C")  # a flag's check
E = TypeVar("E")  # an entry
CheckKey = tuple[int, str, str, str]  # (principal serial, application, environment name, key)


class PerSnapshot(Generic[K, V]):
    """One ``Bounded`` table of values for the snapshot ``held[0]``."""

    __slots__ = ("held", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held: tuple[object, Bounded[K, V]] = (None, Bounded(limit))

    def table(self, snapshot: object) -> Bounded[K, V]:
        """The table of ``snapshot``: a new one when the table held is another's."""
        held = self.held
        if held[0] is not snapshot:
            held = self.held = (snapshot, Bounded(self.limit))
        return held[1]

    def get(self, snapshot: object, key: K) -> V | None:
        held = self.held
        return held[1].get(key) if held[0] is snapshot else None

    def forget(self) -> None:
        """Drop the table (the index moved): nothing of the old snapshot stays held."""
        self.held = (None, Bounded(self.limit))


class SortedEntries(PerSnapshot[Hashable, list[E]]):
    """A snapshot's entries sorted per filter (kind, application, environment): a listing
    sorts once per snapshot. The lists are shared: read-only."""

    __slots__ = ()
    LIMIT = 10_000  # filters per snapshot: kinds x (applications + 1) x (environments + 1)

    def __init__(self, limit: int = LIMIT) -> None:
        super().__init__(limit)

    def entries(self, snapshot: object, key: Hashable, sort: Callable[[], list[E]]) -> list[E]:
        """The list of ``key`` in ``snapshot``: ``sort()`` once."""
        kept = self.get(snapshot, key)
        if kept is None:
            kept = self.table(snapshot).put(key, sort())
        return kept


class FlagChecks(PerSnapshot[CheckKey, C]):
    """Flag checks already allowed, by (principal serial, application, environment name,
    key), for the snapshot ``held[0]``: a flag check through the service is then one dict
    lookup for the lookup and the read decision together. Per snapshot, so a commit starts
    an empty table; a new access file makes new principals, whose serials it does not hold.

    The hot path reads ``held`` itself (``snapshot, table = checks.held``: no method
    call)."""

    __slots__ = ()
    LIMIT = 100_000  # principals x flags checked in one snapshot, like the decisions' table

    def __init__(self, limit: int = LIMIT) -> None:
        super().__init__(limit)
