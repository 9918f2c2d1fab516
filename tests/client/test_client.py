"""The embedded client (``gitconfig.client``) against a real grpc.aio server on port 0: the
snapshot and the stream, typed reads, on-change callbacks once per commit and in order across
a server restart and a forced overflow, the asyncio flavour, the cache file, and an import
that pulls in no server dependency."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitconfig.access.principals import Principal
from gitconfig.client import (
    AsyncClient,
    Backoff,
    Change,
    Client,
    ClientError,
    FlagNotFound,
    ServerUnavailable,
    Status,
)
from gitconfig.client import cache as client_cache
from gitconfig.client.state import ConfigValue, LocalState
from gitconfig.core.model import EntryKey, Environment, Kind
from gitconfig.runtime.bootstrap import open_service
from gitconfig.service import ConfigChanges, NewConfig, NewFlag, Service
from tests.conftest import wait_until
from tests.support.agekeys import secret_service
from tests.support.gitrepo import clone, commit_files, push
from tests.support.serve import NO_GRACE, TOKEN, Launcher, init_served
from tests.support.servers import GrpcServerThread
from tests.support.tokens import ADMIN_TOKEN, tokens

APP = "trading-engine"
ADMIN = Principal("admin", frozenset({"admin"}))
FAST = Backoff(0.02, 0.2)


def new_config(key: str, value: str, value_type: str = "NUMBER", env: str = "PROD") -> NewConfig:
    return NewConfig(key=key, application=APP, environment=env, value_type=value_type, value=value)


def set_value(service: Service, key: str, value: str) -> str:
    entry = service.reads.snapshot().get(Kind.CONFIG, APP, Environment.PROD, key)
    assert entry is not None
    return service.configs.update(ADMIN, entry.id, ConfigChanges(value=value)).updated.commit.sha


class Recorder:
    """Collects on-change callbacks (called from the client's thread)."""

    def __init__(self) -> None:
        self.changes: list[Change] = []
        self._lock = threading.Lock()

    def __call__(self, change: Change) -> None:
        with self._lock:
            self.changes.append(change)

    def commits(self) -> list[str]:
        with self._lock:
            return [change.commit for change in self.changes]

    def wait_for(self, commits: list[str], timeout: float = 10.0) -> None:
        wait_until(lambda: len(self.commits()) >= len(commits), timeout)
        assert self.commits() == commits


@pytest.fixture
def server(service: Service) -> Iterator[GrpcServerThread]:
    with GrpcServerThread(service, tokens()) as running:
        yield running


def client_for(server: GrpcServerThread, **options: Any) -> Client:
    return Client(server.address, ADMIN_TOKEN, APP, "PROD", backoff=FAST, **options)


# -- reads and changes -------------------------------------------------------------------------


def test_reads_come_from_the_snapshot_typed(service: Service, server: GrpcServerThread) -> None:
    service.configs.create(ADMIN, new_config("limit", "250000"))
    service.configs.create(ADMIN, new_config("ratio", "0.25"))
    service.configs.create(ADMIN, new_config("halted", "false", "BOOLEAN"))
    service.configs.create(ADMIN, new_config("venues", '{"xlon":[1,2]}', "JSON"))
    service.configs.create(ADMIN, new_config("name", "matching", "STRING"))
    service.configs.create(ADMIN, new_config("limit", "1", env="DEV"))  # another environment
    flag = NewFlag(key="v2", application=APP, environment="PROD", description="v2", enabled=True)
    service.flags.create(ADMIN, flag)
    head = service.reads.snapshot().commit
    with client_for(server) as client:
        assert client.get("limit") == 250000
        assert client.get("ratio") == 0.25
        assert client.get("halted") is False
        assert client.get("venues") == {"xlon": [1, 2]}
        assert client.get("missing") is None
        assert client.get("missing", 7) == 7
        assert client.get_int("limit") == 250000
        assert client.get_int("missing", 5) == 5
        assert client.get_float("limit") == 250000.0
        assert client.get_float("ratio") == 0.25
        assert client.get_bool("halted") is False
        assert client.get_json("venues") == {"xlon": [1, 2]}
        assert client.get_str("limit") == "250000"
        assert client.get_str("name") == "matching"
        with pytest.raises(TypeError):
            client.get_int("ratio")
        with pytest.raises(TypeError):
            client.get_bool("name")
        snapshot = client.snapshot()
        assert snapshot.commit == head
        assert set(snapshot.values) == {
            "limit",
            "ratio",
            "halted",
            "venues",
            "name",
        }
        with pytest.raises(TypeError):
            snapshot.values["limit"] = 1  # type: ignore[index]
        assert client.enabled("v2")
        assert client.evaluate("v2").reason == "STATIC"
        assert client.enabled("nope", default=True) is True
        with pytest.raises(FlagNotFound):
            client.evaluate("nope")
        status = client.status
        assert (status.commit, status.source, status.stale, status.age) == (
            head,
            "server",
            False,
            0,
        )
        config = client.config("limit")
        assert config is not None
        assert config.version == 1
        assert len(config.id) == 36


def test_one_callback_per_commit_with_old_and_new_values(
    service: Service, server: GrpcServerThread, bare_repo: Path, tmp_path: Path
) -> None:
    service.configs.create(ADMIN, new_config("a", "1"))
    service.configs.create(ADMIN, new_config("b", "2"))
    everything, only_b = Recorder(), Recorder()
    with client_for(server) as client:
        client.on_change(everything)
        client.on_change(only_b, keys=["b"])
        checkout = clone(bare_repo, tmp_path / "checkout")
        files = {
            f"configs/{APP}/PROD/a.yaml": "type: NUMBER\nvalue: 10\n",
            f"configs/{APP}/PROD/c.yaml": "type: STRING\nvalue: new\n",
            f"configs/{APP}/PROD/b.yaml": None,
            f"configs/{APP}/DEV/a.yaml": "type: NUMBER\nvalue: 99\n",  # not this environment
        }
        pushed = commit_files(checkout, files, "three changes in one commit")
        push(checkout)
        service.index.refresh()
        everything.wait_for([pushed])
        (change,) = everything.changes
        assert sorted((c.key, c.type.value, c.old, c.new) for c in change.changes) == [
            ("a", "UPDATED", 1, 10),
            ("b", "DELETED", 2, None),
            ("c", "CREATED", None, "new"),
        ]
        assert only_b.commits() == [pushed]
        assert only_b.changes[0].keys == ("b",)
        assert client.get("a") == 10
        assert "b" not in client
        assert client.get("c") == "new"
        assert client.status.commit == pushed
        later = set_value(service, "a", "11")
        everything.wait_for([pushed, later])
        assert only_b.commits() == [pushed]  # b did not change again


def test_a_failing_callback_is_logged_and_others_still_run(
    service: Service, server: GrpcServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    service.configs.create(ADMIN, new_config("a", "1"))
    recorder = Recorder()

    def broken(change: Change) -> None:
        raise RuntimeError("boom")

    with client_for(server) as client:
        client.on_change(broken)
        client.on_change(recorder)
        commit = set_value(service, "a", "2")
        recorder.wait_for([commit])
    assert any("on_change callback failed" in r.getMessage() for r in caplog.records)


def test_changes_arrive_once_and_in_order_across_a_restart_and_an_overflow(
    service: Service, bare_repo: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gitconfig.client")
    service.configs.create(ADMIN, new_config("n", "0"))
    recorder = Recorder()
    first = GrpcServerThread(service, tokens()).start()
    port = first.port
    with client_for(first) as client:
        client.on_change(recorder)
        wait_until(lambda: len(service.changes) == 1)  # the client's stream is open
        expected = [set_value(service, "n", str(i)) for i in range(1, 4)]
        recorder.wait_for(expected)

        first.stop()  # a graceful restart: streams end with OK ...
        wait_until(lambda: client.status.stale)
        expected += [set_value(service, "n", str(i)) for i in range(4, 7)]  # ... writes meanwhile
        second = GrpcServerThread(service, tokens())
        second.port = port
        with second:
            recorder.wait_for(expected)
            wait_until(lambda: not client.status.stale)

            # An overflow: five commits published at once to a queue that holds one.
            wait_until(lambda: len(service.changes) == 1)
            service.changes.queue_limit = 1
            checkout = clone(bare_repo, tmp_path / "checkout")
            for i in range(7, 12):
                expected.append(
                    commit_files(
                        checkout,
                        {f"configs/{APP}/PROD/n.yaml": f"type: NUMBER\nvalue: {i}\n"},
                        f"n={i}",
                    )
                )
            push(checkout)
            service.index.refresh()
            recorder.wait_for(expected)
            assert client.get("n") == 11
            assert client.status.commit == expected[-1]
            values = [change.changes[0].new for change in recorder.changes]
            assert values == list(range(1, 12))
    messages = [record.getMessage() for record in caplog.records]
    assert any("overflowed" in message for message in messages)
    assert any("stream ended" in message for message in messages)


def test_the_async_client(service: Service, server: GrpcServerThread) -> None:
    service.configs.create(ADMIN, new_config("a", "1"))

    async def scenario() -> list[str]:
        seen: list[str] = []
        arrived = asyncio.Event()

        def record(change: Change) -> None:
            seen.append(change.commit)
            arrived.set()

        async with AsyncClient(server.address, ADMIN_TOKEN, APP, "PROD", backoff=FAST) as client:
            assert client.get("a") == 1
            client.on_change(record)
            commit = await asyncio.to_thread(set_value, service, "a", "2")
            await asyncio.wait_for(arrived.wait(), 10)
            assert client.get("a") == 2
            return [commit, *seen]

    commit, *seen = asyncio.run(scenario())
    assert seen == [commit]


def test_a_bad_token_or_name_fails_start(service: Service, server: GrpcServerThread) -> None:
    reader = Client(server.address, "reader-token", APP, "PROD", backoff=FAST)
    with reader:
        assert reader.get("x") is None  # nothing yet; the reader may read
    with pytest.raises(ClientError, match="UNAUTHENTICATED"):
        Client(server.address, "wrong", APP, "PROD").start()
    with pytest.raises(ClientError, match="INVALID_ARGUMENT"):
        Client(server.address, ADMIN_TOKEN, APP, "prod").start()


# -- the cache ---------------------------------------------------------------------------------


def unused_address() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def test_a_client_without_server_or_cache_fails_to_start() -> None:
    with pytest.raises(ServerUnavailable):
        Client(unused_address(), ADMIN_TOKEN, APP, "PROD", timeout=1).start()


def test_a_corrupt_cache_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache_file = tmp_path / "cache.json"

    def cached(**fields: object) -> bytes:
        base = {"format": 1, "application": APP, "environment": "PROD", "commit": "a"}
        return json.dumps({**base, "syncedAt": 1, "configs": [], "flags": [], **fields}).encode()

    hostile = [
        b"[" * 100_000 + b"]" * 100_000,  # RecursionError in json, not a crash of start()
        cached(syncedAt=float("nan")),
        cached(syncedAt=-5),
        cached(syncedAt=time.time() + 86_400),  # a day ahead: a negative age
    ]
    for garbage in (
        *hostile,
        b"{not json",
        b'{"format": 1}',
        json.dumps(
            {
                "format": 1,
                "application": APP,
                "environment": "PROD",
                "commit": "a",
                "syncedAt": 1,
                "configs": [{"key": 1}],
                "flags": [],
            }
        ).encode(),
    ):
        cache_file.write_bytes(garbage)
        client = Client(unused_address(), ADMIN_TOKEN, APP, "PROD", cache_path=cache_file)
        with pytest.raises(ServerUnavailable):
            client.start()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len([r for r in warnings if "corrupt cache" in r.getMessage()]) == 3 + len(hostile)


def test_status_age_is_never_negative_or_nan() -> None:
    assert Status("c", "cache", True, time.time() + 100).age == 0.0  # a clock that went back
    assert Status("c", "cache", True, float("nan")).age == float("inf")
    assert Status("c", "server", False, time.time()).age == 0.0


def test_grpc_reconnects_within_the_clients_own_backoff_cap() -> None:
    """gRPC's default reconnect backoff grows to 120 s, past the documented 10 s cap: the
    channel is given the client's cap (unless the caller set its own)."""
    options = dict(Client(unused_address(), ADMIN_TOKEN, APP, "PROD")._async._options)
    assert options["grpc.max_reconnect_backoff_ms"] == 10_000
    given = Client(
        unused_address(), ADMIN_TOKEN, APP, "PROD", options=[("grpc.max_reconnect_backoff_ms", 5)]
    )
    assert dict(given._async._options)["grpc.max_reconnect_backoff_ms"] == 5


def test_the_cache_file_never_holds_a_secret(tmp_path: Path) -> None:
    state = LocalState.build(
        "c" * 40,
        [
            ConfigValue("password", "SECRET", "hunter2", "hunter2", 1, "c" * 40, "id-1"),
            ConfigValue("limit", "NUMBER", "5", 5, 1, "c" * 40, "id-2"),
        ],
        [],
    )
    path = tmp_path / "sub" / "cache.json"
    client_cache.save(path, APP, "PROD", state, 123.0)
    assert b"hunter2" not in path.read_bytes()
    assert b"password" not in path.read_bytes()
    assert [p.name for p in path.parent.iterdir()] == ["cache.json"]  # no temporary left
    loaded = client_cache.load(path, APP, "PROD")
    assert loaded is not None
    assert loaded.state.values == {"limit": 5}
    assert loaded.synced_at == 123.0
    assert loaded.state.commit == "c" * 40
    assert client_cache.load(path, APP, "DEV") is None  # another scope's file


def test_the_cache_serves_while_the_server_is_down_and_catches_up(
    service: Service, tmp_path: Path
) -> None:
    service.configs.create(ADMIN, new_config("a", "1"))
    flag = NewFlag(key="v2", application=APP, environment="PROD", description="v2", enabled=True)
    service.flags.create(ADMIN, flag)
    cache_file = tmp_path / "cache.json"
    server = GrpcServerThread(service, tokens()).start()
    port = server.port
    with client_for(server, cache_path=cache_file) as client:
        commit = client.status.commit
    server.stop()
    cached = json.loads(cache_file.read_text())
    assert cached["commit"] == commit
    assert [c["key"] for c in cached["configs"]] == ["a"]

    changed = set_value(service, "a", "2")  # while the server is down
    offline = client_for(server, cache_path=cache_file, timeout=1)
    with offline:
        status = offline.status
        assert (status.source, status.stale, status.commit) == ("cache", True, commit)
        assert status.age > 0
        assert offline.get("a") == 1
        assert offline.enabled("v2")
        recorder = Recorder()
        offline.on_change(recorder)
        restarted = GrpcServerThread(service, tokens())
        restarted.port = port
        with restarted:
            wait_until(lambda: offline.get("a") == 2)
            assert recorder.commits() == [service.reads.snapshot().commit]
            assert recorder.changes[0].keys == ("a",)
            status = offline.status
            assert (status.source, status.stale, status.commit) == ("server", False, changed)
    assert json.loads(cache_file.read_text())["commit"] == changed


# -- packaging ---------------------------------------------------------------------------------


def test_importing_the_client_pulls_in_no_server_dependency() -> None:
    script = (
        "import sys, gitconfig.client, gitconfig.client.openfeature\n"
        "print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(result.stdout.replace("'", '"')))
    assert {"grpc", "gitconfig", "openfeature"} <= loaded
    server_only = {
        "fastapi",
        "uvicorn",
        "pygit2",
        "watchfiles",
        "typer",
        "starlette",
        "pydantic",
        "jsonschema",
        "httpx",
    }
    assert loaded & server_only == set()


def test_entry_ids_match_the_server(service: Service, server: GrpcServerThread) -> None:
    service.configs.create(ADMIN, new_config("limit", "1"))
    with client_for(server) as client:
        config = client.config("limit")
        assert config is not None
        assert config.id == EntryKey(Kind.CONFIG, APP, Environment.PROD, "limit").id


# -- a real server process, killed -------------------------------------------------------------


def test_kill_9_then_a_new_client_serves_the_cache_and_catches_up(
    launch: Launcher, tmp_path: Path
) -> None:
    repo = init_served(tmp_path / "config.git")
    first = launch(repo, env=NO_GRACE)
    target = first.grpc_address
    cache_file = tmp_path / "cache" / "trading-engine.PROD.json"
    created = first.http.post(
        "/configs",
        json={
            "key": "limit",
            "application": APP,
            "environment": "PROD",
            "valueType": "NUMBER",
            "value": "1",
        },
    )
    assert created.status_code == 201, created.text
    running = Client(target, TOKEN, APP, "PROD", cache_path=cache_file, backoff=FAST)
    with running:
        assert running.get("limit") == 1
        commit = running.status.commit
        first.kill()  # SIGKILL: no goodbye on the stream
        wait_until(lambda: running.status.stale)
        assert running.get("limit") == 1  # still served from memory

    checkout = clone(repo, tmp_path / "checkout")
    changed = commit_files(
        checkout, {f"configs/{APP}/PROD/limit.yaml": "type: NUMBER\nvalue: 2\n"}, "limit=2"
    )
    push(checkout)  # while no server runs

    restarted = Client(target, TOKEN, APP, "PROD", cache_path=cache_file, timeout=1, backoff=FAST)
    with restarted:
        status = restarted.status
        assert (status.source, status.stale, status.commit) == ("cache", True, commit)
        assert restarted.get("limit") == 1
        launch(repo, "--grpc-port", str(first.ports["grpc"]), env=NO_GRACE)
        wait_until(lambda: restarted.get("limit") == 2, 30)
        status = restarted.status
        assert (status.source, status.stale, status.commit) == ("server", False, changed)


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(0, 0.05, 0.1), (1, 0.1, 0.2), (3, 0.4, 0.8), (10, 5.0, 10.0), (1000, 5.0, 10.0)],
)
def test_reconnect_delays_double_up_to_the_maximum_with_jitter(
    attempt: int, low: float, high: float
) -> None:
    delays = {Backoff(0.1, 10.0).delay(attempt) for _ in range(200)}
    assert all(low <= delay <= high for delay in delays)
    assert len(delays) > 100  # jittered, not one fixed delay


PLAIN = "client-Secret-Value-7"


def test_secrets_as_the_server_decides_and_never_in_the_cache(
    bare_repo: Path, tmp_path: Path
) -> None:
    service, _keys = secret_service(bare_repo, tmp_path)
    service.configs.create(ADMIN, NewConfig("db-password", APP, "PROD", "SECRET", PLAIN))
    service.configs.create(ADMIN, NewConfig("limit", APP, "PROD", "NUMBER", "5"))
    cache_file = tmp_path / "cache.json"
    with GrpcServerThread(service, tokens()) as server:
        with client_for(server, cache_path=cache_file) as revealing:
            secret = revealing.config("db-password")
            assert secret is not None
            assert secret.value_type == "SECRET"
            assert not secret.masked
            assert revealing.get("db-password") == PLAIN  # an admin may reveal: plaintext
            assert PLAIN not in repr(secret)
            assert PLAIN not in repr(revealing.status)
        saved = cache_file.read_text()
        assert "db-password" not in saved
        assert PLAIN not in saved
        assert '"limit"' in saved
        reader = Client(server.address, "reader-token", APP, "PROD", backoff=FAST)
        with reader:
            masked = reader.config("db-password")
            assert masked is not None
            assert masked.masked
            assert reader.get("db-password") == "********"


def test_a_start_from_the_cache_does_not_report_secrets_as_changes(
    bare_repo: Path, tmp_path: Path
) -> None:
    """SECRETs are never written to the cache file: on the first sync after a start from it,
    on_change reports what changed since the cached commit, and not the SECRETs (withheld,
    not new); their values are there at once."""
    service, _keys = secret_service(bare_repo, tmp_path)
    service.configs.create(ADMIN, NewConfig("db-password", APP, "PROD", "SECRET", PLAIN))
    service.configs.create(ADMIN, NewConfig("a", APP, "PROD", "NUMBER", "1"))
    cache_file = tmp_path / "cache.json"
    server = GrpcServerThread(service, tokens()).start()
    port = server.port
    with client_for(server, cache_path=cache_file):
        pass
    server.stop()
    set_value(service, "a", "2")
    offline = client_for(server, cache_path=cache_file, timeout=1)
    with offline:
        recorder = Recorder()
        offline.on_change(recorder)
        restarted = GrpcServerThread(service, tokens())
        restarted.port = port
        with restarted:
            wait_until(lambda: offline.get("a") == 2)
            assert [change.keys for change in recorder.changes] == [("a",)]
            assert offline.get("db-password") == PLAIN


def test_the_client_never_goes_back_to_an_older_commit(
    service: Service, bare_repo: Path, tmp_path: Path
) -> None:
    """Failover to a server that does not know the client's commit (a replica behind): the
    client keeps its newer state (stale) and asks again, instead of loading that server's
    older snapshot."""
    service.configs.create(ADMIN, new_config("a", "1"))
    older = clone(bare_repo, tmp_path / "older-work")  # the history up to a=1
    newest = set_value(service, "a", "2")
    server = GrpcServerThread(service, tokens()).start()
    port = server.port
    client = client_for(server, timeout=1)
    with client:
        assert client.get("a") == 2
        server.stop()
        behind_repo = tmp_path / "behind.git"
        subprocess.run(["git", "clone", "--bare", "-q", str(older), str(behind_repo)], check=True)
        behind = open_service(behind_repo)
        behind.index.refresh()
        lagging = GrpcServerThread(behind, tokens())
        lagging.port = port
        with lagging:
            time.sleep(2.0)  # several reconnects to the server that lacks the commit
            assert client.get("a") == 2
            assert client.status.commit == newest
            assert client.status.stale
