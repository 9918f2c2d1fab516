"""The local repository a command works on, and the options every command shares.

A command opens the repository at ``--repo`` (default: the current directory or the one it is
in; a clone or a bare repository), on ``--branch`` (default: the branch HEAD names), indexes
it, and acts as the user: writes are commits authored with the user's git identity
(``user.name``/``user.email``), in a clone the checked-out files follow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from gitconfig.access.principals import Principal
from gitconfig.core.errors import BadRequest
from gitconfig.core.model import Environment, Kind
from gitconfig.index.refresher import Index
from gitconfig.index.snapshot import Entry
from gitconfig.service import Service, build_service
from gitconfig.store import gitstore
from gitconfig.store import remote as remote_store
from gitconfig.store.gitstore import GitStore
from gitconfig.store.worktree import WorktreeStore

from .errors import handled
from .output import Output

Repo = Annotated[
    Path,
    typer.Option(
        "--repo",
        "-C",
        envvar="GITCONFIG_REPO",
        help="The repository: a clone or a bare repository (default: the current directory)",
    ),
]
Branch = Annotated[
    str | None, typer.Option(help="The branch to read and commit to (default: HEAD's branch)")
]
Application = Annotated[str, typer.Option("--application", "-a", help="Application name")]
Env = Annotated[
    Environment,
    typer.Option("--environment", "-e", case_sensitive=False, help="Environment"),
]
OutputOption = Annotated[
    Output, typer.Option("--output", "-o", help="table for people, json for scripts")
]
Message = Annotated[
    str | None, typer.Option("--message", "-m", help="The commit message (default: generated)")
]
Push = Annotated[
    bool,
    typer.Option(
        "--push",
        help="Fetch --remote first, commit, and push; if the remote moved meanwhile, the "
        "change is made again on its new head (unless someone changed the same file)",
    ),
]
Remote = Annotated[str, typer.Option(help="The remote --push fetches from and pushes to")]
Flag = Annotated[
    bool, typer.Option("--flag", help="A feature flag rather than a configuration value")
]
DETACHED = "HEAD"  # the store's branch when HEAD is detached: reads by revision only
Reveal = Annotated[bool, typer.Option("--reveal", help="Show SECRET values (masked otherwise)")]


@dataclass
class Local:
    path: Path
    branch: str
    store: GitStore
    service: Service
    principal: Principal
    reveal: bool = False  # --reveal: show SECRET plaintext (needs a key that decrypts it)

    def entry(self, kind: Kind, application: str, environment: Environment, key: str) -> Entry:
        return self.service.reads.lookup(self.principal, kind, application, environment.value, key)


def open_local(
    repo: Path,
    branch: str | None,
    *,
    write: bool = False,
    reveal: bool = False,
    push: str | None = None,
    fetch: bool = True,
) -> Local:
    """Open and index the repository; ``write``: act as the user's git identity. ``push``
    names a remote: fetch it first (the branch and its files follow when behind; not when
    ``fetch`` is False, for a new branch the remote does not have yet), and every write is
    pushed to it before it counts, made again on the remote's new head if it moved
    (``store.remote.RemoteStore``, the same as a replica's)."""
    worktree, found, path = open_store(repo, branch)
    if found is None:
        raise BadRequest("HEAD is detached: name the branch to work on with --branch")
    branch = found
    store: WorktreeStore = worktree
    if push is not None:
        remote = remote_store.RemoteStore(
            path, branch, remote_store.Remote(push), follow_rewrites=False
        )
        if fetch:
            remote.fetch()
        store = remote
    service = build_service(store, Index(store))
    service.index.refresh()
    roles = {"read", "write"} | ({"reveal"} if reveal else set())
    if write:
        author = store.identity()
        principal = Principal(author.name, frozenset(roles), author.email)
    else:
        principal = Principal("local", frozenset(roles))
    return Local(path, branch, store, service, principal, reveal)


def open_store(repo: Path, branch: str | None) -> tuple[WorktreeStore, str | None, Path]:
    """The repository's store without an index (for diff and validation), its branch (None:
    HEAD is detached, as in a CI checkout) and its path (the working tree of a clone, the
    folder of a bare repository)."""
    path, head = gitstore.discover(repo)
    branch = branch or head
    return WorktreeStore(path, branch or DETACHED), branch, path


def kind_of(flag: bool) -> Kind:
    return Kind.FLAG if flag else Kind.CONFIG


def pushed(local: Local, push: bool, remote: str) -> None:
    """Say on stderr that the write was pushed (``open_local(push=...)`` pushed it)."""
    if push:
        typer.echo(f"pushed {local.branch} to {remote}", err=True)


def add(app: typer.Typer, func: Callable[..., Any], name: str | None = None) -> None:
    """Register a command: errors mapped by ``handled``, and as its one-line help in the
    command list the first sentence of its docstring."""
    doc = (func.__doc__ or "").split("\n\n", 1)[0]
    short = " ".join(doc.split()).split(". ", 1)[0].rstrip(".")
    app.command(name or func.__name__.rstrip("_").replace("_", "-"), short_help=short)(
        handled(func)
    )
