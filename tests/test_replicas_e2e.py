"""Replicas against real Git servers on 127.0.0.1: smart HTTP (nginx + fcgiwrap + git
http-backend, basic auth) and ``git daemon --enable=receive-pack``.

Three ``gitconfig serve --remote`` processes take concurrent writes (different keys and the
same key) while a person pushes with ``git push``; one replica is killed with SIGKILL in the
middle. Every write that got a 2xx must be in the remote's history with its value, and every
replica must converge on the remote's head; a stream subscriber sees every commit once, in
order, and resumes on another replica from a commit SHA.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from gitconfig.access.principals import Principal
from gitconfig.core.errors import RemoteUnavailable
from gitconfig.core.model import EntryKey, Environment, Kind
from gitconfig.core.remoteurl import Credentials
from gitconfig.runtime.bootstrap import init_repository
from gitconfig.runtime.replica import RemoteOptions, open_replica
from gitconfig.service import NewConfig
from tests.support.gitrepo import GitFailed, clone, commit_files, git, rev_parse
from tests.support.gitservers import GitDaemon, HungHost, SmartHttp, SshServer
from tests.support.refusal import unchanged
from tests.support.serve import NO_GRACE, Launcher, ServerProcess
from tests.support.sse import Watcher
from tests.support.tokens import ADMIN_TOKEN

pytestmark = pytest.mark.slow  # Git servers and gitconfig serve processes

ALICE = Principal("alice", frozenset({"admin"}), "alice@example.com")
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SECRET = "webhook-secret"
WAIT = 30.0  # seconds: the bound on every wait below


def _serves(replica: ServerProcess, head: str) -> bool:
    """Whether ``replica`` serves the commit ``head``."""
    return bool(remote_status(replica)["servedCommit"] == head)


def config_id(key: str) -> str:
    return EntryKey(Kind.CONFIG, "app", Environment.PROD, key).id


def wait_until(predicate: Callable[[], bool], what: str, seconds: float = WAIT) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


# -- smart HTTP with basic auth: credentials, outage, recovery ----------------------------


@pytest.fixture
def http_remote(tmp_path: Path) -> Iterator[SmartHttp]:
    root = tmp_path / "srv"
    init_repository(root / "origin.git", bare=True)
    with SmartHttp(root, "bob", "s3cret-pw") as server:
        yield server


def test_smart_http_with_basic_auth(
    http_remote: SmartHttp, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = http_remote.url("origin.git")
    options = RemoteOptions(
        url=url, data_dir=tmp_path / "m1", credentials=Credentials("bob", "s3cret-pw")
    )
    store, service, replicator = open_replica(options, "main")
    assert replicator.fetch_now(), replicator.last_error
    entry, _ = service.configs.set(ALICE, NewConfig("limit", "app", "PROD", "NUMBER", "5"))
    assert store.remote_head() == service.reads.snapshot().commit
    origin = http_remote.root / "origin.git"
    assert rev_parse(origin, "main") == entry.updated.commit.sha

    # credentials in the URL work too, and appear nowhere
    in_url = url.replace("http://", "http://bob:s3cret-pw@")
    _s, other, other_replicator = open_replica(
        RemoteOptions(url=in_url, data_dir=tmp_path / "m2"), "main"
    )
    assert other_replicator.fetch_now(), other_replicator.last_error
    assert other.reads.snapshot().commit == entry.updated.commit.sha
    assert "s3cret" not in (tmp_path / "m2" / "config").read_text()

    # wrong credentials: a clear, scrubbed error
    wrong = RemoteOptions(
        url=url.replace("http://", "http://bob:wrong-pw@"), data_dir=tmp_path / "m3"
    )
    _s, _service, bad = open_replica(wrong, "main")
    assert not bad.fetch_now()
    assert bad.last_error
    assert "wrong-pw" not in bad.last_error
    assert "127.0.0.1" in bad.last_error
    assert "fetch failed" in caplog.text  # logged, without a password
    assert "s3cret" not in caplog.text
    assert "wrong-pw" not in caplog.text


def test_remote_down_then_back(http_remote: SmartHttp, tmp_path: Path) -> None:
    options = RemoteOptions(
        url=http_remote.url("origin.git"),
        data_dir=tmp_path / "mirror",
        credentials=Credentials("bob", "s3cret-pw"),
        fetch_interval=0.3,
    )
    _store, service, replicator = open_replica(options, "main")
    assert replicator.fetch_now()
    service.configs.set(ALICE, NewConfig("limit", "app", "PROD", "NUMBER", "1"))
    replicator.start()
    try:
        http_remote.stop()
        wait_until(lambda: replicator.last_attempt_ok is False, "a failed fetch")
        assert service.reads.lookup(ALICE, Kind.CONFIG, "app", "PROD", "limit").version == 1
        with pytest.raises(RemoteUnavailable):
            service.configs.set(ALICE, NewConfig("limit", "app", "PROD", "NUMBER", "2"))
        status = replicator.status()
        assert status.last_fetch_ok is False
        assert "fetch from http://127.0.0.1" in (status.last_error or "")
        assert service.operations.ready

        http_remote.start()
        person = tmp_path / "person"
        url = http_remote.url("origin.git").replace("http://", "http://bob:s3cret-pw@")
        git(tmp_path, "clone", "--quiet", url, str(person))
        commit_files(person, {"configs/app/PROD/other.yaml": "type: NUMBER\nvalue: 9\n"}, "hi")
        git(person, "push", "--quiet", "origin", "main")
        head = rev_parse(person, "HEAD")
        wait_until(lambda: service.reads.snapshot().commit == head, "the replica to catch up")
        assert replicator.status().last_fetch_ok is True
        entry, _ = service.configs.set(ALICE, NewConfig("limit", "app", "PROD", "NUMBER", "3"))
        assert entry.version == 2
    finally:
        replicator.stop()


def test_ssh_with_a_key_file(tmp_path: Path) -> None:
    root = tmp_path / "srv"
    init_repository(root / "origin.git", bare=True)
    with SshServer(root) as server:
        os.environ["GIT_SSH_COMMAND"] = server.ssh_command  # known hosts; the key is ours
        options = RemoteOptions(
            url=server.url("origin.git"), data_dir=tmp_path / "m", ssh_key=server.client_key
        )
        _store, service, replicator = open_replica(options, "main")
        assert replicator.fetch_now(), replicator.last_error
        entry, _ = service.configs.set(ALICE, NewConfig("limit", "app", "PROD", "NUMBER", "5"))
        assert rev_parse(root / "origin.git", "main") == entry.updated.commit.sha

        stranger = tmp_path / "stranger_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)])
        refused = RemoteOptions(
            url=server.url("origin.git"), data_dir=tmp_path / "x", ssh_key=stranger
        )
        _s, _service, outsider = open_replica(refused, "main")
        assert not outsider.fetch_now()
        assert "Permission denied" in (outsider.last_error or "")


# -- three replica processes in front of git daemon ----------------------------------------


def remote_status(replica: ServerProcess) -> dict[str, object]:
    """The replica's ``remote`` part of ``GET /status``."""
    answer = httpx.get(f"{replica.base}/status", headers=AUTH, timeout=5)
    remote: dict[str, object] = answer.json()["remote"]
    return remote


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[GitDaemon]:
    root = tmp_path / "srv"
    init_repository(root / "origin.git", bare=True)
    with GitDaemon(root) as server:
        yield server


