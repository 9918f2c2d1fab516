"""The gRPC API's unary RPCs, health and reflection, on a real grpc.aio server on port 0."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from gitconfig.grpc.v1 import config_pb2, config_pb2_grpc
from gitconfig.runtime.bootstrap import open_service
from tests.support.gitrepo import clone, commit_files, push
from tests.support.seedstub import build_seed_stubs, run_seed_script
from tests.support.servers import GrpcServerThread
from tests.support.tokens import ADMIN_TOKEN, tokens

APP = "trading-engine"
LIMIT = "configs/trading-engine/PROD/max-order-size.yaml"
ENGINE = "flags/trading-engine/PROD/matching-v2.yaml"
ENGINE_FLAG = """\
description: Route orders through the v2 matching engine
enabled: true
value: {engine: v2, shards: 4}
rules:
  - attribute: region
    operator: IN
    values: [EU, UK]
"""
AUTH = (("authorization", f"Bearer {ADMIN_TOKEN}"),)


@pytest.fixture
def repo(bare_repo: Path, tmp_path: Path) -> Path:
    """The served repository with two configurations and three flags."""
    checkout = clone(bare_repo, tmp_path / "checkout")
    files = {
        LIMIT: "type: NUMBER\nvalue: 250000\ndescription: Maximum notional per order\n",
        "configs/trading-engine/PROD/venues.yaml": "type: JSON\nvalue: {lse: true}\n",
        "configs/trading-engine/DEV/max-order-size.yaml": "type: NUMBER\nvalue: 5\n",
        ENGINE: ENGINE_FLAG,
        "flags/trading-engine/PROD/static-on.yaml": "description: on\nenabled: true\n",
        "flags/trading-engine/PROD/off.yaml": "description: off\nenabled: false\n",
    }
    commit_files(checkout, files, "Add configurations and flags")
    push(checkout)
    return bare_repo


@pytest.fixture
def server(repo: Path) -> Iterator[GrpcServerThread]:
    service = open_service(repo)
    service.index.refresh()
    with GrpcServerThread(service, tokens()) as running:
        yield running


@pytest.fixture
def stub(server: GrpcServerThread) -> Iterator[config_pb2_grpc.ConfigurationServiceStub]:
    with grpc.insecure_channel(server.address) as channel:
        yield config_pb2_grpc.ConfigurationServiceStub(channel)


def get(
    key: str = "max-order-size", environment: str = "PROD"
) -> config_pb2.GetConfigurationRequest:
    return config_pb2.GetConfigurationRequest(key=key, application=APP, environment=environment)


def test_get_configuration(stub: config_pb2_grpc.ConfigurationServiceStub, repo: Path) -> None:
    reply = stub.GetConfiguration(get(), metadata=AUTH)
    assert reply.key == "max-order-size"
    assert reply.value == "250000"
    assert reply.value_type == config_pb2.VALUE_TYPE_NUMBER
    assert reply.version == 1
    assert (reply.application, reply.environment) == (APP, "PROD")
    assert len(reply.id) == 36
    assert len(reply.commit) == 40
    assert reply.updated_at.seconds > 1_700_000_000

    json_reply = stub.GetConfiguration(get("venues"), metadata=AUTH)
    assert (json_reply.value, json_reply.value_type) == ('{"lse":true}', config_pb2.VALUE_TYPE_JSON)
    # The seed's enum spelling of the environment is accepted too.
    assert stub.GetConfiguration(get(environment="ENVIRONMENT_DEV"), metadata=AUTH).value == "5"


def test_get_configurations_keeps_request_order_and_omits_missing(
    stub: config_pb2_grpc.ConfigurationServiceStub,
) -> None:
    request = config_pb2.GetConfigurationsRequest(
        keys=["venues", "missing", "max-order-size", "venues"], application=APP, environment="PROD"
    )
    reply = stub.GetConfigurations(request, metadata=AUTH)
    assert [c.key for c in reply.configurations] == ["venues", "max-order-size"]
    assert reply.configurations[1].value == "250000"

    everything = config_pb2.GetConfigurationsRequest(application=APP, environment="PROD")
    reply = stub.GetConfigurations(everything, metadata=AUTH)
    assert [c.key for c in reply.configurations] == ["max-order-size", "venues"]

    nothing = config_pb2.GetConfigurationsRequest(application="other", environment="PROD")
    assert list(stub.GetConfigurations(nothing, metadata=AUTH).configurations) == []


@pytest.mark.parametrize(
    ("key", "attributes", "enabled", "reason", "rule_index"),
    [
        ("matching-v2", {"region": "EU"}, True, "TARGETING_MATCH", 0),
        ("matching-v2", {"region": "US"}, False, "DEFAULT", None),
        ("static-on", {}, True, "STATIC", None),
        ("off", {"region": "EU"}, False, "DISABLED", None),
    ],
)
def test_check_feature_flag(
    stub: config_pb2_grpc.ConfigurationServiceStub,
    key: str,
    attributes: dict[str, str],
    enabled: bool,
    reason: str,
    rule_index: int | None,
) -> None:
    request = config_pb2.CheckFeatureFlagRequest(
        key=key, application=APP, environment="PROD", user_id="u-1", attributes=attributes
    )
    reply = stub.CheckFeatureFlag(request, metadata=AUTH)
    assert (reply.key, reply.enabled, reply.reason) == (key, enabled, reason)
    assert (reply.rule_index if reply.HasField("rule_index") else None) == rule_index
    expected = {"engine": "v2", "shards": 4} if key == "matching-v2" and enabled else None
    value = json_format.MessageToDict(reply.value) if reply.HasField("value") else None
    assert value == expected


@pytest.mark.parametrize(
    ("metadata", "code"),
    [
        ((), grpc.StatusCode.UNAUTHENTICATED),
        ((("authorization", "Bearer wrong"),), grpc.StatusCode.UNAUTHENTICATED),
        ((("authorization", "Basic abc"),), grpc.StatusCode.UNAUTHENTICATED),
        ((("authorization", "Bearer nobody-token"),), grpc.StatusCode.PERMISSION_DENIED),
    ],
)
def test_authentication(
    stub: config_pb2_grpc.ConfigurationServiceStub,
    metadata: tuple[tuple[str, str], ...],
    code: grpc.StatusCode,
) -> None:
    calls: tuple[Callable[[], object], ...] = (
        lambda: stub.GetConfiguration(get(), metadata=metadata),
        lambda: stub.CheckFeatureFlag(
            config_pb2.CheckFeatureFlagRequest(key="off", application=APP, environment="PROD"),
            metadata=metadata,
        ),
        lambda: next(
            stub.StreamConfigurationUpdates(
                config_pb2.StreamConfigurationUpdatesRequest(), metadata=metadata
            )
        ),
    )
    for call in calls:
        with pytest.raises(grpc.RpcError) as raised:
            call()
        assert raised.value.code() == code


def test_errors_are_status_codes(stub: config_pb2_grpc.ConfigurationServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetConfiguration(get("nope"), metadata=AUTH)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert "trading-engine/PROD/nope" in raised.value.details()

    with pytest.raises(grpc.RpcError) as raised:
        stub.GetConfiguration(get(environment="prod"), metadata=AUTH)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "environment: must be one of DEV, TEST, STAGING, PROD" in raised.value.details()

    with pytest.raises(grpc.RpcError) as raised:
        stub.GetConfigurations(
            config_pb2.GetConfigurationsRequest(keys=["../x"], application=APP, environment="PROD"),
            metadata=AUTH,
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "keys.0" in raised.value.details()

    with pytest.raises(grpc.RpcError) as raised:  # a flag is not a configuration
        stub.CheckFeatureFlag(
            config_pb2.CheckFeatureFlagRequest(key="venues", application=APP, environment="PROD"),
            metadata=AUTH,
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


def test_unavailable_and_not_serving_until_the_first_index(repo: Path) -> None:
    service = open_service(repo)  # not indexed yet
    with (
        GrpcServerThread(service, tokens()) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        stub = config_pb2_grpc.ConfigurationServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", "config.v1.ConfigurationService"):
            status = health.Check(health_pb2.HealthCheckRequest(service=name)).status
            assert status == health_pb2.HealthCheckResponse.NOT_SERVING
        with pytest.raises(grpc.RpcError) as raised:
            stub.GetConfiguration(get(), metadata=AUTH)
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        stream = stub.StreamConfigurationUpdates(
            config_pb2.StreamConfigurationUpdatesRequest(), metadata=AUTH
        )
        with pytest.raises(grpc.RpcError) as raised:
            next(stream)
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE

        watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
        assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
        threading.Thread(target=service.index.refresh).start()
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        watch.cancel()
        assert stub.GetConfiguration(get(), metadata=AUTH).value == "250000"

        server.stop()  # shutting down: NOT_SERVING first (then the server is gone)
        assert server.server is not None
        assert server.server.health._server_status[""] == health_pb2.HealthCheckResponse.NOT_SERVING


def test_reflection_lists_the_services(
    stub: config_pb2_grpc.ConfigurationServiceStub, server: GrpcServerThread
) -> None:
    with grpc.insecure_channel(server.address) as channel:
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        (reply,) = reflection.ServerReflectionInfo(iter([request]))
        names = {s.name for s in reply.list_services_response.service}
        assert {"config.v1.ConfigurationService", "grpc.health.v1.Health"} <= names

        request = reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="config.v1.ConfigurationService"
        )
        (reply,) = reflection.ServerReflectionInfo(iter([request]))
        assert reply.file_descriptor_response.file_descriptor_proto


def test_the_seed_client_unchanged(server: GrpcServerThread, repo: Path, tmp_path: Path) -> None:
    """A client generated from the seed's proto text as is: unary calls and the stream."""
    stubs = build_seed_stubs(tmp_path / "seed")
    body = """
        stub = config_pb2_grpc.ConfigurationServiceStub(grpc.insecure_channel(ADDRESS))
        auth = [("authorization", "Bearer " + sys.stdin.readline().strip())]
        out = {}
        reply = stub.GetConfiguration(
            config_pb2.GetConfigurationRequest(
                key="max-order-size", application="trading-engine", environment="PROD"
            ),
            metadata=auth,
        )
        out["config"] = json_format.MessageToDict(reply)
        flag = stub.CheckFeatureFlag(
            config_pb2.CheckFeatureFlagRequest(
                key="matching-v2", application="trading-engine", environment="PROD",
                user_id="u-1", attributes={"region": "UK"},
            ),
            metadata=auth,
        )
        out["flag"] = json_format.MessageToDict(flag)
        stream = stub.StreamConfigurationUpdates(
            config_pb2.StreamConfigurationUpdatesRequest(application="trading-engine"),
            metadata=auth, timeout=30,
        )
        out["updates"] = [json_format.MessageToDict(next(stream)) for _ in range(2)]
        stream.cancel()
        print(json.dumps(out))
    """
    result: dict[str, object] = {}
    script = threading.Thread(
        target=lambda: result.update(
            out=run_seed_script(stubs, body, address=server.address, stdin=ADMIN_TOKEN + "\n")
        )
    )
    script.start()
    service = server.service
    while not len(service.changes) and script.is_alive():
        threading.Event().wait(0.02)
    checkout = clone(repo, tmp_path / "later")
    commit_files(
        checkout,
        {
            ENGINE: ENGINE_FLAG.replace("UK]", "UK, US]"),  # a flag change: not for the seed
            LIMIT: "type: NUMBER\nvalue: 300000\n",
        },
        "Raise the limit, widen the flag",
    )
    commit_files(checkout, {LIMIT: None}, "Remove the limit")
    push(checkout)
    service.index.refresh()
    script.join(60)
    out = json.loads(str(result["out"]))
    assert out["config"]["value"] == "250000"
    assert out["config"]["valueType"] == "VALUE_TYPE_NUMBER"
    assert out["config"]["version"] == 1
    assert out["flag"] == {
        "key": "matching-v2",
        "enabled": True,
        "value": {"engine": "v2", "shards": 4},
        "reason": "TARGETING_MATCH",
    }
    first, second = out["updates"]
    assert (first["key"], first["value"], first["updateType"]) == (
        "max-order-size",
        "300000",
        "UPDATE_TYPE_UPDATED",
    )
    assert first["version"] == 2
    assert (second["key"], second["updateType"]) == ("max-order-size", "UPDATE_TYPE_DELETED")
