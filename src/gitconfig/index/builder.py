"""Applies commits to drafts of a snapshot's tables: the index's one way of building the next
snapshot (a refresh, a replay of history, a warm start's diff).

Each commit's tree diff extends the per-path version histories, re-parses only the changed
blobs (through the index's parse cache), keeps serving the last valid content of a file that
stopped validating (fail-static, reported in ``problems``), refuses paths that differ only in
case, and records one ``ChangeEvent`` per entry changed. The previous snapshot is never
changed: groups are copied on first write; ids and folded are HAMT mutations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import immutables

from gitconfig.core import configfile, validator
from gitconfig.core.errors import BadRequest, FieldError
from gitconfig.core.model import (
    ChangeType,
    Commit,
    ConfigDocument,
    Document,
    EntryKey,
    FileChange,
    Kind,
    Problem,
    Version,
)
from gitconfig.core.paths import is_schema_path, parse_entry_path
from gitconfig.index.snapshot import ChangeEvent, Entry, GroupKey, Snapshot

log = logging.getLogger(__name__)


def describe(error: FieldError) -> str:
    return f"{error.field}: {error.message}" if error.field else error.message


def parse_result(kind: Kind, data: bytes, schemas: Mapping[str, Any]) -> Document | list[str]:
    """The validated document of an entry file's bytes, or why it is invalid (messages)."""
    try:
        return validator.load_document(kind, data, schemas)
    except BadRequest as exc:
        return [describe(error) for error in exc.errors] or [exc.message]


def cacheable(kind: Kind, result: Document | list[str]) -> bool:
    """True for a parse result that no shared schema can change, the only kind a parse
    cache keeps: a flag's (valid or not), or a valid configuration that references none."""
    return kind is Kind.FLAG or (
        isinstance(result, ConfigDocument) and not configfile.references(result)
    )


def _mutation(mapping: Mapping[str, Any]) -> immutables.MapMutation[str, Any]:
    """A mutable draft of ``mapping`` that never changes it (``immutables.Map.mutate``)."""
    if not isinstance(mapping, immutables.Map):
        mapping = immutables.Map(mapping)
    return mapping.mutate()


def _folded(key: EntryKey) -> str:
    """The path of ``key`` with its application and key case-folded (ASCII names: lower)."""
    return (
        f"{key.kind.folder}/{key.application.lower()}/{key.environment.value}/"
        f"{key.key.lower()}.yaml"
    )


Parser = Callable[[str, Kind, str, Mapping[str, Any]], Document]


