"""Scoped grants over gRPC (unary and the stream) and server-sent events, the access file
reloaded while serving, and rate limits (REST 429 + Retry-After, gRPC RESOURCE_EXHAUSTED)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from gitconfig.access.accessfile import AccessFile
from gitconfig.access.principals import TokenRegistry
from gitconfig.access.ratelimit import RateLimiter, parse_rate
from gitconfig.grpc.v1 import config_pb2, config_pb2_grpc
from gitconfig.rest.app import create_app
from gitconfig.service import NewConfig, Service
from tests.support.accessdata import ACCESS_FILE, ADMIN, TOKENS, auth, registry, seed, sha
from tests.support.metrics import parse, requests_counted
from tests.support.refusal import unchanged
from tests.support.serve import Launcher, init_served
from tests.support.servers import GrpcServerThread, Reader, UvicornThread

Stub = config_pb2_grpc.ConfigurationServiceStub


def metadata(name: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {TOKENS[name]}"),)


@pytest.fixture
def service(service: Service) -> Service:
    """The conftest service, seeded with the access tests' entries."""
    seed(service)
    return service


@pytest.fixture
def stub(service: Service, tmp_path: Path) -> Iterator[Stub]:
    with (
        GrpcServerThread(service, registry(tmp_path)) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        yield Stub(channel)


GRPC_TABLE = [
    ("payments-service", "payments", "PROD", grpc.StatusCode.OK),
    ("payments-service", "payments", "DEV", grpc.StatusCode.PERMISSION_DENIED),
    ("payments-service", "trading-engine", "PROD", grpc.StatusCode.PERMISSION_DENIED),
    ("trading-dev-writer", "trading-engine", "DEV", grpc.StatusCode.OK),
    ("trading-dev-writer", "trading-engine", "PROD", grpc.StatusCode.PERMISSION_DENIED),
    ("release", "payments", "PROD", grpc.StatusCode.OK),
]


@pytest.mark.parametrize(("who", "app", "env", "code"), GRPC_TABLE)
@pytest.mark.parametrize("rpc", ["GetConfiguration", "GetConfigurations", "CheckFeatureFlag"])
def test_grpc_grants_table(
    stub: Stub, who: str, app: str, env: str, code: grpc.StatusCode, rpc: str
) -> None:
    call: Callable[[], object]
    if rpc == "GetConfiguration":
        call = lambda: stub.GetConfiguration(  # noqa: E731
            config_pb2.GetConfigurationRequest(key="limit", application=app, environment=env),
            metadata=metadata(who),
        )
    elif rpc == "GetConfigurations":
        call = lambda: stub.GetConfigurations(  # noqa: E731
            config_pb2.GetConfigurationsRequest(application=app, environment=env),
            metadata=metadata(who),
        )
    else:
        call = lambda: stub.CheckFeatureFlag(  # noqa: E731
            config_pb2.CheckFeatureFlagRequest(key="fast", application=app, environment=env),
            metadata=metadata(who),
        )
    if code is grpc.StatusCode.OK:
        call()
        return
    with pytest.raises(grpc.RpcError) as raised:
        call()
    assert raised.value.code() is code


def test_grpc_unknown_token_is_unauthenticated(stub: Stub) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetConfiguration(
            config_pb2.GetConfigurationRequest(
                key="limit", application="payments", environment="PROD"
            ),
            metadata=(("authorization", "Bearer nope"),),
        )
    assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED


def write_everywhere(service: Service) -> None:
    """One change in each of the four scopes, one commit each, payments/PROD last."""
    for app, env in (
        ("trading-engine", "DEV"),
        ("trading-engine", "PROD"),
        ("payments", "DEV"),
        ("payments", "PROD"),
    ):
        service.configs.set(ADMIN, NewConfig("limit", app, env, "", "9"))


def test_grpc_stream_never_carries_an_update_outside_the_scope(
    service: Service, stub: Stub
) -> None:
    call = stub.StreamConfigurationUpdates(
        config_pb2.StreamConfigurationUpdatesRequest(),
        metadata=metadata("payments-service"),
        timeout=30,
    )
    reader: Reader[config_pb2.ConfigurationUpdate] = Reader(call)
    call.initial_metadata()
    write_everywhere(service)
    (update,) = reader.take(1)
    assert (update.application, update.environment) == ("payments", "PROD")
    assert reader.nothing_more(0.3)
    call.cancel()


def test_grpc_stream_naming_a_scope_outside_is_denied(stub: Stub) -> None:
    call = stub.StreamConfigurationUpdates(
        config_pb2.StreamConfigurationUpdatesRequest(application="payments", environment="DEV"),
        metadata=metadata("payments-service"),
        timeout=10,
    )
    with pytest.raises(grpc.RpcError) as raised:
        list(call)
    assert raised.value.code() is grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.slow
def test_sse_never_carries_an_update_outside_the_scope(service: Service, tmp_path: Path) -> None:
    app = create_app(service, registry(tmp_path))
    with (
        UvicornThread(app) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
        http.stream("GET", "/configs/watch", headers=auth("trading-dev-writer")) as response,
    ):
        assert response.status_code == 200
        lines: Reader[str] = Reader(response.iter_lines())
        while not (line := lines.take(1)[0]).startswith("event: ready"):
            pass
        write_everywhere(service)
        changes: list[dict[str, Any]] = []
        while not changes:
            line = lines.take(1)[0]
            if line.startswith("data: ") and '"changes"' in line:
                changes = json.loads(line.removeprefix("data: "))["changes"]
        assert {(c["application"], c["environment"]) for c in changes} == {
            ("trading-engine", "DEV")
        }
        assert not any(line.startswith("data: ") and '"changes"' in line for line in drain(lines))
        denied = http.get(
            "/configs/watch",
            params={"application": "payments", "environment": "PROD"},
            headers=auth("trading-dev-writer"),
        )
        assert denied.status_code == 403


def drain(lines: Reader[str], wait: float = 0.5) -> list[str]:
    found = []
    while not lines.nothing_more(wait):
        found += lines.take(1)
    return found


def test_the_access_file_is_reloaded_while_serving(service: Service, tmp_path: Path) -> None:
    path = tmp_path / "access.yaml"
    path.write_text(ACCESS_FILE)
    subjects = AccessFile(path, interval=0.0)
    app = create_app(service, TokenRegistry(subjects))
    newcomer = "tok-newcomer"
    params = {"key": "limit", "application": "payments", "environment": "DEV"}
    with UvicornThread(app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        headers = {"Authorization": f"Bearer {newcomer}"}
        assert http.get("/configs/lookup", params=params, headers=headers).status_code == 401
        path.write_text(
            ACCESS_FILE
            + f"  - name: newcomer\n    token_sha256: {sha(newcomer)}\n"
            + "    grants:\n      - {role: reader, applications: [payments], environments: [DEV]}\n"
        )
        assert http.get("/configs/lookup", params=params, headers=headers).status_code == 200
        # a bad new file is refused; the last good one stays in force
        path.write_text(ACCESS_FILE + "  - name: broken\n    grants: [{role: owner}]\n")
        assert http.get("/configs/lookup", params=params, headers=headers).status_code == 200
        assert subjects.reloads == 1
        # removing the subject revokes its token at once
        path.write_text(ACCESS_FILE)
        assert http.get("/configs/lookup", params=params, headers=headers).status_code == 401


def limited(tmp_path: Path, rate: str, write_rate: str | None = None) -> TokenRegistry:
    path = tmp_path / "access.yaml"
    path.write_text(ACCESS_FILE)
    writes = parse_rate(write_rate) if write_rate else None
    return TokenRegistry(AccessFile(path), limiter=RateLimiter(parse_rate(rate), writes))


@pytest.mark.parametrize("fast_reads", [True, False])
def test_over_the_limit_is_429_with_retry_after(
    service: Service, tmp_path: Path, fast_reads: bool, access_lines: list[logging.LogRecord]
) -> None:
    app = create_app(service, limited(tmp_path, "3/minute"), fast_reads=fast_reads)
    params = {"key": "limit", "application": "payments", "environment": "PROD"}
    with UvicornThread(app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        statuses = [
            http.get("/configs/lookup", params=params, headers=auth("payments-service")).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        over = http.get("/configs/lookup", params=params, headers=auth("payments-service"))
        assert over.status_code == 429
        assert 1 <= int(over.headers["Retry-After"]) <= 60
        assert "rate limit" in over.json()["message"]
        assert len(over.headers["x-request-id"]) == 32  # observed like every routed answer
        # per principal: another one is not affected; health probes are never limited
        assert http.get("/configs/lookup", params=params, headers=auth("root")).status_code == 200
        assert all(http.get("/healthz").status_code == 200 for _ in range(10))
        metrics = http.get("/metrics", headers=auth("root")).text
    assert requests_counted(parse(metrics), "/configs/lookup", 429) == 2  # each refusal once
    lines = [(r.getMessage(), getattr(r, "request_id", None)) for r in access_lines]
    refusals = [(message, rid) for message, rid in lines if " 429 " in message]
    assert [m.startswith("GET /configs/lookup 429 ") for m, _ in refusals] == [True, True]
    assert refusals[-1][1] == over.headers["x-request-id"]  # the line names the answer's id


def test_writes_have_their_own_limit(service: Service, tmp_path: Path) -> None:
    app = create_app(service, limited(tmp_path, "100/minute", write_rate="1/minute"))
    body = {"key": "k", "application": "payments", "environment": "PROD", "valueType": "STRING"}
    with UvicornThread(app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        first = http.post("/configs", json={**body, "value": "a"}, headers=auth("release"))
        assert first.status_code == 201
        kept = unchanged(service)
        second = http.post(
            "/configs", json={**body, "key": "k2", "value": "b"}, headers=auth("release")
        )
        assert second.status_code == 429
        assert int(second.headers["Retry-After"]) >= 1
        kept.check()
        reads = http.get("/configs", headers=auth("release"))
        assert reads.status_code == 200


def test_flag_evaluations_count_as_reads(service: Service, tmp_path: Path) -> None:
    """POST /feature-flags/evaluate and /evaluate-all are reads (they change nothing): they
    count against the read limit, never the write limit."""
    app = create_app(service, limited(tmp_path, "100/minute", write_rate="1/minute"))
    one = {"key": "fast", "application": "payments", "environment": "PROD", "userId": "u"}
    every = {"application": "payments", "environment": "PROD", "userId": "u"}
    with UvicornThread(app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        statuses = [
            http.post(path, json=body, headers=auth("release")).status_code
            for _ in range(5)
            for path, body in (
                ("/feature-flags/evaluate", one),
                ("/feature-flags/evaluate-all", every),
            )
        ]
        write = {"key": "k", "application": "payments", "environment": "PROD"}
        created = http.post(
            "/configs", json={**write, "valueType": "STRING", "value": "a"}, headers=auth("release")
        )
    assert statuses == [200] * 10
    assert created.status_code == 201  # the write limit is still whole


def test_grpc_over_the_limit_is_resource_exhausted(service: Service, tmp_path: Path) -> None:
    with (
        GrpcServerThread(service, limited(tmp_path, "2/minute")) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        stub = Stub(channel)
        request = config_pb2.GetConfigurationRequest(
            key="limit", application="payments", environment="PROD"
        )
        stub.GetConfiguration(request, metadata=metadata("payments-service"))
        stub.GetConfiguration(request, metadata=metadata("payments-service"))
        with pytest.raises(grpc.RpcError) as raised:
            stub.GetConfiguration(request, metadata=metadata("payments-service"))
        assert raised.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        trailing = dict(raised.value.trailing_metadata() or ())
        assert int(trailing["retry-after"]) >= 1


def test_a_burst_widens_the_window_at_the_same_rate() -> None:
    rate = parse_rate("10/second", burst=30)
    assert (rate.item.amount, rate.item.get_expiry()) == (30, 3)
    assert parse_rate("10/second").item.amount == 10


def test_serve_with_an_access_file_and_a_rate_limit(launch: Launcher, tmp_path: Path) -> None:
    """``gitconfig serve --access-file --rate-limit`` as a real process: the options reach
    the server, the access file's subjects act, and the limit answers 429."""
    repo = init_served(tmp_path / "config.git")
    access = tmp_path / "access.yaml"
    access.write_text(ACCESS_FILE)
    server = launch(
        repo,
        "--access-file",
        str(access),
        "--rate-limit",
        "3/minute",
        "--write-rate-limit",
        "1/minute",
        token=None,
        grpc=False,
    )
    http = server.http
    body = {
        "key": "k",
        "application": "payments",
        "environment": "PROD",
        "valueType": "STRING",
        "value": "v",
    }
    assert http.post("/configs", json=body, headers=auth("release")).status_code == 201
    kept = unchanged(repo)  # read here: the server rate-limits reads too
    assert http.post("/configs", json=body, headers=auth("release")).status_code == 429
    kept.check()
    params = {"key": "k", "application": "payments", "environment": "PROD"}
    statuses = [
        http.get("/configs/lookup", params=params, headers=auth("payments-service"))
        for _ in range(4)
    ]
    assert [s.status_code for s in statuses] == [200, 200, 200, 429]
    assert int(statuses[-1].headers["Retry-After"]) >= 1
    assert http.get("/configs", headers=auth("trading-dev-writer")).json()["totalElements"] == 0
    assert server.stop(20) == 0


def test_ofrep_over_the_limit_is_429_with_retry_after_in_seconds(
    service: Service, tmp_path: Path
) -> None:
    """OFREP's own answer (providers read ``Retry-After`` as integer seconds)."""
    app = create_app(service, limited(tmp_path, "2/minute"))
    url = "/ofrep/payments/PROD/ofrep/v1/evaluate/flags"
    with UvicornThread(app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        answers = [
            http.post(url, json={"context": {}}, headers=auth("payments-service")) for _ in range(3)
        ]
        assert [a.status_code for a in answers] == [200, 200, 429]
        over = answers[-1]
        assert 1 <= int(over.headers["Retry-After"]) <= 60
        assert "rate limit" in over.json()["errorDetails"]
