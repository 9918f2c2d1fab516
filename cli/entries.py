"""get, set, delete, list, history, show, diff, rollback: configuration values (and, with
``--flag``, feature flags) of a local repository."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gitconfig.core import configfile, flagfile, valuediff
from gitconfig.core.errors import BadRequest
from gitconfig.core.model import ConfigDocument, Environment, FlagDocument, ValueType
from gitconfig.index.snapshot import Entry
from gitconfig.service import review
from gitconfig.service.facade import NewConfig, VersionView

from . import output
from .local import (
    Application,
    Branch,
    Env,
    Flag,
    Local,
    Message,
    OutputOption,
    Push,
    Remote,
    Repo,
    Reveal,
    add,
    kind_of,
    open_local,
    open_store,
    pushed,
)
from .output import Output

Key = Annotated[str, typer.Argument(help="The key")]


def register(app: typer.Typer) -> None:
    for command in (get, set_, delete, list_, history, show, diff, rollback):
        add(app, command)


# -- describing entries ----------------------------------------------------------------------


def describe(local: Local, entry: Entry) -> dict[str, Any]:
    """An entry as the REST API shows it (camelCase fields)."""
    document = entry.document
    data: dict[str, Any] = {
        "id": entry.id,
        "key": entry.key.key,
        "application": entry.key.application,
        "environment": entry.key.environment.value,
    }
    if isinstance(document, ConfigDocument):
        data |= {
            "valueType": document.value_type.value,
            "value": local.service.value_text(local.principal, document),
            "description": document.description,
            "schema": configfile.schema_text(document),
            "tags": list(document.tags),
        }
    else:
        assert isinstance(document, FlagDocument)
        mapping = flagfile.to_mapping(document)
        data |= {
            "enabled": document.enabled,
            "description": document.description,
            "value": document.value,
            "rules": mapping.get("rules", []),
            "tags": list(document.tags),
        }
    return data | {
        "version": entry.version,
        "createdBy": entry.created.commit.author.name,
        "createdAt": entry.created.commit.time,
        "updatedBy": entry.updated.commit.author.name,
        "updatedAt": entry.updated.commit.time,
        "commit": entry.updated.commit.sha,
    }


def show_entry(local: Local, entry: Entry, out: Output) -> None:
    data = describe(local, entry)
    if out is Output.JSON:
        output.emit(data)
    else:
        typer.echo(output.fields([(name, value) for name, value in data.items() if name != "id"]))


def done(verb: str, entry: Entry | None, label: str, out: Output, local: Local) -> None:
    """Report a write: the entry as it now is (or the deletion)."""
    if out is Output.JSON:
        output.emit({"result": verb, "entry": describe(local, entry) if entry else None})
        return
    if entry is None:
        typer.echo(f"{verb} {label}")
    else:
        sha = entry.updated.commit.sha[:12]
        typer.echo(f"{verb} {label}: version {entry.version} (commit {sha})")


def read_text_option(value: str) -> str:
    """``@path`` reads a file, ``@-`` stdin; anything else is the text itself."""
    if value == "@-":
        return typer.get_text_stream("stdin").read()
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise BadRequest(f"cannot read {value[1:]}: {exc.strerror}") from exc
    return value


# -- commands --------------------------------------------------------------------------------


def get(
    key: Key,
    application: Application,
    environment: Env,
    flag: Flag = False,
    reveal: Reveal = False,
    raw: Annotated[bool, typer.Option("--raw", help="Print only the value")] = False,
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """Show one configuration value (or feature flag)."""
    local = open_local(repo, branch, reveal=reveal)
    entry = local.entry(kind_of(flag), application, environment, key)
    if raw:
        value = describe(local, entry)["enabled" if flag else "value"]
        typer.echo(output.text(value))
    else:
        show_entry(local, entry, out)


def set_(
    key: Key,
    value: Annotated[str, typer.Argument(help='The value, as text: 15, true, {"a": 1}, ...')],
    application: Application,
    environment: Env,
    value_type: Annotated[
        ValueType | None,
        typer.Option(
            "--type",
            "-t",
            case_sensitive=False,
            help="STRING, NUMBER, BOOLEAN or JSON (default: the existing type, or inferred)",
        ),
    ] = None,
    description: Annotated[str | None, typer.Option(help="What the value is for")] = None,
    schema: Annotated[
        str | None,
        typer.Option(help='A JSON Schema: JSON text, {"$ref": "schemas/x.json"} or @file'),
    ] = None,
    tags: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable)")] = None,
    message: Message = None,
    push: Push = False,
    remote: Remote = "origin",
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """Create or update a configuration value: one commit, authored by you.

    Without --type a new value's type is inferred: true/false BOOLEAN, a canonical number
    NUMBER, a JSON object or array JSON, anything else STRING."""
    local = open_local(repo, branch, write=True, push=remote if push else None)
    schema_text = read_text_option(schema) if schema is not None else None
    label = f"{application}/{environment.value}/{key}"
    new = NewConfig(
        key=key,
        application=application,
        environment=environment.value,
        value_type=value_type.value if value_type is not None else "",
        value=value,
        description=description,
        schema=schema_text,
        tags=tags,
        change_description=message,
    )
    entry, verb = local.service.set_config(local.principal, new, infer_type=True)
    done(verb, entry, label, out, local)
    if verb != "unchanged":
        pushed(local, push, remote)


def delete(
    key: Key,
    application: Application,
    environment: Env,
    flag: Flag = False,
    push: Push = False,
    remote: Remote = "origin",
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """Delete a configuration value (or feature flag): one commit, authored by you."""
    local = open_local(repo, branch, write=True, push=remote if push else None)
    entry = local.entry(kind_of(flag), application, environment, key)
    local.service.delete(local.principal, kind_of(flag), entry.id)
    done("deleted", None, f"{application}/{environment.value}/{key}", out, local)
    pushed(local, push, remote)


def list_(
    application: Annotated[
        str | None, typer.Option("--application", "-a", help="Only this application")
    ] = None,
    environment: Annotated[
        Environment | None,
        typer.Option("--environment", "-e", help="Only this environment", case_sensitive=False),
    ] = None,
    flag: Annotated[bool, typer.Option("--flag", "--flags", help="List feature flags")] = False,
    reveal: Reveal = False,
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """List configuration values (or feature flags), by application, environment and key."""
    local = open_local(repo, branch, reveal=reveal)
    env = environment.value if environment else None
    entries: list[Entry] = []
    page = 0
    while True:
        found = local.service.list_entries(
            local.principal, kind_of(flag), application, env, page, 1000
        )
        entries += found.content
        page += 1
        if page >= found.total_pages:
            break
    described = [describe(local, entry) for entry in entries]
    if out is Output.JSON:
        output.emit(described)
        return
    if flag:
        headers = ["APPLICATION", "ENV", "KEY", "ENABLED", "RULES", "VERSION", "UPDATED"]
        rows = [
            [d["application"], d["environment"], d["key"], d["enabled"], len(d["rules"])]
            + [d["version"], d["updatedAt"]]
            for d in described
        ]
    else:
        headers = ["APPLICATION", "ENV", "KEY", "TYPE", "VALUE", "VERSION", "UPDATED"]
        rows = [
            [d["application"], d["environment"], d["key"], d["valueType"], d["value"]]
            + [d["version"], d["updatedAt"]]
            for d in described
        ]
    typer.echo(output.table(headers, rows) if rows else "no entries")


def _version_data(local: Local, view: VersionView) -> dict[str, Any]:
    document = view.document
    if isinstance(document, ConfigDocument):
        value: Any = local.service.value_text(local.principal, document)
    elif isinstance(document, FlagDocument):
        value = flagfile.to_mapping(document)
    else:
        value = None  # that version's file does not validate
    commit = view.version.commit
    return {
        "version": view.version.number,
        "commit": commit.sha,
        "author": commit.author.name,
        "email": commit.author.email,
        "date": commit.time,
        "message": commit.message.strip(),
        "value": value,
    }


def history(
    key: Key,
    application: Application,
    environment: Env,
    flag: Flag = False,
    reveal: Reveal = False,
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """Every version of a value (or flag): the commits that changed it, oldest first."""
    local = open_local(repo, branch, reveal=reveal)
    entry = local.entry(kind_of(flag), application, environment, key)
    views = local.service.versions(local.principal, kind_of(flag), entry.id)
    data = [_version_data(local, view) for view in views]
    if out is Output.JSON:
        output.emit(data)
        return
    rows = [
        [d["version"], d["commit"][:12], d["author"], d["date"], d["message"].splitlines()[0]]
        + [d["value"]]
        for d in data
    ]
    headers = ["VERSION", "COMMIT", "AUTHOR", "DATE", "MESSAGE", "VALUE"]
    typer.echo(output.table(headers, rows))


def show(
    key: Key,
    application: Application,
    environment: Env,
    version: Annotated[
        str | None,
        typer.Option("--version", "-v", help="A version number or commit sha (default: latest)"),
    ] = None,
    flag: Flag = False,
    reveal: Reveal = False,
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """One version of a value (or flag): its content and the commit that made it."""
    local = open_local(repo, branch, reveal=reveal)
    entry = local.entry(kind_of(flag), application, environment, key)
    ref = version if version is not None else str(entry.version)
    view = local.service.version(local.principal, kind_of(flag), entry.id, ref)
    data = {"key": str(entry.key), **_version_data(local, view)}
    if out is Output.JSON:
        output.emit(data)
    else:
        typer.echo(output.fields(list(data.items())))


def diff(
    base: Annotated[
        str | None,
        typer.Argument(help="BASE, BASE..HEAD or BASE...HEAD (default: the branch's parent)"),
    ] = None,
    head: Annotated[str | None, typer.Argument(help="HEAD (default: the branch)")] = None,
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """What changed between two commits, per application, environment and key: each
    field's old and new value (SECRET values never shown)."""
    store, branch_name, _ = open_store(repo, branch)
    tip = head or branch_name or "HEAD"
    spec = base if base is not None and ".." in base else f"{base or tip + '~1'}..{tip}"
    if head is not None and base is not None and ".." in base:
        raise BadRequest("give BASE HEAD or BASE..HEAD, not both")
    changes = review.parse_range(store, spec)
    diffs = valuediff.diff(store.diff(changes.base, changes.head), store.read_blob)
    if out is Output.JSON:
        output.emit([_diff_data(d) for d in diffs])
        return
    if not diffs:
        typer.echo("no changes")
        return
    rows = []
    for d in diffs:
        name = d.path if d.key is None else f"{d.application}/{d.environment}/{d.key}"
        shown = d.fields if d.change == "changed" else _summary(d)
        for index, change in enumerate(shown or (valuediff.FieldChange("", None, None),)):
            first = index == 0
            old = "" if change.old is None else change.old
            new = "" if change.new is None else change.new
            rows.append(
                [d.change if first else "", d.kind if first else "", name if first else ""]
                + [change.field, old, new]
            )
    typer.echo(output.table(["CHANGE", "KIND", "ENTRY", "FIELD", "OLD", "NEW"], rows))


