"""The use-cases. REST, gRPC and the CLI parse their input, call one method here, render.

Reads come from the index's current snapshot. A write validates its input against that
snapshot, builds the file, commits it on top of the snapshot's commit (compare-and-swap on
the branch) and refreshes the index, so the caller reads its own write. If another writer
moved the branch first, the change is re-applied on the new head when its file did not
change in between; otherwise the caller gets ``Conflict`` (or ``PreconditionFailed`` when it
named the version it expected). Concurrent writes are group-committed: each still becomes
its own commit, but a batch of them shares one durability barrier and one ref update
(``committer.GroupCommitter``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitconfig.core import configfile, flagfile, validator
from gitconfig.core import formats as transfer
from gitconfig.core.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    FieldError,
    NotFound,
    PreconditionFailed,
)
from gitconfig.core.evaluation import Evaluation
from gitconfig.core.model import (
    Author,
    ConfigDocument,
    Document,
    EntryKey,
    Environment,
    FlagDocument,
    Kind,
    ValueType,
    Version,
)
from gitconfig.core.paths import (
    application_error,
    entry_errors,
    environment_error,
    key_error,
    scope_errors,
)
from gitconfig.index.changes import ChangeHub, Subscription
from gitconfig.index.snapshot import ChangeEvent, Entry, Index, Snapshot
from gitconfig.index.updates import Filter, Update, render_update
from gitconfig.service.access import Principal
from gitconfig.service.committer import GroupCommitter, Prepare
from gitconfig.store.ports import Store

log = logging.getLogger(__name__)

MASK = "********"
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
class NewConfig:
    key: str
    application: str
    environment: str
    value_type: str
    value: str
    description: str | None = None
    schema: str | None = None
    tags: list[str] | None = None
    change_description: str | None = None


@dataclass(frozen=True)
class ConfigChanges:
    """An update: fields left None keep their current value."""

    value: str | None = None
    description: str | None = None
    schema: str | None = None
    tags: list[str] | None = None
    change_description: str | None = None


@dataclass(frozen=True)
class NewFlag:
    key: str
    application: str
    environment: str
    description: str | None
    enabled: bool = False
    rules: list[dict[str, Any]] | None = None
    value: Any = None
    tags: list[str] | None = None
    change_description: str | None = None


@dataclass(frozen=True)
class FlagChanges:
    """An update: fields left unset keep their current value (``value`` is set when
    ``value_set``, so a flag's value can be cleared with null)."""

    description: str | None = None
    enabled: bool | None = None
    rules: list[dict[str, Any]] | None = None
    value: Any = None
    value_set: bool = False
    tags: list[str] | None = None
    change_description: str | None = None


@dataclass(frozen=True)
class VersionView:
    entry: Entry
    version: Version
    document: Document | None  # None when that version's file did not validate


Builder = Callable[[Entry | None, Snapshot], bytes | None]


class Service:
    def __init__(self, store: Store, index: Index) -> None:
        self.store = store
        self.index = index
        self.changes = ChangeHub(index)
        self._committer = GroupCommitter(store, index)

    # -- reads ----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        return self.index.current()

    def list_entries(
        self,
        principal: Principal,
        kind: Kind,
        application: str | None,
        environment: str | None,
        page: int,
        size: int,
    ) -> Page:
        principal.require("read")
        errors = []
        if environment is not None and (error := environment_error(environment)):
            errors.append(error)
        if page < 0:
            errors.append(FieldError("page", "must be 0 or more"))
        if not 1 <= size <= MAX_PAGE_SIZE:
            errors.append(FieldError("size", f"must be between 1 and {MAX_PAGE_SIZE}"))
        if errors:
            raise BadRequest("invalid query", errors)
        env = Environment(environment) if environment is not None else None
        entries = self.snapshot().entries(kind, application, env)
        return Page(entries[page * size : (page + 1) * size], page, size, len(entries))

    def get(self, principal: Principal, kind: Kind, entry_id: str) -> Entry:
        principal.require("read")
        entry = self.snapshot().by_id(entry_id, kind)
        if entry is None:
            raise NotFound(f"no {kind.value} with id {entry_id}")
        return entry

    def lookup(
        self, principal: Principal, kind: Kind, application: str, environment: str, key: str
    ) -> Entry:
        principal.require("read")
        errors = entry_errors(application, environment, key)
        if errors:
            raise BadRequest("invalid lookup", errors)
        entry = self.snapshot().get(kind, application, Environment(environment), key)
        if entry is None:
            raise NotFound(f"no {kind.value} {application}/{environment}/{key}")
        return entry

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
        principal.require("read")
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
        snapshot, env = self.snapshot(), Environment(environment)
        if not keys:
            return snapshot.entries(kind, application, env)
        found = (snapshot.get(kind, application, env, key) for key in dict.fromkeys(keys))
        return [entry for entry in found if entry is not None]

    def watch(
        self,
        principal: Principal,
        application: str | None,
        environment: str | None,
        keys: Sequence[str],
        include_flags: bool,
        resume_after: str | None,
    ) -> Subscription:
        """Subscribe to changes, live from the current commit, after replaying every change
        after ``resume_after`` (a commit sha, full or a unique 7+ prefix) when given. Call on
        the subscriber's event loop, then ``await subscription.prepare()``."""
        principal.require("read")
        errors = [
            error
            for error in (
                application_error(application) if application is not None else None,
                environment_error(environment) if environment is not None else None,
                *(key_error(key, f"keys.{i}") for i, key in enumerate(keys)),
            )
            if error is not None
        ]
        commit = None
        if resume_after is not None:
            commit = self.store.resolve(resume_after.strip().lower())
            if commit is None:
                message = "not a commit of this repository (a full sha, or a unique 7+ prefix)"
                errors.append(FieldError("resumeAfterCommit", message))
        if errors:
            raise BadRequest("invalid subscription", errors)
        self.snapshot()  # NotReady before the first index
        wanted = Filter(
            application,
            Environment(environment) if environment is not None else None,
            frozenset(keys),
            include_flags,
        )

        def render(event: ChangeEvent) -> Update:
            return render_update(event, lambda document: self.value_text(principal, document))

        # Renderings differ between principals only where a SECRET is masked or revealed.
        return self.changes.subscribe(wanted, render, commit, audience=principal.can("reveal"))

    def versions(self, principal: Principal, kind: Kind, entry_id: str) -> list[VersionView]:
        entry = self.get(principal, kind, entry_id)
        return [VersionView(entry, v, self._document_at(entry, v)) for v in entry.versions]

    def version(
        self, principal: Principal, kind: Kind, entry_id: str, version_ref: str
    ) -> VersionView:
        entry = self.get(principal, kind, entry_id)
        version = find_version(entry, version_ref)
        return VersionView(entry, version, self._document_at(entry, version))

    def evaluate_flag(
        self,
        principal: Principal,
        application: str,
        environment: str,
        key: str,
        user_id: str | None,
        attributes: Mapping[str, str],
    ) -> tuple[Entry, Evaluation]:
        """Evaluate one flag for one context (the same evaluator for every transport)."""
        entry = self.lookup(principal, Kind.FLAG, application, environment, key)
        assert entry.flag is not None
        return entry, entry.flag.evaluate(user_id or None, attributes)

    def value_text(self, principal: Principal, document: ConfigDocument) -> str:
        """The API string of a value; SECRET values masked unless the caller may reveal."""
        if document.value_type is ValueType.SECRET and not principal.can("reveal"):
            return MASK
        return configfile.value_text(document)

    def _document_at(self, entry: Entry, version: Version) -> Document | None:
        if version is entry.served:
            return entry.document
        try:
            return self.index.document(
                entry.key.path, entry.key.kind, version.blob, self.snapshot().schemas
            )
        except BadRequest:
            return None

    # -- configuration writes --------------------------------------------------------------

    def create_config(self, principal: Principal, new: NewConfig) -> Entry:
        key = _new_key(principal, Kind.CONFIG, new.application, new.environment, new.key)

        def build(current: Entry | None, snapshot: Snapshot) -> bytes:
            if current is not None:
                raise AlreadyExists(f"configuration {key} already exists (id {current.id})")
            document = configfile.from_request(
                value_type=new.value_type,
                value=new.value,
                description=new.description,
                schema=new.schema,
                tags=new.tags,
                schemas=snapshot.schemas,
            )
            return configfile.render(document)

        message = new.change_description or f"Create configuration {key}"
        return self._write_entry(principal, key, build, message, if_match=None, must_exist=False)

    def update_config(
        self,
        principal: Principal,
        entry_id: str,
        changes: ConfigChanges,
        if_match: int | None = None,
    ) -> Entry:
        key = self._key_for_write(principal, Kind.CONFIG, entry_id)

        def build(current: Entry | None, snapshot: Snapshot) -> bytes:
            assert current is not None and isinstance(current.document, ConfigDocument)
            document = current.document
            value = changes.value if changes.value is not None else configfile.value_text(document)
            schema = changes.schema
            if schema is None:
                schema = configfile.schema_text(document)
            updated = configfile.from_request(
                value_type=document.value_type.value,
                value=value,
                description=(
                    changes.description if changes.description is not None else document.description
                ),
                schema=schema,
                tags=changes.tags if changes.tags is not None else list(document.tags),
                schemas=snapshot.schemas,
            )
            return configfile.render(updated)

        message = changes.change_description or f"Update configuration {key}"
        return self._write_entry(principal, key, build, message, if_match, must_exist=True)

    # -- flag writes ---------------------------------------------------------------------

    def create_flag(self, principal: Principal, new: NewFlag) -> Entry:
        key = _new_key(principal, Kind.FLAG, new.application, new.environment, new.key)
        mapping = _flag_mapping(
            description=new.description,
            enabled=new.enabled,
            rules=new.rules,
            value=new.value,
            tags=new.tags,
        )

        def build(current: Entry | None, _snapshot: Snapshot) -> bytes:
            if current is not None:
                raise AlreadyExists(f"feature flag {key} already exists (id {current.id})")
            return flagfile.render(flagfile.parse_mapping(mapping))

        message = new.change_description or f"Create feature flag {key}"
        return self._write_entry(principal, key, build, message, None, must_exist=False)

    def update_flag(
        self,
        principal: Principal,
        entry_id: str,
        changes: FlagChanges,
        if_match: int | None = None,
    ) -> Entry:
        key = self._key_for_write(principal, Kind.FLAG, entry_id)

        def build(current: Entry | None, _snapshot: Snapshot) -> bytes:
            assert current is not None and isinstance(current.document, FlagDocument)
            mapping = flagfile.to_mapping(current.document)
            if changes.description is not None:
                mapping["description"] = changes.description
            if changes.enabled is not None:
                mapping["enabled"] = changes.enabled
            if changes.rules is not None:
                mapping["rules"] = changes.rules
            if changes.value_set:
                mapping["value"] = changes.value
            if changes.tags is not None:
                mapping["tags"] = changes.tags
            mapping = {name: v for name, v in mapping.items() if v is not None}
            return flagfile.render(flagfile.parse_mapping(mapping))

        message = changes.change_description or f"Update feature flag {key}"
        return self._write_entry(principal, key, build, message, if_match, must_exist=True)

    def evaluate_all(
        self,
        principal: Principal,
        application: str,
        environment: str,
        user_id: str | None,
        attributes: Mapping[str, str],
    ) -> list[tuple[Entry, Evaluation]]:
        """Every flag of one application and environment for one context (start-up call)."""
        principal.require("read")
        if errors := scope_errors(application, environment):
            raise BadRequest("invalid evaluation context", errors)
        entries = self.snapshot().entries(Kind.FLAG, application, Environment(environment))
        return [(e, e.flag.evaluate(user_id or None, attributes)) for e in entries if e.flag]

    # -- import and export (see ``transfer``) ----------------------------------------------

    def import_configs(
        self, principal: Principal, request: transfer.ImportRequest
    ) -> transfer.ImportResult:
        """Create or update the configurations of a file in one commit, all or nothing: any
        problem rejects the import with every problem listed, and nothing is written."""
        principal.require("write")
        if errors := scope_errors(request.application, request.environment):
            raise BadRequest("invalid import", errors)
        types = transfer.parse_types(request.types)
        items = transfer.parse(request.format, request.content)
        env = Environment(request.environment)
        keys = tuple(EntryKey(Kind.CONFIG, request.application, env, item.key) for item in items)
        first_seen: dict[EntryKey, str | None] = {}
        plans: dict[str | None, list[transfer.Planned]] = {}  # by the snapshot's commit

        def prepare(snapshot: Snapshot) -> dict[str, bytes | None]:
            current = {key: snapshot.get_key(key) for key in keys if key_error(key.key) is None}
            blobs = {key: entry.updated.blob if entry else None for key, entry in current.items()}
            if not first_seen:
                first_seen.update(blobs)
            elif blobs != first_seen:
                moved = next(key for key in blobs if blobs[key] != first_seen[key])
                raise Conflict(f"{moved} was changed concurrently; nothing was imported, retry")
            planned = plans.get(snapshot.commit)
            if planned is None:
                planned = plans[snapshot.commit] = _plan(snapshot, current)
            return {
                EntryKey(Kind.CONFIG, request.application, env, p.key).path: p.content
                for p in planned
                if p.content is not None
            }

        def _plan(
            snapshot: Snapshot, current: dict[EntryKey, Entry | None]
        ) -> list[transfer.Planned]:
            return transfer.plan(
                items,
                types,
                {
                    key.key: entry.document
                    for key, entry in current.items()
                    if entry is not None and isinstance(entry.document, ConfigDocument)
                },
                snapshot.schemas,
                invalid={k.key for k, e in current.items() if e and e.served is not e.updated},
            )

        changes = prepare(self.snapshot())
        first = next(iter(plans.values()))
        counts = {
            status: [p.key for p in first if p.status == status]
            for status in ("created", "updated", "unchanged")
        }
        commit = None
        if changes and not request.dry_run:
            message = request.message or (
                f"Import {len(changes)} configuration(s) into {request.application}/{env.value}"
                f" ({len(counts['created'])} created, {len(counts['updated'])} updated)"
            )
            snapshot = self.commit(principal, keys, prepare, message)
            changed = next(p.key for p in first if p.content is not None)
            entry = snapshot.get(Kind.CONFIG, request.application, env, changed)
            commit = entry.updated.commit.sha if entry is not None else snapshot.commit
        return transfer.ImportResult(
            counts["created"], counts["updated"], counts["unchanged"], commit
        )

    def export_configs(
        self,
        principal: Principal,
        application: str,
        environment: str,
        fmt: transfer.Format,
        reveal: bool = False,
    ) -> transfer.Export:
        """The configurations of one application and environment as a file; SECRET values
        are masked unless ``reveal`` is asked for (which needs the reveal permission)."""
        principal.require("reveal" if reveal else "read")
        if errors := scope_errors(application, environment):
            raise BadRequest("invalid export", errors)
        snapshot = self.snapshot()
        rows = []
        for entry in snapshot.entries(Kind.CONFIG, application, Environment(environment)):
            document = entry.document
            assert isinstance(document, ConfigDocument)
            value = document.value
            if document.value_type is ValueType.SECRET:
                value = self.value_text(principal, document) if reveal else MASK
            rows.append(transfer.Row(entry.key.key, document.value_type, value))
        header = f"gitconfig export of {application}/{environment}"
        if snapshot.commit is not None:
            header += f" at {snapshot.commit[:12]}"
        return transfer.Export(transfer.render(fmt, rows, header), len(rows), snapshot.commit)

    # -- writes common to configurations and flags ----------------------------------------

    def delete(
        self, principal: Principal, kind: Kind, entry_id: str, if_match: int | None = None
    ) -> None:
        key = self._key_for_write(principal, kind, entry_id)
        message = f"Delete {_noun(kind)} {key}"
        self._write(principal, key, lambda _c, _s: None, message, if_match, must_exist=True)

    def rollback(
        self,
        principal: Principal,
        kind: Kind,
        entry_id: str,
        version_ref: str,
        if_match: int | None = None,
        change_description: str | None = None,
    ) -> Entry:
        key = self._key_for_write(principal, kind, entry_id)
        target = find_version(self.get(principal, kind, entry_id), version_ref)

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
            f"Roll back {_noun(kind)} {key} to version {target.number} ({target.commit.sha[:12]})"
        )
        return self._write_entry(principal, key, build, message, if_match, must_exist=True)

    def _key_for_write(self, principal: Principal, kind: Kind, entry_id: str) -> EntryKey:
        principal.require("write")
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

        def prepare(snapshot: Snapshot) -> dict[str, bytes | None]:
            current = snapshot.get_key(key)
            if must_exist and current is None:
                raise NotFound(f"{_noun(key.kind)} {key} no longer exists")
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
            content = build(current, snapshot)
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
        author = Author(principal.name, principal.email)
        return self._committer.commit(keys, prepare, author, message)


