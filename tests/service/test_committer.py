"""Group commit isolation: one bad write never harms another, a commit that landed is
acknowledged, and no waiter is left behind — with a failure injected at each step.

The store is the real pygit2 adapter, subclassed to fail on demand (as ``test_index`` and
``test_transfer`` do); writes are queued while the committer's lock is held, so that they
deterministically share one batch."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gitconfig.access.principals import Principal
from gitconfig.core.errors import GitconfigError, NotReady, StoreError
from gitconfig.core.model import Kind, PendingCommit
from gitconfig.index.refresher import Index
from gitconfig.index.snapshot import Entry
from gitconfig.service import NewConfig, Service, build_service
from gitconfig.store.gitstore import GitStore
from tests.support.gitrepo import git
from tests.support.refusal import unchanged

ADMIN = Principal("admin", frozenset({"admin"}))


class FlakyStore(GitStore):
    """The real store; ``write_chain`` fails for a chain holding the message ``poison``, and
    ``head`` fails ``failing_heads`` times once ``fail_heads_after_write`` is set."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failing_heads = 0
        self.chains: list[int] = []

    def write_chain(self, parent: str | None, commits: Sequence[PendingCommit]) -> list[str]:
        self.chains.append(len(commits))
        if any(commit.message == "poison" for commit in commits):
            raise StoreError("injected: the commit could not be written")
        return super().write_chain(parent, commits)

    def head(self) -> str | None:
        if self.failing_heads > 0:
            self.failing_heads -= 1
            raise OSError("injected: the index refresh failed")
        return super().head()


@pytest.fixture
def store(bare_repo: Path) -> FlakyStore:
    return FlakyStore(bare_repo, "main")


@pytest.fixture
def flaky(store: FlakyStore) -> Service:
    service = build_service(store, Index(store))
    service.index.refresh()
    return service


def new(key: str) -> NewConfig:
    return NewConfig(key=key, application="app", environment="DEV", value_type="NUMBER", value="1")


def in_one_batch(
    service: Service, calls: list[Callable[[], Any]], queued: int | None = None
) -> list[Any]:
    """Run ``calls`` in threads that all queue (``queued`` of them: those not refused before
    queueing) before any batch is written; each result is what the call returned or raised."""
    results: list[Any] = [None] * len(calls)
    committer = service.writer._committer

    def run(index: int) -> None:
        try:
            results[index] = calls[index]()
        except Exception as exc:  # noqa: BLE001 - each call's outcome, for the assertions
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    with committer._write_lock:
        for thread in threads:
            thread.start()
        while len(committer._queue) < (queued or len(calls)):  # all queued behind the lock
            threading.Event().wait(0.001)
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive(), "a writer was left waiting"
    return results


def committed_keys(bare_repo: Path) -> set[str]:
    listing = git(bare_repo, "ls-tree", "-r", "--name-only", "main", "configs/app/DEV")
    return {line.rsplit("/", 1)[1].removesuffix(".yaml") for line in listing.splitlines()}


def test_a_failing_commit_harms_no_other_write_of_its_batch(
    flaky: Service, store: FlakyStore, bare_repo: Path
) -> None:
    calls: list[Callable[[], Any]] = [
        partial(flaky.configs.create, ADMIN, new(key)) for key in ("a", "b", "c")
    ]
    poisoned = NewConfig(**{**new("bad").__dict__, "change_description": "poison"})
    calls.insert(1, lambda: flaky.configs.create(ADMIN, poisoned))
    results = in_one_batch(flaky, calls)
    assert store.chains[0] == 4  # they did share a batch
    assert isinstance(results[1], StoreError)
    assert [r.key.key for r in results if not isinstance(r, Exception)] == ["a", "b", "c"]
    assert committed_keys(bare_repo) == {"a", "b", "c"}


def test_a_prepare_that_raises_unexpectedly_fails_alone(flaky: Service, bare_repo: Path) -> None:
    def broken() -> Any:
        def prepare(_snapshot: Any) -> Any:
            raise RuntimeError("injected: a bug in one write")

        return flaky.writer.commit(ADMIN, (), prepare, "broken")

    results = in_one_batch(
        flaky,
        [
            lambda: flaky.configs.create(ADMIN, new("a")),
            broken,
            lambda: flaky.configs.create(ADMIN, new("b")),
        ],
    )
    assert isinstance(results[1], RuntimeError)
    assert committed_keys(bare_repo) == {"a", "b"}


def test_a_commit_that_landed_is_acknowledged_when_a_refresh_fails(
    flaky: Service, store: FlakyStore, bare_repo: Path
) -> None:
    store.failing_heads = 1  # the refresh after the commit fails once; the retry works
    entry = flaky.configs.create(ADMIN, new("a"))
    assert entry.key.key == "a"
    assert entry.version == 1
    assert committed_keys(bare_repo) == {"a"}


def test_every_writer_of_a_batch_hears_when_the_refresh_keeps_failing(
    flaky: Service, store: FlakyStore, bare_repo: Path
) -> None:
    def armed_create(key: str) -> Entry:
        store.failing_heads = 1000
        return flaky.configs.create(ADMIN, new(key))

    results = in_one_batch(flaky, [partial(armed_create, key) for key in "abc"])
    assert all(isinstance(r, NotReady) for r in results), results
    assert all("was committed" in r.message for r in results)
    assert committed_keys(bare_repo) == {"a", "b", "c"}  # acknowledged as committed: they are
    store.failing_heads = 0
    flaky.index.refresh()
    assert flaky.reads.lookup(ADMIN, Kind.CONFIG, "app", "DEV", "c").version == 1


def test_a_lone_surrogate_commit_message_is_a_400_and_harms_no_one(
    client: TestClient, service: Service, bare_repo: Path
) -> None:
    text = (
        '{"key":"bad","application":"app","environment":"DEV","valueType":"NUMBER",'
        '"value":"1","changeDescription":"\\ud800"}'
    )
    kept = unchanged(service)
    response = client.post("/configs", content=text, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "changeDescription"
    kept.check()
    poisoned = NewConfig(**{**new("bad").__dict__, "change_description": "\ud800"})
    results = in_one_batch(
        service,
        [
            lambda: service.configs.create(ADMIN, new("a")),
            lambda: service.configs.create(ADMIN, poisoned),
            lambda: service.configs.create(ADMIN, new("b")),
        ],
        queued=2,  # the bad one is refused before it is queued
    )
    assert isinstance(results[1], GitconfigError)
    assert committed_keys(bare_repo) == {"a", "b"}