@pytest.fixture
def replicas(launch: Launcher, daemon: GitDaemon, tmp_path: Path) -> list[ServerProcess]:
    """Three replica processes fetching every 0.5 s."""
    return replica_processes(launch, daemon, tmp_path, 3, 0.5)


@pytest.fixture
def webhook_only_replicas(
    launch: Launcher, daemon: GitDaemon, tmp_path: Path
) -> list[ServerProcess]:
    """Two replica processes that fetch on a webhook only (no timed fetch in a test)."""
    return replica_processes(launch, daemon, tmp_path, 2, 600.0)


def replica_processes(
    launch: Launcher, daemon: GitDaemon, tmp_path: Path, count: int, poll: float
) -> list[ServerProcess]:
    """``gitconfig serve --remote`` processes started together: they import and clone in
    parallel (the ``launch`` fixture stops them all at once)."""
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    url = daemon.url("origin.git")
    options = ("--poll-interval", str(poll), "--webhook-secret", str(secret))
    started = [
        launch(
            None,
            "--remote",
            url,
            "--data-dir",
            str(tmp_path / f"replica{n}"),
            *options,
            env={"GITCONFIG_LOG_LEVEL": "INFO"},
            token=ADMIN_TOKEN,
            grpc=False,
            start=False,
            name=f"replica{n}",
        ).launch()
        for n in range(count)
    ]
    for replica in started:
        replica.wait_started(WAIT).wait_ready(WAIT)
    return started


