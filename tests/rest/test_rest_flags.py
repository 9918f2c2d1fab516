"""The /feature-flags REST API against a real bare repository."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gitconfig.service import Service
from tests.support.gitrepo import git
from tests.support.refusal import unchanged

FLAG: dict[str, Any] = {
    "key": "matching-v2",
    "application": "trading-engine",
    "environment": "PROD",
    "description": "Route orders through the v2 matching engine",
    "enabled": True,
    "value": {"engine": "v2"},
    "rules": [
        {"attribute": "region", "operator": "IN", "values": ["EU", "UK"]},
        {
            "conditions": [
                {"attribute": "region", "operator": "IN", "values": ["US"]},
                {"attribute": "plan", "operator": "EQUALS", "values": ["pro"]},
            ],
            "percentage": 50,
            "bucketBy": "accountId",
        },
    ],
    "tags": ["matching"],
}


def create(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/feature-flags", json={**FLAG, **overrides})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_writes_the_flag_file(client: TestClient, bare_repo: Path, service: Service) -> None:
    body = create(client)
    assert body["version"] == 1
    assert body["enabled"] is True
    assert body["rules"][0] == {"attribute": "region", "operator": "IN", "values": ["EU", "UK"]}
    assert body["rules"][1]["bucketBy"] == "accountId"
    content = git(bare_repo, "show", "main:flags/trading-engine/PROD/matching-v2.yaml")
    assert "description: Route orders through the v2 matching engine" in content
    assert client.get(f"/feature-flags/{body['id']}").json() == body
    kept = unchanged(service)
    assert client.post("/feature-flags", json=FLAG).status_code == 409
    kept.check()


def test_list_update_versions_rollback_delete(client: TestClient, service: Service) -> None:
    flag = create(client)
    create(client, key="kill-switch", rules=None, value=None, enabled=False)
    create(client, application="pricing", environment="DEV", key="new-curve")
    listed = client.get("/feature-flags", params={"application": "trading-engine"}).json()
    assert [f["key"] for f in listed["content"]] == ["kill-switch", "matching-v2"]
    assert listed["totalElements"] == 2
    assert listed["totalPages"] == 1

    updated = client.put(
        f"/feature-flags/{flag['id']}", json={"enabled": False}, headers={"If-Match": '"1"'}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["enabled"] is False
    assert updated.json()["rules"] == flag["rules"]  # untouched fields stay
    assert updated.json()["version"] == 2
    kept = unchanged(service)
    stale = client.put(
        f"/feature-flags/{flag['id']}", json={"enabled": True}, headers={"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    kept.check()

    versions = client.get(f"/feature-flags/{flag['id']}/versions").json()
    assert [(v["version"], v["flag"]["enabled"]) for v in versions] == [(1, True), (2, False)]
    one = client.get(f"/feature-flags/{flag['id']}/versions/{versions[0]['id'][:8]}")
    assert one.json()["version"] == 1

    rolled = client.post(f"/feature-flags/{flag['id']}/rollback/1")
    assert rolled.status_code == 200
    assert rolled.json()["enabled"] is True
    assert rolled.json()["version"] == 3

    kept = unchanged(service)
    assert (
        client.delete(f"/feature-flags/{flag['id']}", headers={"If-Match": '"1"'}).status_code
        == 412
    )
    kept.check()
    assert client.delete(f"/feature-flags/{flag['id']}").status_code == 204
    assert client.get(f"/feature-flags/{flag['id']}").status_code == 404


def test_clearing_the_value_with_null(client: TestClient) -> None:
    flag = create(client)
    updated = client.put(f"/feature-flags/{flag['id']}", json={"value": None})
    assert updated.status_code == 200
    assert "value" not in updated.json()  # absent, not null: the seed's value is an object
    kept = client.put(f"/feature-flags/{flag['id']}", json={"description": "still v2"})
    assert "value" not in kept.json()
    assert kept.json()["description"] == "still v2"


@pytest.mark.parametrize(
    ("params", "enabled", "reason"),
    [
        ({"userId": "u1"}, False, "DEFAULT"),
        ({}, False, "DEFAULT"),
    ],
)
def test_check_answers_the_seed_shape_with_a_reason(
    client: TestClient, params: dict[str, str], enabled: bool, reason: str
) -> None:
    create(client)
    response = client.get(
        "/feature-flags/check",
        params={"key": "matching-v2", "application": "trading-engine", "environment": "PROD"}
        | params,
    )
    assert response.status_code == 200
    assert response.json() == {
        "key": "matching-v2",
        "enabled": enabled,
        "reason": reason,
    }  # no "value": null (the seed's value is an object)


def test_check_of_static_and_disabled_flags(client: TestClient) -> None:
    create(client, key="static", rules=None)
    create(client, key="off", enabled=False)
    query = {"application": "trading-engine", "environment": "PROD"}
    static = client.get("/feature-flags/check", params={**query, "key": "static"}).json()
    assert static == {
        "key": "static",
        "enabled": True,
        "value": {"engine": "v2"},
        "reason": "STATIC",
    }
    off = client.get("/feature-flags/check", params={**query, "key": "off"}).json()
    assert off["reason"] == "DISABLED"
    assert off["enabled"] is False
    missing = client.get("/feature-flags/check", params={**query, "key": "nope"})
    assert missing.status_code == 404


def test_evaluate_with_attributes_names_the_deciding_rule(client: TestClient) -> None:
    create(client)
    base = {"key": "matching-v2", "application": "trading-engine", "environment": "PROD"}
    eu = client.post("/feature-flags/evaluate", json={**base, "attributes": {"region": "EU"}})
    assert eu.status_code == 200, eu.text
    assert eu.json() == {
        "key": "matching-v2",
        "enabled": True,
        "value": {"engine": "v2"},
        "reason": "TARGETING_MATCH",
        "ruleIndex": 0,
        "version": 1,
    }
    # US pro accounts are split 50/50 by accountId: both outcomes exist, each with SPLIT
    outcomes = set()
    for account in range(40):
        result = client.post(
            "/feature-flags/evaluate",
            json={
                **base,
                "userId": "u",
                "attributes": {"region": "US", "plan": "pro", "accountId": f"acct-{account}"},
            },
        ).json()
        assert result["reason"] == "SPLIT"
        assert result["ruleIndex"] == 1
        outcomes.add(result["enabled"])
    assert outcomes == {True, False}


def test_evaluate_all_flags_of_an_application(client: TestClient) -> None:
    create(client)
    create(client, key="static", rules=None)
    create(client, application="pricing", key="elsewhere")
    response = client.post(
        "/feature-flags/evaluate-all",
        json={
            "application": "trading-engine",
            "environment": "PROD",
            "attributes": {"region": "UK"},
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert {f["key"]: f["reason"] for f in body["flags"]} == {
        "matching-v2": "TARGETING_MATCH",
        "static": "STATIC",
    }
    assert len(body["commit"]) == 40


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"rules": [{"attribute": "a", "operator": "LIKE", "values": ["x"]}]}, "rules.0.operator"),
        ({"rules": [{"percentage": 150}]}, "rules.0.percentage"),
        (
            {"rules": [{"attribute": "a", "operator": "MATCHES", "values": ["(unclosed"]}]},
            "rules.0.values.0",
        ),
        (
            {"rules": [{"attribute": "a", "operator": "GREATER_THAN", "values": ["soon"]}]},
            "rules.0.values.0",
        ),
        ({"description": ""}, "description"),
        ({"key": "../x"}, "key"),
        ({"environment": "QA"}, "environment"),
        ({"enabled": "maybe"}, "enabled"),
    ],
)
def test_invalid_flags_are_400_with_the_field(
    client: TestClient, service: Service, overrides: dict[str, Any], field: str
) -> None:
    kept = unchanged(service)
    response = client.post("/feature-flags", json={**FLAG, **overrides})
    assert response.status_code == 400, response.text
    fields = [e["field"] for e in response.json()["errors"]]
    assert any(f == field or f.startswith(field) for f in fields), fields
    kept.check()


def test_missing_description_is_400(client: TestClient, service: Service) -> None:
    body = {k: v for k, v in FLAG.items() if k != "description"}
    kept = unchanged(service)
    response = client.post("/feature-flags", json=body)
    assert response.status_code == 400
    assert "description" in [e["field"] for e in response.json()["errors"]]
    kept.check()
