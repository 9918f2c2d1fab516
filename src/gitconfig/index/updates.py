"""What a change stream carries: the subscriber's filter, one rendered change (``Update``),
the changes of one commit (``Batch``), and the two ways a stream ends early.

Pure values, shared by the change hub (``changes``) and the transports that stream them
(gRPC, server-sent events).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from gitconfig.core import flagfile
from gitconfig.core.errors import GitconfigError, PreconditionFailed
from gitconfig.core.model import (
    ChangeType,
    ConfigDocument,
    EntryKey,
    Environment,
    FlagDocument,
    Kind,
    ValueType,
)
from gitconfig.index.snapshot import ChangeEvent


class SubscriberTooSlow(GitconfigError):
    """The subscriber's queue overflowed; resume after ``resume_after`` (gRPC
    RESOURCE_EXHAUSTED; SSE an ``error`` event, then the response ends)."""

    def __init__(self, resume_after: str | None) -> None:
        super().__init__(
            f"the stream fell too far behind and was ended; resume after commit {resume_after}"
            if resume_after
            else "the stream fell too far behind and was ended; subscribe again"
        )
        self.resume_after = resume_after


class HistoryRewritten(PreconditionFailed):
    """The branch was force-pushed, or the resume commit is not in its first-parent history:
    no lossless resume is possible. Re-read the configuration and subscribe again."""


@dataclass(frozen=True, slots=True)
class Filter:
    """What a subscriber wants: None / empty means any. Flags only with ``include_flags``."""

    application: str | None = None
    environment: Environment | None = None
    keys: frozenset[str] = frozenset()
    include_flags: bool = False
    # The subscriber's read scope (None: everything); an update outside it is never sent.
    allowed: Callable[[EntryKey], bool] | None = field(default=None, compare=False)

    def matches(self, key: EntryKey) -> bool:
        return (
            (self.allowed is None or self.allowed(key))
            and (key.kind is Kind.CONFIG or self.include_flags)
            and (self.application is None or key.application == self.application)
            and (self.environment is None or key.environment is self.environment)
            and (not self.keys or key.key in self.keys)
        )


@dataclass(frozen=True, slots=True)
class Update:
    """One change as streamed: what changed, how, at which commit, and its value then.

    ``value`` is the configuration's API text (masked SECRET, unless the subscriber may
    reveal), or a flag's definition as compact JSON; empty for DELETED. ``value_type`` is
    None for flags. ``version`` is the entry's version number after the change (DELETED: the
    last one)."""

    commit: str
    time: datetime
    type: ChangeType
    kind: Kind
    application: str
    environment: Environment
    key: str
    id: str
    version: int
    value_type: ValueType | None
    value: str


@dataclass(frozen=True, slots=True)
class Batch:
    """The updates of one commit that match a subscriber's filter, in the commit's order."""

    commit: str
    updates: tuple[Update, ...]


ValueText = Callable[[ConfigDocument], str]


def render_update(event: ChangeEvent, value_text: ValueText) -> Update:
    document = event.document
    value = ""
    value_type: ValueType | None = None
    if isinstance(document, ConfigDocument):
        value_type = document.value_type
        if event.type is not ChangeType.DELETED:
            value = value_text(document)
    elif isinstance(document, FlagDocument) and event.type is not ChangeType.DELETED:
        value = json.dumps(flagfile.to_mapping(document), separators=(",", ":"))
    return Update(
        commit=event.commit.sha,
        time=event.commit.time,
        type=event.type,
        kind=event.key.kind,
        application=event.key.application,
        environment=event.key.environment,
        key=event.key.key,
        id=event.key.id,
        version=event.version,
        value_type=value_type,
        value=value,
    )
