"""Configuration use-cases: create, update, set (create or update by name), and whether a
``set`` writes a SECRET. Reads, versions, delete and rollback are the shared ``Reads`` and
``Writer``'s, for both kinds."""

from __future__ import annotations

from gitconfig.access.principals import Principal, authorize
from gitconfig.core import configfile, importing
from gitconfig.core.configfile import MASK
from gitconfig.core.errors import AlreadyExists, BadRequest, FieldError
from gitconfig.core.model import ConfigDocument, Environment, Kind, ValueType
from gitconfig.core.paths import entry_errors
from gitconfig.index.snapshot import Entry, Snapshot
from gitconfig.service.base import (
    UNCHANGED,
    ConfigChanges,
    NewConfig,
    new_document,
    new_key,
)
from gitconfig.service.reads import Reads
from gitconfig.service.secretbox import SecretBox
from gitconfig.service.writer import Writer


class Configs:
    """Configuration writes over ``reads`` and ``writer``; SECRET values through ``box``."""

    def __init__(self, reads: Reads, writer: Writer, box: SecretBox) -> None:
        self.reads = reads
        self.writer = writer
        self.box = box

    def create(self, principal: Principal, new: NewConfig) -> Entry:
        key = new_key(principal, Kind.CONFIG, new.application, new.environment, new.key)

        def build(current: Entry | None, snapshot: Snapshot) -> bytes:
            if current is not None:
                raise AlreadyExists(f"configuration {key} already exists (id {current.id})")
            return self.box.render_config(key, new_document(new, snapshot), snapshot)

        message = new.change_description or f"Create configuration {key}"
        return self.writer.write_entry(
            principal, key, build, message, if_match=None, must_exist=False
        )

    def update(
        self,
        principal: Principal,
        entry_id: str,
        changes: ConfigChanges,
        if_match: int | None = None,
    ) -> Entry:
        key = self.writer.key_for_write(principal, Kind.CONFIG, entry_id)

        def build(current: Entry | None, snapshot: Snapshot) -> bytes:
            assert current is not None
            assert isinstance(current.document, ConfigDocument)
            document = current.document
            kept_value = changes.value in (None, MASK) or (
                changes.value is not None and self.box.same_secret(current, changes.value)
            )
            if document.value_type is ValueType.SECRET and kept_value:
                kept = configfile.with_fields(
                    document, changes.description, changes.schema, changes.tags, snapshot.schemas
                )
                if kept == document and current.served is current.updated:
                    return self.reads.blob(current.updated.blob)  # as sops wrote it
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
            return self.box.render_config(key, updated, snapshot)

        message = changes.change_description or f"Update configuration {key}"
        return self.writer.write_entry(principal, key, build, message, if_match, must_exist=True)

    def set(
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
        existing = self.reads.snapshot().get(Kind.CONFIG, new.application, env, new.key)
        if existing is None:
            if infer_type and not new.value_type:
                chosen = importing.infer_text(new.value).value
                new = NewConfig(**{**new.__dict__, "value_type": chosen})
            return self.create(principal, new), "created"
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
        entry = self.update(principal, existing.id, changes)
        return entry, UNCHANGED if entry.version == existing.version else "updated"

    def takes_secret(
        self,
        principal: Principal,
        application: str,
        environment: str,
        key: str,
        value_type: ValueType | None,
    ) -> bool:
        """Whether a ``set`` of this key writes a SECRET: ``value_type`` is SECRET, or no type
        is given and the existing value is a SECRET (its plaintext must then come from a safe
        channel, never the command line). Needs the write permission in the entry's scope
        (``PermissionDenied``)."""
        if value_type is not None:
            return value_type is ValueType.SECRET
        authorize(principal, "write", application, environment)
        existing = self.reads.snapshot().get(
            Kind.CONFIG, application, Environment(environment), key
        )
        return (
            existing is not None
            and isinstance(existing.document, ConfigDocument)
            and existing.document.value_type is ValueType.SECRET
        )


def entry_errors_of(new: NewConfig) -> list[FieldError]:
    return entry_errors(new.application, new.environment, new.key)
