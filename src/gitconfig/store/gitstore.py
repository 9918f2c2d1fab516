"""The pygit2 adapter of the ``Store`` port: trees, blobs, commits built in memory, and
compare-and-swap moves of the tracked branch.

The only module that imports pygit2. pygit2 and OS errors are translated at the boundary
(``boundary``) into ``StoreError``; unknown objects become ``NotFound``; invalid paths in a
write become ``BadRequest``. Works on bare repositories and on normal clones (a write moves the
branch but never touches a working tree or index, like a push into a checked-out branch, so the
service should own a bare repository).

Thread-safety: a libgit2 object may only be used by one thread at a time, so every thread gets
its own ``pygit2.Repository`` (opened lazily, kept in a ``threading.local``) and no pygit2 object
outlives a method call. Every method may therefore be called from any thread. ``write()`` also
holds a per-store lock, so that writers of one process queue up instead of racing for the ref
lock file; writers in other processes are kept apart by the compare-and-swap alone.

Durability: with ``fsync=True`` (the default) ``write()``/``write_chain()`` return only once
the commit is on disk. Each call writes its objects, then flushes the repository's file system
(``syncfs``), then moves the ref, then flushes again: objects are durable before any ref points
at them, and the ref before the caller is told. That is two flushes per batch of commits,
where libgit2's own GIT_OPT_ENABLE_FSYNC_GITDIR costs one fsync per object (blob, one tree per
folder level, commit), per ref and per reflog, for every commit of a batch: with concurrent
writers that halved the API's commit rate (docs/decisions.md), so that option is switched off.
"""

from __future__ import annotations

import os
import re
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Self

import pygit2
from pygit2.enums import RepositoryOpenFlag, SortMode

from gitconfig.core.errors import AlreadyExists, BadRequest, NotFound, StaleParent, StoreError
from gitconfig.core.model import Author, Commit, FileChange, PendingCommit
from gitconfig.core.sopsrules import SOPS_YAML
from gitconfig.store.pygit import (
    FULL_SHA,
    SERVED_REFS,
    TRACKED_FOLDERS,
    blob_at,
    blobs,
    boundary,
    branch_ref,
    branch_target,
    build_tree,
    diff_trees,
    get_object,
    in_tracked_folders,
    merged_side,
    nest,
    root_blobs,
    served_commit,
    space_checked,
    specials,
    subtree,
    syncfs,
    to_commit,
)

DEFAULT_COMMITTER = Author("gitconfig", "gitconfig@localhost")
LOCK_TIMEOUT = 5.0  # seconds to wait for another writer's ref lock before giving up

_SHA_PREFIX = re.compile(r"[0-9a-fA-F]{7,40}")


_REF_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,254}")


