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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from gitconfig.access.principals import Principal, authorize
from gitconfig.access.reveal import authorize_reveal, may_reveal
from gitconfig.core import configfile, limits
from gitconfig.core.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    FieldError,
    NotFound,
    PreconditionFailed,
    SecretUnavailable,
)
from gitconfig.core.model import (
    Author,
    Commit,
    ConfigDocument,
    Document,
    EntryKey,
    Environment,
    Kind,
    ValueType,
    Version,
)
from gitconfig.core.paths import entry_errors
from gitconfig.core.text import checked_message, checked_text
from gitconfig.index.changes import ChangeHub
from gitconfig.index.refresher import Index
from gitconfig.index.snapshot import Entry, Snapshot
from gitconfig.service.committer import GroupCommitter, Prepare
from gitconfig.service.metrics import Metrics
from gitconfig.store.ports import Store
from gitconfig.store.secrets import Sops

SOPS_YAML = ".sops.yaml"

MAX_PAGE_SIZE = 1000
_MERGED_CACHE_LIMIT = 10_000
_ENVIRONMENTS = {environment.value: environment for environment in Environment}


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
    # For a change merged with a merge commit: the commit on the merged branch that made it.
    merged: Commit | None = None


Builder = Callable[[Entry | None, Snapshot], bytes | None]


