"""A flag's check after ``gc.freeze`` (``runtime.server`` freezes the heap once the first
index is built): the precreated ``(entry, evaluation)`` pairs and the entry that keeps its
check refer to each other, and the collector never looks at frozen objects, so such a cycle
must be broken when the entry leaves the index, or every frozen flag that was checked and
then changed, deleted or rewritten away would stay in memory for good."""

from __future__ import annotations

import gc
import subprocess
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitconfig.access.principals import Principal
from gitconfig.core.model import Environment, Kind
from gitconfig.service import FlagChanges, NewFlag, Service

ADMIN = Principal("seed", frozenset({"admin"}))
READER = Principal("reader", frozenset({"read"}))


@pytest.fixture
def frozen() -> Iterator[None]:
    """Unfreezes what the test froze (``gc.freeze`` as ``runtime.server`` does it)."""
    try:
        yield
    finally:
        gc.unfreeze()


def _checked(service: Service, key: str) -> weakref.ref[Callable[..., object]]:
    """A weak reference to the check of flag ``key`` after one check through the service."""
    service.flags.evaluate(READER, "shop", "PROD", key, "u-1", {})
    entry = service.reads.snapshot().get(Kind.FLAG, "shop", Environment.PROD, key)
    assert entry is not None and entry.flag is not None and entry.flag.answers is not None
    return weakref.ref(entry.flag.answers[1])


def _created(service: Service, *keys: str) -> None:
    for key in keys:
        service.flags.create(ADMIN, NewFlag(key, "shop", "PROD", "a flag", True,
                                           [{"percentage": 50}]))  # fmt: skip


@pytest.mark.usefixtures("frozen")
def test_a_changed_or_deleted_frozen_flag_is_freed(service: Service) -> None:
    _created(service, "changed", "deleted")
    gc.collect()
    gc.freeze()  # the first index's entries, as the server freezes them
    checks = [_checked(service, "changed"), _checked(service, "deleted")]
    entry = service.reads.snapshot().get(Kind.FLAG, "shop", Environment.PROD, "changed")
    assert entry is not None
    service.flags.update(ADMIN, entry.id, FlagChanges(enabled=False))
    deleted = service.reads.snapshot().get(Kind.FLAG, "shop", Environment.PROD, "deleted")
    assert deleted is not None
    service.writer.delete(ADMIN, Kind.FLAG, deleted.id)
    del entry, deleted
    gc.collect()
    assert [check() for check in checks] == [None, None]


@pytest.mark.usefixtures("frozen")
def test_frozen_flags_rewritten_away_are_freed(service: Service, bare_repo: Path) -> None:
    before = service.reads.snapshot().commit
    assert before is not None
    _created(service, "a", "b")
    gc.collect()
    gc.freeze()
    checks = [_checked(service, "a"), _checked(service, "b")]
    subprocess.run(  # a force push back to before the flags: the index is rebuilt
        ["git", "-C", str(bare_repo), "update-ref", "HEAD", before], check=True
    )
    service.index.refresh()
    assert service.reads.snapshot().get(Kind.FLAG, "shop", Environment.PROD, "a") is None
    gc.collect()
    assert [check() for check in checks] == [None, None]


def test_a_snapshot_still_in_use_keeps_checking_a_released_flag(service: Service) -> None:
    _created(service, "kept")
    old = service.reads.snapshot()
    _checked(service, "kept")
    entry = old.get(Kind.FLAG, "shop", Environment.PROD, "kept")
    assert entry is not None
    service.flags.update(ADMIN, entry.id, FlagChanges(enabled=False))
    check = old.flag("shop", "PROD", "kept")  # a request that still holds the old snapshot
    assert check is not None
    found, evaluation = check("u-1", {})
    assert found is entry and evaluation == entry.flag.evaluate("u-1", {})  # type: ignore[union-attr]
    assert check("u-1", {}) is check("u-1", {})  # its pairs are still precreated
    assert entry.flag is not None and entry.flag.answers[0] is not entry  # nothing kept: no cycle
