"""Entry point of the ``gitconfig`` command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from gitconfig.core.errors import BadRequest
from gitconfig.runtime import bootstrap

from . import entries, flags, hooks, transfer, validate
from .errors import handled
from .files import is_bare_repository

app = typer.Typer(
    no_args_is_help=True,
    help="Git-backed configuration and feature flags.",
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, pwsh)
)

RepoPath = Annotated[Path, typer.Argument(help="Repository path")]


@app.command()
@handled
def init(
    path: RepoPath,
    bare: Annotated[bool, typer.Option(help="Create a bare repository (to serve)")] = False,
    branch: Annotated[str, typer.Option(help="Branch to create")] = "main",
) -> None:
    """Create an empty config repository (initial commit, README, .sops.yaml placeholder)."""
    if path.exists() and any(path.iterdir()):
        raise BadRequest(f"{path} exists and is not empty")
    sha = bootstrap.init_repository(path, bare=bare, branch=branch)
    typer.echo(f"Initialized {'bare ' if bare else ''}config repository in {path} ({sha[:12]})")


@app.command()
@handled
def serve(
    repo: Annotated[Path, typer.Option(help="Repository to serve (bare or a clone)")] = Path(),
    branch: Annotated[str, typer.Option(help="Tracked branch")] = "main",
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    http_port: Annotated[
        int, typer.Option(min=0, max=65535, help="REST port (0: any free port)")
    ] = 8080,
    grpc_port: Annotated[
        int, typer.Option(min=-1, max=65535, help="gRPC port (0: any; -1: off)")
    ] = 9090,
    workers: Annotated[int, typer.Option(min=1, max=256, help="Server processes")] = 1,
    port_file: Annotated[
        Path | None, typer.Option(help="Write the bound ports here as JSON once listening")
    ] = None,
) -> None:
    """Serve a repository over REST and gRPC, re-indexing on every new commit."""
    from gitconfig.runtime.server import ServeOptions
    from gitconfig.runtime.server import serve as run_server

    if not is_bare_repository(repo) and not (repo / ".git").exists():
        raise BadRequest(f"no git repository at {repo} (create one with `gitconfig init`)")
    if not os.environ.get("GITCONFIG_ADMIN_TOKEN"):
        typer.echo(
            "warning: GITCONFIG_ADMIN_TOKEN is not set; every request will get 401", err=True
        )
    options = ServeOptions(
        repo=repo,
        branch=branch,
        host=host,
        http_port=http_port,
        grpc_port=None if grpc_port < 0 else grpc_port,
        workers=workers,
        port_file=port_file,
    )
    raise typer.Exit(run_server(options))


entries.register(app)
validate.register(app)
transfer.register(app)
app.add_typer(flags.app, name="flag")
app.add_typer(hooks.app, name="hooks")


def main() -> None:
    app()
