"""Entry point of the ``gitconfig`` command."""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Annotated

import typer

from gitconfig.core.errors import BadRequest
from gitconfig.runtime import bootstrap

from . import (
    audit,
    entries,
    environments,
    flags,
    history,
    hooks,
    secrets,
    token,
    transfer,
    validate,
)
from .errors import handled
from .files import is_bare_repository

app = typer.Typer(
    no_args_is_help=True,
    help="Git-backed configuration and feature flags.",
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, pwsh)
)

RepoPath = Annotated[Path, typer.Argument(help="Repository path")]


class LogFormat(enum.StrEnum):
    text = "text"
    json = "json"


class HttpServer(enum.StrEnum):
    uvicorn = "uvicorn"
    granian = "granian"


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
    repo: Annotated[
        Path, typer.Option(help="Repository to serve (bare or a clone)", envvar="GITCONFIG_REPO")
    ] = Path(),
    branch: Annotated[str, typer.Option(help="Tracked branch", envvar="GITCONFIG_BRANCH")] = "main",
    host: Annotated[
        str, typer.Option(help="Address to listen on", envvar="GITCONFIG_HOST")
    ] = "127.0.0.1",
    http_port: Annotated[
        int,
        typer.Option(
            min=0, max=65535, help="REST port (0: any free port)", envvar="GITCONFIG_HTTP_PORT"
        ),
    ] = 8080,
    grpc_port: Annotated[
        int,
        typer.Option(
            min=-1, max=65535, help="gRPC port (0: any; -1: off)", envvar="GITCONFIG_GRPC_PORT"
        ),
    ] = 9090,
    workers: Annotated[
        int, typer.Option(min=1, max=256, help="Server processes", envvar="GITCONFIG_WORKERS")
    ] = 1,
    http_server: Annotated[
        HttpServer,
        typer.Option(
            help="The HTTP server of the REST API: granian (the granian extra) uses less "
            "CPU per request",
            envvar="GITCONFIG_HTTP_SERVER",
        ),
    ] = HttpServer.uvicorn,
    port_file: Annotated[
        Path | None, typer.Option(help="Write the bound ports here as JSON once listening")
    ] = None,
    access_file: Annotated[
        Path | None,
        typer.Option(
            envvar="GITCONFIG_ACCESS_FILE",
            help="YAML file of subjects, token hashes and grants (reloaded on change)",
        ),
    ] = None,
    jwt_issuer: Annotated[
        str | None, typer.Option(envvar="GITCONFIG_JWT_ISSUER", help="Accept JWTs from this issuer")
    ] = None,
    jwt_audience: Annotated[
        str | None,
        typer.Option(envvar="GITCONFIG_JWT_AUDIENCE", help="The audience JWTs must name"),
    ] = None,
    jwt_keys: Annotated[
        Path | None,
        typer.Option(
            envvar="GITCONFIG_JWT_KEYS", help="JWKS file or PEM public key that signs the JWTs"
        ),
    ] = None,
    rate_limit: Annotated[
        str | None,
        typer.Option(envvar="GITCONFIG_RATE_LIMIT", help="Requests per principal, e.g. 100/second"),
    ] = None,
    rate_burst: Annotated[
        int | None,
        typer.Option(
            envvar="GITCONFIG_RATE_BURST", min=1, help="Requests a principal may spend at once"
        ),
    ] = None,
    write_rate_limit: Annotated[
        str | None,
        typer.Option(
            envvar="GITCONFIG_WRITE_RATE_LIMIT", help="Write requests per principal, e.g. 5/second"
        ),
    ] = None,
    remote: Annotated[
        str | None,
        typer.Option(
            envvar="GITCONFIG_REMOTE",
            help="Replicate this Git remote (https://, ssh://, user@host:path, git://, "
            "file://) instead of serving --repo; writes are pushed to it",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="GITCONFIG_DATA_DIR",
            help="With --remote: the local mirror (cloned once, reused)",
        ),
    ] = None,
    poll_interval: Annotated[
        float,
        typer.Option(
            envvar="GITCONFIG_POLL_INTERVAL",
            min=0.1,
            help="With --remote: seconds between fetches (±20 %)",
        ),
    ] = 30.0,
    remote_timeout: Annotated[
        float,
        typer.Option(
            envvar="GITCONFIG_REMOTE_TIMEOUT",
            min=1,
            help="With --remote: seconds for one fetch or push, and for a write to wait "
            "before its push (past it: 503)",
        ),
    ] = 15.0,
    remote_credentials: Annotated[
        Path | None,
        typer.Option(
            help="With --remote: a file holding user:password or a token for https "
            "(default: $GITCONFIG_REMOTE_CREDENTIALS)"
        ),
    ] = None,
    ssh_key: Annotated[
        Path | None,
        typer.Option(envvar="GITCONFIG_SSH_KEY", help="With --remote: the SSH private key file"),
    ] = None,
    webhook_secret: Annotated[
        Path | None,
        typer.Option(
            help="With --remote: a file holding the webhook secret "
            "(default: $GITCONFIG_WEBHOOK_SECRET; none: POST /webhooks/git is 404)"
        ),
    ] = None,
    read_only: Annotated[
        bool,
        typer.Option(
            envvar="GITCONFIG_READ_ONLY",
            help="With --remote: refuse writes (405); needs no push rights",
        ),
    ] = False,
    shutdown_grace: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds between SIGTERM (not ready at once) and refusing connections",
            envvar="GITCONFIG_SHUTDOWN_GRACE",
        ),
    ] = 5.0,
    log_format: Annotated[
        LogFormat, typer.Option(help="Log lines as text or JSON", envvar="GITCONFIG_LOG_FORMAT")
    ] = LogFormat.text,
    access_log: Annotated[
        bool, typer.Option(help="Log one line per HTTP request", envvar="GITCONFIG_ACCESS_LOG")
    ] = False,
    request_metrics: Annotated[
        bool,
        typer.Option(
            help="Per-request metrics and request ids (off only to measure what they cost)",
            hidden=True,
        ),
    ] = True,
    index_cache: Annotated[
        bool,
        typer.Option(
            help="Keep a snapshot of the index in the Git dir (gitconfig/index.msgpack) "
            "for fast restarts",
            envvar="GITCONFIG_INDEX_CACHE",
        ),
    ] = True,
    allow_core_dumps: Annotated[
        bool,
        typer.Option(
            "--allow-core-dumps",
            help="Let the server dump core (off by default: a core holds revealed secrets)",
            envvar="GITCONFIG_ALLOW_CORE_DUMPS",
        ),
    ] = False,
) -> None:
    """Serve a repository over REST and gRPC, re-indexing on every new commit.

    With --remote, serve a replica of a remote Git host: a local mirror fetched on a timer
    and on webhooks; writes are acknowledged once the remote accepted the push."""
    from gitconfig.runtime import replica
    from gitconfig.runtime.security import SecurityOptions
    from gitconfig.runtime.server import ServeOptions
    from gitconfig.runtime.server import serve as run_server

    remote_options = None
    if remote is not None:
        if data_dir is None:
            raise BadRequest("--remote needs --data-dir: where to keep the local mirror")
        if workers > 1:
            raise BadRequest("--remote serves with one worker: run more replicas instead")
        remote_options = replica.RemoteOptions(
            url=remote,
            data_dir=data_dir,
            fetch_interval=poll_interval,
            credentials=replica.read_credentials(remote_credentials),
            ssh_key=ssh_key,
            webhook_secret=replica.read_webhook_secret(webhook_secret),
            read_only=read_only,
            remote_timeout=remote_timeout,
        )
    elif read_only or data_dir is not None:
        raise BadRequest("--read-only and --data-dir go with --remote")
    elif not is_bare_repository(repo) and not (repo / ".git").exists():
        raise BadRequest(f"no git repository at {repo} (create one with `gitconfig init`)")
    if not os.environ.get("GITCONFIG_ADMIN_TOKEN") and access_file is None:
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
        security=SecurityOptions(
            access_file=access_file,
            jwt_issuer=jwt_issuer,
            jwt_audience=jwt_audience,
            jwt_keys=jwt_keys,
            rate_limit=rate_limit,
            rate_burst=rate_burst,
            write_rate_limit=write_rate_limit,
        ),
        remote=remote_options,
        shutdown_grace=shutdown_grace,
        log_format=log_format.value,
        access_log=access_log,
        request_metrics=request_metrics,
        index_cache=index_cache,
        http_server=http_server.value,
        allow_core_dumps=allow_core_dumps,
    )
    raise typer.Exit(run_server(options))


entries.register(app)
history.register(app)
environments.register(app)
validate.register(app)
transfer.register(app)
app.add_typer(flags.app, name="flag")
audit.register(app)
app.add_typer(token.app, name="token")
app.add_typer(hooks.app, name="hooks")
app.add_typer(secrets.app, name="secrets")


def main() -> None:
    app()
