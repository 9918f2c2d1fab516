"""REST request bodies are strict: booleans are booleans, integers are integers, strings are
strings, an object member is given once, and NaN is not JSON — as in the YAML files."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gitconfig.service import Service
from tests.support.refusal import unchanged

FLAG: dict[str, Any] = {"key": "f", "application": "app", "environment": "DEV", "description": "d"}
CONFIG: dict[str, Any] = {
    "key": "k",
    "application": "app",
    "environment": "DEV",
    "valueType": "NUMBER",
    "value": "1",
}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/feature-flags", {**FLAG, "rules": [{"percentage": True}]}, "rules.0.percentage"),
        ("/feature-flags", {**FLAG, "rules": [{"percentage": "50"}]}, "rules.0.percentage"),
        ("/feature-flags", {**FLAG, "rules": [{"percentage": 50.0}]}, "rules.0.percentage"),
        ("/feature-flags", {**FLAG, "enabled": "true"}, "enabled"),
        ("/feature-flags", {**FLAG, "enabled": 1}, "enabled"),
        ("/feature-flags", {**FLAG, "tags": [1]}, "tags.0"),
        (
            "/feature-flags",
            {**FLAG, "rules": [{"attribute": "a", "operator": "IN", "values": [7]}]},
            "rules.0.values.0",
        ),
        ("/configs", {**CONFIG, "value": 1}, "value"),
        ("/configs", {**CONFIG, "description": False}, "description"),
        (
            "/configs/import",
            {"application": "app", "environment": "DEV", "format": "env", "content": "A=1"}
            | {"dryRun": "yes"},
            "dryRun",
        ),
    ],
)
def test_types_are_not_coerced(
    client: TestClient, service: Service, path: str, body: dict[str, Any], field: str
) -> None:
    kept = unchanged(service)
    response = client.post(path, json=body)
    assert response.status_code == 400, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    kept.check()


@pytest.mark.parametrize(
    "text",
    [
        '{"key":"a","key":"b","application":"app","environment":"DEV","description":"d"}',
        '{"key":"f","application":"app","environment":"DEV","description":"d",'
        '"value":{"a":1,"a":2}}',
        '{"key":"f","application":"app","environment":"DEV","description":"d","value":{"a":NaN}}',
    ],
)
def test_ambiguous_json_is_refused(client: TestClient, service: Service, text: str) -> None:
    kept = unchanged(service)
    response = client.post(
        "/feature-flags", content=text, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "body"
    assert error["message"].startswith("not valid JSON: ")
    kept.check()


def test_duplicate_members_refused_by_import_too(client: TestClient, service: Service) -> None:
    kept = unchanged(service)
    body = json.dumps(
        {"application": "app", "environment": "DEV", "format": "json", "content": '{"a":1,"a":2}'}
    )
    response = client.post(
        "/configs/import", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "duplicate key 'a'" in response.text
    kept.check()


def test_strict_values_are_still_accepted(client: TestClient) -> None:
    rule = {"attribute": "region", "operator": "IN", "values": ["EU"], "percentage": 50}
    response = client.post("/feature-flags", json={**FLAG, "enabled": True, "rules": [rule]})
    assert response.status_code == 201, response.text
    assert response.json()["rules"][0]["percentage"] == 50
