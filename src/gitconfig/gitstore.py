"""The pygit2 adapter of the ``Store`` port: trees, blobs, commits built in memory, and
compare-and-swap moves of the tracked branch.

The only module that imports pygit2. pygit2 and OS errors are translated at the boundary
(``_boundary``) into ``StoreError``; unknown objects become ``NotFound``; invalid paths in a
write become ``BadRequest``. Works on bare repositories and on normal clones (a write moves the
branch but never touches a working tree or index, like a push into a checked-out branch, so the
service should own a bare repository).

Thread-safety: a libgit2 object may only be used by one thread at a time, so every thread gets
its own ``pygit2.Repository`` (opened lazily, kept in a ``threading.local``) and no pygit2 object
outlives a method call. Every method may therefore be called from any thread. ``write()`` also
holds a per-store lock, so that writers of one process queue up instead of racing for the ref
lock file; writers in other processes are kept apart by the compare-and-swap alone.

Durability: with ``fsync=True`` (the default) libgit2's GIT_OPT_ENABLE_FSYNC_GITDIR is on, so
every loose object, the ref and its reflog are fsynced (file and folder) before ``write()``
returns. The option is process-global and libgit2 reads it when a repository's object and ref
databases are first loaded: the last ``GitStore`` constructed decides for repositories opened
after it, so do not mix settings in one process (benchmarks measure each in its own process).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

import pygit2
from pygit2.enums import FileMode, RepositoryOpenFlag, SortMode

from gitconfig.errors import AlreadyExists, BadRequest, NotFound, StaleParent, StoreError
from gitconfig.model import Author, Commit, FileChange

TRACKED_FOLDERS = ("configs", "flags", "schemas")
DEFAULT_COMMITTER = Author("gitconfig", "gitconfig@localhost")
LOCK_TIMEOUT = 5.0  # seconds to wait for another writer's ref lock before giving up

_FULL_SHA = re.compile(r"[0-9a-fA-F]{40}")
_SHA_PREFIX = re.compile(r"[0-9a-fA-F]{7,40}")
_FILE_MODES = (FileMode.BLOB, FileMode.BLOB_EXECUTABLE)  # symlinks and submodules are ignored
_T = TypeVar("_T", pygit2.Commit, pygit2.Blob)
# The changes of one write as a tree of folder names: a leaf is new content, or None to delete.
_Changes = dict[str, "bytes | None | _Changes"]


class GitStore:
    """``Store`` over one Git repository, tracking ``refs/heads/<branch>``."""

    def __init__(
        self,
        path: str | Path,
        branch: str = "main",
        *,
        committer: Author = DEFAULT_COMMITTER,
        fsync: bool = True,
    ) -> None:
        self._ref = _branch_ref(branch)
        pygit2.settings.enable_fsync_gitdir(fsync)
        self.branch = branch
        self.committer = committer
        self.fsync = fsync
        self._path = Path(path)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self.git_dir = Path(self._repo().path)  # what a watcher watches: refs/, packed-refs

    @classmethod
    def init(
        cls,
        path: str | Path,
        bare: bool,
        branch: str = "main",
        *,
        committer: Author = DEFAULT_COMMITTER,
        fsync: bool = True,
    ) -> GitStore:
        """Create a new repository whose HEAD names ``branch``, which has no commits yet."""
        target = Path(path)
        if (target / "HEAD").exists() or (target / ".git").exists():
            raise AlreadyExists(f"a git repository already exists at {target}")
        _branch_ref(branch)
        with _boundary():
            pygit2.init_repository(target, bare=bare, initial_head=branch)
        return cls(target, branch, committer=committer, fsync=fsync)

    def head(self) -> str | None:
        with _boundary():
            return _branch_target(self._repo(), self._ref)

    def commit(self, sha: str) -> Commit:
        with _boundary():
            return _to_commit(_get(self._repo(), sha, pygit2.Commit))

    def resolve(self, rev: str) -> str | None:
        if not _SHA_PREFIX.fullmatch(rev):
            return None
        with _boundary():
            try:
                found = self._repo().get(rev)
            except pygit2.AmbiguousError:
                return None
            return str(found.id) if isinstance(found, pygit2.Commit) else None

    def first_parent_chain(self, new: str, stop: str | None) -> list[Commit]:
        with _boundary():
            repo = self._repo()
            walker = repo.walk(_get(repo, new, pygit2.Commit).id, SortMode.NONE)
            walker.simplify_first_parent()
            stop = None if stop is None else stop.lower()
            chain = []
            for commit in walker:
                if str(commit.id) == stop:
                    break
                chain.append(_to_commit(commit))
        chain.reverse()
        return chain

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True if ``ancestor`` is reachable from ``descendant`` (a commit is its own ancestor,
        as with ``git merge-base --is-ancestor``)."""
        with _boundary():
            repo = self._repo()
            old = _get(repo, ancestor, pygit2.Commit).id
            new = _get(repo, descendant, pygit2.Commit).id
            return old == new or repo.descendant_of(new, old)

    def files(self, commit: str) -> Iterator[tuple[str, str]]:
        with _boundary():
            root = _get(self._repo(), commit, pygit2.Commit).tree
            found = [
                blob
                for folder in TRACKED_FOLDERS
                if (tree := _subtree(root, folder)) is not None
                for blob in _blobs(tree, folder)
            ]
        return iter(found)

    def diff(self, old: str | None, new: str) -> list[FileChange]:
        """Each tracked folder is diffed by libgit2 on its own (identical subtrees are skipped
        by id, the rest of the repository is never read). A mode-only change is no change."""
        with _boundary():
            repo = self._repo()
            old_root = None if old is None else _get(repo, old, pygit2.Commit).tree
            new_root = _get(repo, new, pygit2.Commit).tree
            changes = []
            for folder in TRACKED_FOLDERS:
                before, after = _subtree(old_root, folder), _subtree(new_root, folder)
                if (before and before.id) == (after and after.id):  # both absent, or equal
                    continue
                for delta in _diff_trees(before, after).deltas:
                    old_blob = _blob_id(delta.old_file)
                    new_blob = _blob_id(delta.new_file)
                    if old_blob != new_blob:
                        path = f"{folder}/{delta.new_file.path or delta.old_file.path}"
                        changes.append(FileChange(path, old_blob, new_blob))
        return changes

    def read_blob(self, sha: str) -> bytes:
        with _boundary():
            return _get(self._repo(), sha, pygit2.Blob).data

    def blob_at(self, commit: str, path: str) -> str | None:
        with _boundary():
            tree = _get(self._repo(), commit, pygit2.Commit).tree
            try:
                entry = tree[path]
            except (KeyError, ValueError):
                return None
            return str(entry.id) if entry.filemode in _FILE_MODES else None

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
        nested = _nest(changes)
        with self._write_lock, _boundary():
            repo = self._repo()
            actual = _branch_target(repo, self._ref)
            if actual != parent:  # cheap early exit; the compare-and-swap below decides
                raise StaleParent(parent, actual)
            base = None if parent is None else _get(repo, parent, pygit2.Commit)
            tree = _build_tree(repo, base and base.tree, nested, "") or repo.TreeBuilder().write()
            sha = repo.create_commit(
                None,
                _signature(author, "author"),
                _signature(self.committer, "committer"),
                message if message.endswith("\n") else message + "\n",
                tree,
                [] if base is None else [base.id],
            )
            self._move_branch(repo, parent, sha, message)
            return str(sha)

    def _move_branch(
        self, repo: pygit2.Repository, expected: str | None, new: pygit2.Oid, message: str
    ) -> None:
        """Compare-and-swap: lock the ref, check it still points at ``expected``, move it."""
        with repo.transaction() as transaction:
            _lock(transaction, self._ref)
            actual = _branch_target(repo, self._ref)
            if actual != expected:
                raise StaleParent(expected, actual)  # leaving the block unlocks, unchanged
            subject = message.split("\n", 1)[0]
            transaction.set_target(self._ref, new, message=f"gitconfig: {subject}")

    def _repo(self) -> pygit2.Repository:
        repo: pygit2.Repository | None = getattr(self._local, "repo", None)
        if repo is None:
            with _boundary():
                repo = pygit2.Repository(str(self._path), RepositoryOpenFlag.NO_SEARCH)
                # The reflog identity (pygit2 1.21 cannot pass a signature to set_target).
                repo.set_ident(self.committer.name, self.committer.email)
            self._local.repo = repo
        return repo