def _summary(d: valuediff.EntryDiff) -> tuple[valuediff.FieldChange, ...]:
    """The fields worth a line for an added or removed entry."""
    wanted = {"config": ("type", "value"), "flag": ("enabled",)}.get(d.kind, ("content",))
    return tuple(change for change in d.fields if change.field in wanted)


def _diff_data(d: valuediff.EntryDiff) -> dict[str, Any]:
    return {
        "change": d.change,
        "kind": d.kind,
        "path": d.path,
        "application": d.application,
        "environment": d.environment,
        "key": d.key,
        "fields": [{"field": f.field, "old": f.old, "new": f.new} for f in d.fields],
    }


def rollback(
    key: Key,
    application: Application,
    environment: Env,
    to: Annotated[str, typer.Option("--to", help="The version number or commit sha to restore")],
    flag: Flag = False,
    message: Message = None,
    push: Push = False,
    remote: Remote = "origin",
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """Restore an earlier version as a new commit (the history grows, nothing is rewritten)."""
    local = open_local(repo, branch, write=True, push=remote if push else None)
    entry = local.entry(kind_of(flag), application, environment, key)
    restored = local.service.rollback(
        local.principal, kind_of(flag), entry.id, to, change_description=message
    )
    verb = "unchanged" if restored.version == entry.version else f"rolled back to {to}"
    done(verb, restored, f"{application}/{environment.value}/{key}", out, local)
    if restored.version != entry.version:
        pushed(local, push, remote)
