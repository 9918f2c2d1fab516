"""The audit trail after a warm restart: the index starts from its cache file, which holds no
history of changes; the trail is rebuilt from Git in the background and then equals the trail
of a cold start, including commits that arrived meanwhile."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from gitconfig.access.principals import Principal
from gitconfig.core.errors import NotReady
from gitconfig.index.audit import AuditIndex, AuditQuery
from gitconfig.index.refresher import Index
from gitconfig.index.snapshot import ChangeEvent
from gitconfig.service import build_service
from gitconfig.store.gitstore import GitStore
from tests.support.gitrepo import commit_files, git, push

ADMIN = Principal("admin", frozenset({"admin"}))


def trail(audit: AuditIndex) -> list[tuple[str, str, str, int]]:
    records, _total = audit.query(AuditQuery(), None, 0, 10_000)
    return [(r.commit.sha, r.key.path, r.type.value, r.version) for r in records]


def started(served: Path, cache: Path) -> tuple[Index, AuditIndex]:
    store = GitStore(served)
    index = Index(store, cache=cache)
    audit = AuditIndex(store)
    audit.attach(index)  # before the first refresh, as the service does
    index.refresh()
    return index, audit


def wait_ready(audit: AuditIndex) -> None:
    for _ in range(400):  # up to 20 s
        if audit.ready:
            return
        time.sleep(0.05)
    raise AssertionError("the audit trail was not rebuilt")


def test_a_warm_start_rebuilds_the_trail_from_git(repo: tuple[Path, Path], tmp_path: Path) -> None:
    served, work = repo
    cache = tmp_path / "index.msgpack"
    cold_index, cold_audit = started(served, cache)
    assert cold_index.save_cache()
    expected = trail(cold_audit)
    assert len(expected) > 5  # the fixture's history

    warm_index, warm_audit = started(served, cache)
    assert warm_index.warm_loaded is not None
    commit_files(work, {"configs/shop/DEV/later.yaml": "type: NUMBER\nvalue: 7\n"}, "later")
    push(work)
    warm_index.refresh()  # during or after the rebuild: it follows on
    wait_ready(warm_audit)
    cold_index.refresh()
    assert trail(warm_audit) == trail(cold_audit)
    assert trail(warm_audit)[0][1] == "configs/shop/DEV/later.yaml"
    assert trail(warm_audit)[1:] == expected


def test_the_service_answers_not_ready_while_the_trail_is_rebuilt(
    repo: tuple[Path, Path], tmp_path: Path
) -> None:
    store = GitStore(repo[0])
    service = build_service(store, Index(store))
    service.index.refresh()
    service.audit.audit_index._rebuilding = True  # as between a warm start and the rebuilt trail
    with pytest.raises(NotReady, match="rebuilt from Git"):
        service.audit.events(ADMIN)
    service.audit.audit_index._rebuilding = False
    assert service.audit.events(ADMIN).total_elements > 0


class _HeldIndex(Index):
    """An index whose first ``replay`` (the warm start's background rebuild of the trail)
    waits until ``release`` is set, so that a refresh can happen meanwhile."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.release = threading.Event()
        self.held = threading.Event()

    def replay(self, after: str | None, upto: str) -> list[ChangeEvent] | None:
        if not self.held.is_set():
            self.held.set()
            assert self.release.wait(20)
        return super().replay(after, upto)


def test_a_history_rewritten_during_the_rebuild_wins(
    repo: tuple[Path, Path], tmp_path: Path
) -> None:
    """The background rebuild describes the head the index started at; a history rewrite
    that arrives meanwhile installs a newer trail, which the finished rebuild must not
    replace with the one of the history that is gone."""
    served, work = repo
    commit_files(work, {"configs/shop/DEV/gone-soon.yaml": "type: NUMBER\nvalue: 7\n"}, "soon")
    push(work)
    cache = tmp_path / "index.msgpack"
    cold_index, _cold_audit = started(served, cache)
    assert cold_index.save_cache()
    store = GitStore(served)
    index = _HeldIndex(store, cache=cache)
    audit = AuditIndex(store)
    audit.attach(index)
    index.refresh()  # warm: the rebuild starts, and waits
    assert index.warm_loaded is not None
    assert index.held.wait(20)
    before = git(served, "rev-parse", "main~1")
    git(served, "update-ref", "refs/heads/main", before)  # a force push to the commit before
    index.refresh()  # the history was rewritten: the index and the trail start again
    expected = trail(audit)
    assert expected
    assert all(path != "configs/shop/DEV/gone-soon.yaml" for _, path, *_ in expected)
    rebuilds = [t for t in threading.enumerate() if t.name == "audit-rebuild"]
    index.release.set()
    for thread in rebuilds:
        thread.join(20)
    wait_ready(audit)
    assert trail(audit) == expected
    assert audit.head == before == index.current().commit
