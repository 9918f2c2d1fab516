"""What the read side keeps of change streams: updates rendered once per change and audience
(``index.changes``), and a transport's message of each update (``grpc.servicer``)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from gitconfig.readside.bounded import Bounded

U = TypeVar("U")  # a rendered update
M = TypeVar("M")  # a transport's message of one


class StreamUpdates(Bounded[tuple[str, str, Hashable], U]):
    """Rendered updates by (commit, path, audience): subscribers of one audience share them."""

    __slots__ = ()
    LIMIT = 10_000

    def __init__(self, limit: int = LIMIT) -> None:
        super().__init__(limit)

    def rendered(self, key: tuple[str, str, Hashable], render: Callable[[], U]) -> U:
        update = self.get(key)
        if update is None:
            update = self.put(key, render())
        return update


class UpdateMessages(Bounded[tuple[int, bool], tuple[object, M]]):
    """A transport's message of one rendered update (and whether it ends its commit), by the
    update's identity: the value holds the update, so its ``id()`` is not reused while kept."""

    __slots__ = ()
    LIMIT = 20_000  # two per rendered update at most (``StreamUpdates.LIMIT``)

    def __init__(self, limit: int = LIMIT) -> None:
        super().__init__(limit)

    def message(self, update: object, end: bool, render: Callable[[], M]) -> M:
        key = (id(update), end)
        hit = self.get(key)
        if hit is not None and hit[0] is update:
            return hit[1]
        made = render()
        self[key] = (update, made)
        return made
