"""Validating what Git holds: a commit, the changes between two commits, the staged tree, and
the commits a push brings. The checks are the validator's (``validator.check_tree``); this
module only decides which tree and which files.

It sees Git through ``Repository``, which ``worktree.WorktreeStore`` implements.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gitconfig.core import limits, valuediff
from gitconfig.core.errors import BadRequest
from gitconfig.core.model import Commit, FileChange
from gitconfig.core.sopsrules import SOPS_YAML
from gitconfig.core.validator import Finding, Report, check_tree, special_findings


class Repository(Protocol):
    def rev_parse(self, rev: str) -> str: ...

    def merge_base(self, one: str, other: str) -> str | None: ...

    def files(self, commit: str) -> Iterator[tuple[str, str]]: ...

    def diff(self, old: str | None, new: str) -> list[FileChange]: ...

    def read_blob(self, sha: str) -> bytes: ...

    def read_file(self, commit: str, path: str) -> bytes | None: ...

    def staged_files(self, index_file: str | Path | None = None) -> list[tuple[str, str]]: ...

    def special_entries(self, commit: str) -> list[tuple[str, str]]: ...

    def staged_special_entries(
        self, index_file: str | Path | None = None
    ) -> list[tuple[str, str]]: ...

    def new_commits(self, tip: str) -> list[Commit]: ...


@dataclass(frozen=True, slots=True)
class Range:
    """Two commits to compare; ``base`` is the merge base when the range was ``A...B``."""

    base: str
    head: str


def parse_range(repo: Repository, spec: str) -> Range:
    """``BASE..HEAD`` compares the two trees (like ``git diff BASE HEAD``); ``BASE...HEAD``
    compares HEAD with the merge base of both (what a pull request changes). A side left
    empty is ``HEAD``."""
    separator = "..." if "..." in spec else ".." if ".." in spec else None
    if separator is None:
        raise BadRequest(f"expected BASE..HEAD or BASE...HEAD, not {spec!r}")
    left, right = spec.split(separator, 1)
    base, head = repo.rev_parse(left or "HEAD"), repo.rev_parse(right or "HEAD")
    if separator == "...":
        found = repo.merge_base(base, head)
        if found is None:
            raise BadRequest(f"{left} and {right} have no common ancestor")
        base = found
    return Range(base, head)


def value_changes(
    repo: Repository, base: str | None, head: str | None, branch: str | None
) -> list[valuediff.EntryDiff]:
    """The value differences ``gitconfig diff`` shows. ``base`` is a commit, ``BASE..HEAD``
    or ``BASE...HEAD`` (``parse_range``); by default the parent of ``head``, which defaults
    to ``branch`` (None: ``HEAD``). ``BadRequest`` for a range given together with ``head``
    or a revision that does not resolve."""
    if head is not None and base is not None and ".." in base:
        raise BadRequest("give BASE HEAD or BASE..HEAD, not both")
    tip = head or branch or "HEAD"
    spec = base if base is not None and ".." in base else f"{base or tip + '~1'}..{tip}"
    changes = parse_range(repo, spec)
    return valuediff.diff(repo.diff(changes.base, changes.head), repo.read_blob)


def check_commit(repo: Repository, commit: str) -> Report:
    """Every file of one commit (and every entry that is not a regular file)."""
    report = check_tree(dict(repo.files(commit)), repo.read_blob)
    return _with_specials(report, repo.special_entries(commit))


def check_range(repo: Repository, changes: Range) -> Report:
    """The files changed between two commits, as they are at the second."""
    diff = repo.diff(changes.base, changes.head)
    changed = _changed(repo, changes.base, changes.head, diff)
    report = check_tree(dict(repo.files(changes.head)), repo.read_blob, changed)
    return _with_specials(report, _specials(diff))


def _changed(repo: Repository, old: str | None, new: str, diff: list[FileChange]) -> list[str]:
    """The paths ``diff`` changed, and ``.sops.yaml`` when it changed: the diff covers the
    tracked folders only, and a changed creation rule re-checks every SECRET."""
    paths = [change.path for change in diff]
    before = None if old is None else repo.read_file(old, SOPS_YAML)
    if before != repo.read_file(new, SOPS_YAML):
        paths.append(SOPS_YAML)
    return paths


def _specials(diff: Iterable[FileChange]) -> list[tuple[str, str]]:
    return [(change.path, change.special) for change in diff if change.special is not None]


def _with_specials(report: Report, specials: Iterable[tuple[str, str]]) -> Report:
    found = special_findings(specials)
    if not found:
        return report
    return Report(sorted([*report.findings, *found]), report.checked + len(found), report.entries)


def check_staged(
    repo: Repository, head: str | None, index_file: str | Path | None = None
) -> Report:
    """The files staged for the next commit that differ from ``head`` (None: all of them),
    checked within the whole staged tree."""
    staged = dict(repo.staged_files(index_file))
    specials = repo.staged_special_entries(index_file)
    if head is None:
        return _with_specials(check_tree(staged, repo.read_blob), specials)
    committed = dict(repo.files(head))
    changed = {
        path for path in staged.keys() | committed.keys() if staged.get(path) != committed.get(path)
    }
    return _with_specials(check_tree(staged, repo.read_blob, changed), specials)


# -- a push (the pre-receive hook) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefUpdate:
    """One line of a pre-receive hook's input; ``old``/``new`` None: created/deleted."""

    old: str | None
    new: str | None
    ref: str


@dataclass(frozen=True, slots=True)
class Rejection:
    """A pushed commit whose changed files do not validate."""

    ref: str
    commit: Commit
    findings: list[Finding]


def parse_updates(lines: Iterable[str]) -> list[RefUpdate]:
    """``<old> <new> <ref>`` lines; an all-zero sha means the side does not exist."""
    updates = []
    for line in lines:
        if not line.strip():
            continue
        old, new, ref = line.split()
        updates.append(
            RefUpdate(None if _is_null(old) else old, None if _is_null(new) else new, ref)
        )
    return updates


def check_push(repo: Repository, updates: Sequence[RefUpdate]) -> list[Rejection]:
    """Validate each new commit of each pushed branch: the files it changes (from its first
    parent; all files for a root commit), in its own tree. Deletions and other references
    (tags, notes) are accepted. A commit pushed to several branches is checked once."""
    rejections: list[Rejection] = []
    seen: set[str] = set()
    for update in updates:
        if update.new is None or not update.ref.startswith("refs/heads/"):
            continue
        for commit in repo.new_commits(update.new):
            if commit.sha in seen:
                continue
            seen.add(commit.sha)
            diff = repo.diff(commit.parent, commit.sha)
            changed = _changed(repo, commit.parent, commit.sha, diff)
            findings = _message_findings(commit.message)
            if changed:
                report = check_tree(dict(repo.files(commit.sha)), repo.read_blob, changed)
                # warnings (likely plaintext credentials) do not reject
                findings += _with_specials(report, _specials(diff)).errors
            if findings:
                rejections.append(Rejection(update.ref, commit, findings))
    return rejections


def _message_findings(message: str) -> list[Finding]:
    """A commit message beyond ``limits`` (the API refuses such a changeDescription too)."""
    problem = limits.message_error(message, "message")
    return [] if problem is None else [Finding("(commit message)", "", problem.message)]


def _is_null(sha: str) -> bool:
    return set(sha) == {"0"}
