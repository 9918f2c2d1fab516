"""The warm-restart cache: a snapshot (entries with their whole per-path histories,
problems, schemas, tombstones) written to one MessagePack file after refreshes, and read
back at start instead of parsing every blob again.

It is only a cache: ``load`` returns None (with a log line) for a missing, unreadable,
corrupt or foreign file, or one of another ``FORMAT``; the caller then builds cold. The file
holds plain MessagePack data (lists, maps, strings, numbers), never pickled objects: a file
another process wrote cannot run code here. A loaded snapshot equals the cold build of its
commit (``tests/index/test_persist.py`` compares them field by field); the caller checks
that its commit is the branch head, or an ancestor to diff-refresh from.

Layout (version ``FORMAT``)::

    {"format": FORMAT, "commit": sha,
     "commits": [[sha, parent, author name, email, unix seconds, utc offset s, message]],
     "documents": [document],                  # each distinct parsed document once
     "entries": [[path, [version], served, document]],  # version: [number, commit, blob]
     "tombstones": [[path, [version]]], "problems": [[path, commit, [message]]],
     "schemas": {path: schema}, "folded": [[folded, path]]}   # folded "": same as path

``commit`` and ``document`` fields are positions in ``commits`` and ``documents``.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import immutables
import msgpack

from gitconfig.core.model import (
    Author,
    Commit,
    Condition,
    ConfigDocument,
    Document,
    FlagDocument,
    FlagRule,
    Problem,
    ValueType,
    Version,
)
from gitconfig.core.paths import parse_entry_path
from gitconfig.index.snapshot import Entry, GroupKey, Snapshot

log = logging.getLogger(__name__)

FORMAT = 1
"""Bump whenever the layout or the meaning of a field changes: older files are ignored."""

_CONFIG, _FLAG = 0, 1


class CacheError(Exception):
    """The cache file does not describe a snapshot of this format."""


# -- writing ----------------------------------------------------------------------------------


def dump(snapshot: Snapshot) -> bytes:
    """The MessagePack bytes of ``snapshot``. Raises ``CacheError`` if a value cannot be
    represented (a YAML value MessagePack has no type for)."""
    commits: dict[str, int] = {}
    commit_rows: list[list[Any]] = []
    documents: dict[int, int] = {}
    document_rows: list[Any] = []

    def commit_ref(commit: Commit) -> int:
        position = commits.get(commit.sha)
        if position is None:
            position = commits[commit.sha] = len(commit_rows)
            offset = commit.time.utcoffset()
            commit_rows.append(
                [
                    commit.sha,
                    commit.parent,
                    commit.author.name,
                    commit.author.email,
                    commit.time.timestamp(),
                    int(offset.total_seconds()) if offset is not None else 0,
                    commit.message,
                ]
            )
        return position

    def versions_row(versions: Iterable[Version]) -> list[list[Any]]:
        return [[v.number, commit_ref(v.commit), v.blob] for v in versions]

    def document_ref(document: Document) -> int:
        position = documents.get(id(document))
        if position is None:
            position = documents[id(document)] = len(document_rows)
            document_rows.append(_document_row(document))
        return position

    entries = []
    for group in snapshot.groups.values():
        for entry in group.values():
            served = next(i for i, v in enumerate(entry.versions) if v is entry.served)
            entries.append(
                [
                    entry.key.path,
                    versions_row(entry.versions),
                    served,
                    document_ref(entry.document),
                ]
            )
    data = {
        "format": FORMAT,
        "commit": snapshot.commit,
        "entries": entries,
        "tombstones": [[path, versions_row(vs)] for path, vs in snapshot.tombstones.items()],
        "problems": [[p.path, p.commit, list(p.errors)] for p in snapshot.problems.values()],
        "schemas": dict(snapshot.schemas),
        "folded": [[f if f != path else "", path] for f, path in snapshot.folded.items()],
        "commits": commit_rows,
        "documents": document_rows,
    }
    try:
        packed: bytes = msgpack.packb(data, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as exc:
        raise CacheError(f"cannot represent the snapshot: {exc}") from exc
    return packed


def _document_row(document: Document) -> list[Any]:
    if isinstance(document, ConfigDocument):
        return [
            _CONFIG,
            document.value_type.value,
            document.value,
            document.description,
            document.schema,
            list(document.tags),
            document.sops,
        ]
    rules = [
        [
            [[c.attribute, c.operator, list(c.values)] for c in r.conditions],
            r.percentage,
            r.bucket_by,
        ]
        for r in document.rules
    ]
    return [
        _FLAG,
        document.description,
        document.enabled,
        document.value,
        rules,
        list(document.tags),
    ]


def save(path: Path, snapshot: Snapshot) -> int:
    """Write ``snapshot`` to ``path`` atomically (a temporary file in the same folder, then
    a rename). Returns the size in bytes. Raises ``CacheError`` or ``OSError``."""
    data = dump(snapshot)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    except BaseException:
        with _suppress_os_error():
            os.unlink(tmp)
        raise
    return len(data)


class _suppress_os_error:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> bool:
        return kind is not None and issubclass(kind, OSError)


# -- reading ----------------------------------------------------------------------------------


def load(path: Path) -> Snapshot | None:
    """The snapshot cached in ``path``, or None (logged) when the file is missing, corrupt
    or of another format. Never raises for the file's content."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        log.info("no index cache at %s: building the index from Git", path)
        return None
    except OSError as exc:
        log.warning("index cache %s unreadable (%s): ignored", path, exc)
        return None
    try:
        return loads(data)
    except CacheError as exc:
        log.warning("index cache %s ignored: %s", path, exc)
        return None


