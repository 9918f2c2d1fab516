"""What the read side keeps per entry of the index: renderings by name, renderings per flag
evaluation, and a flag entry's check with its answers made in advance.

Keys hold the entry itself (an ``Entry`` has no ``__eq__``: it hashes and compares by
identity), so an entry cannot be mistaken for another that reuses its ``id()``, and a value
is a function of its key for good (an entry is immutable). An entry that left the index is
kept by these maps until they are emptied (``Bounded``): memory stays bounded, and nothing
here refers back from the entry, so no reference cycle waits for the collector (the server
freezes its first heap: ``runtime.server``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from gitconfig.core.evaluation import Attributes, CompiledFlag, Evaluation, compile_answers
from gitconfig.readside.bounded import Bounded

E = TypeVar("E", bound=Hashable)  # an entry (hashed by identity)
R = TypeVar("R")  # a rendering

Check = Callable[[str | None, Attributes], tuple[E, Evaluation]]


class Renderings(Bounded[tuple[Hashable, str], R]):
    """Renderings by (entry, name): a response's bytes or message, made once per entry and
    name (the name says the audience where it differs: ``SecretBox.rendering``)."""

    __slots__ = ()
    LIMIT = 250_000  # every entry of the largest repository measured, in one name

    def __init__(self, limit: int = LIMIT) -> None:
        super().__init__(limit)


class EvaluationRenderings(Bounded[tuple[Hashable, int], tuple[Evaluation, R]]):
    """Renderings of one flag entry's evaluations (a check's response), one per
    ``Evaluation`` object: a compiled flag answers with a few shared ones (one per rule
    outcome), so a few renderings serve every caller. The key holds ``id(evaluation)`` and
    the value the evaluation itself, which keeps that id from being reused while it is kept;
    ``rendering`` still compares the evaluation it finds by identity."""

    __slots__ = ()
    LIMIT = 100_000

    def __init__(self, limit: int = LIMIT) -> None:
        super().__init__(limit)

    def rendering(self, entry: Hashable, evaluation: Evaluation, render: Callable[[], R]) -> R:
        """``render()`` once per (``entry``, ``evaluation`` object)."""
        key = (entry, id(evaluation))
        hit = self.get(key)
        if hit is not None and hit[0] is evaluation:
            return hit[1]
        made = render()
        self[key] = (evaluation, made)
        return made


class EntryChecks(Bounded[E, Check[E]]):
    """The check of a flag entry: ``check(user_id, attributes) -> (entry, evaluation)``, its
    flag compiled again with every ``(entry, evaluation)`` pair made in advance
    (``evaluation.compile_answers``), so a check allocates no pair. Kept by entry across
    snapshots (an unchanged flag keeps its entry), here and not on the compiled flag: the
    pairs refer to the entry, and the entry does not refer to them."""

    __slots__ = ()
    LIMIT = 50_000

    def __init__(self, limit: int = LIMIT) -> None:
        super().__init__(limit)

    def check(self, entry: E, flag: CompiledFlag) -> Check[E]:
        """The check of ``entry``, whose compiled flag is ``flag``."""
        check = self.get(entry)
        if check is None:
            check = self.put(entry, _answering(entry, flag))
        return check


def _answering(entry: E, flag: CompiledFlag) -> Check[E]:
    def pair(evaluation: Evaluation) -> tuple[E, Evaluation]:
        return entry, evaluation

    return compile_answers(flag.key, flag.document, pair)
