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

Durability: with ``fsync=True`` (the default) ``write()``/``write_chain()`` return only once
the commit is on disk. Each call writes its objects, then flushes the repository's file system
(``syncfs``), then moves the ref, then flushes again: objects are durable before any ref points
at them, and the ref before the caller is told. That is two flushes per batch of commits,
where libgit2's own GIT_OPT_ENABLE_FSYNC_GITDIR costs one fsync per object (blob, one tree per
folder level, commit), per ref and per reflog, for every commit of a batch: with concurrent
writers that halved the API's commit rate (docs/decisions.md), so that option is switched off.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

import pygit2
from pygit2.enums import FileMode, FileStatus, RepositoryOpenFlag, SortMode

from gitconfig.core.errors import AlreadyExists, BadRequest, NotFound, StaleParent, StoreError
from gitconfig.core.model import Author, Commit, FileChange, PendingCommit

TRACKED_FOLDERS = ("configs", "flags", "schemas")
DEFAULT_COMMITTER = Author("gitconfig", "gitconfig@localhost")
LOCK_TIMEOUT = 5.0  # seconds to wait for another writer's ref lock before giving up

_FULL_SHA = re.compile(r"[0-9a-fA-F]{40}")
_SHA_PREFIX = re.compile(r"[0-9a-fA-F]{7,40}")
_FILE_MODES = (FileMode.BLOB, FileMode.BLOB_EXECUTABLE)  # regular files
_SPECIAL_MODES = {FileMode.LINK: "symlink", FileMode.COMMIT: "submodule"}  # reported as problems
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

    def special_entries(self, commit: str) -> list[tuple[str, str]]:
        """(path, ``symlink`` or ``submodule``) of every entry under configs/, flags/ and
        schemas/ of ``commit`` that is neither a regular file nor a folder."""
        with _boundary():
            root = _get(self._repo(), commit, pygit2.Commit).tree
            return [
                special
                for folder in TRACKED_FOLDERS
                if (tree := _subtree(root, folder)) is not None
                for special in _specials(tree, folder)
            ]

    def staged_special_entries(self, index_file: str | Path | None = None) -> list[tuple[str, str]]:
        """``special_entries`` of what is staged (see ``staged_files``)."""
        with _boundary():
            index = self._repo().index if index_file is None else pygit2.Index(str(index_file))
            if index_file is None:
                index.read()
            return [
                (entry.path, _SPECIAL_MODES[entry.mode])
                for entry in index
                if entry.path.startswith(tuple(f"{folder}/" for folder in TRACKED_FOLDERS))
                and entry.mode in _SPECIAL_MODES
            ]

    def diff(self, old: str | None, new: str) -> list[FileChange]:
        """Walks both trees together, skipping every subtree whose id is the same on both
        sides, so a one-file commit costs the folders along its path, whatever the size of
        the repository (libgit2's tree diff took ~10 ms at 100,000 files). Only the tracked
        folders are read. A mode-only change is no change. Sorted by path."""
        with _boundary():
            repo = self._repo()
            old_root = None if old is None else _get(repo, old, pygit2.Commit).tree
            new_root = _get(repo, new, pygit2.Commit).tree
            changes: list[FileChange] = []
            for folder in TRACKED_FOLDERS:
                before, after = _subtree(old_root, folder), _subtree(new_root, folder)
                if (before and before.id) != (after and after.id):  # not both absent or equal
                    _diff_trees(before, after, f"{folder}/", changes)
        return changes

    def read_blob(self, sha: str) -> bytes:
        with _boundary():
            return _get(self._repo(), sha, pygit2.Blob).data

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
        if not commits:
            raise ValueError("no commits to write")
        nested = [_nest(commit.changes) for commit in commits]
        with self._write_lock, _boundary():
            repo = self._repo()
            actual = _branch_target(repo, self._ref)
            if actual != parent:  # cheap early exit; the compare-and-swap below decides
                raise StaleParent(parent, actual)
            base = None if parent is None else _get(repo, parent, pygit2.Commit)
            shas: list[str] = []
            for commit, changes in zip(commits, nested, strict=True):
                empty = repo.TreeBuilder().write
                tree = _build_tree(repo, base and base.tree, changes, "") or empty()
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
                base = _get(repo, str(sha), pygit2.Commit)
            self._barrier()  # the objects are on disk before any ref points at them
            self._move_branch(repo, parent, base.id, commits[-1].message)  # type: ignore[union-attr]
            self._barrier()  # the ref is on disk before the caller hears "done"
            return shas

    def _barrier(self) -> None:
        """Make everything written so far durable (``syncfs`` of the repository's file
        system: one flush for all objects and the ref of a batch, instead of one fsync per
        object). A no-op with ``fsync=False``."""
        if self.fsync:
            _syncfs(self.git_dir)

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
                for directory in getattr(self, "_object_directories", ()):
                    repo.odb.add_disk_alternate(directory)  # a pre-receive quarantine
            self._local.repo = repo
        return repo

    # -- the local repository of the command line and the git hooks ---------------------

    def add_object_directories(self, directories: Sequence[str | Path]) -> None:
        """Also read objects from ``directories``: in a pre-receive hook the pushed objects
        wait in a quarantine folder (``GIT_OBJECT_DIRECTORY``) that libgit2 does not see."""
        self._object_directories = tuple(str(directory) for directory in directories)
        self._local = threading.local()  # repositories opened from now on see them

    def identity(self) -> Author:
        """The author git would record here: ``GIT_AUTHOR_NAME``/``GIT_AUTHOR_EMAIL``, else
        ``user.name``/``user.email`` from the repository's, global and system configuration."""
        with _boundary():
            config = self._repo().config
            found = {}
            for name, variable in (("name", "GIT_AUTHOR_NAME"), ("email", "GIT_AUTHOR_EMAIL")):
                value = os.environ.get(variable)
                if not value and f"user.{name}" in config:
                    value = config[f"user.{name}"]
                found[name] = value
        if not found["name"] or not found["email"]:
            raise BadRequest(
                "who are you? set your git identity first:\n"
                '  git config --global user.name "Your Name"\n'
                "  git config --global user.email you@example.com"
            )
        return Author(found["name"], found["email"])

    def rev_parse(self, rev: str) -> str:
        """The commit any git revision names (``main``, ``origin/main``, ``HEAD~2``, a tag, a
        sha prefix); NotFound otherwise."""
        with _boundary():
            try:
                found = self._repo().revparse_single(rev).peel(pygit2.Commit)
            except (KeyError, ValueError, pygit2.InvalidSpecError, pygit2.GitError) as exc:
                raise NotFound(f"unknown revision {rev!r}") from exc
            return str(found.id)

    def merge_base(self, one: str, other: str) -> str | None:
        with _boundary():
            found = self._repo().merge_base(one, other)
            return None if found is None else str(found)

    def staged_files(self, index_file: str | Path | None = None) -> list[tuple[str, str]]:
        """(path, blob sha) of every staged file under configs/, flags/ and schemas/: the
        repository's index, or ``index_file`` (git gives hooks ``GIT_INDEX_FILE``)."""
        with _boundary():
            index = self._repo().index if index_file is None else pygit2.Index(str(index_file))
            if index_file is None:
                index.read()
            return [
                (entry.path, str(entry.id))
                for entry in index
                if entry.path.startswith(tuple(f"{folder}/" for folder in TRACKED_FOLDERS))
                and entry.mode in _FILE_MODES
            ]

    def new_commits(self, tip: str) -> list[Commit]:
        """The commits reachable from ``tip`` and from no reference, parents first: in a
        pre-receive hook, the commits a push brings."""
        with _boundary():
            repo = self._repo()
            walker = repo.walk(_get(repo, tip, pygit2.Commit).id, SortMode.TOPOLOGICAL)
            for name in repo.references:
                try:
                    walker.hide(repo.references[name].peel(pygit2.Commit).id)
                except (pygit2.GitError, ValueError, KeyError):
                    continue  # a reference to something other than a commit
            found = [_to_commit(commit) for commit in walker]
        found.reverse()
        return found

    def worktree_conflicts(self, paths: Sequence[str]) -> list[str]:
        """The ``paths`` with uncommitted changes (staged or not, or untracked) in the working
        tree of a clone whose checked-out branch is this store's branch; empty otherwise."""
        with _boundary():
            repo = self._repo()
            if not self._checked_out(repo):
                return []
            busy = []
            for path in paths:
                try:
                    status = repo.status_file(path)
                except KeyError:
                    continue  # absent from HEAD, the index and the working tree
                if status not in (FileStatus.CURRENT, FileStatus.IGNORED):
                    busy.append(path)
            return busy

    def update_worktree(self, paths: Sequence[str]) -> None:
        """Bring the index and the working tree of ``paths`` to the branch's new head (after a
        write, in a clone whose checked-out branch is this store's branch)."""
        with _boundary():
            repo = self._repo()
            if not self._checked_out(repo):
                return
            tree = _get(repo, str(_branch_target(repo, self._ref)), pygit2.Commit).tree
            root = Path(repo.workdir)
            index = repo.index
            index.read()
            for path in paths:
                target = root / path
                try:
                    blob = tree[path]
                except KeyError:
                    blob = None
                if isinstance(blob, pygit2.Blob):
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(blob.data)
                    index.add(path)  # from the file just written: its stat data, so git is clean
                    continue
                if path in index:
                    index.remove(path)
                target.unlink(missing_ok=True)
                for folder in target.parents:
                    if folder == root or any(folder.iterdir()):
                        break
                    folder.rmdir()
            index.write()

    def _checked_out(self, repo: pygit2.Repository) -> bool:
        if repo.is_bare:
            return False
        head = repo.references.get("HEAD")
        return head is not None and head.target == self._ref  # symbolic: the branch's name