def loads(data: bytes) -> Snapshot:
    """The snapshot of ``dump``'s bytes. Raises ``CacheError`` for anything else."""
    try:
        raw = msgpack.unpackb(data, raw=False, strict_map_key=False, use_list=True)
    except Exception as exc:  # msgpack raises several unrelated types for bad input
        raise CacheError(f"not a cache file ({type(exc).__name__})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        found = raw.get("format") if isinstance(raw, dict) else None
        raise CacheError(f"format {found!r}, expected {FORMAT}")
    try:
        return _snapshot(raw)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, StopIteration) as exc:
        raise CacheError(f"malformed ({type(exc).__name__}: {exc})") from None


def _snapshot(raw: Mapping[str, Any]) -> Snapshot:
    zones: dict[int, timezone] = {}
    commits: list[Commit] = []
    authors: dict[tuple[str, str], Author] = {}
    for sha, parent, name, email, seconds, offset, message in raw["commits"]:
        zone = zones.get(offset)
        if zone is None:
            zone = zones[offset] = UTC if offset == 0 else timezone(timedelta(seconds=offset))
        author = authors.get((name, email))
        if author is None:
            author = authors[(name, email)] = Author(name, email)
        when = datetime.fromtimestamp(seconds, zone)
        commits.append(Commit(_text(sha), parent, author, when, message))

    tags: dict[tuple[str, ...], tuple[str, ...]] = {}
    documents = [_document(row, tags) for row in raw["documents"]]

    def versions(rows: list[list[Any]]) -> tuple[Version, ...]:
        return tuple(Version(number, commits[commit], blob) for number, commit, blob in rows)

    groups: dict[GroupKey, dict[str, Entry]] = {}
    ids = immutables.Map[str, Entry]().mutate()
    for path, version_rows, served, document in raw["entries"]:
        key = parse_entry_path(path)
        if not hasattr(key, "kind"):
            raise ValueError(f"bad entry path {path!r}")
        history = versions(version_rows)
        entry = Entry(key, documents[document], history[served], history)  # type: ignore[arg-type]
        group_key = (entry.key.kind, entry.key.application, entry.key.environment)
        group = groups.get(group_key)
        if group is None:
            group = groups[group_key] = {}
        group[entry.key.key] = ids[entry.id] = entry
    folded = immutables.Map[str, str]().mutate()
    for folded_path, path in raw["folded"]:
        folded[folded_path or path] = path
    commit = raw["commit"]
    return Snapshot(
        commit=_text(commit),
        groups=groups,
        ids=ids.finish(),
        problems={p: Problem(p, c, tuple(errors)) for p, c, errors in raw["problems"]},
        schemas=dict(raw["schemas"]),
        tombstones={path: versions(rows) for path, rows in raw["tombstones"]},
        folded=folded.finish(),
    )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _document(row: list[Any], tags: dict[tuple[str, ...], tuple[str, ...]]) -> Document:
    kind = row[0]
    tag_tuple = tuple(row[-1] if kind == _FLAG else row[5])
    tag_tuple = tags.setdefault(tag_tuple, tag_tuple)
    if kind == _CONFIG:
        _, value_type, value, description, schema, _tags, sops = row
        return ConfigDocument(ValueType(value_type), value, description, schema, tag_tuple, sops)
    if kind == _FLAG:
        _, description, enabled, value, rules, _tags = row
        return FlagDocument(
            description,
            enabled,
            value,
            tuple(
                FlagRule(
                    tuple(Condition(a, o, tuple(vs)) for a, o, vs in conditions),
                    percentage,
                    bucket_by,
                )
                for conditions, percentage, bucket_by in rules
            ),
            tag_tuple,
        )
    raise ValueError(f"unknown document kind {kind!r}")
