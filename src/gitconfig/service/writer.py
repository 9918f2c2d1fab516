"""``Writer``: the write path every use-case shares — one file change, or one commit of
several, on top of the served snapshot.

A write validates its input against the snapshot, builds the file, commits it on top of the
snapshot's commit (compare-and-swap on the branch) and refreshes the index, so the caller
reads its own write. If another writer moved the branch first, the change is re-applied on
the new head when its file did not change in between; otherwise the caller gets ``Conflict``
(or ``PreconditionFailed`` when it named the version it expected). Concurrent writes are
group-committed: each still becomes its own commit, but a batch of them shares one
durability barrier and one ref update (``committer.GroupCommitter``).

Every write checks the caller's ``write`` permission before anything is committed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from gitconfig.access.principals import Principal, authorize
from gitconfig.core import validator
from gitconfig.core.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    NotFound,
    PreconditionFailed,
    ReadOnly,
)
from gitconfig.core.model import Author, EntryKey, Kind
from gitconfig.core.text import checked_message, checked_text
from gitconfig.index.refresher import Index
from gitconfig.index.snapshot import Entry, Snapshot
from gitconfig.service.base import UNCHANGED, find_version, noun
from gitconfig.service.committer import GroupCommitter, Prepare
from gitconfig.service.metrics import Metrics
from gitconfig.service.reads import Reads
from gitconfig.store.ports import Store

Builder = Callable[[Entry | None, Snapshot], bytes | None]


class Writer:
    """Commits to ``store``'s branch through one ``GroupCommitter``, refreshing ``index``;
    counts each write's outcome in ``metrics``; reads entries through ``reads``."""

    def __init__(self, store: Store, index: Index, reads: Reads, metrics: Metrics) -> None:
        self.store = store
        self.reads = reads
        self.metrics = metrics
        self._committer = GroupCommitter(store, index)

    def key_for_write(self, principal: Principal, kind: Kind, entry_id: str) -> EntryKey:
        """The key of the entry ``entry_id`` once the caller may write there
        (``PermissionDenied``; ``NotFound`` only to a caller who may write somewhere)."""
        entry = self.reads.snapshot().by_id(entry_id, kind)
        if entry is None:
            if not principal.anywhere("write"):
                authorize(principal, "write")
            raise NotFound(f"no {kind.value} with id {entry_id}")
        authorize(principal, "write", entry.key.application, entry.key.environment)
        return entry.key

    def write_entry(
        self,
        principal: Principal,
        key: EntryKey,
        build: Builder,
        message: str,
        if_match: int | None,
        must_exist: bool,
    ) -> Entry:
        """``write`` of a file that stays: the entry as it now is (``Conflict`` when another
        writer deleted it meanwhile)."""
        entry = self.write(principal, key, build, message, if_match, must_exist)
        if entry is None:
            raise Conflict(f"{key} was removed concurrently")
        return entry

    def write(
        self,
        principal: Principal,
        key: EntryKey,
        build: Builder,
        message: str,
        if_match: int | None,
        must_exist: bool,
    ) -> Entry | None:
        """Commit one file change — ``build(current, snapshot)`` gives the file's bytes, None
        deletes it — and return the entry as it now is (None: deleted). The caller has
        checked the permission. See the module docstring for the concurrency rules."""
        self.writable()
        first_seen: list[str | None] = []  # the file's blob at the first attempt
        # Validate and build before queueing, outside the lock other writers wait on; under
        # the lock the content is reused unless the file or the shared schemas moved.
        early = self.reads.snapshot()
        early_current = early.get_key(key)
        early_content: bytes | None = None
        prebuilt = early_current is not None or not must_exist
        early_blob = early_current.updated.blob if early_current is not None else None
        with self.outcome():
            checked_message(message)
            if prebuilt:
                early_content = build(early_current, early)

        def prepare(snapshot: Snapshot) -> dict[str, bytes | None]:
            current = snapshot.get_key(key)
            if must_exist and current is None:
                raise NotFound(f"{noun(key.kind)} {key} no longer exists")
            if if_match is not None and (current is None or current.version != if_match):
                found = current.version if current else None
                raise PreconditionFailed(
                    f"{key} is at version {found}, not {if_match}", current_version=found
                )
            blob = current.updated.blob if current is not None else None
            if not first_seen:
                first_seen.append(blob)
            elif blob != first_seen[0]:
                raise Conflict(f"{key} was changed concurrently{_by(current)}; read it again")
            reuse = (
                prebuilt
                and blob == early_blob
                and (snapshot.schemas is early.schemas or snapshot.schemas == early.schemas)
            )
            content = early_content if reuse else build(current, snapshot)
            if blob is not None and content is not None and content == self.store.read_blob(blob):
                return {}  # nothing changes: no empty commit
            return {key.path: content}

        snapshot = self.commit(principal, (key,), prepare, message)
        return snapshot.get_key(key)

    def commit(
        self,
        principal: Principal,
        keys: tuple[EntryKey, ...],
        prepare: Prepare,
        message: str,
    ) -> Snapshot:
        """Write one commit of the changes ``prepare(snapshot)`` returns for ``keys`` (path ->
        content, None deletes; empty: nothing to write), authored by ``principal``, and return
        the snapshot that shows it. The caller has checked the permission for every key. See
        ``GroupCommitter.commit``."""
        self.writable()
        author = Author(
            checked_text(principal.name, "author"), checked_text(principal.email, "author")
        )
        with self.outcome():
            snapshot = self._committer.commit(keys, prepare, author, checked_message(message))
        self.metrics.write_outcome("committed")
        return snapshot

    def writable(self) -> None:
        """Raises ``ReadOnly`` on a server that takes no writes: every write is refused the
        same way, also one that would change nothing (a rollback to the served version)."""
        if self.store.read_only:
            raise ReadOnly("this replica is read-only: write through a writable one")

    @contextmanager
    def outcome(self) -> Iterator[None]:
        """Count a write refused in the block by its outcome (metrics), and re-raise."""
        try:
            yield
        except PreconditionFailed:
            self.metrics.write_outcome("precondition_failed")
            raise
        except (Conflict, AlreadyExists):
            self.metrics.write_outcome("conflict")
            raise
        except BadRequest:
            self.metrics.write_outcome("invalid")
            raise

    # -- writes of an entry of either kind --------------------------------------------------

    def delete(
        self, principal: Principal, kind: Kind, entry_id: str, if_match: int | None = None
    ) -> None:
        """Delete the entry ``entry_id`` (one commit); ``PreconditionFailed`` unless it is at
        ``if_match`` when given."""
        key = self.key_for_write(principal, kind, entry_id)
        message = f"Delete {noun(kind)} {key}"
        self.write(principal, key, lambda _c, _s: None, message, if_match, must_exist=True)

    def rollback(
        self,
        principal: Principal,
        kind: Kind,
        entry_id: str,
        version_ref: str,
        if_match: int | None = None,
        change_description: str | None = None,
    ) -> Entry:
        """Restore the file of an earlier version (number or commit sha) as a new commit;
        ``BadRequest`` when that version does not validate today."""
        key = self.key_for_write(principal, kind, entry_id)
        target = find_version(self.reads.get(principal, kind, entry_id), version_ref)

        def build(current: Entry | None, snapshot: Snapshot) -> bytes:
            data = self.store.read_blob(target.blob)
            try:
                validator.load_document(kind, data, snapshot.schemas)
            except BadRequest as exc:
                raise BadRequest(
                    f"version {target.number} does not validate today", exc.errors
                ) from exc
            return data

        message = change_description or (
            f"Roll back {noun(kind)} {key} to version {target.number} ({target.commit.sha[:12]})"
        )
        return self.write_entry(principal, key, build, message, if_match, must_exist=True)

    def rollback_key(
        self,
        principal: Principal,
        kind: Kind,
        application: str,
        environment: str,
        key: str,
        version_ref: str,
        change_description: str | None = None,
    ) -> tuple[Entry, str]:
        """``rollback`` of the entry named by key to ``version_ref`` (a version number or a
        commit sha). Returns the entry and ``rolled back`` or ``unchanged`` (the version
        already served: no commit)."""
        entry = self.reads.lookup(principal, kind, application, environment, key)
        restored = self.rollback(
            principal, kind, entry.id, version_ref, change_description=change_description
        )
        return restored, UNCHANGED if restored.version == entry.version else "rolled back"


def _by(current: Entry | None) -> str:
    """`` by commit <sha> (<author>: <subject>)`` naming the change that got in first."""
    if current is None:
        return " (it was deleted)"
    commit = current.updated.commit
    subject = commit.message.split("\n", 1)[0]
    return f" by commit {commit.sha[:12]} ({commit.author.name}: {subject})"
