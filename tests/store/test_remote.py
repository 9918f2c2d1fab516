"""Replicas over a remote reached by file://: mirror, fetch, push with compare-and-swap,
re-apply on a moved remote, conflicts, fail-static when the remote is gone, read-only."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gitconfig.access.principals import Principal, TokenRegistry
from gitconfig.core.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    PreconditionFailed,
    ReadOnly,
    RemoteUnavailable,
)
from gitconfig.core.model import Kind
from gitconfig.rest.app import create_app
from gitconfig.runtime.bootstrap import init_repository
from gitconfig.runtime.replica import RemoteOptions, open_replica
from gitconfig.service import ConfigChanges, NewConfig
from gitconfig.service.replica import Replicator
from tests.support.gitrepo import clone, commit_files, git, push, rev_parse
from tests.support.metrics import parse
from tests.support.refusal import unchanged
from tests.support.tokens import ADMIN_TOKEN

ALICE = Principal("alice", frozenset({"admin"}), "alice@example.com")
PATH = "configs/app/PROD/{}.yaml"


def value_file(value: int) -> str:
    return f"type: NUMBER\nvalue: {value}\n"


class Replica:
    def __init__(self, origin: Path, data_dir: Path, **options: object) -> None:
        remote = RemoteOptions(url=f"file://{origin}", data_dir=data_dir, **options)  # type: ignore[arg-type]
        self.store, self.service, self.replicator = open_replica(remote, "main")
        self.replicator.fetch_now(raise_errors=True)

    def set(self, key: str, value: int, if_match: int | None = None) -> int:
        """Create or update app/PROD/<key>; with ``if_match`` an update naming a version."""
        if if_match is None:
            new = NewConfig(key, "app", "PROD", "NUMBER", str(value))
            return self.service.configs.set(ALICE, new)[0].version
        changes = ConfigChanges(value=str(value))
        return self.service.configs.update(ALICE, _id(key), changes, if_match).version


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    path = tmp_path / "origin.git"
    init_repository(path, bare=True)
    return path


@pytest.fixture
def person(origin: Path, tmp_path: Path) -> Path:
    """Someone's clone of the remote, pushing by hand."""
    return clone(origin, tmp_path / "person")


def test_first_start_clones_and_a_restart_reuses_the_mirror(origin: Path, tmp_path: Path) -> None:
    replica = Replica(origin, tmp_path / "mirror")
    assert replica.service.reads.snapshot().commit == rev_parse(origin, "main")
    assert not (tmp_path / "mirror" / "config").read_text().count("@")
    replica.store.release_data_dir()  # the first process ends
    store, _service, _replicator = open_replica(
        RemoteOptions(url=f"file://{origin}", data_dir=tmp_path / "mirror"), "main"
    )
    assert store.head() == rev_parse(origin, "main")  # before any fetch: the mirror is reused


def test_a_write_is_pushed_before_it_is_acknowledged(origin: Path, tmp_path: Path) -> None:
    replica = Replica(origin, tmp_path / "mirror")
    replica.set("limit", 5)
    head = rev_parse(origin, "main")
    assert replica.service.reads.snapshot().commit == head  # the index already shows it
    assert git(origin, "log", "-1", "--format=%an <%ae>", head) == "alice <alice@example.com>"
    assert git(origin, "show", f"{head}:{PATH.format('limit')}").endswith("value: 5")
    assert replica.store.pushes["accepted"] == 1


def test_a_write_on_a_moved_remote_is_reapplied_when_its_file_did_not_change(
    origin: Path, tmp_path: Path, person: Path
) -> None:
    replica = Replica(origin, tmp_path / "mirror")
    theirs = commit_files(person, {PATH.format("other"): value_file(1)}, "by hand")
    push(person)
    replica.set("limit", 7)  # built on the stale head first: rejected, fetched, re-applied
    log = git(origin, "log", "--format=%s", "main").splitlines()
    assert log[:2] == ["Create configuration app/PROD/limit", "by hand"]
    assert replica.store.pushes["stale"] == 1
    assert rev_parse(origin, "main~1") == theirs
    assert replica.service.reads.snapshot().get_key(
        replica.service.reads.snapshot().by_id(_id("other")).key  # type: ignore[union-attr]
    )


def _id(key: str) -> str:
    from gitconfig.core.model import EntryKey, Environment

    return EntryKey(Kind.CONFIG, "app", Environment.PROD, key).id


