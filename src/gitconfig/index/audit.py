"""The audit index: every change of the tracked branch's first-parent history, queryable.

It is fed by the index's refreshes (``Index.subscribe``): each refresh's change events, in
chain order, become ``AuditRecord``s appended to one list, with posting lists by application,
by key and by author, so a query scans only the records of its most selective filter, newest
first. Nothing walks the history per request; a refresh that moved the branch by N commits
costs those N commits' events.

- ``ROLLED_BACK``: the new content is that of an earlier version of the same file other than
  the one it replaces (a rollback through the API, or a pushed ``git revert``).
- A change brought in by a merge commit is attributed to the newest commit of the merged
  branch that changed that file (its author, message and sha), with the merge commit's author
  as ``merged_by``; when no merged commit changed it (a conflict resolved in the merge), the
  merge commit itself is the author.
- A history rewrite (force push) or a gap rebuilds the index from Git (``Index.replay``).
- An index that started from its cache file (a warm restart) has no events of the history
  before it: the records are then rebuilt from Git on a background thread, and ``ready`` is
  False until they are (the index itself serves at once).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from gitconfig.core.model import Author, Commit, Document, EntryKey, Environment, Kind
from gitconfig.index.refresher import Index, RefreshResult
from gitconfig.index.snapshot import ChangeEvent, Snapshot
from gitconfig.store.ports import Store

log = logging.getLogger(__name__)

MAX_PENDING = 100  # refreshes held back until the one before them is applied


class AuditType(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"
    ROLLED_BACK = "ROLLED_BACK"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One file's change by one first-parent commit (``commit``), attributed to ``author``
    and ``message`` of ``source`` (the merged branch's commit, or ``commit`` itself).
    ``document`` is the new content (DELETED: None); ``version`` the entry's version number
    after the change (DELETED: its last one)."""

    commit: Commit
    key: EntryKey
    type: AuditType
    version: int
    document: Document | None
    source: Commit
    merged_by: Author | None

    @property
    def event_id(self) -> str:
        return f"{self.commit.sha}:{self.key.path}"

    @property
    def author(self) -> Author:
        return self.source.author

    @property
    def time(self) -> datetime:
        return self.source.time


@dataclass(frozen=True)
class AuditQuery:
    """Filters (None: any). ``author`` matches the author's name or email exactly;
    ``since``/``until`` bound the change's time (inclusive)."""

    application: str | None = None
    environment: Environment | None = None
    key: str | None = None
    kind: Kind | None = None
    author: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, record: AuditRecord) -> bool:
        key = record.key
        return (
            (self.application is None or key.application == self.application)
            and (self.environment is None or key.environment is self.environment)
            and (self.key is None or key.key == self.key)
            and (self.kind is None or key.kind is self.kind)
            and (self.author is None or self.author in (record.author.name, record.author.email))
            and (self.since is None or record.time >= self.since)
            and (self.until is None or record.time <= self.until)
        )


class _State:
    """The records of one history, append-only (readers see a consistent prefix)."""

    def __init__(self) -> None:
        self.head: str | None = None
        self.records: list[AuditRecord] = []
        self.by_application: dict[str, list[int]] = {}
        self.by_key: dict[str, list[int]] = {}
        self.by_author: dict[str, list[int]] = {}
        self.blobs: dict[str, set[str]] = {}  # path -> every blob it has had
        self.last_blob: dict[str, str | None] = {}

    def add(self, record: AuditRecord) -> None:
        position = len(self.records)
        self.records.append(record)
        self.by_application.setdefault(record.key.application, []).append(position)
        self.by_key.setdefault(record.key.key, []).append(position)
        for who in {record.author.name, record.author.email}:
            self.by_author.setdefault(who, []).append(position)