def test_three_replicas_concurrent_writers_a_person_and_a_kill(
    replicas: list[ServerProcess], daemon: GitDaemon, tmp_path: Path
) -> None:
    origin = daemon.root / "origin.git"
    clients = [httpx.Client(base_url=r.base, headers=AUTH, timeout=30) for r in replicas]
    keys = ["own0", "own1", "own2", "shared"]
    for key in keys:
        body = {"key": key, "application": "app", "environment": "PROD", "valueType": "NUMBER"}
        assert clients[0].post("/configs", json={**body, "value": "0"}).status_code == 201
    start = rev_parse(origin, "main")
    wait_until(lambda: all(remote_status(r)["servedCommit"] == start for r in replicas), "converge")

    # a subscriber on replica 1, live from ``start``
    watcher = Watcher(clients[1])
    assert watcher.ready.id == start

    acknowledged: list[tuple[str, int]] = []
    lock = threading.Lock()
    half_done = threading.Event()

    def writer(n: int, key: str, count: int) -> None:
        for i in range(count):
            value = n * 1000 + i + 1
            try:
                answer = clients[n % 3].put(
                    f"/configs/{config_id(key)}", json={"value": str(value)}
                )
            except httpx.HTTPError:
                return  # the replica was killed
            if answer.status_code < 300:
                with lock:
                    acknowledged.append((key, value))
            else:
                assert answer.status_code in (409, 503), answer.text
            if n == 2 and i == count // 2:
                half_done.set()

    def person() -> None:
        work = clone(origin, tmp_path / "person")
        for i in range(3):
            commit_files(work, {"configs/app/PROD/person.yaml": f"type: NUMBER\nvalue: {i}\n"}, "p")
            for _attempt in range(20):
                try:
                    git(work, "push", "--quiet", "origin", "main")
                    break
                except GitFailed:
                    git(work, "pull", "--quiet", "--rebase", "origin", "main")

    threads = [threading.Thread(target=writer, args=(n, f"own{n % 3}", 6)) for n in range(3)]
    threads += [threading.Thread(target=writer, args=(n, "shared", 4)) for n in range(3, 6)]
    threads.append(threading.Thread(target=person))
    for thread in threads:
        thread.start()
    assert half_done.wait(WAIT)
    replicas[2].kill()  # in the middle of its writes
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads)

    # every acknowledged write is in the remote's history, with its value
    for key in keys:
        history = git(
            origin, "log", "-p", "--format=%H", "main", "--", f"configs/app/PROD/{key}.yaml"
        )
        for ack_key, value in acknowledged:
            if ack_key == key:
                assert f"+value: {value}\n" in history + "\n", (key, value)
    assert len([a for a in acknowledged if a[0] != "shared"]) >= 6
    assert git(origin, "show", "main:configs/app/PROD/person.yaml").endswith("value: 2")

    # the survivors and the restarted one converge on the remote's head
    replicas[2].start()
    head = rev_parse(origin, "main")
    for replica in replicas:
        wait_until(partial(_serves, replica, head), "convergence")

    # the subscriber got every commit once, in order
    chain = git(origin, "rev-list", "--first-parent", "--reverse", f"{start}..main").split()
    seen = [event.id for event in watcher.take(len(chain))]
    assert seen == chain
    assert watcher.quiet(0.3)
    watcher.close()

    # and resumes on another replica from a commit SHA
    middle = chain[len(chain) // 2]
    resumed = Watcher(clients[0], headers={"Last-Event-ID": middle})
    assert [event.id for event in resumed.replayed] == chain[len(chain) // 2 + 1 :]
    resumed.close()
    for client in clients:
        client.close()


def test_a_webhook_brings_a_push_at_once(
    webhook_only_replicas: list[ServerProcess], daemon: GitDaemon, tmp_path: Path
) -> None:
    replicas = webhook_only_replicas
    import hashlib
    import hmac

    origin = daemon.root / "origin.git"
    work = clone(origin, tmp_path / "work")
    commit_files(work, {"configs/app/PROD/hook.yaml": "type: NUMBER\nvalue: 1\n"}, "hook")
    git(work, "push", "--quiet", "origin", "main")
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    for replica in replicas:
        answer = httpx.post(
            f"{replica.base}/webhooks/git",
            content=body,
            headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": signature},
        )
        assert answer.status_code == 202, answer.text
    head = rev_parse(origin, "main")
    for replica in replicas:
        wait_until(partial(_serves, replica, head), "the webhook's fetch")


# -- a hung Git host: bounded, visible, and no write pushed after its request ---------------


def test_a_replica_in_front_of_a_hung_host_answers_within_its_remote_timeout(
    launch: Launcher, tmp_path: Path
) -> None:
    """A mirror cloned once, then served in front of a host that accepts and never answers:
    ``/status`` says the remote is failing and a write is answered 503 within the bounds of
    ``--remote-timeout``, naming what happened; nothing reaches the remote."""
    origin = tmp_path / "origin.git"
    init_repository(origin, bare=True)
    store, _service, replicator = open_replica(
        RemoteOptions(url=f"file://{origin}", data_dir=tmp_path / "mirror"), "main"
    )
    assert replicator.fetch_now()
    store.release_data_dir()  # this process is done with the mirror
    with HungHost() as hung:
        replica = launch(
            None,
            "--remote",
            hung.url("origin.git"),
            "--data-dir",
            str(tmp_path / "mirror"),
            "--remote-timeout",
            "1",
            "--poll-interval",
            "600",
            env=NO_GRACE,
            token=ADMIN_TOKEN,
            grpc=False,
        )
        wait_until(lambda: remote_status(replica)["lastFetchOk"] is False, "a failed fetch", 10)
        assert "timed out after 1s" in str(remote_status(replica)["lastError"])
        body = {"key": "limit", "application": "app", "environment": "PROD", "valueType": "NUMBER"}
        with unchanged(replica.http, origin):
            started = time.monotonic()
            answer = replica.http.post("/configs", json={**body, "value": "1"}, timeout=20)
            took = time.monotonic() - started
        assert answer.status_code == 503, answer.text
        assert "timed out after 1s" in answer.text
        assert "look for commit" in answer.text
        assert took < 10  # a push and a check, each bounded by 1 s, not git's own minutes


def test_a_second_replica_on_the_same_data_dir_exits_saying_why(
    launch: Launcher, daemon: GitDaemon, tmp_path: Path
) -> None:
    args = ("--remote", daemon.url("origin.git"), "--data-dir", str(tmp_path / "mirror"))
    first = launch(None, *args, env=NO_GRACE, token=ADMIN_TOKEN, grpc=False, name="first")
    second = launch(
        None, *args, env=NO_GRACE, token=ADMIN_TOKEN, grpc=False, start=False, name="second"
    ).launch()
    assert second.wait(20) == 1
    assert f"--data-dir {tmp_path / 'mirror'} is in use by another gitconfig serve" in (
        second.output()
    )
    assert first.ready()
    assert remote_status(first)["lastFetchOk"] is True
