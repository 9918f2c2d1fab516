"""Numbers from the outside are bounded: every numeric header, query parameter, path
parameter and body field answers 400 (never 500, never echoed) when out of range."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from gitconfig.service import Service
from tests.support.clirun import gitconfig
from tests.support.refusal import unchanged

BODY: dict[str, Any] = {
    "key": "k",
    "application": "app",
    "environment": "DEV",
    "valueType": "NUMBER",
    "value": "1",
}


def created(client: TestClient) -> dict[str, Any]:
    response = client.post("/configs", json=BODY)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    "if_match",
    ['"' + "9" * 5000 + '"', '"2147483648"', '"１"', '"1_0"', '"-1"', '"+1"', '" 1"', '""'],
)
def test_if_match_out_of_range_is_400(client: TestClient, service: Service, if_match: str) -> None:
    config = created(client)
    kept = unchanged(service)
    response = client.put(
        f"/configs/{config['id']}", json={"value": "2"}, headers=[(b"If-Match", if_match.encode())]
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "If-Match"
    kept.check()
    flag = client.post(
        "/feature-flags",
        json={"key": "f", "application": "app", "environment": "DEV"} | {"description": "d"},
    ).json()
    kept = unchanged(service)
    response = client.delete(
        f"/feature-flags/{flag['id']}", headers=[(b"If-Match", if_match.encode())]
    )
    assert response.status_code == 400, response.text
    kept.check()


@pytest.mark.parametrize("path", ["/configs", "/feature-flags"])
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=1180591620717411303424", "page"),  # 2^70
        ("page=" + "9" * 5000, "page"),
        ("page=-1", "page"),
        ("size=0", "size"),
        ("size=1001", "size"),
        ("size=" + "9" * 5000, "size"),
        ("page=１", "page"),
    ],
)
def test_paging_out_of_range_is_400(client: TestClient, path: str, query: str, field: str) -> None:
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == field


def test_largest_page_is_answered(client: TestClient) -> None:
    response = client.get("/configs?page=2147483647&size=1000")
    assert response.status_code == 200
    assert response.json()["content"] == []


@pytest.mark.parametrize("version", ["9" * 5000, "1" * 7, "١", "2147483648", "0", "deadbeef" * 20])
def test_version_refs_out_of_range_are_not_found(client: TestClient, version: str) -> None:
    config = created(client)
    response = client.get(f"/configs/{config['id']}/versions/{version}")
    assert response.status_code == 404, response.text
    assert len(response.json()["message"]) < 200


def test_huge_numbers_in_a_body_are_400(client: TestClient, service: Service) -> None:
    kept = unchanged(service)
    text = (
        '{"key":"f","application":"app","environment":"DEV","description":"d",'
        '"rules":[{"percentage":' + "9" * 5000 + "}]}"
    )
    response = client.post(
        "/feature-flags", content=text, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"]
    rule = {"percentage": 2**70}
    response = client.post(
        "/feature-flags",
        json={"key": "f", "application": "app", "environment": "DEV", "description": "d"}
        | {"rules": [rule]},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "rules.0.percentage"
    kept.check()


@pytest.mark.parametrize(
    "args", [["--http-port", "70000"], ["--grpc-port", "-2"], ["--workers", "100000"]]
)
def test_serve_refuses_ports_out_of_range(args: list[str]) -> None:
    result = gitconfig("serve", *args)
    assert result.exit_code == 2
    assert "Invalid value" in result.output


@pytest.mark.parametrize("path", ["/configs/", "/feature-flags/", "/configs//", "/healthz/"])
def test_a_trailing_slash_is_served_without_a_redirect(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 200, response.text
    assert "location" not in response.headers


def test_fast_lookups_with_a_trailing_slash(client: TestClient) -> None:
    created(client)
    response = client.get(
        "/configs/lookup/?key=k&application=app&environment=DEV", follow_redirects=False
    )
    assert response.status_code == 200
    assert response.json()["value"] == "1"
