"""``gitconfig ... --push`` in a clone that is behind its remote: it fetches first, and a push
rejected because the remote moved is made again on the new head, as a replica does."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitconfig.access.principals import Principal
from gitconfig.core.errors import Conflict
from gitconfig.index.refresher import Index
from gitconfig.service import NewConfig, build_service
from gitconfig.store.gitstore import GitStore
from gitconfig.store.remote import Remote, RemoteStore
from tests.support.clirun import gitconfig, ok, served_and_clone
from tests.support.gitrepo import clone, commit_files, git, push, rev_parse
from tests.support.refusal import unchanged

USER = Principal("Ada", frozenset({"admin"}), "ada@example.com")
LIMIT = "configs/app/DEV/limit.yaml"
OTHER = "configs/app/DEV/other.yaml"


@pytest.fixture
def repos(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The remote, the user's clone, and someone else's clone that pushes first."""
    bare, work = served_and_clone(tmp_path)
    ok("set", "limit", "1", "-a", "app", "-e", "DEV", "--push", repo=work)
    other = clone(bare, tmp_path / "other")
    return bare, work, other


def test_a_clone_behind_its_remote_fetches_first_and_its_files_follow(
    repos: tuple[Path, Path, Path],
) -> None:
    bare, work, other = repos
    commit_files(other, {OTHER: "type: NUMBER\nvalue: 7\n"}, "someone else")
    push(other)
    ok("set", "limit", "2", "-a", "app", "-e", "DEV", "--push", repo=work)
    assert git(bare, "log", "--format=%s", "-2", "main").splitlines()[1] == "someone else"
    assert rev_parse(work, "HEAD") == rev_parse(bare, "main")
    assert (work / OTHER).read_text() == "type: NUMBER\nvalue: 7\n"  # the working tree follows
    assert (work / LIMIT).read_text().endswith("value: 2\n")
    assert git(work, "status", "--porcelain") == ""


def test_a_rejected_push_is_made_again_on_the_new_head(repos: tuple[Path, Path, Path]) -> None:
    """The remote moves between the fetch and the push (here: the store fetched, then someone
    pushed): the push is rejected, fetched, and the change re-applied on top."""
    bare, work, other = repos
    store = RemoteStore(work, "main", Remote("origin"), follow_rewrites=False)
    store.fetch()
    commit_files(other, {OTHER: "type: NUMBER\nvalue: 8\n"}, "someone else")
    push(other)
    service = build_service(store, Index(store))
    service.index.refresh()
    service.configs.set(USER, NewConfig("limit", "app", "DEV", "NUMBER", "3"))
    assert store.pushes == {"stale": 1, "accepted": 1}
    assert git(bare, "log", "--format=%s", "-2", "main").splitlines() == [
        "Update configuration app/DEV/limit",
        "someone else",
    ]
    assert rev_parse(work, "HEAD") == rev_parse(bare, "main")
    assert (work / OTHER).exists()
    assert git(work, "status", "--porcelain") == ""
    assert GitStore(work, "main").head() == rev_parse(bare, "main")


def test_the_same_file_changed_upstream_stops_naming_the_commit(
    repos: tuple[Path, Path, Path],
) -> None:
    bare, work, other = repos
    store = RemoteStore(work, "main", Remote("origin"), follow_rewrites=False)
    store.fetch()
    git(other, "pull", "--quiet")
    theirs = commit_files(other, {LIMIT: "type: NUMBER\nvalue: 50\n"}, "raise the limit")
    push(other)

    service = build_service(store, Index(store))
    service.index.refresh()
    remote = unchanged(bare)  # the clone follows the remote; the remote stays as it was
    with pytest.raises(Conflict, match=f"by commit {theirs[:12]} .*raise the limit"):
        service.configs.set(USER, NewConfig("limit", "app", "DEV", "NUMBER", "3"))
    remote.check()
    assert rev_parse(bare, "main") == theirs
    assert (work / LIMIT).read_text().endswith("value: 50\n")  # the clone followed the remote

    # from the command line: a clear message and exit 1
    commit_files(other, {LIMIT: "type: NUMBER\nvalue: 60\n"}, "again")
    push(other)
    result = gitconfig("set", "limit", "4", "-a", "app", "-e", "DEV", "--push", repo=work)
    assert result.exit_code == 0, result.output  # fetched first: the user saw 60, wrote 4
    assert git(bare, "show", f"main:{LIMIT}").endswith("value: 4")


def test_a_diverged_clone_is_refused(repos: tuple[Path, Path, Path]) -> None:
    bare, work, other = repos
    commit_files(other, {OTHER: "type: NUMBER\nvalue: 1\n"}, "theirs")
    push(other)
    commit_files(work, {"README.md": "mine\n"}, "mine, not pushed")
    head = rev_parse(work, "HEAD")
    kept = unchanged(work, bare)
    result = gitconfig("set", "limit", "5", "-a", "app", "-e", "DEV", "--push", repo=work)
    assert result.exit_code == 1
    assert "diverged" in result.stderr
    kept.check()
    assert rev_parse(bare, "main") != head
