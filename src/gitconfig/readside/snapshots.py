"""What the read side keeps per snapshot: the flag checks each principal was allowed, and the
snapshot's entries sorted per filter.

Both are keyed by the snapshot's commit first: a snapshot is a function of its commit (the
index builds the same snapshot from the same commit, cold, warm or by diff), so a value kept
for one commit is right for any snapshot of that commit, and a request still holding an older
snapshot never reads the values of the served one. Their owners empty them whenever the
index moves (``clear``, from the index's listener: ``service.flags``, ``service.reads``), so
the entries of a snapshot that left the index are not held by them; what a late request of
the old snapshot adds after that goes at the next move, or when the map is full.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from gitconfig.readside.bounded import Bounded

C = TypeVar("C")  # a flag's check
E = TypeVar("E")  # an entry
# (snapshot commit, principal serial, application, environment name, key)
CheckKey = tuple[str | None, int, str, str, str]


class FlagChecks(Bounded[CheckKey, C]):
    """Flag checks already allowed, by (snapshot commit, principal serial, application,
    environment name, key): a flag check through the service is then one dict lookup for
    the lookup and the read decision together. A commit starts with none; a new access
    file makes new principals, whose serials it does not hold."""

    __slots__ = ()
    LIMIT = 100_000  # principals x flags checked in one snapshot, like the decisions' table

    def __init__(self, limit: int = LIMIT) -> None:
        super().__init__(limit)


class SortedEntries(Bounded[tuple[str | None, Hashable], list[E]]):
    """A snapshot's entries sorted per filter, by (snapshot commit, filter): a listing sorts
    once per snapshot. The lists are shared: read-only."""

    __slots__ = ()
    LIMIT = 10_000  # filters per snapshot: kinds x (applications + 1) x (environments + 1)

    def __init__(self, limit: int = LIMIT) -> None:
        super().__init__(limit)

    def entries(self, commit: str | None, key: Hashable, sort: Callable[[], list[E]]) -> list[E]:
        """The list of filter ``key`` at ``commit``: ``sort()`` once."""
        kept = self.get((commit, key))
        if kept is None:
            kept = self.put((commit, key), sort())
        return kept
