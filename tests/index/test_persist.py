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
from gitconfig.index.snapshot import Entry, Snapshot
from gitconfig.store.gitstore import GitStore
from tests.gitrepo import clone, commit_files, git, init_repo, push

SCHEMA = '{"type": "object", "required": ["host"]}'
FLAG = """description: new checkout
enabled: true
value: true
tags: [web, checkout]
rules:
  - attribute: region
    operator: IN
    values: [EU, UK]
  - conditions:
      - {attribute: plan, operator: EQUALS, values: [pro]}
    percentage: 30
    bucket_by: account
"""


class CountingStore(GitStore):
    """The real store, counting blob reads (a warm start parses nothing)."""

    reads = 0

    def read_blob(self, sha: str) -> bytes:
        self.reads += 1
        return super().read_blob(sha)


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    """(bare served repository, a clone) with configs of every shape, flags, a schema, a
    fail-static file, a deleted file, an invalid new file, and several commits."""
    served = init_repo(tmp_path / "served.git", bare=True)
    work = clone(served, tmp_path / "work")
    commit_files(
        work,
        {
            "schemas/db.json": SCHEMA,
            "configs/shop/PROD/db.yaml": "type: JSON\nvalue: {host: a, ports: [1, 2.5]}\n"
            'schema: {"$ref": "schemas/db.json"}\n',
            "configs/shop/PROD/name.yaml": "type: STRING\nvalue: shop\ntags: [a, b]\n",
            "configs/shop/DEV/on.yaml": "type: BOOLEAN\nvalue: true\ndescription: d\n",
            "configs/shop/DEV/gone.yaml": "type: NUMBER\nvalue: 1\n",
            "configs/shop/DEV/rate.yaml": "type: NUMBER\nvalue: 0.25\n",
            "flags/shop/PROD/checkout.yaml": FLAG,
            "flags/shop/DEV/checkout.yaml": FLAG,  # the same blob in another place
            "flags/shop/DEV/broken.yaml": "description: x\nenabled: maybe\n",
        },
        "first",
        author="Ann <ann@example.com>",
    )
    commit_files(
        work,
        {
            "configs/shop/DEV/rate.yaml": "type: NUMBER\nvalue: 0.5\n",
            "configs/shop/DEV/gone.yaml": None,
            "configs/shop/DEV/new.yaml": "type: NUMBER\nvalue: [not a number]\n",
        },
        "second",
    )
    commit_files(work, {"configs/shop/DEV/rate.yaml": "type: NUMBER\nvalue: nope\n"}, "broken")
    push(work)
    return served, work


def assert_same(warm: Snapshot, cold: Snapshot) -> None:
    assert warm.commit == cold.commit
    assert warm.problems == cold.problems
    assert warm.schemas == cold.schemas
    assert warm.tombstones == cold.tombstones
    assert dict(warm.folded) == dict(cold.folded)
    assert set(warm.groups) == set(cold.groups)
    assert set(warm.ids) == set(cold.ids)
    for group_key, group in cold.groups.items():
        assert set(warm.groups[group_key]) == set(group)
        for key, entry in group.items():
            assert_same_entry(warm.groups[group_key][key], entry)
            assert warm.ids[entry.id] is warm.groups[group_key][key]


def assert_same_entry(warm: Entry, cold: Entry) -> None:
    assert warm.key == cold.key
    assert warm.id == cold.id
    assert warm.document == cold.document
    assert type(warm.document.value) is type(cold.document.value)
    assert warm.versions == cold.versions
    assert warm.served == cold.served
    # The served version is one of the history's own objects, at the same place.
    assert [v is warm.served for v in warm.versions] == [v is cold.served for v in cold.versions]
    for w, c in zip(warm.versions, cold.versions, strict=True):
        assert w.commit.time.utcoffset() == c.commit.time.utcoffset()
    assert (warm.flag is None) == (cold.flag is None)


def cold(served: Path) -> Snapshot:
    index = Index(GitStore(served))
    index.refresh()
    return index.current()


def test_a_loaded_snapshot_equals_the_cold_build(repo: tuple[Path, Path]) -> None:
    snapshot = cold(repo[0])
    assert snapshot.problems and snapshot.tombstones  # the fixture covers them
    assert_same(persist.loads(persist.dump(snapshot)), snapshot)


def test_a_restart_loads_the_cache_and_parses_nothing(
    repo: tuple[Path, Path], tmp_path: Path
) -> None:
    cache = tmp_path / "cache" / "index.msgpack"
    first = Index(GitStore(repo[0]), cache=cache)
    first.refresh()
    assert first.save_cache()
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
    first = Index(GitStore(served), cache=cache)
    first.refresh()
    assert first.save_cache()
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
    first = Index(GitStore(served), cache=cache)
    first.refresh()
    assert first.save_cache()
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
