"""The lossless change stream (``StreamConfigurationUpdates``) on a real grpc.aio server, and
the change hub under it: commit order, filters, resume from memory and from Git (also after a
restart), slow and vanished subscribers, shutdown, and SIGTERM on ``gitconfig serve``."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import json_format

from gitconfig.access.principals import Principal, TokenRegistry
from gitconfig.core.model import EntryKey, Environment, Kind
from gitconfig.grpc.errors import RESUME_AFTER_KEY
from gitconfig.grpc.servicer import COMMIT_KEY
from gitconfig.grpc.v1 import config_pb2, config_pb2_grpc
from gitconfig.index.changes import ChangeHub
from gitconfig.index.refresher import RefreshResult
from gitconfig.index.updates import Filter, render_update
from gitconfig.runtime.bootstrap import open_service
from gitconfig.service import ConfigChanges, NewConfig, Service
from tests.conftest import change, wait_until
from tests.support.gitrepo import commit_files, git, push
from tests.support.serve import Launcher, init_served
from tests.support.servers import GrpcServerThread, Reader
from tests.support.tokens import ADMIN_TOKEN

APP = "trading-engine"
AUTH = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
ADMIN = Principal("admin", frozenset({"admin"}))
Stub = config_pb2_grpc.ConfigurationServiceStub


def path(key: str, app: str = APP, env: str = "PROD", folder: str = "configs") -> str:
    return f"{folder}/{app}/{env}/{key}.yaml"


def number(value: int) -> str:
    return f"type: NUMBER\nvalue: {value}\n"


def tokens() -> TokenRegistry:
    registry = TokenRegistry()
    registry.add(ADMIN_TOKEN, "admin", ["admin"])
    return registry


@pytest.fixture
def server(service: Service) -> Iterator[GrpcServerThread]:
    with GrpcServerThread(service, tokens()) as running:
        yield running


@pytest.fixture
def stub(server: GrpcServerThread) -> Iterator[Stub]:
    with grpc.insecure_channel(server.address) as channel:
        yield Stub(channel)


def request(**fields: Any) -> config_pb2.StreamConfigurationUpdatesRequest:
    return config_pb2.StreamConfigurationUpdatesRequest(**fields)


class Stream:
    """One StreamConfigurationUpdates call, read in a thread."""

    def __init__(self, stub: Stub, **fields: Any) -> None:
        self.call = stub.StreamConfigurationUpdates(request(**fields), metadata=AUTH, timeout=60)
        self.reader: Reader[config_pb2.ConfigurationUpdate] = Reader(self.call)
        self.start = dict(self.call.initial_metadata())[COMMIT_KEY]

    def take(self, n: int) -> list[config_pb2.ConfigurationUpdate]:
        return self.reader.take(n)

    def error(self) -> grpc.RpcError:
        self.reader.finish()
        assert isinstance(self.reader.error, grpc.RpcError), self.reader.error
        return self.reader.error


def brief(update: config_pb2.ConfigurationUpdate) -> tuple[str, str, str, int, str]:
    kind = config_pb2.UpdateType.Name(update.update_type).removeprefix("UPDATE_TYPE_")
    return (update.commit[:7], update.key, kind, update.version, update.value)


def full(updates: list[config_pb2.ConfigurationUpdate]) -> list[dict[str, Any]]:
    return [json_format.MessageToDict(u) for u in updates]


def test_a_push_of_ten_files_is_ten_updates(service: Service, checkout: Path, stub: Stub) -> None:
    stream = Stream(stub)
    assert stream.start == service.reads.snapshot().commit
    files = {path(f"key-{i}"): number(i) for i in range(10)}
    sha = change(service, checkout, files, "ten files")
    updates = stream.take(10)
    assert stream.reader.nothing_more()
    assert {u.commit for u in updates} == {sha}
    assert sorted(u.key for u in updates) == [f"key-{i}" for i in range(10)]
    assert {(u.update_type, u.version, u.kind) for u in updates} == {
        (config_pb2.UPDATE_TYPE_CREATED, 1, "config")
    }
    first = next(u for u in updates if u.key == "key-3")
    assert (first.value, first.value_type) == ("3", config_pb2.VALUE_TYPE_NUMBER)
    assert (first.application, first.environment) == (APP, "PROD")
    assert first.id == EntryKey(Kind.CONFIG, APP, Environment.PROD, "key-3").id


def test_updates_deletes_versions_and_values(service: Service, checkout: Path, stub: Stub) -> None:
    stream = Stream(stub)
    a = change(service, checkout, {path("limit"): number(1)}, "create")
    b = change(service, checkout, {path("limit"): number(2)}, "update")
    c = change(service, checkout, {path("limit"): None}, "delete")
    d = change(service, checkout, {path("limit"): number(3)}, "create again")
    assert [brief(u) for u in stream.take(4)] == [
        (a[:7], "limit", "CREATED", 1, "1"),
        (b[:7], "limit", "UPDATED", 2, "2"),
        (c[:7], "limit", "DELETED", 2, ""),
        (d[:7], "limit", "CREATED", 3, "3"),
    ]
    commit_time = int(git(checkout, "show", "-s", "--format=%at", d))
    (replayed,) = Stream(stub, resume_after_commit=c).take(1)
    assert replayed.updated_at.seconds == commit_time


def test_filters_and_flags_only_on_request(service: Service, checkout: Path, stub: Stub) -> None:
    seed_like = Stream(stub)
    limit_only = Stream(stub, application=APP, environment="ENVIRONMENT_PROD", keys=["limit"])
    dev = Stream(stub, environment="DEV")
    flags = Stream(stub, application=APP, include_flags=True)
    flag = "description: v2\nenabled: true\nvalue: {engine: v2}\n"
    a = change(
        service,
        checkout,
        {path("limit"): number(1), path("other"): number(2), path("v2", folder="flags"): flag},
        "configs and a flag",
    )
    b = change(service, checkout, {path("limit", env="DEV"): number(3)}, "dev")
    c = change(service, checkout, {path("limit", app="pricing"): number(4)}, "pricing")
    assert [brief(u)[:2] for u in seed_like.take(4)] == [
        (a[:7], "limit"),
        (a[:7], "other"),
        (b[:7], "limit"),
        (c[:7], "limit"),
    ]
    assert [brief(u)[:2] for u in limit_only.take(1)] == [(a[:7], "limit")]
    assert [brief(u)[:2] for u in dev.take(1)] == [(b[:7], "limit")]
    got = flags.take(4)
    assert [(u.kind, u.key) for u in got] == [
        ("config", "limit"),
        ("config", "other"),
        ("flag", "v2"),
        ("config", "limit"),
    ]
    assert json.loads(got[2].value) == {
        "description": "v2",
        "enabled": True,
        "value": {"engine": "v2"},
    }
    assert got[2].value_type == config_pb2.VALUE_TYPE_UNSPECIFIED
    assert seed_like.reader.nothing_more(0.1)
    assert limit_only.reader.nothing_more(0.1)
    assert dev.reader.nothing_more(0.1)


@pytest.mark.parametrize("from_git", [False, True], ids=["memory", "git"])
def test_resume_replays_exactly_what_live_subscribers_got(
    service: Service, checkout: Path, stub: Stub, from_git: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_replays: list[str] = []
    read_git = service.changes.replay

    def replay(after: str, upto: str) -> Any:
        git_replays.append(after)
        return read_git(after, upto)

    monkeypatch.setattr(service.changes, "replay", replay)
    if from_git:
        service.changes.log_limit = 0  # the memory holds no commit: every replay reads Git
    live = Stream(stub, include_flags=True)
    bad = "type: NUMBER\nvalue: not a number\n"
    shas = [
        change(service, checkout, {path("a"): number(1), path("b"): number(1)}, "two"),
        change(service, checkout, {path("a"): bad}, "invalid: served fail-static, no update"),
        change(service, checkout, {path("a"): number(2)}, "fixed"),
        change(service, checkout, {"README.md": "no configuration here"}, "readme"),
        change(service, checkout, {path("f", folder="flags"): "description: f\n"}, "flag"),
        change(service, checkout, {path("b"): None}, "delete b"),
    ]
    expected = live.take(5)
    assert (
        [brief(u)[:4] for u in expected]
        == [
            (shas[0][:7], "a", "CREATED", 1),
            (shas[0][:7], "b", "CREATED", 1),
            (shas[2][:7], "a", "UPDATED", 3),  # version 2 is the invalid file
            (shas[4][:7], "f", "CREATED", 1),
            (shas[5][:7], "b", "DELETED", 1),
        ]
    )
    for position, resume in enumerate(shas):
        resumed = Stream(stub, include_flags=True, resume_after_commit=resume)
        tail = [u for u in expected if shas.index(u.commit) > position]
        assert full(resumed.take(len(tail))) == full(tail)
        assert resumed.start == shas[-1]
        assert resumed.reader.nothing_more(0.05)
        resumed.call.cancel()
    assert len(git_replays) == (len(shas) - 1 if from_git else 0)  # resuming at HEAD: nothing
    # A unique prefix works too; then the stream goes on live.
    resumed = Stream(stub, include_flags=True, resume_after_commit=shas[3][:8])
    assert full(resumed.take(2)) == full(expected[3:])
    later = change(service, checkout, {path("a"): number(9)}, "live")
    assert brief(resumed.take(1)[0])[:2] == (later[:7], "a")


def test_resume_across_a_restart(bare_repo: Path, checkout: Path, tmp_path: Path) -> None:
    first = open_service(bare_repo)
    first.index.refresh()
    with GrpcServerThread(first, tokens()) as server, grpc.insecure_channel(server.address) as ch:
        stream = Stream(Stub(ch))
        change(first, checkout, {path("a"): number(1)}, "one")
        last_seen = stream.take(1)[0].commit
    # While no server runs, two more commits land.
    missed = [commit_files(checkout, {path("a"): number(i)}, f"v{i}") for i in (2, 3)]
    push(checkout)
    for log_limit in (20_000, 0):  # the new process's log of recent commits, then Git
        second = open_service(bare_repo)
        second.changes.log_limit = log_limit
        second.index.refresh()
        with (
            GrpcServerThread(second, tokens()) as server,
            grpc.insecure_channel(server.address) as ch,
        ):
            resumed = Stream(Stub(ch), resume_after_commit=last_seen)
            assert [(u.commit, u.version) for u in resumed.take(2)] == [
                (missed[0], 2),
                (missed[1], 3),
            ]
            assert resumed.reader.nothing_more(0.05)


def test_bad_resume_commits(service: Service, checkout: Path, stub: Stub, bare_repo: Path) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        next(stub.StreamConfigurationUpdates(request(resume_after_commit="f" * 40), metadata=AUTH))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "resumeAfterCommit" in raised.value.details()

    # A commit of the repository that is not in the branch's first-parent history (after a
    # force push, or of another branch): no lossless resume is possible.
    git(checkout, "checkout", "-q", "-b", "side")
    side = commit_files(checkout, {path("x"): number(1)}, "side branch")
    git(checkout, "push", "-q", "origin", "side")
    with pytest.raises(grpc.RpcError) as raised:
        next(stub.StreamConfigurationUpdates(request(resume_after_commit=side), metadata=AUTH))
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    wait_until(lambda: len(service.changes) == 0)


def test_a_force_push_ends_the_streams(service: Service, checkout: Path, stub: Stub) -> None:
    a = change(service, checkout, {path("a"): number(1)}, "one")
    stream = Stream(stub)
    b = change(service, checkout, {path("a"): number(2)}, "two")
    assert stream.take(1)[0].commit == b
    git(checkout, "reset", "-q", "--hard", a)
    c = commit_files(checkout, {path("a"): number(3)}, "two, rewritten")
    git(checkout, "push", "-q", "--force", "origin", "main")
    service.index.refresh()
    assert stream.error().code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as raised:  # b is gone from the history
        next(stub.StreamConfigurationUpdates(request(resume_after_commit=b), metadata=AUTH))
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert [brief(u)[:4] for u in Stream(stub, resume_after_commit=a).take(1)] == [
        (c[:7], "a", "UPDATED", 2)
    ]


def test_writes_racing_with_resumes_lose_and_repeat_nothing(service: Service, stub: Stub) -> None:
    """Subscribers resume while API writes land: each gets exactly the changes after its
    resume commit, in order (the replay/live hand-over has no gap and no overlap)."""
    live = Stream(stub)
    service.configs.create(ADMIN, NewConfig("k", APP, "PROD", "NUMBER", "0"))
    entry_id = EntryKey(Kind.CONFIG, APP, Environment.PROD, "k").id
    first = live.take(1)[0].commit
    writes = 40
    writer = threading.Thread(
        target=lambda: [
            service.configs.update(ADMIN, entry_id, ConfigChanges(value=str(i)))
            for i in range(1, writes + 1)
        ]
    )
    writer.start()
    resumed: list[Stream] = []
    while writer.is_alive() or len(resumed) < 3:
        resumed.append(Stream(stub, resume_after_commit=first))
        time.sleep(0.005)
    writer.join()
    expected = [u.commit for u in live.take(writes)]
    for stream in resumed:
        assert [u.commit for u in stream.take(writes)] == expected
        assert stream.reader.nothing_more(0.01)


def test_a_stalled_subscriber_does_not_block_a_fast_one(
    service: Service, checkout: Path, server: GrpcServerThread
) -> None:
    service.changes.queue_limit = 4
    # No BDP probing: the stalled client's receive window stays small, so the server's writes
    # to it block and its queue fills.
    options = [("grpc.http2.bdp_probe", 0)]
    with (
        grpc.insecure_channel(server.address) as fast_channel,
        grpc.insecure_channel(server.address, options=options) as slow_channel,
    ):
        fast = Stream(Stub(fast_channel))
        slow_call = Stub(slow_channel).StreamConfigurationUpdates(
            request(), metadata=AUTH, timeout=60
        )
        wait_until(lambda: len(service.changes) == 2)
        big = "x" * 100_000
        shas = [
            change(service, checkout, {path("k"): f"type: STRING\nvalue: {big}{i}\n"}, f"v{i}")
            for i in range(30)
        ]
        assert [u.commit for u in fast.take(30)] == shas  # not held up by the stalled one
        wait_until(lambda: len(service.changes) == 1)  # the stalled one is dropped ...
        got = []
        with pytest.raises(grpc.RpcError) as raised:  # noqa: PT012 - reading until it ends
            for update in slow_call:  # ... and, when it reads again, told where to resume
                got.append(update.commit)
        assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        resume_after = dict(raised.value.trailing_metadata())[RESUME_AFTER_KEY]
        assert resume_after in raised.value.details()
        assert 0 < len(got) < 30
        assert got == shas[: len(got)]
        assert resume_after == got[-1]
        rest = Stream(Stub(fast_channel), resume_after_commit=resume_after)
        assert got + [u.commit for u in rest.take(30 - len(got))] == shas


def test_cancelled_streams_leave_no_subscription(
    service: Service, server: GrpcServerThread, stub: Stub
) -> None:
    streams = [Stream(stub, keys=[f"k{i}"]) for i in range(5)]
    assert len(service.changes) == 5
    for stream in streams:
        stream.call.cancel()
    wait_until(lambda: len(service.changes) == 0)
    assert server.server is not None
    assert not server.server.servicer._streams


def test_stopping_the_server_ends_streams_telling_clients_to_resume(
    service: Service, stub: Stub, server: GrpcServerThread
) -> None:
    head = service.reads.snapshot().commit
    streams = [Stream(stub), Stream(stub, resume_after_commit=head)]
    server.stop()
    for stream in streams:
        assert stream.reader.finish() == []
        assert stream.call.code() == grpc.StatusCode.UNAVAILABLE  # gRPC's "retry"
        assert f"resume_after_commit {head}" in stream.call.details()
    assert len(service.changes) == 0


def test_refreshes_reported_out_of_order_are_published_in_order(service: Service) -> None:
    """Two threads may refresh one after the other and call the listeners in reverse."""
    base = service.reads.snapshot().commit
    assert base is not None
    hub = ChangeHub(service.index)  # a hub of its own, fed by hand below
    a = service.configs.create(ADMIN, NewConfig("a", APP, "PROD", "NUMBER", "1")).updated.commit.sha
    b = service.configs.create(ADMIN, NewConfig("b", APP, "PROD", "NUMBER", "2")).updated.commit.sha
    hub._head = base
    earlier = RefreshResult(base, a, service.index.replay(base, a) or [], 0)
    later = RefreshResult(a, b, service.index.replay(a, b) or [], 0)

    async def published() -> list[str]:
        subscription = hub.subscribe(Filter(), lambda event: render_update(event, str))
        hub._on_refresh(service.reads.snapshot(), later)
        hub._on_refresh(service.reads.snapshot(), earlier)
        return [(await anext(subscription)).commit for _ in range(2)]

    assert asyncio.run(published()) == [a, b]


def test_sigterm_drains_streams_and_exits_0(launch: Launcher, tmp_path: Path) -> None:
    repo = init_served(tmp_path / "config.git")
    server = launch(repo, "--shutdown-grace", "1", token=ADMIN_TOKEN)
    process = server.process
    assert process is not None
    with (
        grpc.insecure_channel(server.grpc_address) as channel,
        httpx.Client(base_url=server.base, headers=dict(AUTH), timeout=10) as http,
        http.stream("GET", "/configs/watch") as sse,
    ):
        stream = Stream(Stub(channel))
        sse_lines: Reader[str] = Reader(sse.iter_lines())
        assert "retry: 1000" in sse_lines.take(1)
        created = http.post(
            "/configs",
            json={
                "key": "k",
                "application": APP,
                "environment": "PROD",
                "valueType": "NUMBER",
                "value": "1",
            },
        )
        assert created.status_code == 201
        assert stream.take(1)[0].value == "1"
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert stream.reader.finish() == []
        assert stream.call.code() == grpc.StatusCode.UNAVAILABLE
        assert "resume_after_commit" in stream.call.details()
        rest = sse_lines.finish()
        assert any(line.startswith("event: change") for line in rest)
        assert any('"reason":"shutting-down"' in line for line in rest)  # told to resume
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