@contextmanager
def _boundary() -> Iterator[None]:
    """Translate pygit2 and OS errors into ``StoreError``; gitconfig errors pass through."""
    try:
        yield
    except (pygit2.GitError, OSError) as exc:
        raise StoreError(f"git store failed: {exc}") from exc


def _branch_ref(branch: str) -> str:
    ref = f"refs/heads/{branch}"
    if not pygit2.reference_is_valid_name(ref):
        raise BadRequest(f"invalid branch name {branch!r}")
    return ref


def _get(repo: pygit2.Repository, sha: str, kind: type[_T]) -> _T:
    found = repo.get(sha) if _FULL_SHA.fullmatch(sha) else None
    if not isinstance(found, kind):
        raise NotFound(f"no {kind.__name__.lower()} {sha}")
    return found


def _branch_target(repo: pygit2.Repository, ref: str) -> str | None:
    reference = repo.references.get(ref)
    return None if reference is None else str(reference.resolve().target)


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


def _to_commit(commit: pygit2.Commit) -> Commit:
    author = commit.author
    offset = timedelta(minutes=author.offset)
    zone = timezone(offset) if abs(offset) < timedelta(days=1) else UTC
    return Commit(
        sha=str(commit.id),
        parent=str(commit.parent_ids[0]) if commit.parent_ids else None,
        author=Author(
            author.raw_name.decode("utf-8", "replace"),
            author.raw_email.decode("utf-8", "replace"),
        ),
        time=datetime.fromtimestamp(author.time, zone),
        message=commit.raw_message.decode("utf-8", "replace").rstrip("\n"),
    )


