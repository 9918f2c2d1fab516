"""The /configs REST API against a real bare repository (FastAPI's TestClient)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gitconfig.service import Service
from tests.support.gitrepo import git
from tests.support.refusal import unchanged

BODY: dict[str, Any] = {
    "key": "max-order-size",
    "application": "trading-engine",
    "environment": "PROD",
    "valueType": "NUMBER",
    "value": "250000",
    "description": "Maximum notional per order, USD",
    "tags": ["risk", "limits"],
}


def create(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/configs", json={**BODY, **overrides})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "refs/heads/main")


def test_create_returns_the_configuration_and_commits_once(
    client: TestClient, bare_repo: Path
) -> None:
    before = head(bare_repo)
    response = client.post("/configs", json={**BODY, "changeDescription": "Raise the limit"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["key"] == "max-order-size"
    assert body["application"] == "trading-engine"
    assert body["environment"] == "PROD"
    assert body["valueType"] == "NUMBER"
    assert body["value"] == "250000"
    assert body["version"] == 1
    assert body["tags"] == ["risk", "limits"]
    assert body["createdBy"] == "admin"
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/configs/{body['id']}"
    after = head(bare_repo)
    assert git(bare_repo, "rev-parse", f"{after}^") == before
    assert git(bare_repo, "log", "-1", "--format=%an|%s", after) == "admin|Raise the limit"
    content = git(bare_repo, "show", f"{after}:configs/trading-engine/PROD/max-order-size.yaml")
    assert "type: NUMBER" in content
    assert "value: 250000" in content


def test_get_list_and_lookup(client: TestClient) -> None:
    created = create(client)
    create(client, key="kill-switch", valueType="BOOLEAN", value="false")
    create(client, application="pricing", environment="DEV", key="spread", value="1.5")

    got = client.get(f"/configs/{created['id']}")
    assert got.status_code == 200
    assert got.json()["value"] == "250000"
    assert got.headers["ETag"] == '"1"'

    listed = client.get("/configs", params={"application": "trading-engine"}).json()
    assert listed["totalElements"] == 2
    assert [c["key"] for c in listed["content"]] == ["kill-switch", "max-order-size"]
    assert set(listed["content"][0]) >= {"id", "valueType", "createdAt", "updatedAt"}

    paged = client.get("/configs", params={"size": 2, "page": 1}).json()
    assert (paged["page"], paged["size"], paged["totalElements"], paged["totalPages"]) == (
        1,
        2,
        3,
        2,
    )
    assert len(paged["content"]) == 1
    assert client.get("/configs", params={"environment": "DEV"}).json()["totalElements"] == 1

    lookup = client.get(
        "/configs/lookup",
        params={"key": "kill-switch", "application": "trading-engine", "environment": "PROD"},
    )
    assert lookup.status_code == 200
    assert lookup.json() == {
        "key": "kill-switch",
        "value": "false",
        "valueType": "BOOLEAN",
        "version": 1,
    }


def test_update_versions_and_rollback(client: TestClient, bare_repo: Path) -> None:
    created = create(client)
    config_id = created["id"]
    updated = client.put(
        f"/configs/{config_id}",
        json={"value": "300000", "changeDescription": "More headroom"},
        headers={"If-Match": '"1"'},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    assert updated.json()["value"] == "300000"
    assert updated.json()["description"] == BODY["description"]  # untouched fields stay
    assert updated.headers["ETag"] == '"2"'

    versions = client.get(f"/configs/{config_id}/versions").json()
    assert [(v["version"], v["value"]) for v in versions] == [(1, "250000"), (2, "300000")]
    assert versions[1]["changeDescription"] == "More headroom"
    assert versions[1]["id"] == head(bare_repo)
    assert all(v["configId"] == config_id for v in versions)

    first_sha = versions[0]["id"]
    for ref in ("1", first_sha, first_sha[:7]):
        one = client.get(f"/configs/{config_id}/versions/{ref}")
        assert one.status_code == 200, ref
        assert one.json()["value"] == "250000"

    rolled = client.post(f"/configs/{config_id}/rollback/1", headers={"If-Match": '"2"'})
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["version"] == 3
    assert rolled.json()["value"] == "250000"
    assert git(bare_repo, "rev-list", "--count", "main") == "4"  # init + 3 writes
    assert "Roll back" in git(bare_repo, "log", "-1", "--format=%s")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/configs/{id}", {"value": "1"}),
        ("DELETE", "/configs/{id}", None),
        ("POST", "/configs/{id}/rollback/1", None),
    ],
)
def test_stale_if_match_is_refused_with_412(
    client: TestClient, service: Service, method: str, path: str, body: Any
) -> None:
    created = create(client)
    client.put(f"/configs/{created['id']}", json={"value": "2"})
    kept = unchanged(service)
    response = client.request(
        method, path.format(id=created["id"]), json=body, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 412, response.text
    assert response.headers["ETag"] == '"2"'
    kept.check()


def test_delete(client: TestClient, bare_repo: Path) -> None:
    created = create(client)
    response = client.delete(f"/configs/{created['id']}", headers={"If-Match": '"1"'})
    assert response.status_code == 204
    assert client.get(f"/configs/{created['id']}").status_code == 404
    assert "Delete configuration" in git(bare_repo, "log", "-1", "--format=%s")
    assert client.delete(f"/configs/{created['id']}").status_code == 404
    recreated = create(client, value="1")
    assert recreated["id"] == created["id"]  # ids are deterministic
    assert recreated["version"] == 2  # the numbering keeps counting


def test_creating_an_existing_key_is_409(client: TestClient, service: Service) -> None:
    create(client)
    kept = unchanged(service)
    response = client.post("/configs", json=BODY)
    assert response.status_code == 409
    kept.check()


def test_unknown_ids_and_versions_are_404(client: TestClient) -> None:
    created = create(client)
    assert client.get("/configs/nope").status_code == 404
    assert client.get("/configs/nope/versions").status_code == 404
    assert client.put("/configs/nope", json={"value": "1"}).status_code == 404
    assert client.get(f"/configs/{created['id']}/versions/9").status_code == 404
    assert client.get(f"/configs/{created['id']}/versions/deadbeef00").status_code == 404
    assert client.post(f"/configs/{created['id']}/rollback/5").status_code == 404
    missing = client.get(
        "/configs/lookup", params={"key": "x", "application": "y", "environment": "DEV"}
    )
    assert missing.status_code == 404


SCHEMA = json.dumps({"type": "number", "minimum": 0})


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"valueType": "NUMBER", "value": "abc"}, "value"),
        ({"valueType": "BOOLEAN", "value": "yes please"}, "value"),
        ({"valueType": "JSON", "value": "{not json"}, "value"),
        ({"valueType": "TEXT"}, "valueType"),
        ({"environment": "PRODUCTION"}, "environment"),
        ({"key": "../../etc/passwd"}, "key"),
        ({"key": ".hidden"}, "key"),
        ({"application": "a/b"}, "application"),
        ({"application": ""}, "application"),
        ({"value": "-5", "schema": SCHEMA}, "value"),
        ({"schema": '{"type": "no-such-type"}'}, "schema"),
        ({"schema": "not json"}, "schema"),
        ({"valueType": "SECRET", "value": "hunter2"}, "valueType"),
        ({"tags": "risk"}, "tags"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_bad_input_is_400_with_field_errors_and_no_commit(
    client: TestClient, service: Service, overrides: dict[str, Any], field: str
) -> None:
    kept = unchanged(service)
    response = client.post("/configs", json={**BODY, **overrides})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["message"]
    assert field in [e["field"] for e in body["errors"]], body
    kept.check()


def test_missing_fields_and_malformed_bodies_are_400(client: TestClient, service: Service) -> None:
    kept = unchanged(service)
    response = client.post("/configs", json={"key": "k"})
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"application", "environment", "valueType", "value"} <= fields
    broken = client.post(
        "/configs", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    assert client.get("/configs", params={"size": 0}).status_code == 400
    assert client.get("/configs", params={"page": "x"}).status_code == 400
    kept.check()
    created = create(client)
    kept = unchanged(service)
    bad_match = client.put(
        f"/configs/{created['id']}", json={"value": "1"}, headers={"If-Match": "soon"}
    )
    assert bad_match.status_code == 400
    kept.check()


def test_update_is_validated_against_the_schema(client: TestClient, service: Service) -> None:
    created = create(client, schema=SCHEMA)
    kept = unchanged(service)
    response = client.put(f"/configs/{created['id']}", json={"value": "-1"})
    assert response.status_code == 400
    kept.check()
    assert client.put(f"/configs/{created['id']}", json={"value": "7"}).status_code == 200


def test_an_unchanged_update_makes_no_commit(client: TestClient, bare_repo: Path) -> None:
    created = create(client)
    before = head(bare_repo)
    response = client.put(f"/configs/{created['id']}", json={"value": "250000"})
    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert head(bare_repo) == before


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic abc", "Bearer "])
def test_authentication_is_required(client: TestClient, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    client.headers.pop("Authorization")
    for method, path in [("GET", "/configs"), ("POST", "/configs"), ("GET", "/configs/x")]:
        response = client.request(method, path, headers=headers, json=BODY)
        assert response.status_code == 401
        assert response.json() == {"message": "Authentication required"}


def test_a_reader_cannot_write(client: TestClient, service: Service) -> None:
    kept = unchanged(service)
    response = client.post("/configs", json=BODY, headers={"Authorization": "Bearer reader-token"})
    assert response.status_code == 403
    kept.check()
    assert (
        client.get("/configs", headers={"Authorization": "Bearer reader-token"}).status_code == 200
    )


def test_openapi_describes_the_seed_operations(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operations = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {
        "listConfigurations",
        "createConfiguration",
        "getConfiguration",
        "updateConfiguration",
        "deleteConfiguration",
        "getConfigurationVersions",
        "getConfigurationVersion",
        "rollbackConfiguration",
        "lookupConfiguration",
    } <= operations
    assert client.get("/docs").status_code == 200


def test_not_ready_before_the_first_index(bare_repo: Path) -> None:
    from gitconfig.access.principals import TokenRegistry
    from gitconfig.rest.app import create_app
    from gitconfig.runtime.bootstrap import open_service

    tokens = TokenRegistry()
    tokens.add("t", "admin", ["admin"])
    fresh: Service = open_service(bare_repo)
    with TestClient(create_app(fresh, tokens), headers={"Authorization": "Bearer t"}) as c:
        assert c.get("/readyz").status_code == 503
        assert c.get("/configs").status_code == 503
        fresh.index.refresh()
        assert c.get("/readyz").status_code == 200
        assert c.get("/configs").status_code == 200