_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _syncfs(path: Path) -> None:
    """Flush the file system holding ``path`` to disk (Linux ``syncfs``; else ``sync``)."""
    syncfs = getattr(_LIBC, "syncfs", None)
    if syncfs is None:  # pragma: no cover - not Linux
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            error = ctypes.get_errno()
            raise StoreError(f"syncfs failed: {os.strerror(error)}")
    finally:
        os.close(fd)


def discover(path: str | Path) -> tuple[Path, str | None]:
    """The repository at or above ``path`` (its working tree, or the git folder of a bare
    one) and the branch its HEAD names (None when detached). NotFound if there is none."""
    with _boundary():
        found = pygit2.discover_repository(str(path))
        if found is None:
            raise NotFound(f"no git repository at or above {path}")
        repo = pygit2.Repository(found, RepositoryOpenFlag.NO_SEARCH)
        head = repo.references.get("HEAD")
        target = head.target if head is not None else None
        branch = target[len("refs/heads/") :] if isinstance(target, str) else None
        return Path(repo.workdir or repo.path), branch


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


def _diff_trees(
    before: pygit2.Tree | None, after: pygit2.Tree | None, prefix: str, out: list[FileChange]
) -> None:
    """Append the blob changes between two trees (None: absent) to ``out``."""
    old = {str(entry.name): entry for entry in before} if before is not None else {}
    new = {str(entry.name): entry for entry in after} if after is not None else {}
    for name in sorted(old.keys() | new.keys()):
        was, now = old.get(name), new.get(name)
        if was is not None and now is not None and was.id == now.id:
            continue  # the same blob or the same whole subtree
        was_tree = was if isinstance(was, pygit2.Tree) else None
        now_tree = now if isinstance(now, pygit2.Tree) else None
        if was_tree is not None or now_tree is not None:
            _diff_trees(was_tree, now_tree, f"{prefix}{name}/", out)
        old_blob, new_blob = _file_id(was), _file_id(now)
        special = _special_kind(now)
        if old_blob != new_blob or special is not None or _special_kind(was) is not None:
            out.append(FileChange(prefix + name, old_blob, new_blob, special))


def _special_kind(entry: pygit2.Object | None) -> str | None:
    """``symlink`` or ``submodule`` for such a tree entry; None for a file, a folder, nothing."""
    if entry is None:
        return None
    return _SPECIAL_MODES.get(entry.filemode)


def _specials(tree: pygit2.Tree, prefix: str) -> Iterator[tuple[str, str]]:
    for entry in tree:
        path = f"{prefix}/{entry.name}"
        if isinstance(entry, pygit2.Tree):
            yield from _specials(entry, path)
        elif (kind := _SPECIAL_MODES.get(entry.filemode)) is not None:
            yield path, kind


def _file_id(entry: pygit2.Object | None) -> str | None:
    """The blob id of a regular file entry; None for anything else (absent, tree, link)."""
    if entry is None or entry.filemode not in _FILE_MODES:
        return None
    return str(entry.id)


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
