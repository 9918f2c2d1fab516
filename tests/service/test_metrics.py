"""What ``GET /metrics`` counts: HTTP requests by route template, gRPC calls by method and
code, write outcomes, the index; and what its labels never carry."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from fastapi.testclient import TestClient

from gitconfig.grpc.v1 import config_pb2, config_pb2_grpc
from gitconfig.runtime.bootstrap import open_service
from gitconfig.service import Service
from gitconfig.service.metrics import LATENCY_BUCKETS
from tests.support.metrics import Samples, parse, requests_counted
from tests.support.refusal import unchanged
from tests.support.servers import GrpcServerThread
from tests.support.tokens import ADMIN_TOKEN

APP = "trading-engine"
BODY = {
    "key": "max-order-size",
    "application": APP,
    "environment": "PROD",
    "valueType": "NUMBER",
    "value": "250000",
}


http = requests_counted  # the count of one route, status and method


def test_http_requests_are_counted_by_route_template_method_and_status(
    client: TestClient,
) -> None:
    created = client.post("/configs", json=BODY)
    assert created.status_code == 201
    config_id = created.json()["id"]
    query = {"key": "max-order-size", "application": APP, "environment": "PROD"}
    for _ in range(3):
        assert client.get("/configs/lookup", params=query).status_code == 200  # the fast path
    assert client.get(f"/configs/{config_id}").status_code == 200
    assert client.get("/configs/00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.get("/no/such/path").status_code == 404
    assert client.request("BREW", "/configs").status_code == 405

    text = client.get("/metrics").text
    samples = parse(text)
    assert http(samples, "/configs", 201, "POST") == 1
    assert http(samples, "/configs/lookup", 200) == 3
    assert http(samples, "/configs/{configId}", 200) == 1
    assert http(samples, "/configs/{configId}", 404) == 1
    assert http(samples, "<unmatched>", 404) == 1
    assert http(samples, "/configs", 405, "OTHER") == 1
    labels = (("le", "+Inf"), ("method", "GET"), ("route", "/configs/lookup"), ("status", "200"))
    assert samples[("gitconfig_http_request_duration_seconds_bucket", labels)] == 3
    # No path, id, key or token ever becomes a label.
    assert config_id not in text
    assert ADMIN_TOKEN not in text
    assert "max-order-size" not in text
    assert "/no/such/path" not in text


def test_write_outcomes(client: TestClient, service: Service) -> None:
    created = client.post("/configs", json=BODY)
    config_id = created.json()["id"]
    assert client.put(f"/configs/{config_id}", json={"value": "1"}).status_code == 200
    kept = unchanged(service)
    stale = client.put(f"/configs/{config_id}", json={"value": "2"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert client.post("/configs", json=BODY).status_code == 409
    assert client.put(f"/configs/{config_id}", json={"value": "lots"}).status_code == 400
    kept.check()

    samples = parse(client.get("/metrics").text)
    outcomes = {
        labels[0][1]: value
        for (name, labels), value in samples.items()
        if name == "gitconfig_writes_total"
    }
    assert outcomes["committed"] == 2
    assert outcomes["precondition_failed"] == 1
    assert outcomes["conflict"] == 1  # the key exists already
    assert outcomes["invalid"] == 1


def test_index_runtime_and_build_figures(client: TestClient) -> None:
    samples = parse(client.get("/metrics").text)
    names = {name for name, _labels in samples}
    assert {
        "gitconfig_build_info",
        "gitconfig_index_commit_timestamp_seconds",
        "gitconfig_index_last_refresh_age_seconds",
        "gitconfig_index_refresh_duration_seconds_count",
        "gitconfig_index_refresh_failures_total",
        "gitconfig_stream_subscribers",
        "gitconfig_stream_events_sent_total",
        "gitconfig_stream_events_dropped_total",
        "process_resident_memory_bytes",
        "python_info",
    } <= names
    commit_time = samples[("gitconfig_index_commit_timestamp_seconds", ())]
    assert commit_time > 1_700_000_000


def test_grpc_calls_are_counted_by_method_and_code(bare_repo: Path) -> None:
    service = open_service(bare_repo)
    service.index.refresh()
    from tests.support.tokens import tokens

    auth = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
    request = config_pb2.GetConfigurationRequest(key="nope", application=APP, environment="PROD")
    with (
        GrpcServerThread(service, tokens()) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        stub = config_pb2_grpc.ConfigurationServiceStub(channel)
        for metadata, code in [
            (auth, grpc.StatusCode.NOT_FOUND),
            (auth, grpc.StatusCode.NOT_FOUND),
            ((), grpc.StatusCode.UNAUTHENTICATED),
        ]:
            with pytest.raises(grpc.RpcError) as raised:
                stub.GetConfiguration(request, metadata=metadata)
            assert raised.value.code() == code
    samples = parse(service.metrics.render().decode())
    method = "/config.v1.ConfigurationService/GetConfiguration"
    calls = ("gitconfig_grpc_calls_total", (("code", "NOT_FOUND"), ("method", method)))
    assert samples[calls] == 2
    denied = ("gitconfig_grpc_calls_total", (("code", "UNAUTHENTICATED"), ("method", method)))
    assert samples[denied] == 1
    assert samples[("gitconfig_grpc_call_duration_seconds_count", (("method", method),))] == 3


def test_a_flushed_tally_renders_like_the_same_observations_one_by_one(bare_repo: Path) -> None:
    observed, tallied = open_service(bare_repo), open_service(bare_repo)
    seconds = [0.00001, 0.0004, 0.0005, 0.003, 0.2, 7.0, 99.0, 0.0005]
    one_by_one = observed.metrics.http_recorder("/configs/lookup", "GET", 200)
    tally = tallied.metrics.http_tally("/configs/lookup", "GET", 200)
    for value in seconds:
        one_by_one(value)
        tally.observe(value)
    series = "gitconfig_http_request_duration_seconds"

    def histogram(service: Service) -> Samples:
        samples = parse(service.metrics.render().decode())
        return {key: value for key, value in samples.items() if key[0].startswith(series)}

    expected = histogram(observed)
    assert len(expected) == len(LATENCY_BUCKETS) + 3  # buckets, +Inf, count, sum
    assert histogram(tallied) == expected
    assert histogram(tallied) == expected  # a second flush adds nothing