def _signature(who: Author, role: str) -> pygit2.Signature:
    try:
        return pygit2.Signature(who.name, who.email)  # now, in the local time zone
    except (pygit2.GitError, ValueError) as exc:
        raise BadRequest(f"invalid {role} {who.name!r} <{who.email}>: {exc}") from exc


def _subtree(root: pygit2.Tree | None, name: str) -> pygit2.Tree | None:
    if root is None or name not in root:
        return None
    entry = root[name]
    return entry if isinstance(entry, pygit2.Tree) else None


def _blobs(tree: pygit2.Tree, prefix: str) -> Iterator[tuple[str, str]]:
    for entry in tree:
        path = f"{prefix}/{entry.name}"
        if isinstance(entry, pygit2.Tree):
            yield from _blobs(entry, path)
        elif entry.filemode in _FILE_MODES:
            yield path, str(entry.id)


def _diff_trees(before: pygit2.Tree | None, after: pygit2.Tree | None) -> pygit2.Diff:
    if before is None:
        assert after is not None
        return after.diff_to_tree(swap=True)  # the empty tree -> after
    return before.diff_to_tree(after) if after is not None else before.diff_to_tree()


def _blob_id(file: pygit2.DiffFile) -> str | None:
    return str(file.id) if file.mode in _FILE_MODES else None


def _nest(changes: Mapping[str, bytes | None]) -> _Changes:
    root: _Changes = {}
    for path, content in changes.items():
        *folders, name = _split(path)
        node = root
        for folder in folders:
            child = node.setdefault(folder, {})
            if not isinstance(child, dict):
                raise BadRequest(f"{path!r} is inside a file changed by the same write")
            node = child
        if name in node:
            raise BadRequest(f"{path!r} is a folder of another path changed by the same write")
        node[name] = content
    return root


def _split(path: str) -> list[str]:
    parts = path.split("/")
    if any(part in ("", ".", "..") or part.lower() == ".git" or "\0" in part for part in parts):
        raise BadRequest(f"invalid path {path!r}")
    return parts


def _build_tree(
    repo: pygit2.Repository, base: pygit2.Tree | None, changes: _Changes, prefix: str
) -> pygit2.Oid | None:
    """Apply ``changes`` to ``base`` (None: an empty folder) and write the tree; None if the
    result is empty. Only the folders named in ``changes`` are read and rewritten."""
    builder = repo.TreeBuilder() if base is None else repo.TreeBuilder(base)
    for name, change in changes.items():
        path = prefix + name
        existing = base[name] if base is not None and name in base else None
        if isinstance(change, dict):
            if existing is not None and not isinstance(existing, pygit2.Tree):
                raise BadRequest(f"{path!r} is a file, not a folder")
            subtree = _build_tree(repo, existing, change, path + "/")
            if subtree is not None:
                builder.insert(name, subtree, FileMode.TREE)
            elif existing is not None:
                builder.remove(name)
        elif isinstance(existing, pygit2.Tree):
            raise BadRequest(f"{path!r} is a folder, not a file")
        elif change is not None:
            builder.insert(name, repo.create_blob(change), FileMode.BLOB)
        elif existing is not None:
            builder.remove(name)
    return builder.write() if len(builder) else None
