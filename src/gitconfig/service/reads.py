"""``Reads``: the read side every use-case shares — the served snapshot, an entry by id or by
name (with the read permission), a page of entries, and an entry's versions.

Reads come from the index's current snapshot, so a reader never waits for a writer. Every
method checks the caller's ``read`` permission in the entry's scope (``PermissionDenied``)
and raises ``NotReady`` before the first index.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitconfig.access.principals import Principal, authorize
from gitconfig.core import limits
from gitconfig.core.errors import BadRequest, FieldError, NotFound
from gitconfig.core.model import Commit, Document, Environment, Kind, Version
from gitconfig.core.paths import (
    application_error,
    entry_errors,
    environment_error,
    filter_errors,
    key_error,
)
from gitconfig.index.refresher import Index
from gitconfig.index.snapshot import Entry, Snapshot
from gitconfig.readside import MergedCommits, SortedEntries
from gitconfig.service.base import MAX_PAGE_SIZE, Page, VersionView, find_version
from gitconfig.store.ports import Store

_UNKNOWN = object()  # not in ``_merged`` (None is an answer)
_ENVIRONMENTS = {environment.value: environment for environment in Environment}


class Reads:
    """Reads over ``index`` (the served snapshot) and ``store`` (older versions' content and
    the commits a merge brought)."""

    def __init__(self, index: Index, store: Store) -> None:
        self.index = index
        self.store = store
        # (commit, path) -> the merged branch's commit that made it: both are immutable.
        self._merged = MergedCommits()
        self.sorted = SortedEntries[Entry]()  # listings, by snapshot commit and filter
        index.subscribe(lambda _snapshot, _result: self.sorted.clear())

    def snapshot(self) -> Snapshot:
        """The served snapshot; ``NotReady`` before the first index."""
        return self.index.current()

    def entries(
        self,
        kind: Kind,
        application: str | None = None,
        environment: Environment | None = None,
        snapshot: Snapshot | None = None,
    ) -> list[Entry]:
        """``snapshot.entries(kind, application, environment)`` (default: the served
        snapshot), sorted once per snapshot and filter (``readside.SortedEntries``). The list
        is shared: read-only."""
        if snapshot is None:
            snapshot = self.snapshot()
        return self.sorted.entries(
            snapshot.commit,
            (kind, application, environment),
            lambda: snapshot.entries(kind, application, environment),
        )

    def blob(self, sha: str) -> bytes:
        """A file's content by its blob id."""
        return self.store.read_blob(sha)

    def get(self, principal: Principal, kind: Kind, entry_id: str) -> Entry:
        """The entry of ``entry_id``; NotFound, or PermissionDenied outside the caller's
        read scope."""
        entry = self.snapshot().by_id(entry_id, kind)
        if entry is None:
            raise NotFound(f"no {kind.value} with id {entry_id}")
        authorize(principal, "read", entry.key.application, entry.key.environment)
        return entry

    def lookup(
        self, principal: Principal, kind: Kind, application: str, environment: str, key: str
    ) -> Entry:
        """The entry named by ``application``/``environment``/``key``: BadRequest (bad names,
        field errors), PermissionDenied, NotFound."""
        # The fast path: an entry that exists has valid names (its file's path was checked
        # when it was indexed), so only a miss needs the names checked, before NotFound.
        env = _ENVIRONMENTS.get(environment)
        if env is not None:
            entry = self.snapshot().get(kind, application, env, key)
            if entry is not None:
                if not principal.may("read", application, environment):
                    authorize(principal, "read", application, environment)  # raises
                return entry
        errors = entry_errors(application, environment, key)
        if errors:
            raise BadRequest("invalid lookup", errors)
        authorize(principal, "read", application, environment)
        entry = self.snapshot().get(kind, application, Environment(environment), key)
        if entry is None:
            raise NotFound(f"no {kind.value} {application}/{environment}/{key}")
        return entry

    def list_entries(
        self,
        principal: Principal,
        kind: Kind,
        application: str | None,
        environment: str | None,
        page: int,
        size: int,
    ) -> Page:
        """One page of the entries of ``kind`` (optionally of one application and/or
        environment), sorted by application, ENV, key: only those ``principal`` may read, and
        ``total_elements`` counts only those. Naming both an application and an environment
        outside the caller's read scope is PermissionDenied; bad paging is BadRequest."""
        errors = filter_errors(application, environment)  # the names every door checks
        if not 0 <= page <= limits.MAX_INT32:
            errors.append(FieldError("page", f"must be between 0 and {limits.MAX_INT32}"))
        if not 1 <= size <= MAX_PAGE_SIZE:
            errors.append(FieldError("size", f"must be between 1 and {MAX_PAGE_SIZE}"))
        if errors:
            raise BadRequest("invalid query", errors)
        if application is not None and environment is not None:
            authorize(principal, "read", application, environment)  # a named scope: 403
        env = Environment(environment) if environment is not None else None
        entries = readable(principal, self.entries(kind, application, env))
        return Page(entries[page * size : (page + 1) * size], page, size, len(entries))

    def lookup_many(
        self,
        principal: Principal,
        kind: Kind,
        application: str,
        environment: str,
        keys: Sequence[str],
    ) -> list[Entry]:
        """The entries of ``keys`` that exist, in the order asked (each once), read from one
        snapshot; missing keys are left out. No keys: every entry of the application and
        environment, sorted by key."""
        errors = [
            error
            for error in (
                application_error(application),
                environment_error(environment),
                *(key_error(key, f"keys.{i}") for i, key in enumerate(keys)),
            )
            if error is not None
        ]
        if len(keys) > MAX_PAGE_SIZE:
            errors.append(FieldError("keys", f"at most {MAX_PAGE_SIZE} keys"))
        if errors:
            raise BadRequest("invalid lookup", errors)
        authorize(principal, "read", application, environment)
        snapshot, env = self.snapshot(), Environment(environment)
        if not keys:
            return self.entries(kind, application, env, snapshot)
        found = (snapshot.get(kind, application, env, key) for key in dict.fromkeys(keys))
        return [entry for entry in found if entry is not None]

    def versions(self, principal: Principal, kind: Kind, entry_id: str) -> list[VersionView]:
        """Every version of the entry, oldest first, each with its content."""
        entry = self.get(principal, kind, entry_id)
        return [self._view(entry, version) for version in entry.versions]

    def version(
        self, principal: Principal, kind: Kind, entry_id: str, version_ref: str
    ) -> VersionView:
        """One version of the entry by number or commit sha (``find_version``)."""
        entry = self.get(principal, kind, entry_id)
        return self._view(entry, find_version(entry, version_ref))

    def _view(self, entry: Entry, version: Version) -> VersionView:
        """A version with its content and, for a merged change, the commit that made it."""
        merged = self.merged_change(version, entry.key.path)
        return VersionView(entry, version, self._document_at(entry, version), merged)

    def _document_at(self, entry: Entry, version: Version) -> Document | None:
        if version is entry.served:
            return entry.document
        try:
            return self.index.document(
                entry.key.path, entry.key.kind, version.blob, self.snapshot().schemas
            )
        except BadRequest:
            return None

    def merged_change(self, version: Version, path: str) -> Commit | None:
        """For a version whose commit merged a branch, the commit on that branch that gave
        ``path`` this content (``Store.merged_change``: only the merged branch's own commits
        are walked), else None. Kept by (commit, path): both are immutable."""
        cache_key = (version.commit.sha, path)
        kept = self._merged.get(cache_key, _UNKNOWN)
        if kept is not _UNKNOWN:
            return kept  # type: ignore[return-value]  # a Commit or None, as put below
        return self._merged.put(cache_key, self.store.merged_change(version.commit.sha, path))


def readable(principal: Principal, entries: list[Entry]) -> list[Entry]:
    """The entries ``principal`` may read (all of them, unfiltered, for a global reader)."""
    if principal.may("read"):
        return entries
    may = principal.may
    return [e for e in entries if may("read", e.key.application, e.key.environment.value)]
