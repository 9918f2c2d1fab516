"""A flag value's numbers are ones a double holds exactly, so REST (JSON) and gRPC
(``google.protobuf.Struct``, doubles) always answer the same value."""

from __future__ import annotations

import grpc
import pytest
from fastapi.testclient import TestClient
from google.protobuf import json_format

from gitconfig.access.principals import TokenRegistry
from gitconfig.core import validator
from gitconfig.grpc.v1 import config_pb2, config_pb2_grpc
from gitconfig.service import Service
from tests.support.refusal import unchanged
from tests.support.servers import GrpcServerThread
from tests.support.tokens import ADMIN_TOKEN

FLAG = {"key": "f", "application": "app", "environment": "DEV", "description": "d"}


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"limit": 9007199254740993}, "value.limit"),
        ({"a": {"b": [1, -(2**60) - 1]}}, "value.a.b.1"),
        ({"huge": 10**400}, "value.huge"),
    ],
)
def test_inexact_numbers_are_refused_with_their_path(
    client: TestClient, service: Service, value: dict[str, object], field: str
) -> None:
    kept = unchanged(service)
    response = client.post("/feature-flags", json={**FLAG, "enabled": True, "value": value})
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert "cannot be held exactly by a double" in error["message"]
    kept.check()


def test_files_are_checked_the_same_way() -> None:
    content = b"description: d\nvalue: {limit: 9007199254740993}\n"
    [finding] = validator.validate_files({"flags/app/DEV/f.yaml": content})
    assert finding.field == "value.limit"


def test_rest_and_grpc_agree(client: TestClient, service: Service) -> None:
    value = {"limit": 9007199254740992, "big": 2**60, "ratio": 0.1, "n": -3}
    response = client.post("/feature-flags", json={**FLAG, "enabled": True, "value": value})
    assert response.status_code == 201, response.text
    rest = client.get(
        "/feature-flags/check", params={"key": "f", "application": "app", "environment": "DEV"}
    ).json()["value"]
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    with (
        GrpcServerThread(service, tokens) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        stub = config_pb2_grpc.ConfigurationServiceStub(channel)
        request = config_pb2.CheckFeatureFlagRequest(key="f", application="app", environment="DEV")
        reply = stub.CheckFeatureFlag(
            request, metadata=(("authorization", f"Bearer {ADMIN_TOKEN}"),)
        )
    over_grpc = json_format.MessageToDict(reply.value)
    assert rest == value
    assert {k: (int(v) if float(v).is_integer() else v) for k, v in over_grpc.items()} == value
