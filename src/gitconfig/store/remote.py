"""A store in front of a remote Git host: the only home of fetch and push.

``RemoteStore`` is a ``GitStore`` over a local repository (a replica's bare mirror, or the
user's clone for ``gitconfig ... --push``) whose tracked branch follows the same branch of a
named git remote. Reads are local. A write builds its commits on the local head, pushes the
last one to the remote — never forced, so the remote takes it only as a fast-forward of the
head it was built on: a compare-and-swap — and moves the local branch only once the remote
accepted it. When the push is rejected because the remote moved, the store fetches, follows
the remote's head and raises ``StaleParent``: the group committer then re-reads and prepares
the change again on the new head (or answers Conflict when the file changed meanwhile).

Every fetch and push is bounded by ``timeout`` seconds (git is killed past it, see
``gitcli.run``). A write carries a deadline (``PendingCommit.deadline``): one still waiting
for the remote past it is abandoned before it is pushed, since its caller has stopped
waiting. When a push fails the store fetches again to see whether the commit reached the
remote anyway (a host that died mid-push may have taken it): if it did the write succeeded;
``RemoteUnavailable`` says "nothing was written" only when the check showed the commit
absent, and otherwise names the commit to look for.

Fetches and pushes of one store are serialized by one lock, so the local branch only moves
under it. Credentials reach git through the environment (``http.<url>.extraHeader``), never
the command line, the mirror's configuration or a message; every message is ``scrub``-bed.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import shlex
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitconfig.core.errors import (
    BadRequest,
    Conflict,
    ReadOnly,
    RemoteUnavailable,
    StaleParent,
)
from gitconfig.core.model import Author, PendingCommit
from gitconfig.core.remoteurl import Credentials, url_prefix
from gitconfig.core.text import scrub
from gitconfig.store import gitcli
from gitconfig.store.datadir import (
    LOCK_NAME,
    DataDirLock,
    check_mirror,
    empty_damaged_mirror,
    is_mirror,
)
from gitconfig.store.gitstore import DEFAULT_COMMITTER, GitStore
from gitconfig.store.worktree import WorktreeStore

log = logging.getLogger(__name__)

REMOTE_NAME = "origin"  # the remote's name in a replica's mirror
NETWORK_TIMEOUT = 60.0  # seconds for one fetch or push of a user's clone (the CLI's --push)
REMOTE_TIMEOUT = 15.0  # a replica's default: seconds for one fetch or push (--remote-timeout)
_VALID_REMOTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Remote:
    """A git remote of the local repository: its ``name`` there, the URL as shown to people
    (scrubbed; None when unknown) and the extra environment git needs to reach it
    (credentials, SSH command; never shown)."""

    name: str
    url: str | None = None
    env: Mapping[str, str] = field(default_factory=dict, repr=False)


def git_environment(
    url: str | None,
    credentials: Credentials | None = None,
    ssh_key: Path | None = None,
    timeout: float | None = None,
) -> dict[str, str]:
    """The environment for git to reach ``url`` without prompting: basic credentials as an
    ``Authorization`` header scoped to the URL's host, an SSH key file added to
    GIT_SSH_COMMAND (the user's own, if set, keeps its options), and with ``timeout`` SSH's
    own bounds: connecting, and a connection whose server stops answering."""
    env = {"GIT_TERMINAL_PROMPT": "0", "GIT_SSH_VARIANT": "ssh"}
    prefix = url_prefix(url) if url else None
    if credentials is not None and prefix is not None:
        token = base64.b64encode(f"{credentials.user}:{credentials.password}".encode()).decode()
        count = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
        env["GIT_CONFIG_COUNT"] = str(count + 1)
        env[f"GIT_CONFIG_KEY_{count}"] = f"http.{prefix}.extraHeader"
        env[f"GIT_CONFIG_VALUE_{count}"] = f"Authorization: Basic {token}"
    ssh = os.environ.get("GIT_SSH_COMMAND") or "ssh"  # options added to the user's own
    if ssh_key is not None:
        key = shlex.quote(str(ssh_key))
        ssh += f" -i {key} -o IdentitiesOnly=yes -o BatchMode=yes"
    if timeout is not None:
        seconds = max(1, round(timeout))
        alive = max(1, seconds // 3)  # ServerAliveCountMax=3 unanswered probes end it
        ssh += f" -o ConnectTimeout={seconds} -o ServerAliveInterval={alive}"
        ssh += " -o ServerAliveCountMax=3"
    if ssh_key is not None or timeout is not None:
        env["GIT_SSH_COMMAND"] = ssh
    return env


@dataclass(frozen=True)
class FetchResult:
    before: str | None  # the local branch before the fetch
    after: str | None  # the remote's head, which the local branch now follows


class RemoteStore(WorktreeStore):
    """``Store`` whose writes are acknowledged only once the remote accepted them. On a clone
    (the CLI's ``--push``) the working tree follows, as with ``WorktreeStore``; on a replica's
    bare mirror there is none."""

    # Batches prepared again when the remote moved (read by the group committer): with N
    # replicas pushing at once one wins each round, so a batch may lose several in a row.
    write_attempts = 12

    def __init__(
        self,
        path: str | Path,
        branch: str,
        remote: Remote,
        *,
        read_only: bool = False,
        follow_rewrites: bool = True,
        committer: Author = DEFAULT_COMMITTER,
        fsync: bool = True,
        timeout: float = NETWORK_TIMEOUT,
        write_budget: float | None = None,
    ) -> None:
        """``follow_rewrites``: the local branch follows the remote even when its history was
        rewritten (a replica's mirror); False refuses (a user's clone: never drop commits).
        ``timeout``: seconds for one fetch or push. ``write_budget``: seconds a write may wait
        before it is pushed (read by the group committer, which sets its deadline)."""
        super().__init__(path, branch, committer=committer, fsync=fsync)
        self.remote = remote
        self.data_dir_lock: DataDirLock | None = None  # a replica's, held while it runs
        self.timeout = timeout
        self.write_budget = write_budget
        self.read_only = read_only
        self.follow_rewrites = follow_rewrites
        name = remote.name if _VALID_REMOTE_NAME.fullmatch(remote.name) else "gitconfig-push"
        self.tracking_ref = f"refs/remotes/{name}/{branch}"
        self.pushes: Counter[str] = Counter()  # by outcome, for metrics
        self.last_push_error: str | None = None
        self._sync = threading.Lock()
        self._env = {**os.environ, **remote.env}

    @classmethod
    def open_mirror(
        cls,
        path: Path,
        branch: str,
        url: str,
        env: Mapping[str, str],
        *,
        read_only: bool = False,
        fsync: bool = True,
        timeout: float = REMOTE_TIMEOUT,
    ) -> RemoteStore:
        """The bare mirror at ``path`` (created when absent, reused otherwise, cloned again
        when damaged: see ``store.datadir``) whose remote ``origin`` is ``url`` (without
        credentials). Does not fetch. Each fetch and push is bounded by ``timeout`` seconds,
        and so is a write's wait before its push. ``path`` stays locked against another
        process until ``release_data_dir()`` or the end of this one (BadRequest when
        another process holds it)."""
        lock = DataDirLock.acquire(path)
        try:
            store = cls._open_mirror(path, branch, url, env, read_only, fsync, timeout)
        except BaseException:
            lock.release()
            raise
        store.data_dir_lock = lock
        return store

    @classmethod
    def _open_mirror(
        cls,
        path: Path,
        branch: str,
        url: str,
        env: Mapping[str, str],
        read_only: bool,
        fsync: bool,
        timeout: float,
    ) -> RemoteStore:
        if is_mirror(path) and (problem := check_mirror(path)) is not None:
            empty_damaged_mirror(path, problem)
        if not (path / "HEAD").exists():
            if any(entry.name != LOCK_NAME for entry in path.iterdir()):
                raise BadRequest(f"{path} is not empty and holds no git repository")
            GitStore.init(path, bare=True, branch=branch, fsync=fsync)
        gitcli.run(["config", f"remote.{REMOTE_NAME}.url", url], path)
        refspec = f"+refs/heads/{branch}:refs/remotes/{REMOTE_NAME}/{branch}"
        gitcli.run(["config", f"remote.{REMOTE_NAME}.fetch", refspec], path)
        remote = Remote(REMOTE_NAME, scrub(url), dict(env))
        return cls(
            path,
            branch,
            remote,
            read_only=read_only,
            fsync=fsync,
            timeout=timeout,
            write_budget=timeout,
        )

    def release_data_dir(self) -> None:
        """Let another process open this replica's data dir."""
        if self.data_dir_lock is not None:
            self.data_dir_lock.release()
            self.data_dir_lock = None

    @property
    def display_url(self) -> str:
        return self.remote.url or self.remote.name

    def remote_head(self) -> str | None:
        """The remote branch's head as last seen (by a fetch or an accepted push)."""
        return self.reference(self.tracking_ref)

    # -- fetch ----------------------------------------------------------------------------

    def fetch(self) -> FetchResult:
        """Fetch the remote branch and bring the local branch to it. Raises
        RemoteUnavailable when the remote cannot be reached, BadRequest when a clone's branch
        has diverged from it (``follow_rewrites`` False)."""
        with self._sync:
            return self._fetch_locked()

    def _fetch_locked(self) -> FetchResult:
        before = self.head()
        refspec = f"+refs/heads/{self.branch}:{self.tracking_ref}"
        try:
            gitcli.fetch(self.path, self.remote.name, refspec, env=self._env, timeout=self.timeout)
        except gitcli.GitCommandFailed as exc:
            raise RemoteUnavailable(
                f"fetch from {self.display_url} failed: {scrub(_detail(exc))}"
            ) from None
        after = self.remote_head()
        if after is not None and after != before:
            self._follow(before, after)
        return FetchResult(before, after)

    def _follow(self, local: str | None, remote: str) -> None:
        """Move the local branch to the remote's head ``remote``."""
        if local is not None and not self.is_ancestor(local, remote):
            if self.is_ancestor(remote, local):
                return  # ahead: local commits not pushed yet (a user's clone)
            if not self.follow_rewrites:
                raise BadRequest(
                    f"{self.branch} and {self.remote.name}/{self.branch} have diverged: "
                    "rebase or merge first; nothing was written"
                )
            log.warning("the remote's %s was rewritten; following it", self.branch)
        if self._checked_out(self._repo()):  # a clone: the working tree follows, as with git merge
            try:
                gitcli.run(["merge", "--ff-only", "--quiet", self.tracking_ref], self.path)
            except gitcli.GitCommandFailed as exc:
                raise BadRequest(
                    f"could not bring {self.branch} up to date with {self.remote.name}: "
                    f"{scrub(_detail(exc))}"
                ) from None
            return
        self.move_branch(local, remote, f"fetch {self.display_url}")

    # -- push: the write path -------------------------------------------------------------

    def write_chain(self, parent: str | None, commits: Sequence[PendingCommit]) -> list[str]:
        """Commit on ``parent`` and push; see the module docstring. Raises ReadOnly on a
        read-only store, StaleParent when the remote moved (after fetching it),
        RemoteUnavailable when it cannot be reached, Conflict when it refused the push."""
        if self.read_only:
            raise ReadOnly("this replica is read-only: write through a writable one")
        paths = self.writable_paths(commits)
        deadlines = [c.deadline for c in commits if c.deadline is not None]
        deadline = min(deadlines) if deadlines else None
        waited = self._sync.acquire(timeout=_remaining(deadline))
        try:
            if not waited or (deadline is not None and time.monotonic() >= deadline):
                self.pushes["abandoned"] += 1
                raise RemoteUnavailable(
                    f"the write was abandoned before it was pushed: it waited longer than "
                    f"{self.write_budget or 0:g}s for {self.display_url} (busy or not "
                    "answering); nothing was written"
                )
            shas = self.create_chain(parent, commits)
            self._push(parent, shas[-1])
            try:
                self.move_branch(parent, shas[-1], commits[-1].message)
            except StaleParent:  # moved by someone else sharing this repository: follow
                self._fetch_locked()
                if not self.is_ancestor(shas[-1], self.head() or shas[-1]):
                    raise
        finally:
            if waited:
                self._sync.release()
        self.update_worktree(paths)
        return shas

    def _push(self, parent: str | None, sha: str) -> None:
        started = time.perf_counter()
        try:
            outcome, report = gitcli.push_commit(
                self.path,
                self.remote.name,
                sha,
                self.branch,
                env=self._env,
                timeout=self.timeout,
            )
        except gitcli.GitCommandFailed as exc:
            self.last_push_error = scrub(_detail(exc))
            landed = self._landed(sha)
            if landed:  # the host took it before the connection failed
                log.warning(
                    "push to %s failed (%s) but %s is on the remote: written",
                    self.display_url,
                    self.last_push_error,
                    sha[:12],
                )
                self.pushes["accepted"] += 1
                self.last_push_error = None
                return
            self.pushes["error"] += 1
            raise RemoteUnavailable(self._push_failure(sha, checked=landed is not None)) from None
        self.pushes[outcome.value] += 1
        if outcome is gitcli.PushOutcome.STALE:
            log.info("push to %s rejected (%s): fetching", self.display_url, report)
            self._fetch_locked()
            raise StaleParent(parent, self.head())
        if outcome is gitcli.PushOutcome.REFUSED:
            raise Conflict(f"{self.display_url} refused the push: {scrub(report)}")
        self.last_push_error = None
        self.set_reference(self.tracking_ref, sha)
        log.debug("pushed %s in %.1f ms", sha[:12], (time.perf_counter() - started) * 1000)

    def _landed(self, sha: str) -> bool | None:
        """After a failed push: is ``sha`` on the remote's branch? Fetched to see (bounded by
        ``timeout``); None when the remote could not be checked."""
        refspec = f"+refs/heads/{self.branch}:{self.tracking_ref}"
        try:
            gitcli.fetch(self.path, self.remote.name, refspec, env=self._env, timeout=self.timeout)
        except gitcli.GitCommandFailed as exc:
            log.warning("could not check the failed push: %s", scrub(_detail(exc)))
            return None
        head = self.remote_head()
        return head is not None and self.is_ancestor(sha, head)

    def _push_failure(self, sha: str, *, checked: bool) -> str:
        """The message of a failed push whose commit ``sha`` is not known to be on the remote
        (``checked``: a fetch after the failure showed it is not)."""
        failed = f"push to {self.display_url} failed: {self.last_push_error}"
        if checked:
            return f"{failed}; nothing was written (checked: commit {sha} is not on the remote)"
        return (
            f"{failed}; the remote could not be checked afterwards, so the write may or may "
            f"not have reached it: look for commit {sha} on {self.branch} before retrying"
        )

    @property
    def path(self) -> Path:
        return self._path


def _remaining(deadline: float | None) -> float:
    """Seconds until ``deadline`` (``Lock.acquire``'s timeout: -1 waits for ever)."""
    return -1 if deadline is None else max(0.0, deadline - time.monotonic())


def _detail(exc: gitcli.GitCommandFailed) -> str:
    lines = [line for line in (exc.stderr or exc.stdout).splitlines() if line.strip()]
    return " ".join(lines[-6:])[-600:] or f"exit code {exc.returncode}"