def test_a_write_whose_file_changed_upstream_is_a_conflict_naming_the_commit(
    origin: Path, tmp_path: Path, person: Path
) -> None:
    replica = Replica(origin, tmp_path / "mirror")
    replica.set("limit", 1)
    git(person, "pull", "--quiet")
    theirs = commit_files(person, {PATH.format("limit"): value_file(2)}, "raise by hand")
    push(person)
    remote = unchanged(origin)  # the replica fetches the person's commit: it moves, not this
    with pytest.raises(Conflict, match=f"by commit {theirs[:12]}"):
        replica.set("limit", 3)
    remote.check()
    kept = unchanged(replica.service, origin)
    with pytest.raises(PreconditionFailed):
        replica.set("limit", 4, if_match=1)  # the replica has fetched: version 2 now
    kept.check()
    assert git(origin, "show", f"main:{PATH.format('limit')}").endswith("value: 2")


def test_concurrent_writers_on_two_replicas_lose_nothing(origin: Path, tmp_path: Path) -> None:
    replicas = [Replica(origin, tmp_path / f"mirror{n}") for n in range(2)]
    acknowledged: list[tuple[str, int]] = []
    lock = threading.Lock()

    def writer(replica: Replica, key: str) -> None:
        for value in range(4):
            try:
                replica.set(key, value)
            except (Conflict, AlreadyExists):  # refused: another writer got in first
                continue
            with lock:
                acknowledged.append((key, value))

    threads = [
        threading.Thread(target=writer, args=(replicas[n % 2], f"k{n % 3}")) for n in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    history = git(origin, "log", "-p", "--format=%H", "main")
    for key, value in acknowledged:
        assert f"+value: {value}" in history, (key, value)
    assert len(acknowledged) >= 4


def test_remote_gone_reads_go_on_writes_are_unavailable_then_it_catches_up(
    origin: Path, tmp_path: Path, person: Path
) -> None:
    replica = Replica(origin, tmp_path / "mirror")
    replica.set("limit", 1)
    moved = origin.with_name("away.git")
    origin.rename(moved)
    assert replica.replicator.fetch_now() is False
    status = replica.replicator.status()
    assert status.last_fetch_ok is False
    assert status.last_error
    assert replica.service.reads.snapshot().get_key(
        replica.service.reads.snapshot().by_id(_id("limit")).key  # type: ignore[union-attr]
    )
    with pytest.raises(RemoteUnavailable):
        replica.set("limit", 2)
    moved.rename(origin)
    git(person, "pull", "--quiet")
    commit_files(person, {PATH.format("other"): value_file(9)}, "while it was down")
    push(person)
    assert replica.replicator.fetch_now() is True
    assert replica.service.reads.snapshot().commit == rev_parse(origin, "main")
    assert replica.replicator.status().commits_behind == 0


def test_a_read_only_replica_refuses_writes(origin: Path, tmp_path: Path) -> None:
    replica = Replica(origin, tmp_path / "mirror", read_only=True)
    kept = unchanged(replica.service, origin)
    with pytest.raises(ReadOnly):
        replica.set("limit", 1)
    kept.check()
    assert git(origin, "rev-list", "--count", "main") == "1"


def test_a_read_only_replica_refuses_every_write_also_one_that_changes_nothing(
    origin: Path, tmp_path: Path
) -> None:
    writable = Replica(origin, tmp_path / "writable")
    writable.set("limit", 1)
    writable.set("limit", 2)
    replica = Replica(origin, tmp_path / "mirror", read_only=True)
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    kept = unchanged(replica.service, origin)
    config_id = _id("limit")
    with TestClient(
        create_app(replica.service, tokens), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ) as client:
        same_scope = {"application": "app", "environment": "PROD"}
        answers = {
            "rollback to the served version": client.post(f"/configs/{config_id}/rollback/2"),
            "a PUT of the same value": client.put(f"/configs/{config_id}", json={"value": "2"}),
            "an import that changes nothing": client.post(
                "/configs/import",
                json={**same_scope, "format": "json", "content": '{"limit": 2}'},
            ),
            "a promote with nothing to change": client.post(
                "/configs/promote", json={"application": "app", "from": "PROD", "to": "DEV"}
            ),
            "a delete": client.delete(f"/configs/{config_id}"),
        }
        assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(answers, 405)
    kept.check()


def test_credentials_in_the_url_are_never_stored_or_shown(tmp_path: Path, origin: Path) -> None:
    remote = RemoteOptions(url="https://bob:s3cret@127.0.0.1:9/x.git", data_dir=tmp_path / "m")
    store, _service, replicator = open_replica(remote, "main")
    assert "s3cret" not in (tmp_path / "m" / "config").read_text()
    assert store.display_url == "https://127.0.0.1:9/x.git"
    assert replicator.fetch_now() is False
    assert replicator.last_error
    assert "s3cret" not in replicator.last_error
    assert "s3cret" not in repr(remote) + repr(store.remote)


def test_jittered_poll_interval() -> None:
    values = iter([0.0, 1.0, 0.5])
    replicator = Replicator(None, None, 30.0, rng=lambda: next(values))  # type: ignore[arg-type]
    assert [round(replicator.next_delay(), 6) for _ in range(3)] == [24.0, 36.0, 30.0]


def test_webhook_bursts_are_coalesced(origin: Path, tmp_path: Path) -> None:
    replica = Replica(origin, tmp_path / "mirror", fetch_interval=600.0)
    before = replica.replicator.fetches["ok"]
    replica.replicator.start()
    try:
        for _ in range(50):
            replica.replicator.trigger()
        deadline = threading.Event()
        for _ in range(100):  # bounded: up to 5 s for the fetches to settle
            if replica.replicator.fetches["ok"] > before and not replica.replicator._wake.is_set():
                break
            deadline.wait(0.05)
        deadline.wait(0.3)
    finally:
        replica.replicator.stop()
    assert 1 <= replica.replicator.fetches["ok"] - before <= 2


@pytest.fixture
def replica_client(origin: Path, tmp_path: Path) -> Iterator[tuple[TestClient, Replica]]:
    replica = Replica(origin, tmp_path / "mirror", webhook_secret=b"hook-secret")
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    app = create_app(replica.service, tokens)
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        yield client, replica


def test_rest_status_metrics_and_503_with_retry_after(
    replica_client: tuple[TestClient, Replica], origin: Path
) -> None:
    client, replica = replica_client
    body = {"key": "limit", "application": "app", "environment": "PROD", "valueType": "NUMBER"}
    created = client.post("/configs", json={**body, "value": "1"})
    assert created.status_code == 201, created.text
    status = client.get("/status").json()
    assert status["remote"]["url"] == f"file://{origin}"
    assert status["remote"]["servedCommit"] == status["remote"]["remoteHead"]
    assert status["remote"]["lastFetchOk"] is True
    samples = parse(client.get("/metrics").text)
    assert samples[("gitconfig_remote_pushes_total", (("outcome", "accepted"),))] == 1
    assert samples[("gitconfig_remote_commits_behind", ())] == 0
    origin.rename(origin.with_name("gone.git"))
    replica.replicator.fetch_now()
    config_id = created.json()["id"]
    refused = client.put(f"/configs/{config_id}", json={"value": "2"})
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert client.get(f"/configs/{config_id}").json()["value"] == "1"
    assert client.get("/readyz").status_code == 200
    status = client.get("/status").json()["remote"]
    assert status["lastFetchOk"] is False
    assert status["lastError"].startswith(f"fetch from file://{origin} failed")


def test_a_read_only_replica_answers_405(origin: Path, tmp_path: Path) -> None:
    replica = Replica(origin, tmp_path / "mirror", read_only=True)
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    kept = unchanged(replica.service, origin)
    with TestClient(create_app(replica.service, tokens)) as client:
        body = {"key": "k", "application": "app", "environment": "PROD", "valueType": "NUMBER"}
        answer = client.post(
            "/configs",
            json={**body, "value": "1"},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    assert answer.status_code == 405, answer.text
    assert "read-only" in answer.json()["message"]
    kept.check()


def _resume(replica: Replica, commit: str) -> None:
    """Open (and close) a stream resumed after ``commit``, on an event loop."""

    async def watch() -> None:
        replica.service.streams.watch(ALICE, None, None, [], True, commit).close()

    asyncio.run(watch())


def test_a_replica_asked_to_resume_after_a_commit_it_lacks_fetches_it(
    origin: Path, person: Path, tmp_path: Path
) -> None:
    """Failover: a client resumes after a commit another replica served. This one has not
    fetched it: it fetches and answers a retryable error meanwhile (never a stream from its
    older snapshot); once fetched, the stream resumes. A commit a fresh fetch does not bring
    is unknown (400)."""
    replica = Replica(origin, tmp_path / "mirror")
    replica.replicator.start()
    try:
        commit_files(person, {"configs/app/PROD/limit.yaml": value_file(7)}, "elsewhere")
        push(person)
        newer = rev_parse(origin, "main")
        assert replica.service.reads.snapshot().commit != newer
        with pytest.raises(RemoteUnavailable, match="has not fetched"):
            _resume(replica, newer)
        deadline = time.monotonic() + 10
        while replica.service.reads.snapshot().commit != newer:
            assert time.monotonic() < deadline, "the replica did not fetch the commit"
            time.sleep(0.05)
        _resume(replica, newer)
        unknown = "a" * 40
        with pytest.raises(RemoteUnavailable):  # first asked: it fetches
            _resume(replica, unknown)
        time.sleep(0.05)  # a fetch that starts after the ask
        replica.replicator.fetch_now()
        with pytest.raises(BadRequest) as raised:
            _resume(replica, unknown)
        assert [e.field for e in raised.value.errors] == ["resumeAfterCommit"]
    finally:
        replica.replicator.stop()
