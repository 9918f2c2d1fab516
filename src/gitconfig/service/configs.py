"""Configuration use-cases: list, bulk lookup, versions, create, update, set, delete,
rollback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gitconfig.access.principals import Principal, authorize
from gitconfig.core import configfile, importing, limits, validator
from gitconfig.core.configfile import MASK
from gitconfig.core.errors import AlreadyExists, BadRequest, FieldError
from gitconfig.core.model import ConfigDocument, Environment, Kind, ValueType, Version
from gitconfig.core.paths import application_error, entry_errors, environment_error, key_error
from gitconfig.index.snapshot import Entry, Snapshot
from gitconfig.service.base import (
    MAX_PAGE_SIZE,
    Page,
    ServiceBase,
    VersionView,
    find_version,
    new_key,
    noun,
)


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


def new_document(new: NewConfig, snapshot: Snapshot) -> ConfigDocument:
    """The document ``new`` makes where there is none, its schema resolved against
    ``snapshot``'s shared schemas. Raises BadRequest (a bad type, value, schema or tag)."""
    return configfile.from_request(
        value_type=new.value_type,
        value=new.value,
        description=new.description,
        schema=new.schema,
        tags=new.tags,
        schemas=snapshot.schemas,
    )


@dataclass(frozen=True)
class ConfigChanges:
    """An update: fields left None keep their current value."""

    value: str | None = None
    description: str | None = None
    schema: str | None = None
    tags: list[str] | None = None
    change_description: str | None = None


class ConfigUseCases(ServiceBase):
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
        errors = []
        if environment is not None and (error := environment_error(environment)):
            errors.append(error)
        if not 0 <= page <= limits.MAX_INT32:
            errors.append(FieldError("page", f"must be between 0 and {limits.MAX_INT32}"))
        if not 1 <= size <= MAX_PAGE_SIZE:
            errors.append(FieldError("size", f"must be between 1 and {MAX_PAGE_SIZE}"))
        if errors:
            raise BadRequest("invalid query", errors)
        if application is not None and environment is not None:
            authorize(principal, "read", application, environment)  # a named scope: 403
        env = Environment(environment) if environment is not None else None
        entries = readable(principal, self.snapshot().entries(kind, application, env))
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
            return snapshot.entries(kind, application, env)
        found = (snapshot.get(kind, application, env, key) for key in dict.fromkeys(keys))
        return [entry for entry in found if entry is not None]

    def versions(self, principal: Principal, kind: Kind, entry_id: str) -> list[VersionView]:
        entry = self.get(principal, kind, entry_id)
        return [self._view(entry, version) for version in entry.versions]

    def version(
        self, principal: Principal, kind: Kind, entry_id: str, version_ref: str
    ) -> VersionView:
        entry = self.get(principal, kind, entry_id)
        return self._view(entry, find_version(entry, version_ref))

    def _view(self, entry: Entry, version: Version) -> VersionView:
        """A version with its content and, for a merged change, the commit that made it."""
        merged = self.merged_change(version, entry.key.path)
        return VersionView(entry, version, self._document_at(entry, version), merged)

    def create_config(self, principal: Principal, new: NewConfig) -> Entry:
        key = new_key(principal, Kind.CONFIG, new.application, new.environment, new.key)

        def build(current: Entry | None, snapshot: Snapshot) -> bytes:
            if current is not None:
                raise AlreadyExists(f"configuration {key} already exists (id {current.id})")
            return self.render_config(key, new_document(new, snapshot), snapshot)

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
            kept_value = changes.value in (None, MASK) or (
                changes.value is not None and self.same_secret(current, changes.value)
            )
            if document.value_type is ValueType.SECRET and kept_value:
                kept = configfile.with_fields(
                    document, changes.description, changes.schema, changes.tags, snapshot.schemas
                )
                if kept == document and current.served is current.updated:
                    return self.store.read_blob(current.updated.blob)  # as sops wrote it
                return configfile.render(kept)
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
            return self.render_config(key, updated, snapshot)

        message = changes.change_description or f"Update configuration {key}"
        return self._write_entry(principal, key, build, message, if_match, must_exist=True)

    def set_config(
        self, principal: Principal, new: NewConfig, infer_type: bool = False
    ) -> tuple[Entry, str]:
        """Create the configuration, or update the value (and the other given fields) of the
        existing one. Returns the entry and what happened: ``created``, ``updated`` or
        ``unchanged`` (a write that changes nothing makes no commit).

        With ``infer_type`` a new value's type is inferred from its text when ``value_type``
        is empty (``formats.infer_text``). Raises ``BadRequest`` when ``value_type`` names
        another type than the existing value's (a type never changes in place)."""
        if errors := entry_errors_of(new):
            raise BadRequest("invalid configuration", errors)
        authorize(principal, "write", new.application, new.environment)
        env = Environment(new.environment)
        existing = self.snapshot().get(Kind.CONFIG, new.application, env, new.key)
        if existing is None:
            if infer_type and not new.value_type:
                chosen = importing.infer_text(new.value).value
                new = NewConfig(**{**new.__dict__, "value_type": chosen})
            return self.create_config(principal, new), "created"
        document = existing.document
        assert isinstance(document, ConfigDocument)
        if new.value_type and new.value_type != document.value_type.value:
            label = f"{new.application}/{new.environment}/{new.key}"
            raise BadRequest(
                f"{label} is {document.value_type.value}: the type of an existing value "
                "cannot change (delete it and set it again)"
            )
        changes = ConfigChanges(
            value=new.value,
            description=new.description,
            schema=new.schema,
            tags=new.tags,
            change_description=new.change_description,
        )
        entry = self.update_config(principal, existing.id, changes)
        return entry, "unchanged" if entry.version == existing.version else "updated"

    def delete(
        self, principal: Principal, kind: Kind, entry_id: str, if_match: int | None = None
    ) -> None:
        key = self._key_for_write(principal, kind, entry_id)
        message = f"Delete {noun(kind)} {key}"
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
            f"Roll back {noun(kind)} {key} to version {target.number} ({target.commit.sha[:12]})"
        )
        return self._write_entry(principal, key, build, message, if_match, must_exist=True)


def readable(principal: Principal, entries: list[Entry]) -> list[Entry]:
    """The entries ``principal`` may read (all of them, unfiltered, for a global reader)."""
    if principal.may("read"):
        return entries
    may = principal.may
    return [e for e in entries if may("read", e.key.application, e.key.environment.value)]


def entry_errors_of(new: NewConfig) -> list[FieldError]:
    return entry_errors(new.application, new.environment, new.key)
