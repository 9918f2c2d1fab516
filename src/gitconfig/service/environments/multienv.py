"""Writes to several environments at once, as one commit: ``set`` of one key, and an import.

Both are all or nothing: any environment's problem refuses the whole write (``BadRequest``
listing every problem, each field prefixed with its environment) and nothing is committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from gitconfig.access.principals import Principal, authorize
from gitconfig.core import configfile, importing, limits
from gitconfig.core import formats as transfer
from gitconfig.core.configfile import MASK
from gitconfig.core.errors import BadRequest, Conflict, FieldError
from gitconfig.core.model import ConfigDocument, EntryKey, Environment, Kind, ValueType
from gitconfig.core.paths import entry_errors, environment_error, key_error, scope_errors
from gitconfig.index.snapshot import Entry, Snapshot
from gitconfig.service.base import ServiceBase
from gitconfig.service.configs import NewConfig, new_document
from gitconfig.service.transfer import secured


@dataclass(frozen=True)
class MultiSet:
    """The outcome per environment (``created``, ``updated``, ``unchanged``), the entries as
    they now are, and the one commit (None: nothing changed)."""

    outcomes: dict[str, str]
    entries: dict[str, Entry]
    commit: str | None


def _environments(environments: Sequence[str]) -> tuple[list[Environment], list[FieldError]]:
    errors = [
        error
        for index, env in enumerate(environments)
        if (error := environment_error(env, f"environments.{index}")) is not None
    ]
    if not environments:
        errors.append(FieldError("environments", "name at least one environment"))
    if errors:
        return [], errors
    return [Environment(env) for env in dict.fromkeys(environments)], []


class MultiEnvUseCases(ServiceBase):
    def set_config_in(
        self,
        principal: Principal,
        new: NewConfig,
        environments: Sequence[str],
        infer_type: bool = False,
    ) -> MultiSet:
        """``set_config`` in every one of ``environments`` as one commit: create the key where
        it is absent, update its value (and the other given fields) where it exists. The
        type of an existing value never changes (``BadRequest``); with ``infer_type`` a new
        value's type is inferred from its text when ``value_type`` is empty."""
        envs, errors = _environments(environments)
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
                        FieldError(_within(key.environment, e.field), e.message)
                        for e in exc.errors or [FieldError("", exc.message)]
                    ]
                    continue
                if current is not None and content == self.store.read_blob(current.updated.blob):
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
        snapshot = self.commit(principal, keys, prepare, message)
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
            return self.render_config(key, new_document(new, snapshot), snapshot)
        old = current.document
        assert isinstance(old, ConfigDocument)
        if old.value_type is ValueType.SECRET and (
            new.value == MASK or self.same_secret(current, new.value)
        ):
            kept = configfile.with_fields(
                old, new.description, new.schema, new.tags, snapshot.schemas
            )
            if kept == old and current.served is current.updated:
                return self.store.read_blob(current.updated.blob)  # as sops wrote it
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
        return self.render_config(key, document, snapshot)

    def import_configs_in(
        self,
        principal: Principal,
        request: importing.ImportRequest,
        environments: Sequence[str],
    ) -> importing.ImportResult:
        """``import_configs`` into every one of ``environments`` as one commit, all or
        nothing. The keys reported are ``<ENV>/<key>``."""
        envs, errors = _environments(environments)
        errors += [e for e in scope_errors(request.application, "DEV") if e.field != "environment"]
        if errors:
            raise BadRequest("invalid import", errors)
        for env in envs:
            authorize(principal, "write", request.application, env)
        types = importing.parse_types(request.types)
        items = transfer.parse(request.format, request.content)
        if too_many := limits.import_keys_error(len(items)):
            raise BadRequest("the file cannot be imported", [too_many])
        keys = tuple(
            EntryKey(Kind.CONFIG, request.application, env, item.key)
            for env in envs
            for item in items
            if key_error(item.key) is None
        )
        first_seen: dict[EntryKey, str | None] = {}
        plans: dict[str | None, list[tuple[Environment, importing.Planned]]] = {}

        def plan(snapshot: Snapshot) -> list[tuple[Environment, importing.Planned]]:
            found = plans.get(snapshot.commit)
            if found is not None:
                return found
            planned: list[tuple[Environment, importing.Planned]] = []
            problems: list[FieldError] = []
            for env in envs:
                current = {key.key: snapshot.get_key(key) for key in keys if key.environment is env}
                invalid = {k for k, e in current.items() if e and e.served is not e.updated}
                try:
                    env_plan = importing.plan(
                        items,
                        types,
                        {
                            k: e.document
                            for k, e in current.items()
                            if e is not None and isinstance(e.document, ConfigDocument)
                        },
                        snapshot.schemas,
                        invalid=invalid,
                    )
                    env_plan = secured(self, request, env, items, env_plan, current, snapshot)
                    planned += [(env, p) for p in env_plan]
                except BadRequest as exc:
                    problems += [FieldError(_within(env, e.field), e.message) for e in exc.errors]
            if problems:
                raise BadRequest(f"import rejected: {len(problems)} problem(s)", problems)
            plans[snapshot.commit] = planned
            return planned

        def prepare(snapshot: Snapshot) -> dict[str, bytes | None]:
            blobs = {key: e.updated.blob if (e := snapshot.get_key(key)) else None for key in keys}
            if not first_seen:
                first_seen.update(blobs)
            elif blobs != first_seen:
                raise Conflict("a key was changed concurrently; nothing was imported, retry")
            return {
                EntryKey(Kind.CONFIG, request.application, env, p.key).path: p.content
                for env, p in plan(snapshot)
                if p.content is not None
            }

        changes = prepare(self.snapshot())
        planned = plan(self.snapshot())
        counts = {
            status: [f"{env.value}/{p.key}" for env, p in planned if p.status == status]
            for status in ("created", "updated", "unchanged")
        }
        commit = None
        if changes and not request.dry_run:
            names = ", ".join(env.value for env in envs)
            message = request.message or (
                f"Import {len(changes)} configuration(s) into {request.application} in {names}"
                f" ({len(counts['created'])} created, {len(counts['updated'])} updated)"
            )
            snapshot = self.commit(principal, keys, prepare, message)
            env, changed = next((env, p) for env, p in planned if p.content is not None)
            entry = snapshot.get(Kind.CONFIG, request.application, env, changed.key)
            commit = entry.updated.commit.sha if entry is not None else snapshot.commit
        return importing.ImportResult(
            counts["created"], counts["updated"], counts["unchanged"], commit
        )


def _within(env: Environment, field: str) -> str:
    return f"{env.value}.{field}" if field else env.value