class Builder:
    """Applies commits to drafts of the previous snapshot's tables (the previous snapshot
    is never changed: groups are copied on first write, ids and folded are HAMT mutations)."""

    def __init__(self, previous: Snapshot, parse: Parser, read: Callable[[str], bytes]) -> None:
        self.parse = parse
        self._read = read
        self.groups: dict[GroupKey, dict[str, Entry]] = dict(previous.groups)  # type: ignore[arg-type]
        self._copied: set[GroupKey] = set()
        self.ids: immutables.MapMutation[str, Entry] = _mutation(previous.ids)
        self.problems: dict[str, Problem] = dict(previous.problems)
        self.schemas: dict[str, Any] = dict(previous.schemas)
        self.tombstones: dict[str, tuple[Version, ...]] = dict(previous.tombstones)
        self.folded: immutables.MapMutation[str, str] = _mutation(previous.folded)
        self.events: list[ChangeEvent] = []
        self._changed_schemas = False

    def apply_commit(self, commit: Commit, changes: Iterable[FileChange]) -> None:
        # Entries wait until the commit's schemas are applied (two lists: no pair per file).
        keys: list[EntryKey] = []
        entry_changes: list[FileChange] = []
        specials: list[FileChange] = []
        for change in changes:
            if change.special is not None:  # a symlink or submodule: reported, never served
                specials.append(change)
                if change.old_blob is None:
                    continue
                change = FileChange(change.path, change.old_blob, None)  # the file is gone
            if is_schema_path(change.path):
                self._apply_schema(commit, change)
                continue
            key = parse_entry_path(change.path)
            if isinstance(key, FieldError):
                if change.new_blob is not None and change.path.startswith(("configs/", "flags/")):
                    self.problems[change.path] = Problem(change.path, commit.sha, (key.message,))
                else:
                    self.problems.pop(change.path, None)
                continue
            keys.append(key)
            entry_changes.append(change)
        if self._changed_schemas:
            self._recheck_schema_users(commit)
            self._changed_schemas = False
        for key, change in zip(keys, entry_changes, strict=True):
            self._apply_entry(commit, key, change)
        for change in specials:
            message = validator.special_entry_message(change.special or "")
            self.problems[change.path] = Problem(change.path, commit.sha, (message,))
            log.warning("%s at %s: %s", change.path, commit.sha[:12], message)

    def _apply_schema(self, commit: Commit, change: FileChange) -> None:
        self._changed_schemas = True
        if change.new_blob is None:
            self.schemas.pop(change.path, None)
            self.problems.pop(change.path, None)
            return
        schema, errors, _line = validator.parse_schema(self._read(change.new_blob))
        if errors:
            self.problems[change.path] = Problem(change.path, commit.sha, tuple(errors))
            return  # fail-static: the last valid schema stays
        self.schemas[change.path] = schema
        self.problems.pop(change.path, None)

    def _recheck_schema_users(self, commit: Commit) -> None:
        """A shared schema changed: re-validate the configurations that reference one, and
        retry the invalid configuration files (a missing schema may have arrived)."""
        for group_key, group in list(self.groups.items()):
            if group_key[0] is not Kind.CONFIG:
                continue
            for entry in list(group.values()):
                document = entry.document
                if isinstance(document, ConfigDocument) and configfile.references(document):
                    errors = configfile.check(document, self.schemas)
                    path = entry.key.path
                    if errors:
                        messages = tuple(describe(e) for e in errors)
                        self.problems[path] = Problem(path, commit.sha, messages)
                    elif path in self.problems and entry.served is entry.versions[-1]:
                        self.problems.pop(path, None)
        for path in [p for p in self.problems if p.startswith("configs/")]:
            key = parse_entry_path(path)
            if isinstance(key, FieldError):
                continue
            current = self._group(key).get(key.key)
            versions = current.versions if current else self.tombstones.get(path, ())
            if not versions or (current is not None and current.served is versions[-1]):
                continue
            head = versions[-1]
            try:
                document = self.parse(path, key.kind, head.blob, self.schemas)
            except BadRequest:
                continue
            del self.problems[path]
            self.tombstones.pop(path, None)
            entry = Entry(key, document, head, versions)
            self._group(key)[key.key] = self.ids[entry.id] = entry
            change = ChangeType.CREATED if current is None else ChangeType.UPDATED
            self.events.append(ChangeEvent(commit, change, key, head.blob, head.number, document))

    def _group(self, key: EntryKey) -> dict[str, Entry]:
        group_key = (key.kind, key.application, key.environment)
        if group_key not in self._copied:
            self.groups[group_key] = dict(self.groups.get(group_key, {}))
            self._copied.add(group_key)
        return self.groups[group_key]

    def _apply_entry(self, commit: Commit, key: EntryKey, change: FileChange) -> None:
        path = change.path
        group = self._group(key)
        current = group.get(key.key)
        if change.new_blob is None:
            if current is not None:
                del group[key.key]
                del self.ids[current.id]
                self.tombstones[path] = current.versions
                self.events.append(
                    ChangeEvent(
                        commit, ChangeType.DELETED, key, None, current.version, current.document
                    )
                )
            if self.folded.get(_folded(key)) == path:
                del self.folded[_folded(key)]
            self.problems.pop(path, None)
            return
        history = current.versions if current is not None else self.tombstones.pop(path, ())
        blob = change.new_blob
        version = Version(len(history) + 1, commit, blob)
        versions = (*history, version)
        collision = self._case_collision(key, path)
        try:
            if collision is not None:
                raise BadRequest(
                    "name collision", [FieldError(path, f"differs only in case from {collision}")]
                )
            document = self.parse(path, key.kind, blob, self.schemas)
        except BadRequest as exc:
            messages = tuple(describe(e) for e in exc.errors) or (exc.message,)
            self.problems[path] = Problem(path, commit.sha, messages)
            log.warning("invalid file %s at %s: %s", path, commit.sha[:12], "; ".join(messages))
            if current is not None:  # fail-static: keep serving the last valid content
                entry = Entry(key, current.document, current.served, versions)
                group[key.key] = self.ids[entry.id] = entry
            else:
                self.tombstones[path] = versions  # keeps the numbering for a later fix
            return
        self.problems.pop(path, None)
        entry = Entry(key, document, version, versions)
        group[key.key] = self.ids[entry.id] = entry
        change_type = ChangeType.CREATED if current is None else ChangeType.UPDATED
        self.events.append(ChangeEvent(commit, change_type, key, blob, version.number, document))

    def _case_collision(self, key: EntryKey, path: str) -> str | None:
        """The path of another entry file that differs from ``path`` only in case. Only the
        application and the key can (the folder and the environment of a valid path are
        exact), so only they are folded: most paths then fold to themselves, and the table
        holds one string for both."""
        folded = _folded(key)
        if folded == path:
            folded = path
        other = self.folded.get(folded)
        if other is not None and other != path:
            return other
        self.folded[folded] = path
        return None

    def finish(self, head: str | None) -> Snapshot:
        return Snapshot(
            commit=head,
            groups={k: v for k, v in self.groups.items() if v},
            ids=self.ids.finish(),
            problems=self.problems,
            schemas=self.schemas,
            tombstones=self.tombstones,
            folded=self.folded.finish(),
        )