class GitStore:
    """``Store`` over one Git repository, tracking ``refs/heads/<branch>``."""

    read_only = False  # a read-only replica's store says otherwise (``remote.RemoteStore``)

    def __init__(
        self,
        path: str | Path,
        branch: str = "main",
        *,
        committer: Author = DEFAULT_COMMITTER,
        fsync: bool = True,
    ) -> None:
        self._ref = branch_ref(branch)
        # Durability comes from our own barrier around each batch of commits (``_barrier``),
        # so libgit2 must not fsync every object and ref on its own as well.
        pygit2.settings.enable_fsync_gitdir(False)
        self.branch = branch
        self.committer = committer
        self.fsync = fsync
        self._path = Path(path)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self.git_dir = Path(self._repo().path)  # what a watcher watches: refs/, packed-refs
        # A forked child (the index's parsing worker) opens its own repository objects.
        forget = weakref.WeakMethod(self._forget_repositories)
        os.register_at_fork(after_in_child=lambda: (method := forget()) and method())

    def _forget_repositories(self) -> None:
        self._local = threading.local()

    @classmethod
    def init(
        cls,
        path: str | Path,
        bare: bool,
        branch: str = "main",
        *,
        committer: Author = DEFAULT_COMMITTER,
        fsync: bool = True,
    ) -> Self:
        """Create a new repository whose HEAD names ``branch``, which has no commits yet."""
        target = Path(path)
        if (target / "HEAD").exists() or (target / ".git").exists():
            raise AlreadyExists(f"a git repository already exists at {target}")
        branch_ref(branch)
        with boundary():
            pygit2.init_repository(target, bare=bare, initial_head=branch)
        return cls(target, branch, committer=committer, fsync=fsync)

    def head(self) -> str | None:
        with boundary():
            return branch_target(self._repo(), self._ref)

    def commit(self, sha: str) -> Commit:
        with boundary():
            return to_commit(get_object(self._repo(), sha, pygit2.Commit))

    def resolve(self, rev: str, served: bool = True) -> str | None:
        if not _SHA_PREFIX.fullmatch(rev):
            return None
        with boundary():
            return served_commit(self._repo(), rev, served)

    def resolve_ref(self, name: str) -> str | None:
        found = self.resolve(name)
        if found is not None:
            return found
        if not _REF_NAME.fullmatch(name) or ".." in name or name.endswith((".lock", "/")):
            return None
        with boundary():
            references = self._repo().references
            for prefix in SERVED_REFS:
                reference = references.get(prefix + name)
                if reference is not None:
                    try:
                        return str(reference.peel(pygit2.Commit).id)
                    except (pygit2.GitError, ValueError):
                        return None
        return None

    def first_parent_chain(self, new: str, stop: str | None) -> list[Commit]:
        with boundary():
            repo = self._repo()
            walker = repo.walk(get_object(repo, new, pygit2.Commit).id, SortMode.NONE)
            walker.simplify_first_parent()
            stop = None if stop is None else stop.lower()
            chain = []
            for commit in walker:
                if str(commit.id) == stop:
                    break
                chain.append(to_commit(commit))
        chain.reverse()
        return chain

    def merged_commits(self, sha: str) -> list[Commit]:
        """The commits a merge brought in: reachable from ``sha``'s other parents but not
        from its first parent, newest first. Empty for a commit with one parent."""
        with boundary():
            repo = self._repo()
            walker = merged_side(repo, get_object(repo, sha, pygit2.Commit))
            return [] if walker is None else [to_commit(found) for found in walker]

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True if ``ancestor`` is reachable from ``descendant`` (a commit is its own ancestor,
        as with ``git merge-base --is-ancestor``)."""
        with boundary():
            repo = self._repo()
            old = get_object(repo, ancestor, pygit2.Commit).id
            new = get_object(repo, descendant, pygit2.Commit).id
            return old == new or repo.descendant_of(new, old)

    def files(self, commit: str) -> Iterator[tuple[str, str]]:
        with boundary():
            root = get_object(self._repo(), commit, pygit2.Commit).tree
            found = in_tracked_folders(root, blobs) + root_blobs(root, SOPS_YAML)
        return iter(found)

    def special_entries(self, commit: str) -> list[tuple[str, str]]:
        """(path, ``symlink`` or ``submodule``) of every entry under configs/, flags/ and
        schemas/ of ``commit`` that is neither a regular file nor a folder."""
        with boundary():
            root = get_object(self._repo(), commit, pygit2.Commit).tree
            return in_tracked_folders(root, specials)

    def diff(self, old: str | None, new: str) -> list[FileChange]:
        """Walks both trees together, skipping every subtree whose id is the same on both
        sides, so a one-file commit costs the folders along its path, whatever the size of
        the repository (libgit2's tree diff took ~10 ms at 100,000 files). Only the tracked
        folders are read. A mode-only change is no change. Sorted by path."""
        with boundary():
            repo = self._repo()
            old_root = None if old is None else get_object(repo, old, pygit2.Commit).tree
            new_root = get_object(repo, new, pygit2.Commit).tree
            changes: list[FileChange] = []
            for folder in TRACKED_FOLDERS:
                before, after = subtree(old_root, folder), subtree(new_root, folder)
                if (before and before.id) != (after and after.id):  # not both absent or equal
                    diff_trees(before, after, f"{folder}/", changes)
        return changes

    def read_blob(self, sha: str) -> bytes:
        # ``boundary()`` written out: a cold index reads every blob through here.
        try:
            repo = getattr(self._local, "repo", None) or self._repo()
            found = repo.get(sha) if FULL_SHA.fullmatch(sha) else None
            if isinstance(found, pygit2.Blob):
                return found.data
        except (pygit2.GitError, OSError) as exc:
            raise StoreError(f"git store failed: {exc}") from exc
        raise NotFound(f"no blob {sha}")

    def merged_change(self, merge: str, path: str) -> Commit | None:
        """See ``Store.merged_change``: walks only the commits of the merged branch (the
        first parent's history is hidden), newest first."""
        with boundary():
            repo = self._repo()
            commit = get_object(repo, merge, pygit2.Commit)
            walker = merged_side(repo, commit)
            wanted = blob_at(commit, path)
            if walker is None or wanted is None:
                return None
            for candidate in walker:
                if blob_at(candidate, path) != wanted:
                    continue
                before = candidate.parents[0] if candidate.parent_ids else None
                if before is None or blob_at(before, path) != wanted:
                    return to_commit(candidate)
            return None

    def create_branch(self, name: str, at: str) -> None:
        """Create ``refs/heads/<name>`` at commit ``at``; ``AlreadyExists`` if it exists."""
        ref = branch_ref(name)
        with boundary():
            repo = self._repo()
            if ref in repo.references:
                raise AlreadyExists(f"branch {name} already exists")
            repo.references.create(ref, get_object(repo, at, pygit2.Commit).id)

    def read_file(self, commit: str, path: str) -> bytes | None:
        with boundary():
            root = get_object(self._repo(), commit, pygit2.Commit).tree
            try:
                entry = root[path]
            except KeyError:
                return None
            return entry.data if isinstance(entry, pygit2.Blob) else None

    def write(
        self,
        parent: str | None,
        changes: Mapping[str, bytes | None],
        author: Author,
        message: str,
    ) -> str:
        """See ``Store.write``. The new tree is built from the parent's tree along the changed
        paths only; a folder left empty by a delete is removed. Content identical to the
        parent's still makes a commit. The message gets git's trailing newline."""
        return self.write_chain(parent, [PendingCommit(changes, author, message)])[-1]

    def write_chain(self, parent: str | None, commits: Sequence[PendingCommit]) -> list[str]:
        """See ``Store.write_chain``: each commit on top of the previous one, then one
        durability barrier, one compare-and-swap of the branch, one more barrier."""
        with self._write_lock:
            shas = self.create_chain(parent, commits)
            self.move_branch(parent, shas[-1], commits[-1].message)
            return shas

    def create_chain(self, parent: str | None, commits: Sequence[PendingCommit]) -> list[str]:
        """Write the commits of ``write_chain`` (objects only, made durable) without moving
        the branch; the new shas in order. Raises StaleParent if the branch is not at
        ``parent`` (a cheap early check: ``move_branch`` decides)."""
        if not commits:
            raise ValueError("no commits to write")
        nested = [nest(commit.changes) for commit in commits]
        size = sum(len(data or b"") for commit in commits for data in commit.changes.values())
        with space_checked(self._path, size), boundary():
            repo = self._repo()
            actual = branch_target(repo, self._ref)
            if actual != parent:
                raise StaleParent(parent, actual)
            base = None if parent is None else get_object(repo, parent, pygit2.Commit)
            shas: list[str] = []
            for commit, changes in zip(commits, nested, strict=True):
                empty = repo.TreeBuilder().write
                tree = build_tree(repo, base and base.tree, changes, "") or empty()
                message = commit.message
                sha = repo.create_commit(
                    None,
                    _signature(commit.author, "author"),
                    _signature(self.committer, "committer"),
                    message if message.endswith("\n") else message + "\n",
                    tree,
                    [] if base is None else [base.id],
                )
                shas.append(str(sha))
                base = get_object(repo, str(sha), pygit2.Commit)
            self._barrier()  # the objects are on disk before any ref points at them
            return shas

    def move_branch(self, expected: str | None, new: str, message: str) -> None:
        """Move the branch from ``expected`` to the existing commit ``new`` by
        compare-and-swap, durably. Raises StaleParent if it is no longer at ``expected``."""
        with boundary():
            repo = self._repo()
            self._move_branch(repo, expected, get_object(repo, new, pygit2.Commit).id, message)
            self._barrier()  # the ref is on disk before the caller hears "done"

    def reference(self, name: str) -> str | None:
        """The commit a full reference name (``refs/remotes/origin/main``) points at."""
        with boundary():
            return branch_target(self._repo(), name)

    def set_reference(self, name: str, sha: str) -> None:
        """Point ``name`` at commit ``sha`` (created or moved; not the tracked branch)."""
        with boundary():
            repo = self._repo()
            repo.create_reference(name, get_object(repo, sha, pygit2.Commit).id, force=True)

    def _barrier(self) -> None:
        """Make everything written so far durable (``syncfs`` of the repository's file
        system: one flush for all objects and the ref of a batch, instead of one fsync per
        object). A no-op with ``fsync=False``."""
        if self.fsync:
            syncfs(self.git_dir)

    def _move_branch(
        self, repo: pygit2.Repository, expected: str | None, new: pygit2.Oid, message: str
    ) -> None:
        """Compare-and-swap: lock the ref, check it still points at ``expected``, move it."""
        with repo.transaction() as transaction:
            _lock(transaction, self._ref)
            actual = branch_target(repo, self._ref)
            if actual != expected:
                raise StaleParent(expected, actual)  # leaving the block unlocks, unchanged
            subject = message.split("\n", 1)[0]
            transaction.set_target(self._ref, new, message=f"gitconfig: {subject}")

    def _repo(self) -> pygit2.Repository:
        repo: pygit2.Repository | None = getattr(self._local, "repo", None)
        if repo is None:
            with boundary():
                repo = pygit2.Repository(str(self._path), RepositoryOpenFlag.NO_SEARCH)
                # The reflog identity (pygit2 1.21 cannot pass a signature to set_target).
                repo.set_ident(self.committer.name, self.committer.email)
                for directory in getattr(self, "_object_directories", ()):
                    repo.odb.add_disk_alternate(directory)  # a pre-receive quarantine
            self._local.repo = repo
        return repo


def discover(path: str | Path) -> tuple[Path, str | None]:
    """The repository at or above ``path`` (its working tree, or the git folder of a bare
    one) and the branch its HEAD names (None when detached). NotFound if there is none."""
    with boundary():
        found = pygit2.discover_repository(str(path))
        if found is None:
            raise NotFound(f"no git repository at or above {path}")
        repo = pygit2.Repository(found, RepositoryOpenFlag.NO_SEARCH)
        head = repo.references.get("HEAD")
        target = head.target if head is not None else None
        branch = target[len("refs/heads/") :] if isinstance(target, str) else None
        return Path(repo.workdir or repo.path), branch


def _lock(transaction: pygit2.transaction.ReferenceTransaction, ref: str) -> None:
    """Lock ``ref``, waiting up to LOCK_TIMEOUT while another writer holds its lock file."""
    deadline = time.monotonic() + LOCK_TIMEOUT
    delay = 0.001
    while True:
        try:
            transaction.lock_ref(ref)
            return
        except pygit2.GitError as exc:
            if time.monotonic() >= deadline:
                raise StoreError(f"could not lock {ref} (a stale .lock file?): {exc}") from exc
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _signature(who: Author, role: str) -> pygit2.Signature:
    try:
        return pygit2.Signature(who.name, who.email)  # now, in the local time zone
    except (pygit2.GitError, ValueError) as exc:
        raise BadRequest(f"invalid {role} {who.name!r} <{who.email}>: {exc}") from exc
