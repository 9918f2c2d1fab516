"""The index: holds the current ``Snapshot`` and refreshes it from the store.

``Index.refresh`` builds the next snapshot from the previous one — it walks the new
first-parent commits (each diffed against its parent, which extends every touched path's
version history), re-parses only the blobs that changed, and swaps the new snapshot in with
one assignment.

A file at HEAD that does not validate is served fail-static: the entry keeps its last valid
content and the file is reported in ``Snapshot.problems``; the rest is served as usual.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitconfig.core.errors import BadRequest, FieldError, NotReady
from gitconfig.core.model import (
    Document,
    FileChange,
    Kind,
)
from gitconfig.index import persist, prefetch
from gitconfig.index.builder import Builder, cacheable, parse_result
from gitconfig.index.snapshot import EMPTY, ChangeEvent, Snapshot
from gitconfig.index.startup import BuildProgress, CacheKeeper, Progress
from gitconfig.readside import ParsedBlobs
from gitconfig.store.ports import Store

log = logging.getLogger(__name__)


@dataclass
class RefreshResult:
    old: str | None
    new: str | None
    events: list[ChangeEvent]
    seconds: float


Listener = Callable[[Snapshot, RefreshResult], None]


class Index:
    """Holds the current snapshot and refreshes it from the store. Thread-safe. With
    ``cache`` (a file), see ``startup.CacheKeeper``: a warm start, rewritten after refreshes."""

    def __init__(
        self,
        store: Store,
        cache: Path | None = None,
        cache_interval: float = 30.0,
        parallel_minimum: int | None = prefetch.MINIMUM_FILES,
    ) -> None:
        self.store = store
        self.parallel_minimum = parallel_minimum  # None: a cold build parses on one core
        self.cache = None if cache is None else CacheKeeper(cache, self._current, cache_interval)
        self._progress = BuildProgress()
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        # Parsed blobs by kind, then blob id (the read side's ``ParsedBlobs``).
        self._parsed = ParsedBlobs()
        self.refreshes = 0  # refreshes that moved the index (for metrics)
        self.last_refresh: RefreshResult | None = None
        self.indexed_at: float | None = None  # wall-clock time of the last one

    @property
    def progress(self) -> Progress | None:
        """How far the build under way is (None: none running)."""
        return self._progress.current

    @property
    def warm_loaded(self) -> str | None:
        """The commit of the cached snapshot this index started from, if any."""
        return self.cache.loaded if self.cache is not None else None

    def save_cache(self) -> bool:
        """Write the current snapshot to the cache file now; False when not written."""
        return self.cache is not None and self.cache.save()

    def _current(self) -> Snapshot | None:
        return self._snapshot

    @property
    def ready(self) -> bool:
        return self._snapshot is not None

    def current(self) -> Snapshot:
        snapshot = self._snapshot
        if snapshot is None:
            raise NotReady("the index is not built yet; retry shortly")
        return snapshot

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(snapshot, result)`` after every refresh that moved the index."""
        self._listeners.append(listener)

    def refresh(self) -> RefreshResult:
        """Bring the index to the branch's current head. Cheap when nothing moved."""
        with self._lock:
            started = time.perf_counter()
            published = self._snapshot
            previous = published if published is not None else EMPTY
            head = self.store.head()
            if self._snapshot is not None and head == previous.commit:
                return RefreshResult(head, head, [], 0.0)
            if self._snapshot is None and head is not None and self.cache is not None:
                previous = self.cache.base(self.store, head) or EMPTY
            if (
                previous.commit is not None
                and head is not None
                and not self.store.is_ancestor(previous.commit, head)
            ):
                log.warning(
                    "branch rewritten (%s -> %s): rebuilding the index", previous.commit, head
                )
                previous = EMPTY
            events: list[ChangeEvent] = []
            if previous.commit is not None and previous.commit == head:
                snapshot = previous  # the cache describes the head: no build
            else:
                snapshot, events = self._build(previous, head)
            self._snapshot = snapshot
            result = RefreshResult(previous.commit, head, events, time.perf_counter() - started)
            self.refreshes += 1
            # Only its timing is kept: the events may be many (a cold build: one per entry).
            self.last_refresh = RefreshResult(result.old, result.new, [], result.seconds)
            self.indexed_at = time.time()
        log.info(
            "indexed %s: %d entries, %d changes, %d problems in %.1f ms",
            (head or "empty branch")[:12],
            len(snapshot),
            len(events),
            len(snapshot.problems),
            result.seconds * 1000,
        )
        for listener in list(self._listeners):
            try:
                listener(snapshot, result)
            except Exception:  # a broken listener must not break indexing
                log.exception("index listener failed")
        if self.cache is not None and result.old != result.new:
            self.cache.schedule()
        return result

    def replay(self, after: str | None, upto: str) -> list[ChangeEvent] | None:
        """The change events of the commits after ``after`` (None: from the root) up to
        ``upto`` (on ``upto``'s first-parent chain), exactly as refreshes produced them: the
        same builder runs over the chain from its root. None if ``after`` is not on it."""
        chain = self.store.first_parent_chain(upto, None)
        positions = {commit.sha: position for position, commit in enumerate(chain)}
        first = positions.get(after) if after is not None else -1
        if first is None:
            return None
        builder = Builder(EMPTY, self._parse, self.store.read_blob)
        for commit in chain:
            builder.apply_commit(commit, self.store.diff(commit.parent, commit.sha))
        return [event for event in builder.events if positions[event.commit.sha] > first]

    # -- building -------------------------------------------------------------------------

    def _build(self, previous: Snapshot, head: str | None) -> tuple[Snapshot, list[ChangeEvent]]:
        """The snapshot of ``head`` from ``previous``, and its change events."""
        builder = Builder(previous, self._parse, self.store.read_blob)
        if head is None:
            return builder.finish(None), []
        cold = previous.commit is None
        with self._progress.building(head), persist.paused_gc(cold):
            chain = self.store.first_parent_chain(head, previous.commit)
            diffs: Iterable[list[FileChange]] = (
                self.store.diff(commit.parent, commit.sha) for commit in chain
            )
            if cold and self.parallel_minimum is not None:  # parse the head on two cores
                self._progress.phase("parsing")
                diffs = list(diffs)
                prefetch.prefetch(
                    _head_files(diffs),
                    self.store.read_blob,
                    self._parsed,
                    self._prefetch_one,
                    self.parallel_minimum,
                )
                self._progress.phase("indexing")
            for commit, changes in zip(chain, diffs, strict=True):
                builder.apply_commit(commit, changes)
            return builder.finish(head), builder.events

    def _prefetch_one(self, path: str, kind: Kind, blob: str) -> None:
        with contextlib.suppress(BadRequest):  # no schemas: results needing one are dropped
            self._parse(path, kind, blob, {})

    def document(self, path: str, kind: Kind, blob: str, schemas: Mapping[str, Any]) -> Document:
        """The parsed, validated content of one blob; raises BadRequest. Cached by blob id."""
        return self._parse(path, kind, blob, schemas)

    def _parse(self, path: str, kind: Kind, blob: str, schemas: Mapping[str, Any]) -> Document:
        """Parse and validate one blob; raises BadRequest. Cached by blob id."""
        self._progress.count()
        parsed = self._parsed[kind]
        cached = parsed.get(blob)
        if cached is None:
            cached = parse_result(kind, self.store.read_blob(blob), schemas)
            if cacheable(kind, cached):
                parsed[blob] = cached
        if isinstance(cached, list):
            raise BadRequest(f"{path} is invalid", [FieldError(path, e) for e in cached])
        return cached


def _head_files(diffs: list[list[FileChange]]) -> Iterable[tuple[str, str]]:
    """(path, blob) of every file at the head, from the diffs of the commits that lead to it
    (their own strings: the parse cache and the versions then share them)."""
    files: dict[str, str] = {}
    for changes in diffs:
        for change in changes:
            if change.new_blob is None:
                files.pop(change.path, None)
            else:
                files[change.path] = change.new_blob
    return files.items()
