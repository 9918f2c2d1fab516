"""``gitconfig import`` and ``gitconfig export``: an application's configurations in one
environment from and to JSON, YAML, .env and .properties files (``gitconfig.core.formats``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gitconfig.core import formats as transfer
from gitconfig.core import importing
from gitconfig.core.errors import BadRequest, FieldError
from gitconfig.core.formats import Format
from gitconfig.core.importing import ImportRequest

from . import output
from .local import (
    Application,
    Branch,
    Env,
    Message,
    OutputOption,
    Push,
    Remote,
    Repo,
    Reveal,
    add,
    open_local,
    pushed,
)
from .output import Output

FormatOption = Annotated[
    Format | None,
    typer.Option("--format", "-f", help="json, yaml, env or properties (default: by file name)"),
]


def register(app: typer.Typer) -> None:
    add(app, import_)
    add(app, export)


def _types(values: list[str]) -> dict[str, str]:
    """``KEY=TYPE`` for one key, a bare ``TYPE`` for every key."""
    types: dict[str, str] = {}
    for value in values:
        key, separator, name = value.rpartition("=")
        if separator and not key:
            raise BadRequest("invalid --type", [FieldError(value, "expected KEY=TYPE or TYPE")])
        types[key if separator else importing.ALL_KEYS] = name
    return types


def import_(
    file: Annotated[str, typer.Argument(help="The file to import; - reads stdin")],
    application: Application,
    environment: Env,
    fmt: FormatOption = None,
    types: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            "-t",
            help="KEY=TYPE names one key's type, TYPE every key's (repeatable; default: an "
            "existing key keeps its type, a new one's is inferred)",
        ),
    ] = None,
    message: Message = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report, write nothing")
    ] = False,
    allow_plaintext: Annotated[
        bool,
        typer.Option(
            "--allow-plaintext",
            help="Accept values that look like plaintext credentials (refused otherwise)",
        ),
    ] = False,
    push: Push = False,
    remote: Remote = "origin",
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """Create or update many configuration values in one commit, all or nothing: any bad
    entry rejects the whole file, with every problem listed.

    Keys typed SECRET (--type KEY=SECRET), and existing SECRETs, are encrypted with sops for
    the repository's .sops.yaml; a value that looks like a plaintext credential (password,
    token, a cloud key...) rejects the import unless --allow-plaintext."""
    chosen = fmt or transfer.format_of(file if file != "-" else "")
    if chosen is None:
        raise BadRequest(f"cannot tell the format of {file}: give --format")
    if file == "-":
        content = typer.get_text_stream("stdin").read()
    else:
        try:
            content = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadRequest(f"cannot read {file}: {exc}") from exc
    local = open_local(
        repo, branch, write=not dry_run, push=remote if push and not dry_run else None
    )
    result = local.service.transfer.import_configs(
        local.principal,
        ImportRequest(
            application=application,
            environment=environment.value,
            format=chosen,
            content=content,
            types=_types(types or []),
            message=message,
            dry_run=dry_run,
            allow_plaintext=allow_plaintext,
        ),
    )
    if out is Output.JSON:
        output.emit(
            {
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "commit": result.commit,
                "dryRun": dry_run,
            }
        )
    else:
        rows = [
            [status, key]
            for status, keys in (("created", result.created), ("updated", result.updated))
            for key in keys
        ]
        if rows:
            typer.echo(output.table(["CHANGE", "KEY"], rows))
        summary = (
            f"{len(result.created)} created, {len(result.updated)} updated, "
            f"{len(result.unchanged)} unchanged"
        )
        if dry_run:
            summary += " (dry run: nothing written)"
        elif result.commit is not None:
            summary += f" in commit {result.commit[:12]}"
        typer.echo(summary)
    if result.commit is not None:
        pushed(local, push, remote)


def export(
    application: Application,
    environment: Env,
    fmt: Annotated[
        Format | None,
        typer.Option(
            "--format",
            "-f",
            help="json, yaml, env or properties (default: from the --file name, else json)",
        ),
    ] = None,
    reveal: Reveal = False,
    file: Annotated[
        Path | None, typer.Option("--file", help="Write here instead of to stdout")
    ] = None,
    repo: Repo = Path(),
    branch: Branch = None,
) -> None:
    """Write an application's configuration values in one environment as a file (SECRET
    values masked unless --reveal)."""
    chosen = fmt or (transfer.format_of(file.name) if file is not None else None) or Format.JSON
    local = open_local(repo, branch, reveal=reveal)
    export = local.service.transfer.export_configs(
        local.principal, application, environment.value, chosen, reveal
    )
    if file is None:
        typer.echo(export.content, nl=False)
    else:
        try:
            file.write_text(export.content, encoding="utf-8")
        except OSError as exc:
            raise BadRequest(f"cannot write {file}: {exc.strerror}") from exc
    typer.echo(f"exported {export.entries} configuration value(s)", err=True)