class ServiceBase:
    def __init__(self, store: Store, index: Index, secrets: Sops | None = None) -> None:
        self.store = store
        self.index = index
        self.secrets = secrets if secrets is not None else Sops()
        self.changes = ChangeHub(index)
        self._committer = GroupCommitter(store, index)
        self.metrics = Metrics(index, store, self.changes)
        self._merged_changes: dict[tuple[str, str], Commit | None] = {}

    # -- reads ----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        return self.index.current()

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

    def value_text(
        self,
        principal: Principal,
        document: ConfigDocument,
        key: EntryKey | None = None,
        blob: str | None = None,
        reveal: bool = False,
    ) -> str:
        """The API string of a value. A SECRET is ``configfile.MASK`` unless ``reveal`` is
        asked for the entry ``key`` whose file is ``blob``: then the caller must be allowed
        to reveal in the entry's scope (else ``PermissionDenied``) and the plaintext is
        decrypted once per blob (``SecretUnavailable`` when this server cannot)."""
        if document.value_type is not ValueType.SECRET or not reveal:
            return configfile.api_value_text(document, reveal=False)
        if key is None or blob is None:
            raise AssertionError("revealing a secret needs its entry key and blob")
        authorize_reveal(principal, key.application, key.environment.value)
        return self.secrets.reveal(key.path, blob, self.store.read_blob(blob))

    def may_reveal(self, principal: Principal, key: EntryKey) -> bool:
        """Whether ``principal`` may see the plaintext of the SECRET ``key``."""
        return may_reveal(principal, key.application, key.environment.value)

    def served_text(
        self, principal: Principal, document: ConfigDocument, key: EntryKey, blob: str | None
    ) -> str:
        """The value for a service that uses it (gRPC, streams): a SECRET's plaintext when
        ``principal`` may reveal it in the entry's scope, else the mask; also the mask when
        this server cannot decrypt it (reported by ``/status``)."""
        if document.value_type is not ValueType.SECRET or blob is None:
            return configfile.api_value_text(document, reveal=False)
        if not may_reveal(principal, key.application, key.environment.value):
            return configfile.MASK
        try:
            return self.secrets.reveal(key.path, blob, self.store.read_blob(blob))
        except SecretUnavailable:
            return configfile.MASK

    def same_secret(self, entry: Entry, plaintext: str) -> bool:
        """Whether the SECRET ``entry`` already holds ``plaintext`` (False when this server
        cannot decrypt it): a write of the same value keeps the ciphertext, and makes no
        commit when nothing else changes."""
        document = entry.document
        if not isinstance(document, ConfigDocument) or document.value_type is not ValueType.SECRET:
            return False
        try:
            data = self.store.read_blob(entry.served.blob)
            return self.secrets.reveal(entry.key.path, entry.served.blob, data) == plaintext
        except SecretUnavailable:
            return False

    def undecrypted(self, principal: Principal, entries: list[Entry]) -> list[Entry]:
        """The SECRETs among ``entries`` that ``principal`` may reveal and that were not
        decrypted yet. A transport on an event loop decrypts them in a worker thread first
        (``decrypt``), so that the loop never waits for a sops process."""
        return [
            entry
            for entry in entries
            if isinstance(entry.document, ConfigDocument)
            and entry.document.value_type is ValueType.SECRET
            and not self.secrets.known(entry.served.blob)
            and self.may_reveal(principal, entry.key)
        ]

    def decrypt(self, entries: list[Entry]) -> None:
        """Decrypt (and cache) the served value of each SECRET entry; blocking (sops runs
        once per entry). Failures are remembered and reported, not raised."""
        for entry in entries:
            try:
                data = self.store.read_blob(entry.served.blob)
                self.secrets.reveal(entry.key.path, entry.served.blob, data)
            except SecretUnavailable:
                continue

    def render_config(self, key: EntryKey, document: ConfigDocument, snapshot: Snapshot) -> bytes:
        """The file of ``document`` at ``key``; a SECRET built from a request (plaintext) is
        encrypted by sops for the creation rule of the snapshot's ``.sops.yaml`` first
        (``BadRequest`` when none matches: nothing is written)."""
        if not configfile.is_plaintext_secret(document):
            return configfile.render(document)
        return self.encrypt_file(key.path, configfile.render(document), snapshot)

    def encrypt_file(self, path: str, plaintext_file: bytes, snapshot: Snapshot) -> bytes:
        """``plaintext_file`` encrypted for ``path`` by the snapshot's ``.sops.yaml``."""
        sops_yaml = None
        if snapshot.commit is not None:
            sops_yaml = self.store.read_file(snapshot.commit, SOPS_YAML)
        return self.secrets.encrypt(path, plaintext_file, sops_yaml)

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
        are walked), else None. Cached by (commit, path): both are immutable."""
        cache = self._merged_changes
        cache_key = (version.commit.sha, path)
        if cache_key not in cache:
            if len(cache) >= _MERGED_CACHE_LIMIT:
                cache.clear()
            cache[cache_key] = self.store.merged_change(version.commit.sha, path)
        return cache[cache_key]

    # -- the write path -------------------------------------------------------------------

    def _key_for_write(self, principal: Principal, kind: Kind, entry_id: str) -> EntryKey:
        entry = self.snapshot().by_id(entry_id, kind)
        if entry is None:
            if not principal.anywhere("write"):
                authorize(principal, "write")
            raise NotFound(f"no {kind.value} with id {entry_id}")
        authorize(principal, "write", entry.key.application, entry.key.environment)
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
        # Validate and build before queueing, outside the lock other writers wait on; under
        # the lock the content is reused unless the file or the shared schemas moved.
        early = self.snapshot()
        early_current = early.get_key(key)
        early_content: bytes | None = None
        prebuilt = early_current is not None or not must_exist
        early_blob = early_current.updated.blob if early_current is not None else None
        with self._outcome():
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
        the snapshot that shows it. See ``GroupCommitter.commit``."""
        author = Author(
            checked_text(principal.name, "author"), checked_text(principal.email, "author")
        )
        with self._outcome():
            snapshot = self._committer.commit(keys, prepare, author, checked_message(message))
        self.metrics.write_outcome("committed")
        return snapshot

    @contextmanager
    def _outcome(self) -> Iterator[None]:
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
    """The key of an entry to create, once the names are valid and the caller may write
    there (PermissionDenied otherwise)."""
    errors = entry_errors(application, environment, key)
    if errors:
        raise BadRequest(f"invalid {noun(kind)}", errors)
    authorize(principal, "write", application, environment)
    return EntryKey(kind, application, Environment(environment), key)


def _by(current: Entry | None) -> str:
    """`` by commit <sha> (<author>: <subject>)`` naming the change that got in first."""
    if current is None:
        return " (it was deleted)"
    commit = current.updated.commit
    subject = commit.message.split("\n", 1)[0]
    return f" by commit {commit.sha[:12]} ({commit.author.name}: {subject})"


def noun(kind: Kind) -> str:
    return "configuration" if kind is Kind.CONFIG else "feature flag"
