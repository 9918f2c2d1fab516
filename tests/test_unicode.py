"""Text that is not valid Unicode (a lone surrogate, ``\\ud800``) anywhere in a request is a
400 naming the field, at every door; nothing is committed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest
from fastapi.testclient import TestClient

from gitconfig.access.principals import TokenRegistry
from gitconfig.core import flagfile, text
from gitconfig.core.errors import BadRequest
from gitconfig.service import Service
from tests.support.clirun import gitconfig, served_and_clone
from tests.support.refusal import unchanged
from tests.support.servers import GrpcServerThread
from tests.support.tokens import ADMIN_TOKEN

BAD = "\ud800"
CONFIG: dict[str, Any] = {
    "key": "k",
    "application": "app",
    "environment": "DEV",
    "valueType": "STRING",
    "value": "v",
}
FLAG: dict[str, Any] = {"key": "f", "application": "app", "environment": "DEV", "description": "d"}
RULE: dict[str, Any] = {"attribute": "region", "operator": "IN", "values": ["EU"]}


def post(client: TestClient, method: str, path: str, body: dict[str, Any]) -> Any:
    # json.dumps escapes the surrogate as \ud800: exactly what a hostile client sends.
    return client.request(
        method, path, content=json.dumps(body), headers={"Content-Type": "application/json"}
    )


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/configs", {**CONFIG, "value": BAD}, "value"),
        ("/configs", {**CONFIG, "description": "ok" + BAD}, "description"),
        ("/configs", {**CONFIG, "tags": ["a", BAD]}, "tags.1"),
        ("/configs", {**CONFIG, "schema": '{"title": "' + BAD + '"}'}, "schema"),
        ("/configs", {**CONFIG, "changeDescription": BAD}, "changeDescription"),
        ("/configs", {**CONFIG, "key": BAD}, "key"),
        ("/feature-flags", {**FLAG, "description": BAD}, "description"),
        (
            "/feature-flags",
            {**FLAG, "rules": [{**RULE, "values": ["EU", BAD]}]},
            "rules.0.values.1",
        ),
        ("/feature-flags", {**FLAG, "rules": [{**RULE, "attribute": BAD}]}, "rules.0.attribute"),
        ("/feature-flags", {**FLAG, "value": {"a": [BAD]}}, "value.a.0"),
        ("/feature-flags", {**FLAG, "value": {BAD: 1}}, f"value.{BAD}"),
        ("/feature-flags", {**FLAG, "changeDescription": BAD}, "changeDescription"),
        ("/feature-flags/evaluate", {**FLAG, "userId": BAD} | {"description": None}, "userId"),
        (
            "/feature-flags/evaluate-all",
            {"application": "app", "environment": "DEV", "attributes": {"plan": BAD}},
            "attributes.plan",
        ),
        (
            "/configs/import",
            {"application": "app", "environment": "DEV", "format": "env", "content": "A=" + BAD},
            "content",
        ),
    ],
)
def test_rest_bodies(
    client: TestClient, service: Service, path: str, body: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in body.items() if v is not None}
    kept = unchanged(service)
    response = post(client, "POST", path, body)
    assert response.status_code == 400, response.text
    fields = [e["field"] for e in response.json()["errors"]]
    assert field.replace(BAD, "\\ud800") in fields, fields
    kept.check()


def test_rest_updates(client: TestClient, service: Service) -> None:
    config = client.post("/configs", json=CONFIG).json()
    flag = client.post("/feature-flags", json=FLAG).json()
    kept = unchanged(service)
    cases: list[tuple[str, dict[str, Any], str]] = [
        (f"/configs/{config['id']}", {"description": BAD}, "description"),
        (f"/configs/{config['id']}", {"value": BAD}, "value"),
        (f"/feature-flags/{flag['id']}", {"description": BAD}, "description"),  # was a 409
        (f"/feature-flags/{flag['id']}", {"tags": [BAD]}, "tags.0"),
    ]
    for path, body, field in cases:
        response = post(client, "PUT", path, body)
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["field"] == field
    kept.check()


def test_flag_files_and_mappings() -> None:
    with pytest.raises(BadRequest) as raised:
        flagfile.parse_mapping({"description": BAD, "rules": [{**RULE, "values": [BAD]}]})
    assert [e.field for e in raised.value.errors] == ["description", "rules.0.values.0"]
    assert text.surrogate_fields({"a": [1, {"b": BAD}], BAD: 2}) == ["\\ud800", "a.1.b"]


def test_cli_arguments_that_are_not_utf8(tmp_path: Path) -> None:
    _, work = served_and_clone(tmp_path)
    kept = unchanged(work)
    # Python reads argv bytes that are not UTF-8 as lone surrogates (surrogateescape).
    value = b"\xff".decode("utf-8", "surrogateescape")
    result = gitconfig("set", "k", value, "-a", "app", "-e", "DEV", "--type", "STRING", repo=work)
    assert result.exit_code == 1, result.output
    assert "lone surrogate" in result.output
    message = gitconfig("set", "k", "v", "-a", "app", "-e", "DEV", "-m", value, repo=work)
    assert message.exit_code == 1
    assert "lone surrogate" in message.output
    kept.check()


@pytest.mark.parametrize(
    ("method", "streaming"),
    [
        ("GetConfiguration", False),
        ("GetConfigurations", False),
        ("CheckFeatureFlag", False),
        ("StreamConfigurationUpdates", True),
    ],
)
def test_grpc_strings_that_are_not_utf8_are_invalid_argument(
    service: Service, method: str, streaming: bool
) -> None:
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    auth = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
    not_utf8 = b"\x12\x02\xff\xfe"  # field 2 (a string in each request): two bytes, not UTF-8
    with (
        GrpcServerThread(service, tokens) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        path = f"/config.v1.ConfigurationService/{method}"
        if streaming:
            replies = channel.unary_stream(path)(not_utf8, metadata=auth, timeout=10)
            with pytest.raises(grpc.RpcError) as raised:
                list(replies)
        else:
            with pytest.raises(grpc.RpcError) as raised:
                channel.unary_unary(path)(not_utf8, metadata=auth, timeout=10)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, raised.value.details()
        assert "UTF-8" in (raised.value.details() or "")


@pytest.mark.parametrize(
    "path",
    [
        "/configs?application={bad}",
        "/feature-flags?application={bad}",
        "/audit?application={bad}",
        "/configs/lookup?application={bad}&environment=DEV&key=k",
        "/configs/export?application={bad}&environment=DEV",
        "/configs/compare?application={bad}&from=DEV&to=PROD",
        "/spring/{bad}/dev",
    ],
)
@pytest.mark.parametrize(
    "bad", ["%ED%A0%80", "%FF", "a%20b"], ids=["surrogate", "not-utf8", "blank"]
)
def test_a_bad_application_name_is_400_at_every_door(
    client: TestClient, path: str, bad: str
) -> None:
    """Invalid UTF-8 (an encoded surrogate, a stray byte) or a bad name in a query filter or
    a path is the 400 a lookup gives, naming the application, never a 200 with nothing."""
    client.post("/configs", json=CONFIG)
    response = client.get(path.format(bad=bad))
    assert response.status_code == 400, (path, response.text)
    assert "application" in [error["field"] for error in response.json()["errors"]]
