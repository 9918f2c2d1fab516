"""The ``git`` command line, for what libgit2 does not do as the user expects: pushing (with the
user's credential helpers, SSH configuration and hooks).

The only module that runs a subprocess. Every call goes through ``run``, which returns
``(returncode, stdout, stderr)``; a failure is one error type, ``GitCommandFailed``, carrying
all three.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from gitconfig.core.errors import StoreError
from gitconfig.core.text import scrub

TIMEOUT = 120.0  # seconds: a push to a slow remote, not a hung one


class GitCommandFailed(StoreError):
    """``git`` exited non-zero (or could not be run); the message names the git command (its
    first word, never its arguments: they may hold a remote URL) and gives git's own
    report, with the credentials of any URL in it scrubbed."""

    def __init__(self, args: Sequence[str], returncode: int, stdout: str, stderr: str) -> None:
        detail = scrub((stderr or stdout).strip()) or f"exit code {returncode}"
        command = args[0] if args else ""
        super().__init__(f"git {command} failed: {detail}")
        self.args_ = list(args)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def run(
    args: Sequence[str],
    cwd: str | Path,
    *,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> tuple[int, str, str]:
    """Run ``git <args>`` in ``cwd``; return (returncode, stdout, stderr)."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=None if env is None else dict(env),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitCommandFailed(args, -1, "", str(exc)) from exc
    if check and done.returncode != 0:
        raise GitCommandFailed(args, done.returncode, done.stdout, done.stderr)
    return done.returncode, done.stdout, done.stderr


def push(repo: str | Path, remote: str, branch: str) -> str:
    """Push ``branch`` to the same branch of ``remote``; git's report (it writes to stderr)."""
    _, out, err = run(
        ["push", "--porcelain", remote, f"refs/heads/{branch}:refs/heads/{branch}"], repo
    )
    return (out + err).strip()


def hooks_folder(repo: str | Path) -> Path:
    """Where git looks for the hooks of ``repo`` (``core.hooksPath`` honoured)."""
    _, out, _ = run(["rev-parse", "--git-path", "hooks"], repo)
    folder = Path(out.strip())
    return folder if folder.is_absolute() else Path(repo) / folder
