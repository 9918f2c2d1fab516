"""Across environments: ``diff -a A --env FROM..TO`` (compare), ``promote``, ``get --why``
(provenance) and ``set -e ENV -e ENV ...`` (several environments, one commit)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gitconfig.core import envdiff
from gitconfig.core.errors import BadRequest
from gitconfig.index.snapshot import Entry
from gitconfig.service import NewConfig, Promotion
from gitconfig.store import remote as remote_store

from . import output
from .local import (
    Application,
    Local,
    Message,
    OutputOption,
    Push,
    Remote,
    Repo,
    add,
    open_local,
    open_store,
    pushed,
)
from .output import Output


def register(app: typer.Typer) -> None:
    add(app, promote)


# -- diff --env FROM..TO -------------------------------------------------------------------------


def difference_data(diff: envdiff.KeyDiff) -> dict[str, Any]:
    return diff.data()


def difference_rows(diffs: list[envdiff.KeyDiff]) -> list[list[object]]:
    """One row per changed field; the first row of a key names it."""
    rows: list[list[object]] = []
    for diff in diffs:
        shown: list[tuple[str, str | None, str | None]] = [
            (f.field, f.old, f.new) for f in diff.fields
        ]
        if diff.secret is not None:
            shown.append(("value", "(SECRET)", diff.secret))
        for index, (field, old, new) in enumerate(shown or [("", None, None)]):
            first = index == 0
            row: list[object] = [diff.change if first else "", diff.kind.value if first else ""]
            row += [diff.key if first else "", field, old or "", new or ""]
            rows.append(row)
    return rows


def compare(
    application: str | None,
    sides: str,
    repo: Path,
    branch: str | None,
    reveal: bool,
    out: Output,
) -> None:
    """``gitconfig diff -a A --env FROM..TO``: the environments' differences."""
    if not application:
        raise BadRequest("--env FROM..TO needs --application (-a)")
    source, dots, target = sides.partition("..")
    if not dots or not source or not target:
        raise BadRequest(f"--env takes FROM..TO (e.g. STAGING..PROD), not {sides!r}")
    local = open_local(repo, branch, reveal=reveal)
    found = local.service.environments.compare(local.principal, application, source, target)
    if out is Output.JSON:
        output.emit(
            {
                "application": found.application,
                "from": _side(found.old),
                "to": _side(found.new),
                "differences": [difference_data(d) for d in found.differences],
            }
        )
        return
    label = f"{application} {sides}"
    if not found.differences:
        typer.echo(f"no differences ({label})")
        return
    headers = ["CHANGE", "KIND", "KEY", "FIELD", "OLD", "NEW"]
    typer.echo(output.table(headers, difference_rows(found.differences)))


def _side(side: Any) -> dict[str, Any]:
    return {"environment": side.environment.value, "commit": side.commit, "at": side.at}


# -- promote -----------------------------------------------------------------------------------


def promote(
    application: Application,
    source: Annotated[str, typer.Option("--from", help="Environment to copy from")],
    target: Annotated[str, typer.Option("--to", help="Environment to copy to")],
    keys: Annotated[
        str | None, typer.Option("--keys", help="Comma-separated keys (default: all)")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show, write nothing")] = False,
    new_branch: Annotated[
        str | None,
        typer.Option(
            "--branch",
            help="Commit to this new branch (made at the tracked branch) for a pull request",
        ),
    ] = None,
    message: Message = None,
    push: Push = False,
    remote: Remote = "origin",
    repo: Repo = Path(),
    out: OutputOption = Output.TABLE,
) -> None:
    """Copy values (and flags) of an application from one environment to another as one
    commit whose message lists what changed; refused as a whole if the target refuses one.

    With --branch the commit goes to a new branch for a pull request (so CODEOWNERS review
    still applies); --push then starts it at the remote's head and pushes that branch."""
    chosen = tuple(k.strip() for k in keys.split(",") if k.strip()) if keys else ()
    promotion = Promotion(
        application=application,
        source=source.strip().upper(),
        target=target.strip().upper(),
        keys=chosen,
        dry_run=dry_run,
        message=message,
    )
    branch = None
    pushing = remote if push and not dry_run else None
    if new_branch is not None and not dry_run:
        store, tracked, path = open_store(repo, None)
        if pushing is not None and tracked:  # the pull request starts at the remote's head
            remote_store.RemoteStore(
                path, tracked, remote_store.Remote(pushing), follow_rewrites=False
            ).fetch()
        head = store.head() if tracked else None
        if head is None:
            raise BadRequest("HEAD is detached or the branch is empty: nothing to branch from")
        store.create_branch(new_branch, head)
        branch = new_branch
    local = open_local(repo, branch, write=not dry_run, push=pushing, fetch=branch is None)
    result = local.service.environments.promote(local.principal, promotion)
    if out is Output.JSON:
        output.emit(
            {
                "changes": [difference_data(d) for d in result.changes],
                "unchanged": result.unchanged,
                "commit": result.commit,
                "branch": local.branch,
                "message": result.message,
            }
        )
    elif not result.changes:
        typer.echo(f"nothing to promote: {promotion.target} already has these values")
    else:
        headers = ["CHANGE", "KIND", "KEY", "FIELD", "OLD", "NEW"]
        typer.echo(output.table(headers, difference_rows(result.changes)))
        if result.commit is None:
            typer.echo("dry run: nothing written")
        else:
            typer.echo(f"promoted in commit {result.commit[:12]} on {local.branch}")
    if result.commit is not None:
        pushed(local, push, remote)


# -- get --why -------------------------------------------------------------------------------


def why(local: Local, entry: Entry) -> dict[str, Any]:
    """The provenance of the served value, as ``?provenance=true`` shows it."""
    return local.service.environments.provenance(local.principal, entry).fields()


def why_lines(data: dict[str, Any]) -> list[tuple[str, object]]:
    subject = str(data["message"]).splitlines()[0] if data["message"] else ""
    pairs: list[tuple[str, object]] = [
        ("set in", f"version {data['version']}, commit {data['commit'][:12]}"),
        ("by", f"{data['author']} <{data['email']}>"),
        ("at", data["time"]),
        ("message", subject),
    ]
    merged = data["mergedCommit"]
    if merged is not None:
        pairs += [
            ("merged from", f"commit {merged['commit'][:12]} (the merge is the commit above)"),
            ("changed by", f"{merged['author']} <{merged['email']}> at {merged['time']}"),
            ("its message", str(merged["message"]).splitlines()[0]),
        ]
    return pairs


# -- set -e ... -e ... -----------------------------------------------------------------------


def set_many(
    local: Local,
    new: NewConfig,
    environments: list[str],
    out: Output,
    push: bool,
    remote: str,
) -> None:
    """``set`` in several environments: one commit."""
    result = local.service.environments.set_in(local.principal, new, environments, infer_type=True)
    if out is Output.JSON:
        output.emit({"result": result.outcomes, "commit": result.commit})
    else:
        for env, outcome in result.outcomes.items():
            typer.echo(f"{outcome} {new.application}/{env}/{new.key}")
        if result.commit is not None:
            typer.echo(f"one commit: {result.commit[:12]}")
    if result.commit is not None:
        pushed(local, push, remote)
