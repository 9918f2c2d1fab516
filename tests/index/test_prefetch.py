"""The cold build's second process (``gitconfig.index.prefetch``): what it is given, and a
build that equals one on one core when the worker fails."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from gitconfig.index import prefetch, refresher
from gitconfig.index.refresher import Index
from gitconfig.store.gitstore import GitStore
from tests.index.snapshots import assert_same
from tests.support.gitrepo import commit_files, init_repo


def assert_built_here(
    index: Index, served: Path, caplog: pytest.LogCaptureFixture, warning: str
) -> None:
    """Refresh ``index`` (its worker fails), expect ``warning`` logged and the snapshot of a
    build on one core."""
    with caplog.at_level(logging.WARNING, logger="gitconfig.index.prefetch"):
        index.refresh()
    assert warning in caplog.text
    single = Index(GitStore(served), parallel_minimum=None)
    single.refresh()
    assert_same(index.current(), single.current())


def test_the_head_files_come_from_the_chains_diffs(repo: tuple[Path, Path]) -> None:
    store = GitStore(repo[0])
    head = store.head()
    assert head is not None
    chain = store.first_parent_chain(head, None)
    assert len(chain) > 1  # deletions and rewrites on the way
    diffs = [store.diff(commit.parent, commit.sha) for commit in chain]
    assert sorted(refresher._head_files(diffs)) == sorted(store.files(head))


def test_a_one_commit_history_lists_its_diff(tmp_path: Path) -> None:
    work = init_repo(tmp_path / "work")
    head = commit_files(work, {"configs/a/DEV/x.yaml": "type: NUMBER\nvalue: 1\n"}, "one")
    store = GitStore(work)
    diffs = [store.diff(None, head)]
    assert list(refresher._head_files(diffs)) == list(store.files(head))


def test_a_failing_worker_leaves_the_parsing_here(
    repo: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    parent = os.getpid()

    class WorkerCannotRead(GitStore):
        """The real store, except that the forked worker's reads fail."""

        def read_blob(self, sha: str) -> bytes:
            if os.getpid() != parent:
                raise OSError("the worker cannot read")
            return super().read_blob(sha)

    index = Index(WorkerCannotRead(repo[0]), parallel_minimum=1)
    assert_built_here(index, repo[0], caplog, "the parsing worker failed")


@pytest.mark.timeout(30)
def test_a_stuck_worker_is_killed_and_its_half_parsed_here(
    repo: tuple[Path, Path], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that never finishes (a forked child stuck on a lock another thread of the
    parent held at the fork) must not hold the build, and the index's lock, for ever."""
    parent = os.getpid()

    class WorkerIsStuck(GitStore):
        """The real store, except that the forked worker's reads never return (for 60 s)."""

        def read_blob(self, sha: str) -> bytes:
            if os.getpid() != parent:
                time.sleep(60)
            return super().read_blob(sha)

    monkeypatch.setattr(prefetch, "WORKER_PATIENCE", 0.5, raising=False)
    index = Index(WorkerIsStuck(repo[0]), parallel_minimum=1)
    assert_built_here(index, repo[0], caplog, "killed, parsing its half here")
