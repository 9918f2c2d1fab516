"""Import and export use-cases: a file into one environment or several (one commit, all or
nothing), and an environment as a file (the file formats are ``core.formats``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from gitconfig.access.principals import Principal, authorize
from gitconfig.access.reveal import authorize_reveal
from gitconfig.core import credentials, importing, limits
from gitconfig.core import formats as transfer
from gitconfig.core.errors import BadRequest, Conflict, FieldError
from gitconfig.core.model import ConfigDocument, EntryKey, Environment, Kind, ValueType
from gitconfig.core.paths import key_error, scope_errors
from gitconfig.index.snapshot import Entry, Snapshot
from gitconfig.service.base import environments_of, within
from gitconfig.service.reads import Reads
from gitconfig.service.secretbox import SecretBox
from gitconfig.service.writer import Writer


class Transfer:
    """Import and export of configuration files: reads through ``reads``, one commit per
    import through ``writer``, SECRET values through ``box``."""

    def __init__(self, reads: Reads, writer: Writer, box: SecretBox) -> None:
        self.reads = reads
        self.writer = writer
        self.box = box

    def import_configs(
        self, principal: Principal, request: importing.ImportRequest
    ) -> importing.ImportResult:
        """Create or update the configurations of a file in one commit, all or nothing: any
        problem rejects the import with every problem listed, and nothing is written."""
        if errors := scope_errors(request.application, request.environment):
            raise BadRequest("invalid import", errors)
        authorize(principal, "write", request.application, request.environment)
        if not request.dry_run:
            self.writer.writable()
        types = importing.parse_types(request.types)
        items = transfer.parse(request.format, request.content)
        if too_many := limits.import_keys_error(len(items)):
            raise BadRequest("the file cannot be imported", [too_many])
        env = Environment(request.environment)
        keys = tuple(EntryKey(Kind.CONFIG, request.application, env, item.key) for item in items)
        first_seen: dict[EntryKey, str | None] = {}
        plans: dict[str | None, list[importing.Planned]] = {}  # by the snapshot's commit

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
        ) -> list[importing.Planned]:
            planned = importing.plan(
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
            entries = {key.key: entry for key, entry in current.items()}
            return secured(self.box, request, env, items, planned, entries, snapshot)

        changes = prepare(self.reads.snapshot())
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
            snapshot = self.writer.commit(principal, keys, prepare, message)
            changed = next(p.key for p in first if p.content is not None)
            entry = snapshot.get(Kind.CONFIG, request.application, env, changed)
            commit = entry.updated.commit.sha if entry is not None else snapshot.commit
        return importing.ImportResult(
            counts["created"], counts["updated"], counts["unchanged"], commit
        )

    async def export_revealed(
        self, principal: Principal, application: str, environment: str, fmt: transfer.Format
    ) -> transfer.Export:
        """``export_configs`` with ``reveal`` for a caller on an event loop: the SECRETs the
        caller may see are decrypted in a worker thread first (``SecretBox.ready``)."""
        if not scope_errors(application, environment):
            env = Environment(environment)
            entries = self.reads.snapshot().entries(Kind.CONFIG, application, env)
            if principal.may("read", application, environment):
                await self.box.ready(principal, entries)
        return self.export_configs(principal, application, environment, fmt, reveal=True)

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
        if errors := scope_errors(application, environment):
            raise BadRequest("invalid export", errors)
        authorize(principal, "read", application, environment)
        if reveal:
            authorize_reveal(principal, application, environment)
        snapshot = self.reads.snapshot()
        rows = []
        for entry in self.reads.entries(
            Kind.CONFIG, application, Environment(environment), snapshot
        ):
            document = entry.document
            assert isinstance(document, ConfigDocument)
            value = document.value
            if document.value_type is ValueType.SECRET:
                value = self.box.value_text(
                    principal, document, entry.key, entry.served.blob, reveal
                )
            rows.append(transfer.Row(entry.key.key, document.value_type, value))
        header = f"gitconfig export of {application}/{environment}"
        if snapshot.commit is not None:
            header += f" at {snapshot.commit[:12]}"
        return transfer.Export(transfer.render(fmt, rows, header), len(rows), snapshot.commit)

    def import_configs_in(
        self,
        principal: Principal,
        request: importing.ImportRequest,
        environments: Sequence[str],
    ) -> importing.ImportResult:
        """``import_configs`` into every one of ``environments`` as one commit, all or
        nothing. The keys reported are ``<ENV>/<key>``."""
        envs, errors = environments_of(environments)
        errors += [e for e in scope_errors(request.application, "DEV") if e.field != "environment"]
        if errors:
            raise BadRequest("invalid import", errors)
        for env in envs:
            authorize(principal, "write", request.application, env)
        if not request.dry_run:
            self.writer.writable()
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
                    env_plan = secured(self.box, request, env, items, env_plan, current, snapshot)
                    planned += [(env, p) for p in env_plan]
                except BadRequest as exc:
                    problems += [FieldError(within(env, e.field), e.message) for e in exc.errors]
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

        changes = prepare(self.reads.snapshot())
        planned = plan(self.reads.snapshot())
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
            snapshot = self.writer.commit(principal, keys, prepare, message)
            env, changed = next((env, p) for env, p in planned if p.content is not None)
            entry = snapshot.get(Kind.CONFIG, request.application, env, changed.key)
            commit = entry.updated.commit.sha if entry is not None else snapshot.commit
        return importing.ImportResult(
            counts["created"], counts["updated"], counts["unchanged"], commit
        )

    def import_to(
        self,
        principal: Principal,
        request: importing.ImportRequest,
        environments: Sequence[str] | None = None,
    ) -> importing.ImportResult:
        """Import into ``request.environment`` alone (``import_configs``) or, when
        ``environments`` is given or ``request.environment`` is empty, into every one of
        them, ``request.environment`` first, as one commit (``import_configs_in``: keys
        reported as ``ENV/key``; ``BadRequest`` when no environment is named at all)."""
        if environments is None and request.environment:
            return self.import_configs(principal, request)
        names = [request.environment] if request.environment else []
        return self.import_configs_in(principal, request, names + list(environments or ()))


def secured(
    box: SecretBox,
    request: importing.ImportRequest,
    env: Environment,
    items: Sequence[transfer.Item],
    planned: Sequence[importing.Planned],
    current: Mapping[str, Entry | None],
    snapshot: Snapshot,
) -> list[importing.Planned]:
    """An import's plan for ``env`` as it may be written: values that look like plaintext
    credentials refused (``BadRequest``) unless ``allow_plaintext``, a SECRET already holding
    its plaintext left unchanged, and every other SECRET's file encrypted by sops (never a
    plaintext SECRET in a commit; ``BadRequest`` when no creation rule covers it).
    ``current`` is the entry of each key in ``env``. One function for the import into one
    environment and the import into several."""
    if not request.allow_plaintext:
        refuse_plaintext_credentials(items, planned)
    unchanged = {
        p.key
        for p in planned
        if p.value_type is ValueType.SECRET
        and p.content is not None
        and (entry := current.get(p.key))
        and entry.served is entry.updated
        and box.same_secret(entry, secret_text(items, p.key))
    }
    return [
        replace(p, status="unchanged", content=None)
        if p.key in unchanged
        else _sealed(box, request, env, p, snapshot)
        for p in planned
    ]


def _sealed(
    box: SecretBox,
    request: importing.ImportRequest,
    env: Environment,
    planned: importing.Planned,
    snapshot: Snapshot,
) -> importing.Planned:
    """``planned`` with a SECRET's plaintext file encrypted by sops."""
    if planned.value_type is not ValueType.SECRET or planned.content is None:
        return planned
    path = EntryKey(Kind.CONFIG, request.application, env, planned.key).path
    try:
        sealed = box.encrypt_file(path, planned.content, snapshot)
    except BadRequest as exc:
        raise BadRequest(exc.message, [FieldError(planned.key, exc.message)]) from None
    return replace(planned, content=sealed)


def refuse_plaintext_credentials(
    items: Sequence[transfer.Item], planned: Sequence[importing.Planned]
) -> None:
    """Raises ``BadRequest`` naming every planned non-SECRET value that looks like a
    plaintext credential (``credentials``), never quoting it."""
    values = {item.key: item.value for item in items}
    errors = []
    for plan in planned:
        if plan.content is None or plan.value_type is ValueType.SECRET:
            continue
        found = credentials.value_findings(plan.key, values.get(plan.key))
        if found:
            message = (
                f"looks like a plaintext credential ({', '.join(found)}): import it as a SECRET "
                f"(--type {plan.key}=SECRET) or allow plaintext (--allow-plaintext)"
            )
            errors.append(FieldError(plan.key, message))
    if errors:
        raise BadRequest(
            f"import rejected: {len(errors)} likely plaintext credential(s), nothing changed",
            errors,
        )


def secret_text(items: Sequence[transfer.Item], key: str) -> str:
    """The plaintext an import gives a SECRET key ("" if it cannot be text)."""
    for item in items:
        if item.key == key:
            try:
                return importing.value_text(item, ValueType.SECRET)
            except ValueError:
                return ""
    return ""
