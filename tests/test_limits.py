"""The size limits (``core/limits.py``), enforced alike at every door: REST, gRPC, the CLI,
the validator and hooks, and the index."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from fastapi.testclient import TestClient

from gitconfig.access.principals import TokenRegistry
from gitconfig.core import limits, validator
from gitconfig.grpc.v1 import config_pb2, config_pb2_grpc
from gitconfig.service import Service
from tests.support.clirun import gitconfig, served_and_clone
from tests.support.gitrepo import clone, commit_files, git, push
from tests.support.refusal import unchanged
from tests.support.servers import GrpcServerThread
from tests.support.tokens import ADMIN_TOKEN

BODY: dict[str, Any] = {
    "key": "k",
    "application": "app",
    "environment": "DEV",
    "valueType": "STRING",
    "value": "v",
}
FLAG: dict[str, Any] = {
    "key": "f",
    "application": "app",
    "environment": "DEV",
    "description": "a flag",
}
SMALL = limits.Limits(
    body_bytes=4000, value_bytes=1000, tags=3, description=20, message=30, depth=5
)


@pytest.fixture
def small() -> Iterator[limits.Limits]:
    limits.configure(SMALL)
    yield SMALL
    limits.configure(None)


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def deep_json(levels: int) -> str:
    return "[" * levels + "1" + "]" * levels


def test_limits_come_from_the_environment() -> None:
    chosen = limits.Limits.from_env({"GITCONFIG_MAX_TAGS": "7", "GITCONFIG_MAX_DEPTH": "9"})
    assert (chosen.tags, chosen.depth, chosen.message) == (7, 9, limits.Limits().message)
    for text in ("-1", "0", "000", "1.5", "", "٣"):
        with pytest.raises(ValueError, match="GITCONFIG_MAX_TAGS must be a positive integer"):
            limits.Limits.from_env({"GITCONFIG_MAX_TAGS": text})


def test_depth_is_measured_without_recursion() -> None:
    assert limits.depth(1, 10) == 0
    assert limits.depth({"a": [1, {"b": []}]}, 10) == 4
    assert limits.depth(nested(100_000), 64) == 65  # stops counting past the limit


def test_the_default_depth_is_within_every_reader_and_writer(
    client: TestClient, service: Service
) -> None:
    """The issue's 325-level value is refused with a 400; the deepest value allowed is
    stored, rendered as YAML, read back and served."""
    deepest = limits.current().depth
    kept = unchanged(service)
    refused = client.post("/configs", json={**BODY, "valueType": "JSON", "value": deep_json(325)})
    assert refused.status_code == 400, refused.text
    assert "nests more than 64 levels" in refused.json()["errors"][0]["message"]
    kept.check()
    value = deep_json(deepest)
    created = client.post("/configs", json={**BODY, "valueType": "JSON", "value": value})
    assert created.status_code == 201, created.text
    assert created.json()["value"] == value
    kept = unchanged(service)
    over = client.post(
        "/configs",
        json={**BODY, "key": "k2", "valueType": "JSON"} | {"value": deep_json(deepest + 1)},
    )
    assert over.status_code == 400
    flag = client.post("/feature-flags", json={**FLAG, "value": {"a": nested(deepest + 1)}})
    assert flag.status_code == 400
    assert flag.json()["errors"][0]["field"] == "value"
    kept.check()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"value": "x" * 1001}, "value", "longer than 1,000 bytes"),
        ({"value": "é" * 501}, "value", "longer than 1,000 bytes"),  # bytes, not characters
        ({"tags": ["a", "b", "c", "d"]}, "tags", "more than 3 tags"),
        ({"description": "d" * 21}, "description", "longer than 20 characters"),
        ({"changeDescription": "m" * 31}, "changeDescription", "longer than 30 characters"),
        ({"valueType": "JSON", "value": deep_json(6)}, "value", "nests more than 5 levels"),
        ({"schema": json.dumps({"items": nested(6)})}, "schema", "nests more than 5 levels"),
    ],
)
def test_rest_config_limits(
    client: TestClient,
    service: Service,
    small: limits.Limits,
    overrides: dict[str, Any],
    field: str,
    message: str,
) -> None:
    kept = unchanged(service)
    response = client.post("/configs", json={**BODY, **overrides})
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert any(e["field"] == field and message in e["message"] for e in errors), errors
    kept.check()  # nothing committed


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"tags": ["a", "b", "c", "d"]}, "tags", "more than 3 tags"),
        ({"description": "d" * 21}, "description", "longer than 20 characters"),
        ({"changeDescription": "m" * 31}, "changeDescription", "longer than 30 characters"),
        ({"value": {"a": "x" * 1000}}, "value", "longer than 1,000 bytes"),
        ({"value": {"a": nested(5)}}, "value", "nests more than 5 levels"),
    ],
)
def test_rest_flag_limits(
    client: TestClient,
    service: Service,
    small: limits.Limits,
    overrides: dict[str, Any],
    field: str,
    message: str,
) -> None:
    kept = unchanged(service)
    response = client.post("/feature-flags", json={**FLAG, **overrides})
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert any(e["field"] == field and message in e["message"] for e in errors), errors
    kept.check()


def test_rest_body_limit_is_413(client: TestClient, service: Service, small: limits.Limits) -> None:
    big = {**BODY, "description": "d" * 5000}
    kept = unchanged(service)
    response = client.post("/configs", json=big)
    assert response.status_code == 413
    assert "larger than 4,000 bytes" in response.json()["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"key": "k", "description": "'
        for _ in range(10):
            yield b"d" * 1000
        yield b'"}'

    streamed = client.post(
        "/configs", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    kept.check()
    assert client.post("/configs", json=BODY).status_code == 201  # within the limit


def test_grpc_message_limit(service: Service, small: limits.Limits) -> None:
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    with (
        GrpcServerThread(service, tokens) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        stub = config_pb2_grpc.ConfigurationServiceStub(channel)
        request = config_pb2.GetConfigurationsRequest(
            keys=["k" * 200] * 30, application="app", environment="DEV"
        )
        with pytest.raises(grpc.RpcError) as raised:
            stub.GetConfigurations(request, metadata=(("authorization", f"Bearer {ADMIN_TOKEN}"),))
        assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_cli_refuses_what_the_api_refuses(tmp_path: Path, small: limits.Limits) -> None:
    _, work = served_and_clone(tmp_path)
    kept = unchanged(work)
    too_long = gitconfig("set", "k", "x" * 1001, "-a", "app", "-e", "DEV", repo=work)
    assert too_long.exit_code == 1
    assert "longer than 1,000 bytes" in too_long.output
    message = gitconfig("set", "k", "v", "-a", "app", "-e", "DEV", "-m", "m" * 31, repo=work)
    assert message.exit_code == 1
    assert "longer than 30 characters" in message.output
    kept.check()


@pytest.mark.parametrize(
    ("path", "content", "message"),
    [
        ("configs/app/DEV/k.yaml", "type: JSON\nvalue: " + deep_json(6) + "\n", "nests more"),
        ("configs/app/DEV/k.yaml", "type: STRING\nvalue: " + "x" * 70_000 + "\n", "larger"),
        ("configs/app/DEV/k.yaml", "type: STRING\nvalue: v\ntags: [a, b, c, d]\n", "3 tags"),
        ("flags/app/DEV/f.yaml", "description: " + "d" * 21 + "\n", "20 characters"),
        ("flags/app/DEV/f.yaml", "description: d\nvalue: {a: " + deep_json(5) + "}\n", "nests"),
    ],
)
def test_validator_and_index_refuse_files_beyond_the_limits(
    bare_repo: Path, tmp_path: Path, small: limits.Limits, path: str, content: str, message: str
) -> None:
    findings = validator.validate_files({path: content.encode()})
    assert findings, findings
    assert message in str(findings[0]), findings
    # A file pushed around the hooks is reported by the index, not served.
    from gitconfig.runtime.bootstrap import open_service

    work = clone(bare_repo, tmp_path / "work")
    commit_files(work, {path: content}, "around the hooks")
    push(work)
    service = open_service(bare_repo)
    service.index.refresh()
    snapshot = service.index.current()
    assert path in snapshot.problems
    assert message in " ".join(snapshot.problems[path].errors)
    assert git(bare_repo, "rev-parse", "main")


@pytest.mark.slow
def test_pre_receive_refuses_a_commit_message_beyond_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    from tests.support.clirun import ok

    bare, work = served_and_clone(tmp_path)
    ok("hooks", "install", repo=bare)
    monkeypatch.setenv("GITCONFIG_MAX_MESSAGE", "30")  # the hook runs with the pusher's env
    commit_files(work, {"configs/app/DEV/k.yaml": "type: NUMBER\nvalue: 1\n"}, "m" * 31)
    kept = unchanged(bare)
    pushed = subprocess.run(
        ["git", "push", "origin", "main"], cwd=work, capture_output=True, text=True, check=False
    )
    assert pushed.returncode != 0
    assert "(commit message): is longer than 30 characters" in pushed.stderr
    kept.check()
    git(work, "commit", "--amend", "--quiet", "-m", "short")
    assert subprocess.run(["git", "push", "origin", "main"], cwd=work, check=False).returncode == 0
