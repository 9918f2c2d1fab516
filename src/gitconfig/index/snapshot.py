"""The immutable snapshot of the tracked branch's HEAD: entries, their histories, problems.

Readers take ``Index.current()`` (``refresher``) once and use it; nothing in a snapshot
changes after it is published. ``Snapshot.ids`` and ``folded`` are ``immutables.Map``
(a HAMT), so the next snapshot shares all but the changed entries with this one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gitconfig.core.evaluation import CompiledFlag, compile_flag
from gitconfig.core.model import (
    ChangeType,
    Commit,
    Document,
    EntryKey,
    Environment,
    FlagDocument,
    Kind,
    Problem,
    Version,
)

log = logging.getLogger(__name__)

GroupKey = tuple[Kind, str, Environment]


class Entry:
    """One configuration or flag as served: its last valid content and its full history.

    ``served`` is the version whose content is served; ``versions[-1]`` is the content at
    HEAD, which differs from ``served`` only while that file is invalid (fail-static).
    Plain immutable data: what the doors make of an entry is kept by the read side
    (``gitconfig.readside``), which hashes entries by identity.
    """

    __slots__ = ("document", "flag", "id", "key", "served", "versions")

    def __init__(
        self,
        key: EntryKey,
        document: Document,
        served: Version,
        versions: tuple[Version, ...],
        entry_id: str | None = None,  # key.id, when the caller has it already (a cache)
    ) -> None:
        self.key = key
        self.id = key.id if entry_id is None else entry_id
        self.document = document
        self.served = served
        self.versions = versions
        self.flag: CompiledFlag | None = (
            compile_flag(key.key, document) if isinstance(document, FlagDocument) else None
        )

    @property
    def version(self) -> int:
        """The ETag version: the number of the content at HEAD (what a write must name)."""
        return self.versions[-1].number

    @property
    def created(self) -> Version:
        return self.versions[0]

    @property
    def updated(self) -> Version:
        return self.versions[-1]


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """One entry changed by one commit (from the per-commit tree diff)."""

    commit: Commit
    type: ChangeType
    key: EntryKey
    blob: str | None  # the new content's blob; None for DELETED
    version: int = 0  # the entry's version number after the change (DELETED: its last one)
    document: Document | None = None  # the new content (DELETED: the last served content)


@dataclass(frozen=True)
class Snapshot:
    commit: str | None
    groups: Mapping[GroupKey, Mapping[str, Entry]]
    ids: Mapping[str, Entry]
    problems: Mapping[str, Problem]
    schemas: Mapping[str, Any]
    # Histories of paths that are currently deleted: a re-created file keeps counting.
    tombstones: Mapping[str, tuple[Version, ...]]
    # Path with application and key case-folded -> path, of every entry file: names that
    # differ only in case collide (builder._folded).
    folded: Mapping[str, str]

    def get(self, kind: Kind, application: str, environment: Environment, key: str) -> Entry | None:
        group = self.groups.get((kind, application, environment))
        return group.get(key) if group is not None else None

    def get_key(self, key: EntryKey) -> Entry | None:
        return self.get(key.kind, key.application, key.environment, key.key)

    def by_id(self, entry_id: str, kind: Kind | None = None) -> Entry | None:
        entry = self.ids.get(entry_id)
        if entry is None or (kind is not None and entry.key.kind is not kind):
            return None
        return entry

    def entries(
        self,
        kind: Kind,
        application: str | None = None,
        environment: Environment | None = None,
        where: Callable[[Entry], bool] | None = None,
    ) -> list[Entry]:
        """Entries of one kind, optionally filtered (and only those ``where`` accepts),
        sorted by application, ENV, key: a new list on every call (the service keeps them
        per snapshot: ``Reads.entries``)."""
        selected = [
            entry
            for (group_kind, app, env), group in self.groups.items()
            if group_kind is kind
            and (application is None or app == application)
            and (environment is None or env is environment)
            for entry in group.values()
            if where is None or where(entry)
        ]
        selected.sort(key=_order)
        return selected

    def __len__(self) -> int:
        return len(self.ids)


def _order(entry: Entry) -> tuple[str, str, str]:
    return entry.key.application, entry.key.environment.value, entry.key.key


EMPTY = Snapshot(None, {}, {}, {}, {}, {}, {})
