"""A replica's data dir: one process at a time, and a mirror it can trust.

``DataDirLock.acquire`` takes an exclusive ``flock`` on ``gitconfig.lock`` in the data dir
for as long as the process lives (the kernel drops it when the process ends, however it
ends): a second replica on the same dir is refused with a message naming the first one's pid,
instead of both moving the same refs.

``check_mirror`` tells a damaged mirror (its HEAD, refs or objects unreadable or missing)
from a sound one. A mirror holds nothing the remote lacks — a write moves the local branch
only after the remote accepted it — so a damaged one is emptied (the lock file stays) and
cloned again by the first fetch; the log says what git found.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import weakref
from pathlib import Path

from gitconfig.core.errors import BadRequest
from gitconfig.store import gitcli

log = logging.getLogger(__name__)

LOCK_NAME = "gitconfig.lock"
_GIT_ENTRIES = ("HEAD", "objects", "refs", "config")  # what marks a (perhaps damaged) repo


class DataDirLock:
    """The exclusive lock on a data dir, held until ``release()``, until this object is
    collected (the store that holds it is gone) or until the process ends."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._release = weakref.finalize(self, os.close, fd)

    @classmethod
    def acquire(cls, data_dir: Path) -> DataDirLock:
        """Lock ``data_dir`` (created when absent). Raises BadRequest when another process
        holds it."""
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise BadRequest(
                f"--data-dir {data_dir} is in use by another gitconfig serve (pid {holder}): "
                "give each replica its own data dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        self._release()  # closing the descriptor drops the flock; once only


def is_mirror(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds a git repository, sound or not."""
    return any((data_dir / name).exists() for name in _GIT_ENTRIES)


def check_mirror(data_dir: Path) -> str | None:
    """What is wrong with the mirror in ``data_dir`` (git's own words), None when sound:
    git can open it and every object reachable from its refs is there."""
    if not (data_dir / "HEAD").is_file():
        return "HEAD is missing"
    try:
        gitcli.run(["rev-parse", "--git-dir"], data_dir, env=_own_repo(data_dir))
        gitcli.run(
            ["fsck", "--connectivity-only", "--no-dangling", "--no-progress"],
            data_dir,
            env=_own_repo(data_dir),
        )
    except gitcli.GitCommandFailed as exc:
        return " ".join((exc.stderr or exc.stdout).split())[-400:] or str(exc)
    return None


def empty_damaged_mirror(data_dir: Path, problem: str) -> None:
    """Remove the damaged mirror in ``data_dir`` (all but the lock file), saying so."""
    log.warning(
        "the mirror in %s is damaged (%s); it holds nothing the remote lacks, so it is "
        "cloned again",
        data_dir,
        problem,
    )
    for entry in data_dir.iterdir():
        if entry.name == LOCK_NAME:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _own_repo(data_dir: Path) -> dict[str, str]:
    """git's environment, bound to ``data_dir`` (never a repository above it)."""
    return {**os.environ, "GIT_DIR": str(data_dir), "GIT_CEILING_DIRECTORIES": str(data_dir)}
