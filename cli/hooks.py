"""``gitconfig hooks install`` and ``gitconfig hooks pre-receive``: the git hooks.

A hook is a few lines of shell that ``exec`` this command line; the checks are the validator's.
``pre-commit`` (in a clone) validates what is staged; ``files`` the files the pre-commit
framework passes (``pre-commit run --all-files`` included); ``pre-receive`` (in the served bare
repository) validates every commit a push brings and rejects the push, naming each file and
error, if any is invalid. The files in the project's ``hooks/`` folder are these templates
with the command ``gitconfig`` (found on PATH); ``install`` writes the absolute path of this
installation's command instead, so the hook works whatever PATH git runs it with.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path
from typing import Annotated

import typer

from gitconfig.core import validator
from gitconfig.core.errors import BadRequest
from gitconfig.core.sopsrules import SOPS_YAML
from gitconfig.service import review
from gitconfig.store import gitcli, gitstore

from .errors import handled
from .files import is_bare_repository, read_worktree, worktree_specials
from .local import Repo, open_store
from .validate import checkout_root, finding_text

app = typer.Typer(no_args_is_help=True, help="Git hooks that run the validator.")

MARKER = "# gitconfig hook"
TEMPLATES = {
    "pre-commit": f"""#!/bin/sh
{MARKER}: validates the staged configuration, flag and schema files before each commit.
# Installed by `gitconfig hooks install`; skip it once with `git commit --no-verify`.
exec {{command}} validate --staged
""",
    "pre-receive": f"""#!/bin/sh
{MARKER}: rejects a push whose new commits hold invalid configuration, flag or schema
# files, naming each file and error. Branch deletions are accepted.
exec {{command}} hooks pre-receive
""",
}


def render(hook: str, command: str = "gitconfig") -> str:
    return TEMPLATES[hook].format(command=command)


def this_command() -> str:
    """This installation's ``gitconfig`` command, as an absolute path (quoted for sh)."""
    script = Path(sys.executable).parent / "gitconfig"
    if script.is_file() and os.access(script, os.X_OK):
        return shlex.quote(str(script.absolute()))
    return f"{shlex.quote(str(Path(sys.executable).absolute()))} -m gitconfig_cli"


@app.command()
@handled
def install(
    repo: Repo = Path(),
    force: Annotated[
        bool, typer.Option("--force", help="Replace a hook that gitconfig did not install")
    ] = False,
) -> None:
    """Install pre-receive into a bare repository (the one you serve and push to), or
    pre-commit into a clone."""
    path, _ = gitstore.discover(repo)
    hook = "pre-receive" if is_bare_repository(path) else "pre-commit"
    target = gitcli.hooks_folder(path) / hook
    if target.exists() and MARKER not in target.read_text(errors="replace") and not force:
        raise BadRequest(f"{target} exists and is not gitconfig's: use --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(hook, this_command()))
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    typer.echo(f"installed {hook} hook: {target}")


@app.command("files")
@handled
def files_(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Files of the checkout, as the framework passes them"),
    ] = None,
    repo: Repo = Path(),
) -> None:
    """What the pre-commit framework's hook runs: validates the files it is given (as they
    are on disk), each within the whole checkout; the whole repository when a shared schema
    is among them, since any configuration may refer to it. Exits 1 if any is invalid."""
    root = checkout_root(repo)
    tree = read_worktree(root)
    given = {_repository_path(root, file) for file in files or []}
    whole = any(path.startswith("schemas/") or path == SOPS_YAML for path in given)
    wanted = None if whole else given
    findings = validator.validate_files(tree, only=wanted)
    findings += [
        finding
        for finding in validator.special_findings(worktree_specials(root))
        if wanted is None or finding.path in wanted
    ]
    for finding in sorted(findings):
        typer.echo(finding_text(finding))
    if findings:
        checked = len(tree) if wanted is None else len(wanted)
        typer.echo(f"{len(findings)} problem(s) in {checked} file(s)", err=True)
        raise typer.Exit(1)


def _repository_path(root: Path, file: Path) -> str:
    full = (file if file.is_absolute() else Path.cwd() / file).absolute()
    try:
        return full.relative_to(root.absolute()).as_posix()
    except ValueError as exc:
        raise BadRequest(f"{file} is not in the checkout {root}") from exc


@app.command("pre-receive")
@handled
def pre_receive(repo: Repo = Path()) -> None:
    """What the pre-receive hook runs: reads "<old> <new> <ref>" lines on stdin, validates
    each new commit of each pushed branch, exits 1 (rejecting the push) if any is invalid."""
    store, _, _ = open_store(repo, None)
    quarantine = [os.environ.get("GIT_OBJECT_DIRECTORY", "")]
    quarantine += os.environ.get("GIT_ALTERNATE_OBJECT_DIRECTORIES", "").split(os.pathsep)
    store.add_object_directories([folder for folder in quarantine if folder])
    updates = review.parse_updates(typer.get_text_stream("stdin"))
    rejections = review.check_push(store, updates)
    if not rejections:
        return
    problems = sum(len(rejection.findings) for rejection in rejections)
    typer.echo(
        f"gitconfig: push rejected: {problems} problem(s) in {len(rejections)} commit(s)",
        err=True,
    )
    for rejection in rejections:
        commit = rejection.commit
        subject = commit.message.splitlines()[0] if commit.message else ""
        typer.echo(f"{rejection.ref} {commit.sha[:12]} {subject!r}:", err=True)
        for finding in rejection.findings:
            typer.echo(f"  {finding_text(finding)}", err=True)
    typer.echo(
        "Every pushed commit must be valid: fix the commit itself (git commit --amend, or\n"
        "git rebase -i), check with `gitconfig validate --rev <commit>`, and push again.",
        err=True,
    )
    raise typer.Exit(1)
