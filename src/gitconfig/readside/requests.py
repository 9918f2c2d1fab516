"""What the read side keeps per request shape: parsed query strings and their answers, parsed
OFREP contexts, Spring answers, and the commit a merge brought a version.

Each key is immutable request text or commits, each value a function of it: a map emptied
when full (``Bounded``) only costs recomputation. What depends on the served snapshot is
checked by its holder (``rest.fastpath``: the snapshot's generation; Spring: the commit is
part of the key).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

from gitconfig.core.model import Commit
from gitconfig.core.ofrep import Context
from gitconfig.readside.bounded import Bounded

V = TypeVar("V")


class ParsedQueries(Bounded[bytes, V]):
    """The read fast path's knowledge of one path's query strings (their parse and last
    answer), by the raw query string: a service asks the same few again and again."""

    __slots__ = ()
    LIMIT = 4096

    def __init__(self, limit: int = LIMIT) -> None:
        super().__init__(limit)


class OfrepContexts(Bounded[bytes, Context]):
    """Parsed OFREP contexts by request body: a provider sends the same few bodies again and
    again (one per user). Bounded in bytes as well: only bodies up to ``BODY_LIMIT`` bytes
    are kept (at most 16 MiB of keys), never a stream of distinct large ones."""

    __slots__ = ()
    LIMIT = 4096
    BODY_LIMIT = 4096

    def __init__(self, limit: int = LIMIT) -> None:
        super().__init__(limit)

    def keep(self, body: bytes, context: Context) -> Context:
        """``context``, kept for ``body`` when the body is small enough."""
        if len(body) <= self.BODY_LIMIT:
            self[body] = context
        return context


class SpringAnswers(Bounded[tuple[Hashable, ...], V]):
    """Spring ``Environment`` answers by (commit, whether it is the served one, application,
    profiles, label, what the caller may reveal): all of an immutable commit."""

    __slots__ = ()
    LIMIT = 1024

    def __init__(self, limit: int = LIMIT) -> None:
        super().__init__(limit)


class MergedCommits(Bounded[tuple[str, str], Commit | None]):
    """The merged branch's commit that brought a version, by (commit, path): both immutable
    (None: no merge brought it). A miss walks Git history."""

    __slots__ = ()
    LIMIT = 10_000

    def __init__(self, limit: int = LIMIT) -> None:
        super().__init__(limit)
