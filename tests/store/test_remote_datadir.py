"""A replica's data dir: one process at a time (an exclusive lock), and a damaged mirror is
cloned again from the remote instead of stopping the replica. Real ``file://`` remotes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gitconfig.access.principals import Principal
from gitconfig.core.errors import BadRequest
from gitconfig.runtime.bootstrap import init_repository
from gitconfig.runtime.replica import RemoteOptions, open_replica
from gitconfig.service import NewConfig
from gitconfig.store.datadir import LOCK_NAME
from tests.support.gitrepo import git, rev_parse

ALICE = Principal("alice", frozenset({"admin"}), "alice@example.com")


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    path = tmp_path / "origin.git"
    init_repository(path, bare=True)
    return path


def options(origin: Path, data_dir: Path) -> RemoteOptions:
    return RemoteOptions(url=f"file://{origin}", data_dir=data_dir)


def test_a_second_replica_on_the_same_data_dir_is_refused_until_the_first_is_gone(
    origin: Path, tmp_path: Path
) -> None:
    first, _service, _replicator = open_replica(options(origin, tmp_path / "mirror"), "main")
    with pytest.raises(BadRequest, match=r"--data-dir .*mirror is in use by another gitconfig"):
        open_replica(options(origin, tmp_path / "mirror"), "main")
    first.release_data_dir()
    _second, _service, replicator = open_replica(options(origin, tmp_path / "mirror"), "main")
    assert replicator.fetch_now()


def _drop_head(mirror: Path) -> None:
    (mirror / "HEAD").unlink()


def _garble_head(mirror: Path) -> None:
    (mirror / "HEAD").write_text("not a ref\n")


def _drop_objects(mirror: Path) -> None:
    for pack in (mirror / "objects" / "pack").iterdir():
        pack.unlink()
    for folder in (mirror / "objects").iterdir():
        if len(folder.name) == 2:
            for loose in folder.iterdir():
                loose.unlink()


@pytest.mark.parametrize("damage", [_drop_head, _garble_head, _drop_objects])
def test_a_damaged_mirror_is_cloned_again_and_serves_the_remote(
    origin: Path, tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    mirror = tmp_path / "mirror"
    store, service, replicator = open_replica(options(origin, mirror), "main")
    assert replicator.fetch_now()
    service.configs.set(ALICE, NewConfig("limit", "app", "PROD", "NUMBER", "5"))
    head = rev_parse(origin, "main")
    store.release_data_dir()
    damage(mirror)

    store, service, replicator = open_replica(options(origin, mirror), "main")
    replicator.fetch_now(raise_errors=True)
    assert store.head() == head
    assert service.reads.snapshot().commit == head
    assert git(mirror, "fsck", "--connectivity-only", "--no-dangling") == ""
    assert (mirror / LOCK_NAME).exists()


def test_a_data_dir_of_unrelated_files_is_refused_not_emptied(origin: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "notes.txt").write_text("mine")
    with pytest.raises(BadRequest, match="not empty and holds no git repository"):
        open_replica(options(origin, mirror), "main")
    assert (mirror / "notes.txt").read_text() == "mine"
