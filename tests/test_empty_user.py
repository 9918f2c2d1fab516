"""An empty ``userId`` is a value (bucket 50 for ``kill-switch``, as the docs' vectors say);
only a missing one is missing — over REST (evaluate, evaluate-all, the fast and the routed
check), gRPC and the CLI."""

from __future__ import annotations

from pathlib import Path

import grpc
from fastapi.testclient import TestClient

from gitconfig.access.principals import TokenRegistry
from gitconfig.core.evaluation import bucket
from gitconfig.grpc.v1 import config_pb2, config_pb2_grpc
from gitconfig.rest.app import RestApp, create_app
from gitconfig.service import Service
from tests.support.clirun import as_json, served_and_clone
from tests.support.gitrepo import commit_files
from tests.support.servers import GrpcServerThread
from tests.support.tokens import ADMIN_TOKEN

FLAG = {
    "key": "kill-switch",
    "application": "app",
    "environment": "DEV",
    "description": "d",
    "enabled": True,
    "rules": [{"percentage": 51}],
}
WHERE: dict[str, str] = {"application": "app", "environment": "DEV"}


def test_the_golden_vector() -> None:
    assert bucket("kill-switch", "") == 50


def test_rest(client: TestClient, service: Service) -> None:
    assert client.post("/feature-flags", json=FLAG).status_code == 201
    one = client.post("/feature-flags/evaluate", json={**WHERE, "key": "kill-switch", "userId": ""})
    assert (one.json()["enabled"], one.json()["reason"]) == (True, "SPLIT")
    missing = client.post("/feature-flags/evaluate", json={**WHERE, "key": "kill-switch"})
    assert (missing.json()["enabled"], missing.json()["reason"]) == (False, "DEFAULT")
    every = client.post("/feature-flags/evaluate-all", json={**WHERE, "userId": ""}).json()
    assert (every["flags"][0]["enabled"], every["flags"][0]["reason"]) == (True, "SPLIT")
    query = "/feature-flags/check?key=kill-switch&application=app&environment=DEV"
    for app in (client, TestClient(slow_app(service), headers=dict(client.headers))):
        check = app.get(query + "&userId=").json()
        assert (check["enabled"], check["reason"]) == (True, "SPLIT"), app
        assert app.get(query).json()["reason"] == "DEFAULT"


def slow_app(service: Service) -> RestApp:
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    return create_app(service, tokens, fast_reads=False)


def test_grpc(client: TestClient, service: Service) -> None:
    assert client.post("/feature-flags", json=FLAG).status_code == 201
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    auth = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
    with (
        GrpcServerThread(service, tokens) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        stub = config_pb2_grpc.ConfigurationServiceStub(channel)
        # The seed's proto3 ``string user_id`` cannot tell "" from unset: an empty userId
        # travels as the userId attribute (docs/grpc.md).
        empty = config_pb2.CheckFeatureFlagRequest(
            key="kill-switch", attributes={"userId": ""}, application="app", environment="DEV"
        )
        reply = stub.CheckFeatureFlag(empty, metadata=auth)
        assert (reply.enabled, reply.reason) == (True, "SPLIT")
        absent = config_pb2.CheckFeatureFlagRequest(
            key="kill-switch", application="app", environment="DEV"
        )
        assert stub.CheckFeatureFlag(absent, metadata=auth).reason == "DEFAULT"


def test_cli(tmp_path: Path) -> None:
    _, work = served_and_clone(tmp_path)
    flag = "description: d\nenabled: true\nrules:\n  - percentage: 51\n"
    commit_files(work, {"flags/app/DEV/kill-switch.yaml": flag}, "add")
    where = ("-a", "app", "-e", "DEV")
    empty = as_json("flag", "eval", "kill-switch", *where, "--user", "", repo=work)
    assert (empty["enabled"], empty["reason"]) == (True, "SPLIT")
    absent = as_json("flag", "eval", "kill-switch", *where, repo=work)
    assert absent["reason"] == "DEFAULT"
