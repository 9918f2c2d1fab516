"""``set`` of one key in several environments at once, as one commit (the import into
several is ``transfer``'s).

All or nothing: any environment's problem refuses the whole write (``BadRequest`` listing
every problem, each field prefixed with its environment) and nothing is committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from gitconfig.access.principals import Principal, authorize
from gitconfig.core import configfile, importing
from gitconfig.core.configfile import MASK
from gitconfig.core.errors import BadRequest, FieldError
from gitconfig.core.model import ConfigDocument, EntryKey, Kind, ValueType
from gitconfig.core.paths import entry_errors
from gitconfig.index.snapshot import Entry, Snapshot
from gitconfig.service.base import NewConfig, environments_of, new_document, within
from gitconfig.service.reads import Reads
from gitconfig.service.secretbox import SecretBox
from gitconfig.service.writer import Writer


@dataclass(frozen=True)
class MultiSet:
    """The outcome per environment (``created``, ``updated``, ``unchanged``), the entries as
    they now are, and the one commit (None: nothing changed)."""

    outcomes: dict[str, str]
    entries: dict[str, Entry]
    commit: str | None


class MultiSetter:
    """Writes of one key to several environments, read from ``reads``, committed once by
    ``writer``; SECRET values through ``box``."""

    def __init__(self, reads: Reads, writer: Writer, box: SecretBox) -> None:
        self.reads = reads
        self.writer = writer
        self.box = box

    def set_in(
        self,
        principal: Principal,
        new: NewConfig,
        environments: Sequence[str],
        infer_type: bool = False,
    ) -> MultiSet:
        """``Configs.set`` in every one of ``environments`` as one commit: create the key where
        it is absent, update its value (and the other given fields) where it exists. The
        type of an existing value never changes (``BadRequest``); with ``infer_type`` a new
        value's type is inferred from its text when ``value_type`` is empty."""
        envs, errors = environments_of(environments)
        errors += [
            e for e in entry_errors(new.application, "DEV", new.key) if e.field != "environment"
        ]
        if errors:
            raise BadRequest("invalid configuration", errors)
        for env in envs:
            authorize(principal, "write", new.application, env)
        keys = tuple(EntryKey(Kind.CONFIG, new.application, env, new.key) for env in envs)
        outcomes: dict[str, str] = {}

        def prepare(snapshot: Snapshot) -> dict[str, bytes | None]:
            outcomes.clear()
            changes: dict[str, bytes | None] = {}
            problems: list[FieldError] = []
            for key in keys:
                current = snapshot.get_key(key)
                try:
                    content = self._set_content(snapshot, key, new, current, infer_type)
                except BadRequest as exc:
                    problems += [
                        FieldError(within(key.environment, e.field), e.message)
                        for e in exc.errors or [FieldError("", exc.message)]
                    ]
                    continue
                if current is not None and content == self.reads.blob(current.updated.blob):
                    outcomes[key.environment.value] = "unchanged"
                else:
                    outcomes[key.environment.value] = "created" if current is None else "updated"
                    changes[key.path] = content
            if problems:
                raise BadRequest("set refused: nothing was written", problems)
            return changes

        names = ", ".join(env.value for env in envs)
        message = new.change_description or (
            f"Set configuration {new.application}/{new.key} in {names}"
        )
        snapshot = self.writer.commit(principal, keys, prepare, message)
        entries = {
            key.environment.value: entry
            for key in keys
            if (entry := snapshot.get_key(key)) is not None
        }
        written = [
            entries[env].updated.commit.sha
            for env, outcome in outcomes.items()
            if outcome != "unchanged" and env in entries
        ]
        return MultiSet(dict(outcomes), entries, written[0] if written else None)

    def _set_content(
        self,
        snapshot: Snapshot,
        key: EntryKey,
        new: NewConfig,
        current: Entry | None,
        infer_type: bool,
    ) -> bytes:
        """The file ``new`` makes at ``key``: a SECRET's is encrypted by sops, as a single
        ``set`` does (BadRequest when no ``.sops.yaml`` rule covers ``key``), and an existing
        SECRET given its own plaintext or the mask keeps its value."""
        if current is None:
            if infer_type and not new.value_type:
                new = replace(new, value_type=importing.infer_text(new.value).value)
            return self.box.render_config(key, new_document(new, snapshot), snapshot)
        old = current.document
        assert isinstance(old, ConfigDocument)
        if old.value_type is ValueType.SECRET and (
            new.value == MASK or self.box.same_secret(current, new.value)
        ):
            kept = configfile.with_fields(
                old, new.description, new.schema, new.tags, snapshot.schemas
            )
            if kept == old and current.served is current.updated:
                return self.reads.blob(current.updated.blob)  # as sops wrote it
            return configfile.render(kept)
        if new.value_type and new.value_type != old.value_type.value:
            raise BadRequest(
                "type change",
                [
                    FieldError(
                        "valueType",
                        f"is {old.value_type.value}: the type of an existing value cannot "
                        "change (delete it and set it again)",
                    )
                ],
            )
        document = configfile.from_request(
            value_type=old.value_type.value,
            value=new.value,
            description=new.description if new.description is not None else old.description,
            schema=new.schema if new.schema is not None else configfile.schema_text(old),
            tags=new.tags if new.tags is not None else list(old.tags),
            schemas=snapshot.schemas,
        )
        return self.box.render_config(key, document, snapshot)
