"""The warm-restart cache (``gitconfig.index.persist``): a snapshot loaded from it equals the
cold build of the same commit, field by field; a stale, foreign or corrupt file is ignored."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import msgpack
import pytest

from gitconfig.core.model import Kind
from gitconfig.index import persist
from gitconfig.index.refresher import Index
from gitconfig.index.snapshot import Snapshot
from gitconfig.store.gitstore import GitStore
from tests.index.snapshots import assert_same
from tests.support.gitrepo import commit_files, git, push


class CountingStore(GitStore):
    """The real store, counting blob reads (a warm start parses nothing)."""

    reads = 0

    def read_blob(self, sha: str) -> bytes:
        self.reads += 1
        return super().read_blob(sha)


def cold(served: Path) -> Snapshot:
    index = Index(GitStore(served))
    index.refresh()
    return index.current()


def saved(first: Index) -> Index:
    """``first`` refreshed and its cache file written (the run before a restart)."""
    first.refresh()
    assert first.save_cache()
    return first


def test_a_loaded_snapshot_equals_the_cold_build(repo: tuple[Path, Path]) -> None:
    snapshot = cold(repo[0])
    assert snapshot.problems
    assert snapshot.tombstones
    assert_same(persist.loads(persist.dump(snapshot)), snapshot)


def test_a_restart_loads_the_cache_and_parses_nothing(
    repo: tuple[Path, Path], tmp_path: Path
) -> None:
    cache = tmp_path / "cache" / "index.msgpack"
    first = saved(Index(GitStore(repo[0]), cache=cache))
    store = CountingStore(repo[0])
    restarted = Index(store, cache=cache)
    result = restarted.refresh()
    assert restarted.warm_loaded == result.new == first.current().commit
    assert store.reads == 0
    assert_same(restarted.current(), cold(repo[0]))


def test_a_cache_behind_the_head_is_the_base_of_a_diff_refresh(
    repo: tuple[Path, Path], tmp_path: Path
) -> None:
    served, work = repo
    cache = tmp_path / "index.msgpack"
    first = saved(Index(GitStore(served), cache=cache))
    old = first.current().commit
    commit_files(
        work,
        {
            "configs/shop/DEV/rate.yaml": "type: NUMBER\nvalue: 0.75\n",
            "schemas/db.json": '{"type": "object", "required": ["port"]}',
        },
        "later",
    )
    push(work)
    restarted = Index(GitStore(served), cache=cache)
    result = restarted.refresh()
    assert restarted.warm_loaded == old
    assert result.old == old
    assert {event.key.key for event in result.events} == {"rate"}
    assert_same(restarted.current(), cold(served))


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not msgpack \xc1",
        msgpack.packb({"format": persist.FORMAT + 1}),
        msgpack.packb({"format": persist.FORMAT, "commit": "x", "entries": [[1]]}),
        msgpack.packb([1, 2, 3]),
    ],
    ids=["empty", "garbage", "other-format", "malformed", "not-a-map"],
)
def test_a_corrupt_cache_is_ignored_with_a_log_line(
    repo: tuple[Path, Path], tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "index.msgpack"
    cache.write_bytes(content)
    index = Index(GitStore(repo[0]), cache=cache)
    with caplog.at_level(logging.WARNING, logger="gitconfig.index.persist"):
        index.refresh()
    assert "ignored" in caplog.text
    assert index.warm_loaded is None
    assert_same(index.current(), cold(repo[0]))


def test_a_cache_of_a_rewritten_branch_is_ignored(
    repo: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    served, work = repo
    cache = tmp_path / "index.msgpack"
    saved(Index(GitStore(served), cache=cache))
    git(work, "reset", "--hard", "HEAD~1")
    commit_files(work, {"configs/shop/DEV/other.yaml": "type: NUMBER\nvalue: 3\n"}, "instead")
    git(work, "push", "--quiet", "--force", "origin", "main:main")
    index = Index(GitStore(served), cache=cache)
    with caplog.at_level(logging.INFO, logger="gitconfig.index.refresher"):
        index.refresh()
    assert "not on the branch" in caplog.text
    assert index.warm_loaded is None
    assert_same(index.current(), cold(served))


def test_refreshes_rewrite_the_cache_in_the_background(
    repo: tuple[Path, Path], tmp_path: Path
) -> None:
    cache = tmp_path / "index.msgpack"
    index = Index(GitStore(repo[0]), cache=cache, cache_interval=0.0)
    index.refresh()
    for _ in range(200):  # the writer thread: wait up to 10 s
        if cache.exists():
            break
        time.sleep(0.05)
    loaded = persist.load(cache)
    assert loaded is not None
    assert_same(loaded, index.current())


def test_a_cold_build_on_two_processes_equals_one_on_one(
    repo: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    index = Index(GitStore(repo[0]), parallel_minimum=1)
    with caplog.at_level(logging.INFO, logger="gitconfig.index.prefetch"):
        index.refresh()
    assert "on two processes" in caplog.text
    parsed = {kind: dict(blobs) for kind, blobs in index._parsed.items()}
    assert any(isinstance(result, list) for result in parsed[Kind.FLAG].values())
    single = Index(GitStore(repo[0]), parallel_minimum=None)
    single.refresh()
    assert parsed == single._parsed
    assert_same(index.current(), single.current())