def find_version(entry: Entry, ref: str) -> Version:
    """A version of ``entry`` by number, or by commit sha (full or a unique 7+ prefix)."""
    ref = ref.strip().lower()
    if ref.isdigit() and len(ref) < 7:
        number = int(ref)
        if 1 <= number <= len(entry.versions):
            return entry.versions[number - 1]
    elif len(ref) >= 7 and all(c in "0123456789abcdef" for c in ref):
        matches = [v for v in entry.versions if v.commit.sha.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if ref.isdigit() and not matches and int(ref) <= len(entry.versions):
            return entry.versions[int(ref) - 1]
        if len(matches) > 1:
            raise BadRequest("ambiguous version", [FieldError("versionId", "ambiguous prefix")])
    raise NotFound(f"{entry.key} has no version {ref}")


def _new_key(
    principal: Principal, kind: Kind, application: str, environment: str, key: str
) -> EntryKey:
    """The key of an entry to create, once the caller may write and the names are valid."""
    principal.require("write")
    errors = entry_errors(application, environment, key)
    if errors:
        raise BadRequest(f"invalid {_noun(kind)}", errors)
    return EntryKey(kind, application, Environment(environment), key)


def _flag_mapping(**fields: Any) -> dict[str, Any]:
    """The file mapping of a flag from request fields; unset (None) fields are left out."""
    return {name: value for name, value in fields.items() if value is not None}


def _noun(kind: Kind) -> str:
    return "configuration" if kind is Kind.CONFIG else "feature flag"
