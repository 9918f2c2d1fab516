"""A replica's remote misbehaving: a host that accepts connections and never answers, and a
push cut off after (or before) the host took the commit. Real git against a real hung TCP
server and real ``file://`` remotes whose hooks stall.

Every fetch and push ends within the remote timeout; a write never waits past its deadline
and is never pushed after it; a failed push says "nothing was written" only once a fetch
showed the commit is not on the remote, and a push that landed is a write that succeeded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitconfig.access.principals import Principal
from gitconfig.core.errors import RemoteUnavailable
from gitconfig.runtime.bootstrap import init_repository
from gitconfig.runtime.replica import RemoteOptions, open_replica
from gitconfig.service import NewConfig, Service
from gitconfig.service.replica import Replicator
from gitconfig.store import gitcli
from gitconfig.store.remote import RemoteStore
from tests.support.gitrepo import git, rev_parse
from tests.support.gitservers import HungHost
from tests.support.refusal import unchanged

ALICE = Principal("alice", frozenset({"admin"}), "alice@example.com")
BOUND = 10.0  # seconds: a call given a 1 s timeout must be over long before this


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    path = tmp_path / "origin.git"
    init_repository(path, bare=True)
    return path


@pytest.fixture
def hung() -> Iterator[HungHost]:
    with HungHost() as host:
        yield host


def replica(
    origin: Path, data_dir: Path, timeout: float
) -> tuple[RemoteStore, Service, Replicator]:
    options = RemoteOptions(url=f"file://{origin}", data_dir=data_dir, remote_timeout=timeout)
    store, service, replicator = open_replica(options, "main")
    replicator.fetch_now(raise_errors=True)
    return store, service, replicator


def point_at(store: RemoteStore, url: str) -> None:
    git(store.path, "config", "remote.origin.url", url)


def within(seconds: float, call: Callable[[], object]) -> BaseException | None:
    """Run ``call`` in a thread; what it raised (None: it returned). Fails the test when it is
    still running after ``seconds``."""
    raised: list[BaseException] = []

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            raised.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds}s"
    return raised[0] if raised else None


def set_limit(service: Service, value: int) -> None:
    service.configs.set(ALICE, NewConfig("limit", "app", "PROD", "NUMBER", str(value)))


# -- a hung host: every remote operation is bounded ----------------------------------------


@pytest.mark.parametrize("scheme", ["git", "http"])
def test_git_on_a_hung_host_is_stopped_with_its_children_at_the_timeout(
    hung: HungHost, tmp_path: Path, scheme: str
) -> None:
    """http:// runs git-remote-http, which killing git alone leaves connected for ever."""
    repo = tmp_path / "repo.git"
    init_repository(repo, bare=True)
    fetch = lambda: gitcli.fetch(repo, hung.url("origin.git", scheme), "+main:main", timeout=1)  # noqa: E731
    error = within(BOUND, fetch)
    assert isinstance(error, gitcli.GitTimedOut)
    assert "timed out after 1s" in str(error)
    deadline = time.monotonic() + 2
    while hung.connected() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hung.connected() == 0, "a process git started is still connected"


def test_a_hung_host_fails_the_fetch_and_status_says_so_within_the_timeout(
    origin: Path, hung: HungHost, tmp_path: Path
) -> None:
    store, _service, replicator = replica(origin, tmp_path / "mirror", timeout=1)
    assert replicator.status().last_fetch_ok is True
    point_at(store, hung.url("origin.git"))
    assert within(BOUND, replicator.fetch_now) is None  # returns False: recorded, not raised
    status = replicator.status()
    assert status.last_fetch_ok is False
    assert status.last_error is not None
    assert "timed out after 1s" in status.last_error


def test_a_write_to_a_hung_host_is_answered_within_the_timeouts_and_names_its_commit(
    origin: Path, hung: HungHost, tmp_path: Path
) -> None:
    store, service, _replicator = replica(origin, tmp_path / "mirror", timeout=1)
    point_at(store, hung.url("origin.git"))
    with unchanged(service, origin):
        error = within(BOUND, lambda: set_limit(service, 1))
    assert isinstance(error, RemoteUnavailable)
    assert "timed out after 1s" in error.message
    assert "could not be checked" in error.message  # the check timed out as well
    assert "nothing was written" not in error.message
    assert "look for commit " in error.message


def test_a_write_past_its_deadline_is_abandoned_and_never_pushed(
    origin: Path, hung: HungHost, tmp_path: Path
) -> None:
    """The write waits behind a fetch the hung host holds up; its deadline passes first."""
    store, service, replicator = replica(origin, tmp_path / "mirror", timeout=3)
    store.write_budget = 0.5
    point_at(store, hung.url("origin.git"))
    fetching = threading.Thread(target=replicator.fetch_now, daemon=True)
    fetching.start()
    time.sleep(0.3)  # the fetch holds the store's lock, waiting on the hung host
    with unchanged(service, origin):
        started = time.monotonic()
        error = within(BOUND, lambda: set_limit(service, 1))
        waited = time.monotonic() - started
        point_at(store, f"file://{origin}")  # the remote answers again: still nothing pushed
        fetching.join(BOUND)
        assert not fetching.is_alive()
    assert isinstance(error, RemoteUnavailable)
    assert "abandoned before it was pushed" in error.message
    assert "nothing was written" in error.message
    assert waited < 3  # it did not wait for the fetch to end
    assert store.pushes["abandoned"] == 1
    assert store.pushes["accepted"] == 0


# -- a push cut off: "nothing was written" only when checked --------------------------------


def stall(origin: Path, hook: str) -> None:
    """The remote's ``hook`` sleeps, so that a push with a 1 s timeout is cut off in it."""
    path = origin / "hooks" / hook
    path.write_text("#!/bin/sh\ncat >/dev/null\nsleep 4\n")
    path.chmod(0o755)


def test_a_push_cut_off_after_the_remote_took_it_is_a_write_that_succeeded(
    origin: Path, tmp_path: Path
) -> None:
    store, service, _replicator = replica(origin, tmp_path / "mirror", timeout=1)
    stall(origin, "post-receive")  # runs after the branch moved
    assert within(BOUND, lambda: set_limit(service, 7)) is None
    head = rev_parse(origin, "main")
    assert git(origin, "log", "-1", "--format=%s", head) == "Create configuration app/PROD/limit"
    assert store.head() == head
    assert service.reads.snapshot().commit == head
    assert store.pushes["accepted"] == 1
    assert store.pushes["error"] == 0


def test_a_push_cut_off_before_the_remote_took_it_says_nothing_was_written_once_checked(
    origin: Path, tmp_path: Path
) -> None:
    store, service, _replicator = replica(origin, tmp_path / "mirror", timeout=1)
    stall(origin, "pre-receive")  # runs before the branch moves: killed with the push
    with unchanged(service, origin):
        error = within(BOUND, lambda: set_limit(service, 7))
    assert isinstance(error, RemoteUnavailable)
    assert "nothing was written (checked: commit " in error.message
    assert "is not on the remote" in error.message
    assert store.pushes["error"] == 1
