"""A flag's check after ``gc.freeze`` (``runtime.server`` freezes the heap once the first
index is built): the collector never looks at frozen objects, so a frozen entry must be freed
by its reference count alone once it left the index. The read side keeps a flag entry's
check (``readside.EntryChecks``, whose precreated ``(entry, evaluation)`` pairs refer to the
entry) and the checks allowed per snapshot commit (``readside.FlagChecks``); nothing refers
back from the entry, so when those maps drop them (emptied when full; the checks allowed
when the index moves) the entry and its check go, with no release step."""

from __future__ import annotations

import gc
import subprocess
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitconfig.access.principals import Principal
from gitconfig.core.model import Environment, Kind
from gitconfig.index.snapshot import Entry
from gitconfig.readside import EntryChecks
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


def _entry(service: Service, key: str) -> Entry:
    entry = service.reads.snapshot().get(Kind.FLAG, "shop", Environment.PROD, key)
    assert entry is not None
    assert entry.flag is not None
    return entry


def _checked(service: Service, key: str) -> weakref.ref[Callable[..., object]]:
    """A weak reference to the check of flag ``key`` after one check through the service."""
    service.flags.evaluate(READER, "shop", "PROD", key, "u-1", {})
    check = service.flags.entry_checks.get(_entry(service, key))
    assert check is not None
    return weakref.ref(check)


def _created(service: Service, *keys: str) -> None:
    for key in keys:
        service.flags.create(
            ADMIN, NewFlag(key, "shop", "PROD", "a flag", True, [{"percentage": 50}])
        )


@pytest.mark.usefixtures("frozen")
def test_a_changed_or_deleted_frozen_flag_is_freed_once_the_read_side_drops_it(
    service: Service,
) -> None:
    service.flags.entry_checks = EntryChecks(limit=2)
    _created(service, "changed", "deleted", "other")
    gc.collect()
    gc.freeze()  # the first index's entries, as the server freezes them
    checks = [_checked(service, "changed"), _checked(service, "deleted")]
    service.flags.update(ADMIN, _entry(service, "changed").id, FlagChanges(enabled=False))
    service.writer.delete(ADMIN, Kind.FLAG, _entry(service, "deleted").id)
    assert [check() is not None for check in checks] == [True, True]  # kept by the read side
    service.flags.evaluate(READER, "shop", "PROD", "changed", "u-1", {})  # the new entry
    service.flags.evaluate(READER, "shop", "PROD", "other", "u-1", {})  # full: emptied
    assert [check() for check in checks] == [None, None]  # freed without the collector


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
    assert not service.flags.checks  # the checks allowed went when the index moved
    service.flags.entry_checks.clear()  # what a full map does
    assert [check() for check in checks] == [None, None]


def test_a_snapshot_still_in_use_keeps_checking_a_flag_that_left_the_index(
    service: Service,
) -> None:
    _created(service, "kept")
    old = service.reads.snapshot()
    _checked(service, "kept")
    entry = _entry(service, "kept")
    service.flags.update(ADMIN, entry.id, FlagChanges(enabled=False))
    # A request that still holds the old snapshot checks its entry, never the new table.
    check = service.flags._flag_check(old, READER, "shop", "PROD", "kept")
    found, evaluation = check("u-1", {})
    assert found is entry
    assert entry.flag is not None
    assert evaluation == entry.flag.evaluate("u-1", {})
    assert check("u-1", {}) is check("u-1", {})  # its pairs are still precreated
    assert (old.commit, READER.serial, "shop", "PROD", "kept") in service.flags.checks
    _, now = service.flags.evaluate(READER, "shop", "PROD", "kept", "u-1", {})  # the new one
    assert now.reason == "DISABLED"