class AuditIndex:
    """The audit records of the branch the ``index`` serves; call ``attach`` before the
    index's first refresh (or ``rebuild`` later). Thread-safe."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._state = _State()
        self._lock = threading.Lock()
        self._pending: dict[str | None, RefreshResult] = {}
        self._index: Index | None = None
        self._seen = False  # a refresh was applied or rebuilt from
        self._rebuilding = False
        self._epoch = 0  # moves on whenever the records start again (a background rebuild's
        # result is installed only if none did since it started)

    def attach(self, index: Index) -> None:
        self._index = index
        index.subscribe(self.on_refresh)
        if index.ready:
            self.rebuild()

    @property
    def ready(self) -> bool:
        """False while the records are rebuilt from Git in the background (a warm start)."""
        return not self._rebuilding

    @property
    def head(self) -> str | None:
        return self._state.head

    def __len__(self) -> int:
        return len(self._state.records)

    def on_refresh(self, _snapshot: Snapshot, result: RefreshResult) -> None:
        with self._lock:
            first, self._seen = not self._seen, True
            if result.old is None:  # the first index, or a rebuild after a history rewrite
                state = _State()
                self._apply(state, result.events, result.new)
                self._restart(state)
                return
            if first:  # the index started from its cache: the history before it is in Git
                self._rebuilding = True
                threading.Thread(
                    target=self._rebuild_in_background,
                    args=(result.new, self._epoch),
                    daemon=True,
                    name="audit-rebuild",
                ).start()
                return
            self._pending[result.old] = result
            if self._rebuilding:
                return  # applied once the rebuild is in
            self._follow_on(self._state)
            if len(self._pending) > MAX_PENDING:
                log.warning("audit index fell out of step with the index: rebuilding")
                self._rebuild_locked()

    def rebuild(self) -> None:
        """Rebuild every record from Git (the index's first-parent chain to its head)."""
        with self._lock:
            self._seen = True
            self._rebuild_locked()

    def _restart(self, state: _State) -> None:
        """Install records built from the start of the history (under the lock): complete,
        so a background rebuild still under way is outdated."""
        self._state = state
        self._pending.clear()
        self._epoch += 1
        self._rebuilding = False

    def _rebuild_in_background(self, head: str | None, epoch: int) -> None:
        """The records up to ``head`` from Git, built outside the lock (refreshes meanwhile
        wait in ``_pending``, then follow on). Dropped if the records started again
        meanwhile (``epoch`` moved on: a history rewrite or a rebuild)."""
        assert self._index is not None
        started = time.perf_counter()
        state: _State | None = None
        try:
            events = self._index.replay(None, head) if head is not None else []
            state = _State()
            self._apply(state, events or [], head)
        except Exception:  # the trail stays empty; a later history rewrite or gap retries
            log.exception("rebuilding the audit trail from Git failed")
            state = None
        with self._lock:
            if epoch != self._epoch:
                return  # newer records are in: these describe a head that is gone
            self._rebuilding = False
            if state is None:
                return
            self._state = state
            self._follow_on(state)
        log.info(
            "audit trail rebuilt from Git: %d records in %.1f s",
            len(state.records),
            time.perf_counter() - started,
        )

    def _follow_on(self, state: _State) -> None:
        """Apply the pending refreshes that chain on from ``state``'s head (under the lock)."""
        while (ready := self._pending.pop(state.head, None)) is not None:
            self._apply(state, ready.events, ready.new)

    def _rebuild_locked(self) -> None:
        assert self._index is not None
        head = self._index.current().commit
        state = _State()
        if head is not None:
            events = self._index.replay(None, head) or []
            self._apply(state, events, head)
        self._restart(state)

    def _apply(self, state: _State, events: Iterable[ChangeEvent], head: str | None) -> None:
        for _sha, group in itertools.groupby(events, lambda e: e.commit.sha):
            batch = list(group)
            merged = self._merged_sources(batch[0].commit)
            for event in batch:
                state.add(self._record(state, event, merged))
        state.head = head

    def _merged_sources(self, commit: Commit) -> Callable[[str], Commit | None]:
        """For a merge commit: path -> the newest merged commit that changed it."""
        merged = self.store.merged_commits(commit.sha)
        if not merged:
            return lambda _path: None
        newest: dict[str, Commit] = {}
        for source in merged:  # newest first
            for change in self.store.diff(source.parent, source.sha):
                newest.setdefault(change.path, source)
        return newest.get

    @staticmethod
    def _record(
        state: _State, event: ChangeEvent, merged: Callable[[str], Commit | None]
    ) -> AuditRecord:
        path = event.key.path
        kind = AuditType(event.type.value)
        seen = state.blobs.setdefault(path, set())
        if event.blob is not None:
            if event.blob in seen and event.blob != state.last_blob.get(path):
                kind = AuditType.ROLLED_BACK
            seen.add(event.blob)
        state.last_blob[path] = event.blob
        source = merged(path)
        return AuditRecord(
            commit=event.commit,
            key=event.key,
            type=kind,
            version=event.version,
            document=event.document if event.blob is not None else None,
            source=source or event.commit,
            merged_by=event.commit.author if source is not None else None,
        )

    def query(
        self,
        query: AuditQuery,
        allowed: Callable[[EntryKey], bool] | None,
        offset: int,
        limit: int,
    ) -> tuple[list[AuditRecord], int]:
        """The records matching ``query`` and ``allowed`` (None: all), newest first: the
        ``limit`` after ``offset``, and how many match in all."""
        state = self._state
        records = state.records
        candidates: Sequence[int] | range = range(len(records))
        for table, value in (
            (state.by_key, query.key),
            (state.by_application, query.application),
            (state.by_author, query.author),
        ):
            if value is not None:
                postings = table.get(value, [])
                if len(postings) < len(candidates):
                    candidates = postings
        page: list[AuditRecord] = []
        total = 0
        end = offset + limit
        for position in reversed(candidates[: len(candidates)]):
            record = records[position]
            if not query.matches(record) or (allowed is not None and not allowed(record.key)):
                continue
            if offset <= total < end:
                page.append(record)
            total += 1
        return page, total
