"""The port between the core and Git. ``gitstore.GitStore`` (pygit2) is the real adapter.

The core (index, history, service) sees Git only through this protocol, so it never
imports pygit2. All ids are hex SHA strings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from gitconfig.core.model import Author, Commit, FileChange, PendingCommit


class Store(Protocol):
    branch: str
    read_only: bool  # True: every write raises ReadOnly (a read-only replica)

    def head(self) -> str | None:
        """The tracked branch's commit, or None if the branch does not exist yet."""
        ...

    def commit(self, sha: str) -> Commit:
        """Metadata of one commit. Raises NotFound for an unknown sha."""
        ...

    def resolve(self, rev: str, served: bool = True) -> str | None:
        """A full commit sha for a full sha or a unique prefix (7+ hex) of a commit reachable
        from a branch or a tag (``pygit.reachable``: one a force push dropped is not served;
        with ``served`` false, of any commit the repository holds), else None."""
        ...

    def resolve_ref(self, name: str) -> str | None:
        """A full commit sha for a branch, a tag (peeled to its commit), a remote-tracking
        branch of ``origin``, a full sha or a unique prefix (7+ hex); else None."""
        ...

    def first_parent_chain(self, new: str, stop: str | None) -> list[Commit]:
        """Commits on ``new``'s first-parent chain after ``stop`` (exclusive), oldest first.
        With ``stop`` None, or not on the chain, the whole chain down to the root."""
        ...

    def merged_commits(self, sha: str) -> list[Commit]:
        """The commits a merge brought in (reachable from its second and later parents, not
        from its first), newest first; empty for a non-merge commit."""
        ...

    def is_ancestor(self, ancestor: str, descendant: str) -> bool: ...

    def files(self, commit: str) -> Iterator[tuple[str, str]]:
        """(path, blob sha) of every blob under configs/, flags/ and schemas/ at ``commit``,
        and of the root's ``.sops.yaml`` when there is one."""
        ...

    def diff(self, old: str | None, new: str) -> list[FileChange]:
        """Paths under configs/, flags/ and schemas/ that differ between two commits' trees
        (``old`` None: the empty tree). Renames are reported as delete + add."""
        ...

    def read_blob(self, sha: str) -> bytes: ...

    def merged_change(self, merge: str, path: str) -> Commit | None:
        """For a merge commit: the commit on a merged side (a parent after the first) that
        gave ``path`` the content it has at ``merge``, found among the commits that side
        brings (those not reachable from the first parent), not by walking all history.
        None for a commit with one parent, or when no merged commit set that content."""

    def read_file(self, commit: str, path: str) -> bytes | None:
        """The content of any file (e.g. ``.sops.yaml``) at ``commit``; None if absent."""
        ...

    def write(
        self,
        parent: str | None,
        changes: Mapping[str, bytes | None],
        author: Author,
        message: str,
    ) -> str:
        """Create one commit on top of ``parent`` applying ``changes`` (path -> new content,
        None deletes), built in memory from the parent's tree, and move the branch from
        ``parent`` to it by compare-and-swap. Returns the new commit sha.

        Raises StaleParent if the branch no longer points at ``parent``. Durable when it
        returns: objects and the ref are fsynced."""
        ...

    def write_chain(self, parent: str | None, commits: Sequence[PendingCommit]) -> list[str]:
        """Create several commits, each on top of the previous one (the first on ``parent``),
        and move the branch from ``parent`` to the last by one compare-and-swap. Returns the
        new shas in order. Raises StaleParent like ``write``; durable when it returns."""
        ...
