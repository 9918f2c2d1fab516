"""pygit2 helpers shared by the store's adapters: the error boundary, object and commit
conversion, tree diffs and in-memory tree building, and the file-system flush.

Only ``store/`` modules import this (and pygit2)."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

import pygit2
from pygit2.enums import FileMode, SortMode

from gitconfig.core.errors import BadRequest, NotFound, StorageFull, StoreError
from gitconfig.core.model import Author, Commit, FileChange

TRACKED_FOLDERS = ("configs", "flags", "schemas")
FULL_SHA = re.compile(r"[0-9a-fA-F]{40}")
FILE_MODES = (FileMode.BLOB, FileMode.BLOB_EXECUTABLE)  # regular files
SPECIAL_MODES = {FileMode.LINK: "symlink", FileMode.COMMIT: "submodule"}  # reported as problems
_T = TypeVar("_T", pygit2.Commit, pygit2.Blob)
# The changes of one write as a tree of folder names: a leaf is new content, or None to delete.
Changes = dict[str, "bytes | Changes | None"]


_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def syncfs(path: Path) -> None:
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


@contextmanager
def boundary() -> Iterator[None]:
    """Translate pygit2 and OS errors into ``StoreError`` (``StorageFull`` for a full disk or
    quota); gitconfig errors pass through."""
    try:
        yield
    except (pygit2.GitError, OSError) as exc:
        if storage_full(exc):
            raise StorageFull(FULL_MESSAGE) from exc
        raise StoreError(f"git store failed: {exc}") from exc


FULL_MESSAGE = (
    "the repository's disk is full (No space left on device): nothing was written; "
    "reads go on while space is freed"
)
_FULL = (errno.ENOSPC, errno.EDQUOT)


SPACE_MARGIN = 1 << 20  # bytes a write leaves free at least (objects, index, ref logs)


@contextmanager
def space_checked(path: Path, needed: int) -> Iterator[None]:
    """A write of about ``needed`` bytes under ``path``: refused with ``StorageFull`` before
    anything is written when the file system lacks room for it, and a ``StoreError`` it
    raises on a file system left nearly full is that too (libgit2 does not always name the
    OS error: a full disk can surface as an object not found)."""
    _ensure_space(path, needed + SPACE_MARGIN)
    try:
        yield
    except StorageFull:
        raise
    except StoreError:
        _ensure_space(path, SPACE_MARGIN)
        raise


def _ensure_space(path: Path, needed: int) -> None:
    found = os.statvfs(path)
    if found.f_bavail * found.f_frsize < needed:
        raise StorageFull(FULL_MESSAGE)


def storage_full(exc: BaseException) -> bool:
    """Whether ``exc`` (an OS error, or libgit2's, which names the OS error in its text) says
    the file system is full or over quota."""
    if isinstance(exc, OSError) and exc.errno in _FULL:
        return True
    text = str(exc)
    return "No space left on device" in text or "Disk quota exceeded" in text


def branch_ref(branch: str) -> str:
    ref = f"refs/heads/{branch}"
    if not pygit2.reference_is_valid_name(ref):
        raise BadRequest(f"invalid branch name {branch!r}")
    return ref


def get_object(repo: pygit2.Repository, sha: str, kind: type[_T]) -> _T:
    found = repo.get(sha) if FULL_SHA.fullmatch(sha) else None
    if not isinstance(found, kind):
        raise NotFound(f"no {kind.__name__.lower()} {sha}")
    return found


def branch_target(repo: pygit2.Repository, ref: str) -> str | None:
    reference = repo.references.get(ref)
    return None if reference is None else str(reference.resolve().target)


def to_commit(commit: pygit2.Commit) -> Commit:
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


def subtree(root: pygit2.Tree | None, name: str) -> pygit2.Tree | None:
    if root is None or name not in root:
        return None
    entry = root[name]
    return entry if isinstance(entry, pygit2.Tree) else None


def blobs(tree: pygit2.Tree, prefix: str) -> Iterator[tuple[str, str]]:
    for entry in tree:
        path = f"{prefix}/{entry.name}"
        if isinstance(entry, pygit2.Tree):
            yield from blobs(entry, path)
        elif entry.filemode in FILE_MODES:
            yield path, str(entry.id)


def diff_trees(
    before: pygit2.Tree | None, after: pygit2.Tree | None, prefix: str, out: list[FileChange]
) -> None:
    """Append the blob changes between two trees (None: absent) to ``out``."""
    if before is None and after is not None:
        _added(after, prefix, out)
        return
    old = {str(entry.name): entry for entry in before} if before is not None else {}
    new = {str(entry.name): entry for entry in after} if after is not None else {}
    for name in sorted(old.keys() | new.keys()):
        was, now = old.get(name), new.get(name)
        if was is not None and now is not None and was.id == now.id:
            continue  # the same blob or the same whole subtree
        was_tree = was if isinstance(was, pygit2.Tree) else None
        now_tree = now if isinstance(now, pygit2.Tree) else None
        if was_tree is not None or now_tree is not None:
            diff_trees(was_tree, now_tree, f"{prefix}{name}/", out)
        old_blob, new_blob = file_id(was), file_id(now)
        special = special_kind(now)
        if old_blob != new_blob or special is not None or special_kind(was) is not None:
            out.append(FileChange(prefix + name, old_blob, new_blob, special))


def _added(tree: pygit2.Tree, prefix: str, out: list[FileChange]) -> None:
    """``diff_trees(None, tree, ...)``: every file under ``tree`` added, in the same order."""
    for name, entry in sorted((str(entry.name), entry) for entry in tree):
        if isinstance(entry, pygit2.Tree):
            _added(entry, f"{prefix}{name}/", out)
            continue
        mode = entry.filemode
        if mode in FILE_MODES:
            out.append(FileChange(prefix + name, None, str(entry.id)))
        elif (special := SPECIAL_MODES.get(mode)) is not None:
            out.append(FileChange(prefix + name, None, None, special))


def special_kind(entry: pygit2.Object | None) -> str | None:
    """``symlink`` or ``submodule`` for such a tree entry; None for a file, a folder, nothing."""
    if entry is None:
        return None
    return SPECIAL_MODES.get(entry.filemode)


def specials(tree: pygit2.Tree, prefix: str) -> Iterator[tuple[str, str]]:
    """(path, ``symlink`` or ``submodule``) of every such entry under ``tree``."""
    for entry in tree:
        path = f"{prefix}/{entry.name}"
        if isinstance(entry, pygit2.Tree):
            yield from specials(entry, path)
        elif (kind := SPECIAL_MODES.get(entry.filemode)) is not None:
            yield path, kind


def file_id(entry: pygit2.Object | None) -> str | None:
    """The blob id of a regular file entry; None for anything else (absent, tree, link)."""
    if entry is None or entry.filemode not in FILE_MODES:
        return None
    return str(entry.id)


def nest(changes: Mapping[str, bytes | None]) -> Changes:
    root: Changes = {}
    for path, content in changes.items():
        *folders, name = split_path(path)
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


def split_path(path: str) -> list[str]:
    parts = path.split("/")
    if any(part in ("", ".", "..") or part.lower() == ".git" or "\0" in part for part in parts):
        raise BadRequest(f"invalid path {path!r}")
    return parts


def build_tree(
    repo: pygit2.Repository, base: pygit2.Tree | None, changes: Changes, prefix: str
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
            subtree = build_tree(repo, existing, change, path + "/")
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


def blob_at(commit: pygit2.Commit, path: str) -> str | None:
    """The blob id of ``path`` in ``commit``'s tree; None when absent."""
    try:
        return str(commit.tree[path].id)
    except KeyError:
        return None


def merged_side(repo: pygit2.Repository, commit: pygit2.Commit) -> pygit2.Walker | None:
    """A walk of the commits a merge brought in (reachable from its other parents, not from
    its first parent), newest first; None for a commit with one parent."""
    if len(commit.parent_ids) < 2:
        return None
    walker = repo.walk(commit.parent_ids[1], SortMode.TOPOLOGICAL | SortMode.TIME)
    for other in commit.parent_ids[2:]:
        walker.push(other)
    walker.hide(commit.parent_ids[0])
    return walker


SERVED_REFS = ("refs/heads/", "refs/tags/", "refs/remotes/origin/")


def reachable(repo: pygit2.Repository, oid: pygit2.Oid) -> bool:
    """Whether commit ``oid`` is reachable from a branch, a tag or (in a replica's mirror) a
    branch of ``origin``: what a Git host serves. A commit a force push dropped is not."""
    for name in repo.references:
        if not name.startswith(SERVED_REFS):
            continue
        try:
            tip = repo.references[name].peel(pygit2.Commit).id
        except (pygit2.GitError, ValueError, KeyError):
            continue
        if tip == oid or repo.descendant_of(tip, oid):
            return True
    return False


def served_commit(repo: pygit2.Repository, rev: str, served: bool = True) -> str | None:
    """The full sha of the commit ``rev`` (a sha or a unique prefix) names, when it is
    ``reachable`` (or, with ``served`` false, any commit in the repository); else None (not
    a commit, ambiguous, or dropped by a force push)."""
    try:
        found = repo.get(rev)
    except pygit2.AmbiguousError:
        return None
    if isinstance(found, pygit2.Commit) and (not served or reachable(repo, found.id)):
        return str(found.id)
    return None


def root_blobs(root: pygit2.Tree, *names: str) -> list[tuple[str, str]]:
    """(name, blob sha) of each of ``names`` that is a file at the top of ``root``."""
    found = []
    for name in names:
        try:
            entry = root[name]
        except KeyError:
            continue
        if isinstance(entry, pygit2.Blob):
            found.append((name, str(entry.id)))
    return found


def in_tracked_folders(
    root: pygit2.Tree, each: Callable[[pygit2.Tree, str], Iterator[tuple[str, str]]]
) -> list[tuple[str, str]]:
    """``each(tree, folder)``'s items for every tracked folder (configs, flags, schemas)."""
    return [
        item
        for folder in TRACKED_FOLDERS
        if (tree := subtree(root, folder)) is not None
        for item in each(tree, folder)
    ]
