"""Running the ``gitconfig`` command line in tests: in-process with typer's ``CliRunner``, on
real repositories made with ``git`` (see ``gitrepo``).

    bare, work = served_and_clone(tmp_path)     # a config repository and a clone of it
    result = gitconfig("set", "k", "15", "-a", "app", "-e", "DEV", repo=work)
    assert result.exit_code == 0, result.output
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gitconfig_cli.main import app
from typer.testing import CliRunner, Result

from gitconfig.runtime.bootstrap import init_repository
from tests.support.gitrepo import clone, git


def gitconfig(*args: str, repo: Path | None = None, input: str | None = None) -> Result:
    """``gitconfig <args> [--repo repo]``, in-process."""
    full = [*args, *(["--repo", str(repo)] if repo is not None else [])]
    return CliRunner().invoke(app, full, input=input, prog_name="gitconfig")


def ok(*args: str, repo: Path | None = None, input: str | None = None) -> str:
    """Run a command that must succeed; its stdout."""
    result = gitconfig(*args, repo=repo, input=input)
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
    return result.stdout


def as_json(*args: str, repo: Path | None = None) -> Any:
    return json.loads(ok(*args, "--output", "json", repo=repo))


def served_and_clone(tmp_path: Path) -> tuple[Path, Path]:
    """A bare config repository (initial commit) and a clone of it, with a git identity."""
    bare = tmp_path / "served.git"
    init_repository(bare, bare=True)
    work = clone(bare, tmp_path / "work")
    git(work, "config", "user.name", "Ada Lovelace")
    git(work, "config", "user.email", "ada@example.com")
    return bare, work
