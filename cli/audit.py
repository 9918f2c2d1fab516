"""``gitconfig audit``: who changed what and when, newest first (the same rows as GET /audit)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from gitconfig.core.model import Environment

from . import output
from .local import Branch, OutputOption, Repo, add, open_local
from .output import Output


def audit(
    application: Annotated[
        str | None, typer.Option("--application", "-a", help="Only this application")
    ] = None,
    environment: Annotated[
        Environment | None,
        typer.Option("--environment", "-e", case_sensitive=False, help="Only this environment"),
    ] = None,
    key: Annotated[str | None, typer.Option("--key", "-k", help="Only this key")] = None,
    kind: Annotated[str | None, typer.Option(help="config or flag")] = None,
    author: Annotated[str | None, typer.Option(help="Only this author (name or email)")] = None,
    since: Annotated[
        datetime | None, typer.Option(help="From this time (UTC unless a zone is given)")
    ] = None,
    until: Annotated[datetime | None, typer.Option(help="Up to this time")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many rows")] = 50,
    page: Annotated[int, typer.Option(min=0, help="Page of --limit rows (0: newest)")] = 0,
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """The audit trail: every change on the branch's first-parent history, newest first.

    A change merged from a branch is attributed to the commit that made it there, with the
    merge's author as MERGED BY. SECRET values are always masked."""
    local = open_local(repo, branch)
    result = local.service.audit.events(
        local.principal,
        application=application,
        environment=environment.value if environment is not None else None,
        key=key,
        kind=kind,
        author=author,
        since=_utc(since),
        until=_utc(until),
        page=page,
        size=limit,
    )
    rows = [event.fields() for event in result.content]
    if out is Output.JSON:
        output.emit({"content": rows, "totalElements": result.total_elements})
        return
    if not rows:
        typer.echo("no changes")
        return
    headers = [
        "TIME",
        "EVENT",
        "APPLICATION",
        "ENV",
        "KEY",
        "V",
        "AUTHOR",
        "MERGED BY",
        "COMMIT",
        "MESSAGE",
        "VALUE",
    ]
    table = [
        [
            r["timestamp"],
            r["eventType"],
            r["application"],
            r["environment"],
            r["key"] + (" (flag)" if r["kind"] == "flag" else ""),
            r["version"],
            r["userId"],
            r["mergedBy"],
            r["sourceCommit"][:12],
            r["changeDescription"].splitlines()[0],
            r["value"],
        ]
        for r in rows
    ]
    typer.echo(output.table(headers, table))
    if result.total_elements > len(rows) + page * limit:
        typer.echo(f"({result.total_elements} changes in all; --page {page + 1} for more)")


def _utc(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def register(app: typer.Typer) -> None:
    add(app, audit)
