"""Renderings a transport keeps per entry and audience, and the secret decision behind them.

An ``Entry`` is immutable, so a transport may keep what it made of it (response messages,
bytes) in ``Entry.memo``. What it made differs between callers only where a SECRET is masked
for one and revealed to another; which of the two a caller gets, and whether a revealed
rendering may be kept, are secret-handling decisions, made here once for every door.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from gitconfig.access.principals import Principal
from gitconfig.core.evaluation import Evaluation
from gitconfig.core.model import ConfigDocument, ValueType
from gitconfig.index.snapshot import Entry
from gitconfig.service.base import ServiceBase

Rendering = TypeVar("Rendering")


class ServingUseCases(ServiceBase):
    def reveals_to(self, principal: Principal, entry: Entry) -> bool:
        """Whether a service reading ``entry`` (gRPC, streams) is served its plaintext: it
        is a SECRET and ``principal`` may reveal it in the entry's scope."""
        document = entry.document
        return (
            isinstance(document, ConfigDocument)
            and document.value_type is ValueType.SECRET
            and self.may_reveal(principal, entry.key)
        )

    def rendering(
        self, principal: Principal, entry: Entry, name: str, render: Callable[[], Rendering]
    ) -> Rendering:
        """The rendering ``name`` of ``entry`` for ``principal``: ``render()`` once per entry
        and audience (masked or revealed, ``reveals_to``), kept in ``entry.memo`` under
        ``"{name}.{revealed}"``. A revealed rendering is kept once sops has answered for the
        blob (the plaintext, or a failure it reported), never the mask of a sops that could
        not run (the next request tries again)."""
        revealed = self.reveals_to(principal, entry)
        memo_key = f"{name}.{revealed}"
        memo = entry.memo
        if memo_key in memo:
            kept: Rendering = memo[memo_key]
            return kept
        made = render()
        if not revealed or self.secrets.known(entry.served.blob):
            memo[memo_key] = made
        return made


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
