"""The ``git`` command line, for what libgit2 does not do as the user expects: fetching and
pushing (with the user's credential helpers, SSH configuration and hooks).

The only module that runs a subprocess. Every call goes through ``run``, which returns
``(returncode, stdout, stderr)``; a failure is one error type, ``GitCommandFailed``, carrying
all three.
"""

from __future__ import annotations

import contextlib
import enum
import os
import signal
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
        command = next((a for a in args if not a.startswith("-") and "=" not in a), "")
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
    """Run ``git <args>`` in ``cwd``; return (returncode, stdout, stderr).

    git runs in a process group of its own: past ``timeout`` the whole group is killed (git,
    and the ``git-remote-http``, ``ssh`` or local ``receive-pack`` it started, which killing
    git alone would leave running, still connected) and ``GitTimedOut`` is raised."""
    try:
        process = subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    except OSError as exc:
        raise GitCommandFailed(args, -1, "", str(exc)) from exc
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        stdout, stderr = process.communicate()
        raise GitTimedOut(args, timeout, stdout, stderr) from None
    except BaseException:  # interrupted: leave no git behind
        _kill_group(process)
        process.wait()
        raise
    if check and process.returncode != 0:
        raise GitCommandFailed(args, process.returncode, stdout, stderr)
    return process.returncode, stdout, stderr


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(process.pid, signal.SIGKILL)


class GitTimedOut(GitCommandFailed):
    """``git`` did not finish within ``timeout`` seconds and was killed, with its children."""

    def __init__(self, args: Sequence[str], timeout: float, stdout: str, stderr: str) -> None:
        report = f"timed out after {timeout:g}s and was stopped"
        super().__init__(args, -9, stdout, f"{stderr.strip()}\n{report}".strip())
        self.timeout = timeout


def network_options(timeout: float) -> list[str]:
    """``-c`` options bounding git's own HTTP transfers: a transfer slower than 1 kB/s for
    ``timeout`` seconds is abandoned (the hard limit is ``run``'s ``timeout``)."""
    seconds = max(1, round(timeout))
    return ["-c", "http.lowSpeedLimit=1000", "-c", f"http.lowSpeedTime={seconds}"]


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
    args = [*network_options(timeout), "push", "--porcelain", remote, f"{sha}:refs/heads/{branch}"]
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
    args = [
        *network_options(timeout),
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--no-show-forced-updates",
    ]
    args += [remote, refspec]
    run(args, repo, env=env, timeout=timeout)


def hooks_folder(repo: str | Path) -> Path:
    """Where git looks for the hooks of ``repo`` (``core.hooksPath`` honoured)."""
    _, out, _ = run(["rev-parse", "--git-path", "hooks"], repo)
    folder = Path(out.strip())
    return folder if folder.is_absolute() else Path(repo) / folder
