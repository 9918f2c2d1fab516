"""The ``git`` command line, for what libgit2 does not do as the user expects: fetching and
pushing (with the user's credential helpers, SSH configuration and hooks).

The only module that runs a subprocess. Every call goes through ``run``, which returns
``(returncode, stdout, stderr)``; a failure is one error type, ``GitCommandFailed``, carrying
all three.
"""

from __future__ import annotations

import enum
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
    timeout: float = TIMEOUT,
) -> tuple[int, str, str]:
    """Run ``git <args>`` in ``cwd``; return (returncode, stdout, stderr)."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=None if env is None else dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitCommandFailed(args, -1, "", str(exc)) from exc
    if check and done.returncode != 0:
        raise GitCommandFailed(args, done.returncode, done.stdout, done.stderr)
    return done.returncode, done.stdout, done.stderr


class PushOutcome(enum.Enum):
    ACCEPTED = "accepted"
    STALE = "stale"  # the remote branch moved (not a fast-forward, or it lost a ref lock race)
    REFUSED = "refused"  # the remote declined it (a hook, a protected branch)


_STALE_REASONS = ("fetch first", "non-fast-forward", "stale info", "lock", "failed to update ref")


def push_commit(
    repo: str | Path,
    remote: str,
    sha: str,
    branch: str,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT,
) -> tuple[PushOutcome, str]:
    """Push commit ``sha`` to ``refs/heads/<branch>`` of ``remote``, never forced: the remote
    takes it only as a fast-forward. Returns the outcome and git's report of the ref. Raises
    GitCommandFailed when the push could not be made at all (no connection, no such remote,
    authentication refused)."""
    args = ["push", "--porcelain", remote, f"{sha}:refs/heads/{branch}"]
    code, out, err = run(args, repo, env=env, check=False, timeout=timeout)
    for line in out.splitlines():
        flag, _, rest = line.partition("\t")
        if flag in (" ", "+", "*", "=", "-"):
            if code == 0:
                return PushOutcome.ACCEPTED, rest
        elif flag == "!":
            reason = rest.rpartition("\t")[2]
            if "[rejected]" in reason or any(word in reason for word in _STALE_REASONS):
                return PushOutcome.STALE, reason
            return PushOutcome.REFUSED, f"{reason} {err.strip()}".strip()
    raise GitCommandFailed(args, code, out, err)


def fetch(
    repo: str | Path,
    remote: str,
    refspec: str,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT,
) -> None:
    """``git fetch`` one ``refspec`` from ``remote`` (no tags). Raises GitCommandFailed."""
    args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-show-forced-updates"]
    args += [remote, refspec]
    run(args, repo, env=env, timeout=timeout)


def hooks_folder(repo: str | Path) -> Path:
    """Where git looks for the hooks of ``repo`` (``core.hooksPath`` honoured)."""
    _, out, _ = run(["rev-parse", "--git-path", "hooks"], repo)
    folder = Path(out.strip())
    return folder if folder.is_absolute() else Path(repo) / folder
