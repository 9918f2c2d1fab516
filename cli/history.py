"""history, show, diff, rollback: the versions of a value (or flag) and of the repository."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gitconfig.core import flagfile, valuediff
from gitconfig.core.errors import BadRequest
from gitconfig.core.model import ConfigDocument, FlagDocument
from gitconfig.service import VersionView, review

from . import environments, output
from .entries import Key, done
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


def register(app: typer.Typer) -> None:
    for command in (history, show, diff, rollback):
        add(app, command)


def _version_data(local: Local, view: VersionView) -> dict[str, Any]:
    document = view.document
    if isinstance(document, ConfigDocument):
        value: Any = local.service.box.value_text(
            local.principal, document, view.entry.key, view.version.blob, local.reveal
        )
    elif isinstance(document, FlagDocument):
        value = flagfile.to_mapping(document)
    else:
        value = None  # that version's file does not validate
    commit = view.version.commit
    made = view.merged or commit  # a merged change: the branch commit that made it
    data = {
        "version": view.version.number,
        "commit": commit.sha,
        "author": made.author.name,
        "email": made.author.email,
        "date": made.time,
        "message": made.message.strip(),
        "value": value,
    }
    if view.merged is not None:
        data["mergedBy"] = commit.author.name
    return data


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
    views = local.service.reads.versions(local.principal, kind_of(flag), entry.id)
    data = [_version_data(local, view) for view in views]
    if out is Output.JSON:
        output.emit(data)
        return
    rows = [
        [
            d["version"],
            d["commit"][:12],
            d["author"],
            d["date"],
            d["message"].splitlines()[0],
            d["value"],
        ]
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
    view = local.service.reads.version(local.principal, kind_of(flag), entry.id, ref)
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
    application: Annotated[
        str | None, typer.Option("--application", "-a", help="The application (with --env)")
    ] = None,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            help="Compare two environments instead: FROM..TO, each ENV, ENV@<commit> or "
            "ENV@<date> (e.g. STAGING..PROD)",
        ),
    ] = None,
    reveal: Reveal = False,
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """What changed between two commits, per application, environment and key: each
    field's old and new value (SECRET values never shown). With -a A --env FROM..TO: what
    differs between two environments of an application (configurations and flags)."""
    if env is not None:
        if base is not None or head is not None:
            raise BadRequest("give either commits (BASE..HEAD) or --env FROM..TO, not both")
        environments.compare(application, env, repo, branch, reveal, out)
        return
    store, branch_name, _ = open_store(repo, branch)
    diffs = review.value_changes(store, base, head, branch_name)
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
                [
                    d.change if first else "",
                    d.kind if first else "",
                    name if first else "",
                    change.field,
                    old,
                    new,
                ]
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
    restored, outcome = local.service.writer.rollback_key(
        local.principal, kind_of(flag), application, environment.value, key, to, message
    )
    verb = outcome if outcome == "unchanged" else f"{outcome} to {to}"
    done(verb, restored, f"{application}/{environment.value}/{key}", out, local)
    if outcome != "unchanged":
        pushed(local, push, remote)
