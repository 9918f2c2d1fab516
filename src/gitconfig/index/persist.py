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
     "groups": [[kind, application, ENV, [key], [id], [document], [served], [versions]]],
     "tombstones": [[path, versions]], "problems": [[path, commit, [message]]],
     "schemas": {path: schema}, "folded": [[folded, path]]}   # folded "": same as path

A group's lists are columns (one item per entry). ``versions`` is one flat list
``[number, commit, blob, number, commit, blob, ...]``; ``served`` is a position in it (of
versions); ``commit`` and ``document`` fields are positions in ``commits`` and ``documents``.
Loading builds about ten objects per entry: the garbage collector is paused meanwhile.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
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
    EntryKey,
    Environment,
    FlagDocument,
    FlagRule,
    Kind,
    Problem,
    ValueType,
    Version,
)
from gitconfig.index.snapshot import Entry, GroupKey, Snapshot

log = logging.getLogger(__name__)

FORMAT = 2  # 2: folded paths keep the environment's case (builder._folded)
"""Bump whenever the layout or the meaning of a field changes: older files are ignored."""

_CONFIG, _FLAG = 0, 1


class CacheError(Exception):
    """The cache file does not describe a snapshot of this format."""


# -- writing ----------------------------------------------------------------------------------


def dump(snapshot: Snapshot) -> bytes:
    """The MessagePack bytes of ``snapshot``. Raises ``CacheError`` if a value cannot be
    represented (a YAML value MessagePack has no type for)."""
    with paused_gc():
        return _dump(snapshot)


def _dump(snapshot: Snapshot) -> bytes:
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

    def versions_row(versions: Iterable[Version]) -> list[Any]:
        row: list[Any] = []
        for v in versions:
            row += (v.number, commit_ref(v.commit), v.blob)
        return row

    def document_ref(document: Document) -> int:
        position = documents.get(id(document))
        if position is None:
            position = documents[id(document)] = len(document_rows)
            document_rows.append(document_row(document))
        return position

    groups = []
    for (kind, application, environment), group in snapshot.groups.items():
        entries = list(group.values())
        groups.append(
            [
                kind.value,
                application,
                environment.value,
                [entry.key.key for entry in entries],
                [entry.id for entry in entries],
                [document_ref(entry.document) for entry in entries],
                [
                    next(i for i, v in enumerate(entry.versions) if v is entry.served)
                    for entry in entries
                ],
                [versions_row(entry.versions) for entry in entries],
            ]
        )
    data = {
        "format": FORMAT,
        "commit": snapshot.commit,
        "groups": groups,
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


@contextmanager
def paused_gc(pause: bool = True) -> Iterator[None]:
    """Pause the cyclic garbage collector (when ``pause``): building many objects that all
    stay alive (a cold build: a quarter of its time at 100,000 files) otherwise triggers
    full collections over them again and again."""
    enabled = gc.isenabled() and pause
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def document_row(document: Document) -> list[Any]:
    """``document`` as a list of plain values (MessagePack-ready); ``document`` reverses it."""
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
    with paused_gc():
        try:
            raw = msgpack.unpackb(data, raw=False, strict_map_key=False, use_list=True)
        except Exception as exc:  # noqa: BLE001 - msgpack raises unrelated types for bad input
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
    documents = [document(row, tags) for row in raw["documents"]]

    def versions(row: list[Any]) -> tuple[Version, ...]:
        if len(row) == 3:  # most entries have one version
            return (Version(row[0], commits[row[1]], row[2]),)
        return tuple(
            Version(row[i], commits[row[i + 1]], row[i + 2]) for i in range(0, len(row), 3)
        )

    groups: dict[GroupKey, dict[str, Entry]] = {}
    ids = immutables.Map[str, Entry]().mutate()
    for kind_name, application, env_name, keys, entry_ids, docs, served, histories in raw["groups"]:
        kind, environment = Kind(kind_name), Environment(env_name)
        application = sys.intern(_text(application))
        group = groups[(kind, application, environment)] = {}
        for key, entry_id, doc, position, history_row in zip(
            keys, entry_ids, docs, served, histories, strict=True
        ):
            history = versions(history_row)
            entry_key = EntryKey(kind, application, environment, key)
            entry = Entry(entry_key, documents[doc], history[position], history, entry_id)
            group[key] = ids[entry_id] = entry
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


def document(row: list[Any], tags: dict[tuple[str, ...], tuple[str, ...]]) -> Document:
    """The document of ``document_row``'s list (``tags``: tag tuples seen, shared)."""
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
