"""A store for the clone a user works in: writes keep the checked-out branch's index and
working tree in step, like ``git commit`` would.

``GitStore`` moves the branch and leaves the working tree alone (right for the served bare
repository). On a clone whose checked-out branch is the written one that would leave the
files on disk one commit behind, showing the write as a local change to undo. ``WorktreeStore``
refuses a write whose files have uncommitted changes (before committing anything), and after
the commit brings exactly those files, on disk and in the index, to the new content.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitconfig.core.errors import BadRequest, FieldError
from gitconfig.core.model import PendingCommit
from gitconfig.store.gitstore import GitStore


class WorktreeStore(GitStore):
    def write_chain(self, parent: str | None, commits: Sequence[PendingCommit]) -> list[str]:
        paths = sorted({path for commit in commits for path in commit.changes})
        busy = self.worktree_conflicts(paths)
        if busy:
            message = "has uncommitted changes: commit, stash or discard them first"
            raise BadRequest(
                "local changes would be overwritten; nothing was written",
                [FieldError(path, message) for path in busy],
            )
        shas = super().write_chain(parent, commits)
        self.update_worktree(paths)
        return shas
