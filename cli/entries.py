"""get, set, delete, list: configuration values (and, with ``--flag``, feature flags) of a
local repository; ``describe`` and ``done``, how every command shows an entry and a write."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gitconfig.core import configfile, flagfile
from gitconfig.core.errors import BadRequest
from gitconfig.core.model import ConfigDocument, Environment, FlagDocument, ValueType
from gitconfig.index.snapshot import Entry
from gitconfig.service import NewConfig

from . import environments, output
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
    pushed,
)
from .output import Output

Key = Annotated[str, typer.Argument(help="The key")]


def register(app: typer.Typer) -> None:
    for command in (get, set_, delete, list_):
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
            "value": local.service.box.value_text(
                local.principal, document, entry.key, entry.served.blob, local.reveal
            ),
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


def secret_value(given: str | None, label: str) -> str:
    """A SECRET's plaintext: standard input when piped (one trailing newline dropped), else
    a prompt without echo, asked twice. Never the command line, which ``ps`` shows."""
    if given is not None:
        raise BadRequest(
            "a SECRET value is not taken from the command line (ps would show it): "
            "pipe it on standard input or answer the prompt, e.g. gitconfig set ... < file"
        )
    stdin = typer.get_text_stream("stdin")
    if stdin.isatty():
        text: str = typer.prompt(f"Value of {label}", hide_input=True, confirmation_prompt=True)
        return text
    text = stdin.read()
    return text[:-1] if text.endswith("\n") else text


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
    why: Annotated[
        bool,
        typer.Option("--why", help="Also show who set the value, when, and through what merge"),
    ] = False,
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """Show one configuration value (or feature flag)."""
    local = open_local(repo, branch, reveal=reveal)
    entry = local.entry(kind_of(flag), application, environment, key)
    if why and not raw:
        provenance = environments.why(local, entry)
        if out is Output.JSON:
            output.emit(describe(local, entry) | {"provenance": provenance})
        else:
            show_entry(local, entry, out)
            typer.echo(output.fields(environments.why_lines(provenance)))
        return
    if raw:
        value = describe(local, entry)["enabled" if flag else "value"]
        typer.echo(output.text(value))
    else:
        show_entry(local, entry, out)


def set_(
    key: Key,
    value: Annotated[
        str | None,
        typer.Argument(
            help='The value, as text: 15, true, {"a": 1}, ... (a SECRET: from stdin or a prompt)'
        ),
    ] = None,
    *,
    application: Application,
    environment: Annotated[
        list[Environment],
        typer.Option(
            "--environment",
            "-e",
            case_sensitive=False,
            help="Environment (repeat it to set several in one commit)",
        ),
    ],
    value_type: Annotated[
        ValueType | None,
        typer.Option(
            "--type",
            "-t",
            case_sensitive=False,
            help="STRING, NUMBER, BOOLEAN, JSON or SECRET (default: the existing type, or"
            " inferred)",
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
    NUMBER, a JSON object or array JSON, anything else STRING. With several -e, every
    environment is written in one commit (all or nothing).

    A SECRET's value is never taken from the command line, where ps would show it: it is
    read from standard input (piped) or a prompt that does not echo, and committed
    encrypted by sops for the repository's .sops.yaml."""
    local = open_local(repo, branch, write=True, push=remote if push else None)
    schema_text = read_text_option(schema) if schema is not None else None
    label = f"{application}/{environment[0].value}/{key}"
    secret = local.service.configs.takes_secret(
        local.principal, application, environment[0].value, key, value_type
    )
    value = secret_value(value, label) if secret else value
    if value is None:
        raise BadRequest("give the value (a SECRET's comes from standard input or a prompt)")
    new = NewConfig(
        key=key,
        application=application,
        environment=environment[0].value,
        value_type=value_type.value if value_type is not None else "",
        value=value,
        description=description,
        schema=schema_text,
        tags=tags,
        change_description=message,
    )
    if len(set(environment)) > 1:
        names = [env.value for env in environment]
        environments.set_many(local, new, names, out, push, remote)
        return
    entry, verb = local.service.configs.set(local.principal, new, infer_type=True)
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
    local.service.writer.delete(local.principal, kind_of(flag), entry.id)
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
        found = local.service.reads.list_entries(
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
            [
                d["application"],
                d["environment"],
                d["key"],
                d["enabled"],
                len(d["rules"]),
                d["version"],
                d["updatedAt"],
            ]
            for d in described
        ]
    else:
        headers = ["APPLICATION", "ENV", "KEY", "TYPE", "VALUE", "VERSION", "UPDATED"]
        rows = [
            [
                d["application"],
                d["environment"],
                d["key"],
                d["valueType"],
                d["value"],
                d["version"],
                d["updatedAt"],
            ]
            for d in described
        ]
    typer.echo(output.table(headers, rows) if rows else "no entries")
