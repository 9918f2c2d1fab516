"""gitconfig secrets check, rotate: the SECRET entries of a local repository."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from gitconfig.core.model import Environment

from . import output
from .local import Branch, Message, OutputOption, Push, Remote, Repo, add, open_local, pushed
from .output import Output

app = typer.Typer(no_args_is_help=True, help="SECRET values: recipients, age and rotation.")

Application = Annotated[
    str | None, typer.Option("--application", "-a", help="Only this application")
]
EnvOption = Annotated[
    Environment | None,
    typer.Option("--environment", "-e", help="Only this environment", case_sensitive=False),
]


def check(
    application: Application = None,
    environment: EnvOption = None,
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """List each SECRET with its age recipients and the age of its sops lastmodified
    (nothing is decrypted)."""
    local = open_local(repo, branch)
    env = environment.value if environment else None
    now = datetime.now(UTC)
    infos = local.service.secrets.check(local.principal, application, env)
    data: list[dict[str, Any]] = [
        {
            "path": info.path,
            "recipients": list(info.recipients),
            "lastModified": info.last_modified,
            "ageDays": None if (age := info.age_seconds(now)) is None else round(age / 86400, 1),
            "commit": info.commit,
        }
        for info in infos
    ]
    if out is Output.JSON:
        output.emit(data)
        return
    rows = [[d["path"], ", ".join(d["recipients"]), d["lastModified"], d["ageDays"]] for d in data]
    headers = ["PATH", "RECIPIENTS", "LAST MODIFIED", "AGE (DAYS)"]
    typer.echo(output.table(headers, rows) if rows else "no secrets")


def rotate(
    application: Application = None,
    environment: EnvOption = None,
    message: Message = None,
    push: Push = False,
    remote: Remote = "origin",
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """Re-encrypt the matching SECRETs with a new data key for the current .sops.yaml
    recipients, in one commit (needs a key that decrypts them: SOPS_AGE_KEY_FILE).

    A recipient removed from .sops.yaml cannot decrypt the new commit (older commits keep
    what they had: rotate the secret's value itself if a key leaked)."""
    local = open_local(repo, branch, write=True, push=remote if push else None)
    env = environment.value if environment else None
    rotation = local.service.secrets.rotate(local.principal, application, env, message)
    if out is Output.JSON:
        output.emit({"rotated": rotation.paths, "commit": rotation.commit})
    elif rotation.commit is None:
        typer.echo("no secrets to rotate")
    else:
        typer.echo(f"rotated {len(rotation.paths)} secret(s) (commit {rotation.commit[:12]})")
        for path in rotation.paths:
            typer.echo(f"  {path}")
    if rotation.commit is not None:
        pushed(local, push, remote)


add(app, check)
add(app, rotate)
