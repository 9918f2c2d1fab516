"""The service's shared machinery: the snapshot, reads by id and key, and the write path.

Reads come from the index's current snapshot. A write validates its input against that
snapshot, builds the file, commits it on top of the snapshot's commit (compare-and-swap on
the branch) and refreshes the index, so the caller reads its own write. If another writer
moved the branch first, the change is re-applied on the new head when its file did not
change in between; otherwise the caller gets ``Conflict`` (or ``PreconditionFailed`` when it
named the version it expected). Concurrent writes are group-committed: each still becomes
its own commit, but a batch of them shares one durability barrier and one ref update
(``committer.GroupCommitter``).

The use-cases live in one module per resource (``configs``, ``flags``, ``transfer``,
``streams``, ``status``); ``facade.Service`` is all of them over one ``ServiceBase``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from gitconfig.core import configfile, limits
from gitconfig.core.errors import BadRequest, Conflict, FieldError, NotFound, PreconditionFailed
from gitconfig.core.model import (
    Author,
    ConfigDocument,
    Document,
    EntryKey,
    Environment,
    Kind,
    Version,
)
from gitconfig.core.paths import entry_errors
from gitconfig.index.changes import ChangeHub
from gitconfig.index.snapshot import Entry, Index, Snapshot
from gitconfig.service.access import Principal, authorize
from gitconfig.service.committer import GroupCommitter, Prepare
from gitconfig.store.ports import Store

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Page:
    content: list[Entry]
    page: int
    size: int
    total_elements: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total_elements / self.size) if self.size else 0


@dataclass(frozen=True)
class VersionView:
    entry: Entry
    version: Version
    document: Document | None  # None when that version's file did not validate


Builder = Callable[[Entry | None, Snapshot], bytes | None]


class ServiceBase:
    def __init__(self, store: Store, index: Index) -> None:
        self.store = store
        self.index = index
        self.changes = ChangeHub(index)
        self._committer = GroupCommitter(store, index)

    # -- reads ----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        return self.index.current()

    def get(self, principal: Principal, kind: Kind, entry_id: str) -> Entry:
        authorize(principal, "read")
        entry = self.snapshot().by_id(entry_id, kind)
        if entry is None:
            raise NotFound(f"no {kind.value} with id {entry_id}")
        return entry

    def lookup(
        self, principal: Principal, kind: Kind, application: str, environment: str, key: str
    ) -> Entry:
        authorize(principal, "read")
        errors = entry_errors(application, environment, key)
        if errors:
            raise BadRequest("invalid lookup", errors)
        entry = self.snapshot().get(kind, application, Environment(environment), key)
        if entry is None:
            raise NotFound(f"no {kind.value} {application}/{environment}/{key}")
        return entry

    def value_text(self, principal: Principal, document: ConfigDocument) -> str:
        """The API string of a value; SECRET values masked unless the caller may reveal."""
        return configfile.api_value_text(document, reveal=principal.can("reveal"))

    def _document_at(self, entry: Entry, version: Version) -> Document | None:
        if version is entry.served:
            return entry.document
        try:
            return self.index.document(
                entry.key.path, entry.key.kind, version.blob, self.snapshot().schemas
            )
        except BadRequest:
            return None

    # -- the write path -------------------------------------------------------------------

    def _key_for_write(self, principal: Principal, kind: Kind, entry_id: str) -> EntryKey:
        authorize(principal, "write")
        entry = self.snapshot().by_id(entry_id, kind)
        if entry is None:
            raise NotFound(f"no {kind.value} with id {entry_id}")
        return entry.key

    def _write_entry(
        self,
        principal: Principal,
        key: EntryKey,
        build: Builder,
        message: str,
        if_match: int | None,
        must_exist: bool,
    ) -> Entry:
        entry = self._write(principal, key, build, message, if_match, must_exist)
        if entry is None:
            raise Conflict(f"{key} was removed concurrently")
        return entry

    def _write(
        self,
        principal: Principal,
        key: EntryKey,
        build: Builder,
        message: str,
        if_match: int | None,
        must_exist: bool,
    ) -> Entry | None:
        """Commit one file change and return the entry as it now is (None: deleted).

        See the module docstring for the concurrency rules."""
        first_seen: list[str | None] = []  # the file's blob at the first attempt
        checked_message(message)
        # Validate and build before queueing, outside the lock other writers wait on; under
        # the lock the content is reused unless the file or the shared schemas moved.
        early = self.snapshot()
        early_current = early.get_key(key)
        early_content: bytes | None = None
        prebuilt = early_current is not None or not must_exist
        early_blob = early_current.updated.blob if early_current is not None else None
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
                raise Conflict(f"{key} was changed concurrently; read it again and retry")
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
        the snapshot that shows it. See ``GroupCommitter.commit``."""
        author = Author(
            checked_text(principal.name, "author"), checked_text(principal.email, "author")
        )
        return self._committer.commit(keys, prepare, author, checked_message(message))


def checked_text(text: str, field: str) -> str:
    """``text`` if it is valid Unicode (no lone surrogate); else ``BadRequest`` on ``field``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest(
            f"invalid {field}", [FieldError(field, "holds a lone surrogate, not text")]
        ) from exc
    return text


def checked_message(message: str) -> str:
    """A commit message that can be written: valid Unicode, within ``limits``."""
    checked_text(message, "changeDescription")
    problem = limits.message_error(message)
    if problem is not None:
        raise BadRequest("invalid changeDescription", [problem])
    return message


def find_version(entry: Entry, ref: str) -> Version:
    """A version of ``entry`` by number, or by commit sha (full or a unique 7+ prefix)."""
    ref = ref.strip().lower()
    number = limits.ascii_int(ref)
    if number is not None and len(ref) < 7:
        if 1 <= number <= len(entry.versions):
            return entry.versions[number - 1]
    elif 7 <= len(ref) <= 64 and all(c in "0123456789abcdef" for c in ref):
        matches = [v for v in entry.versions if v.commit.sha.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if number is not None and not matches and 1 <= number <= len(entry.versions):
            return entry.versions[number - 1]
        if len(matches) > 1:
            raise BadRequest("ambiguous version", [FieldError("versionId", "ambiguous prefix")])
    shown = ref if len(ref) <= 64 else ref[:61] + "..."
    raise NotFound(f"{entry.key} has no version {shown}")


def new_key(
    principal: Principal, kind: Kind, application: str, environment: str, key: str
) -> EntryKey:
    """The key of an entry to create, once the caller may write and the names are valid."""
    authorize(principal, "write")
    errors = entry_errors(application, environment, key)
    if errors:
        raise BadRequest(f"invalid {noun(kind)}", errors)
    return EntryKey(kind, application, Environment(environment), key)


def noun(kind: Kind) -> str:
    return "configuration" if kind is Kind.CONFIG else "feature flag"
