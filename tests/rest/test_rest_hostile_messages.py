"""A commit message holding a NUL is refused at every door that writes, naming the field;
before, Git silently cut the message at the NUL (``"\\x00"`` became an empty message)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from gitconfig.service import Service
from tests.support.refusal import unchanged

IMPORT = {"application": "shop", "format": "json", "content": '{"limit": 5}'}
CREATE = {"application": "shop", "environment": "DEV", "key": "limit", "valueType": "NUMBER"}


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/configs", {**CREATE, "value": "5"}),
        ("/configs/import", {**IMPORT, "environment": "DEV"}),
        ("/configs/import", {**IMPORT, "environments": ["DEV", "TEST"]}),
    ],
)
@pytest.mark.parametrize("message", ["fixed\x00 the rest", "\x00"])
def test_a_nul_in_a_commit_message_is_a_400(
    client: TestClient, service: Service, url: str, body: dict[str, Any], message: str
) -> None:
    kept = unchanged(service)
    response = client.post(url, json={**body, "changeDescription": message})
    assert response.status_code == 400, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["changeDescription"]
    kept.check()


def test_a_nul_in_a_promotion_message_is_a_400(client: TestClient, service: Service) -> None:
    created = client.post("/configs", json={**CREATE, "value": "5"})
    assert created.status_code == 201, created.text
    kept = unchanged(service)
    body = {"application": "shop", "from": "DEV", "to": "TEST", "changeDescription": "a\x00b"}
    response = client.post("/configs/promote", json=body)
    assert response.status_code == 400, response.text
    kept.check()
