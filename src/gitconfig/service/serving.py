"""Renderings a transport keeps per entry and audience, and the secret decision behind them.

An ``Entry`` is immutable, so a transport may keep what it made of it (response messages,
bytes) in ``Entry.memo``. What it made differs between callers only where a SECRET is masked
for one and revealed to another; which of the two a caller gets, and whether a revealed
rendering may be kept, are secret-handling decisions, made here once for every door.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from gitconfig.core.evaluation import Evaluation
from gitconfig.index.snapshot import Entry

Rendering = TypeVar("Rendering")


def per_evaluation(
    entry: Entry,
    name: str,
    evaluation: Evaluation,
    render: Callable[[], Rendering],
    limit: int | None = None,
) -> Rendering:
    """The rendering ``name`` of one evaluation of the flag ``entry``: ``render()`` once per
    ``Evaluation`` object. A compiled flag answers with a few shared ``Evaluation`` objects
    (one per rule outcome), so a few renderings are kept; each is kept with its evaluation,
    so that a reused ``id()`` can never answer for another one. ``limit``: at most that many
    are kept for the entry (the others are rendered every time)."""
    kept: dict[int, tuple[Evaluation, Rendering]] = entry.memo.setdefault(name, {})
    hit = kept.get(id(evaluation))
    if hit is not None and hit[0] is evaluation:
        return hit[1]
    made = render()
    if limit is None or len(kept) < limit:
        kept[id(evaluation)] = (evaluation, made)
    return made
