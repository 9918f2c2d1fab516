"""Provenance of a served value: which commit set it, who, when, why, and through which merge.

The commit is the served version's, from the per-path history in the index (``Entry.served``:
no walk). When that commit is a merge (a pull request merged with a merge commit), the
change was made on the merged branch: ``Store.merged_change`` finds the commit there that set
the content, walking only that branch's own commits. Answers are cached by (commit, path):
both are immutable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitconfig.access.principals import Principal, authorize
from gitconfig.core.model import Commit
from gitconfig.index.snapshot import Entry
from gitconfig.service.reads import Reads


@dataclass(frozen=True)
class Provenance:
    """``commit`` set the served content (on the tracked branch: for a merged change, the
    merge commit); ``merged`` is the commit on the merged branch that made the change, None
    when the change was committed to the branch directly. ``version`` is the served
    version's number."""

    version: int
    commit: Commit
    merged: Commit | None

    def fields(self) -> dict[str, Any]:
        """The provenance block every door shows (``?provenance=true``, ``get --why``):
        ``version``, the commit's ``commit``, ``author``, ``email``, ``time`` (a datetime)
        and ``message``, ``merged`` and ``mergedCommit`` (the same five fields, or None)."""
        merged = self.merged
        return {
            "version": self.version,
            **commit_fields(self.commit),
            "merged": merged is not None,
            "mergedCommit": commit_fields(merged) if merged is not None else None,
        }


def commit_fields(commit: Commit) -> dict[str, Any]:
    """A commit as the provenance block names it."""
    return {
        "commit": commit.sha,
        "author": commit.author.name,
        "email": commit.author.email,
        "time": commit.time,
        "message": commit.message,
    }


def provenance(reads: Reads, principal: Principal, entry: Entry) -> Provenance:
    """The provenance of the content ``entry`` serves (see the module docstring)."""
    authorize(principal, "read", entry.key.application, entry.key.environment)
    version = entry.served
    merged = reads.merged_change(version, entry.key.path)
    return Provenance(version.number, version.commit, merged)
