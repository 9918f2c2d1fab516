"""The local repository of the command line and the git hooks: a store for the clone a user
works in, whose writes keep the checked-out branch's index and working tree in step, like
``git commit`` would; plus what the CLI and hooks ask of a clone (identity, revisions, the
staged files, the commits a push brings, a pre-receive quarantine).

``GitStore`` moves the branch and leaves the working tree alone (right for the served bare
repository). On a clone whose checked-out branch is the written one that would leave the
files on disk one commit behind, showing the write as a local change to undo. ``WorktreeStore``
refuses a write whose files have uncommitted changes (before committing anything), and after
the commit brings exactly those files, on disk and in the index, to the new content.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import pygit2
from pygit2.enums import FileStatus, SortMode

from gitconfig.core.errors import BadRequest, FieldError, NotFound
from gitconfig.core.model import Author, Commit, PendingCommit
from gitconfig.core.sopsrules import SOPS_YAML
from gitconfig.store.gitstore import GitStore
from gitconfig.store.pygit import (
    FILE_MODES,
    SPECIAL_MODES,
    TRACKED_FOLDERS,
    boundary,
    branch_target,
    get_object,
    to_commit,
)


class WorktreeStore(GitStore):
    def write_chain(self, parent: str | None, commits: Sequence[PendingCommit]) -> list[str]:
        paths = self.writable_paths(commits)
        shas = super().write_chain(parent, commits)
        self.update_worktree(paths)
        return shas

    def add_object_directories(self, directories: Sequence[str | Path]) -> None:
        """Also read objects from ``directories``: in a pre-receive hook the pushed objects
        wait in a quarantine folder (``GIT_OBJECT_DIRECTORY``) that libgit2 does not see."""
        self._object_directories = tuple(str(directory) for directory in directories)
        self._local = threading.local()  # repositories opened from now on see them

    def identity(self) -> Author:
        """The author git would record here: ``GIT_AUTHOR_NAME``/``GIT_AUTHOR_EMAIL``, else
        ``user.name``/``user.email`` from the repository's, global and system configuration."""
        with boundary():
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
        with boundary():
            try:
                found = self._repo().revparse_single(rev).peel(pygit2.Commit)
            except (KeyError, ValueError, pygit2.InvalidSpecError, pygit2.GitError) as exc:
                raise NotFound(f"unknown revision {rev!r}") from exc
            return str(found.id)

    def merge_base(self, one: str, other: str) -> str | None:
        with boundary():
            found = self._repo().merge_base(one, other)
            return None if found is None else str(found)

    def staged_files(self, index_file: str | Path | None = None) -> list[tuple[str, str]]:
        """(path, blob sha) of every staged file under configs/, flags/ and schemas/ and the
        root's ``.sops.yaml``: the repository's index, or ``index_file`` (git gives hooks
        ``GIT_INDEX_FILE``)."""
        with boundary():
            index = self._repo().index if index_file is None else pygit2.Index(str(index_file))
            if index_file is None:
                index.read()
            return [
                (entry.path, str(entry.id))
                for entry in index
                if (
                    entry.path.startswith(tuple(f"{folder}/" for folder in TRACKED_FOLDERS))
                    or entry.path == SOPS_YAML
                )
                and entry.mode in FILE_MODES
            ]

    def new_commits(self, tip: str) -> list[Commit]:
        """The commits reachable from ``tip`` and from no reference, parents first: in a
        pre-receive hook, the commits a push brings."""
        with boundary():
            repo = self._repo()
            walker = repo.walk(get_object(repo, tip, pygit2.Commit).id, SortMode.TOPOLOGICAL)
            for name in repo.references:
                try:
                    walker.hide(repo.references[name].peel(pygit2.Commit).id)
                except (pygit2.GitError, ValueError, KeyError):
                    continue  # a reference to something other than a commit
            found = [to_commit(commit) for commit in walker]
        found.reverse()
        return found

    def writable_paths(self, commits: Sequence[PendingCommit]) -> list[str]:
        """The paths ``commits`` change, sorted; ``BadRequest`` naming each one that has
        uncommitted changes in the working tree (checked before anything is written)."""
        paths = sorted({path for commit in commits for path in commit.changes})
        busy = self.worktree_conflicts(paths)
        if busy:
            message = "has uncommitted changes: commit, stash or discard them first"
            raise BadRequest(
                "local changes would be overwritten; nothing was written",
                [FieldError(path, message) for path in busy],
            )
        return paths

    def worktree_conflicts(self, paths: Sequence[str]) -> list[str]:
        """The ``paths`` with uncommitted changes (staged or not, or untracked) in the working
        tree of a clone whose checked-out branch is this store's branch; empty otherwise."""
        with boundary():
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
        with boundary():
            repo = self._repo()
            if not self._checked_out(repo):
                return
            tree = get_object(repo, str(branch_target(repo, self._ref)), pygit2.Commit).tree
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

    def staged_special_entries(self, index_file: str | Path | None = None) -> list[tuple[str, str]]:
        """``special_entries`` of what is staged (see ``staged_files``)."""
        with boundary():
            index = self._repo().index if index_file is None else pygit2.Index(str(index_file))
            if index_file is None:
                index.read()
            return [
                (entry.path, SPECIAL_MODES[entry.mode])
                for entry in index
                if entry.path.startswith(tuple(f"{folder}/" for folder in TRACKED_FOLDERS))
                and entry.mode in SPECIAL_MODES
            ]
