"""What the read side keeps per served snapshot: the flag checks each principal was allowed.

``FlagChecks`` holds one table, for one snapshot: it is replaced when a check is kept from a
newer one, and dropped when the index moves (``forget``, called by the index's listener:
``service.flags``), so the entries of a snapshot that left the index are not held by it. The
snapshot is compared by identity with a strong reference (no ``id()`` that a new snapshot
could reuse), so a request still holding an older snapshot never reads, nor fills, the table
of another.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from gitconfig.readside.bounded import Bounded

C = TypeVar("C")  # a flag's check
CheckKey = tuple[int, str, str, str]  # (principal serial, application, environment name, key)


class FlagChecks(Generic[C]):
    """Flag checks already allowed, by (principal serial, application, environment name,
    key), for the snapshot ``held[0]``: a flag check through the service is then one dict
    lookup for the lookup and the read decision together. Per snapshot, so a commit starts
    an empty table; a new access file makes new principals, whose serials it does not hold.

    The hot path reads ``held`` itself (``snapshot, table = checks.held``: no method
    call)."""

    __slots__ = ("held", "limit")
    LIMIT = 100_000  # principals x flags checked in one snapshot, like the decisions' table

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self.held: tuple[object, Bounded[CheckKey, C]] = (None, Bounded(limit))

    def table(self, snapshot: object) -> Bounded[CheckKey, C]:
        """The table of ``snapshot``: a new one when the table held is another's."""
        held = self.held
        if held[0] is not snapshot:
            held = self.held = (snapshot, Bounded(self.limit))
        return held[1]

    def get(self, snapshot: object, key: CheckKey) -> C | None:
        held = self.held
        return held[1].get(key) if held[0] is snapshot else None

    def forget(self) -> None:
        """Drop the table (the index moved): nothing of the old snapshot stays held."""
        self.held = (None, Bounded(self.limit))
