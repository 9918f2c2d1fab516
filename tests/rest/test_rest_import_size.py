"""An import's size is bounded in keys (``GITCONFIG_MAX_IMPORT_KEYS``): one import is one
commit, planned and validated whole (30,000 keys took about 12 s on this busy machine)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gitconfig.core import limits
from gitconfig.service import Service
from tests.support.refusal import unchanged


@pytest.fixture
def few_keys() -> Iterator[None]:
    limits.configure(limits.Limits(import_keys=3))
    yield
    limits.configure(None)


@pytest.mark.parametrize("where", [{"environment": "DEV"}, {"environments": ["DEV", "TEST"]}])
def test_an_import_beyond_the_key_limit_is_a_400(
    few_keys: None, client: TestClient, service: Service, where: dict[str, Any]
) -> None:
    kept = unchanged(service)
    body = {"application": "shop", "format": "json", **where}
    content = json.dumps({f"k{i}": i for i in range(4)})
    refused = client.post("/configs/import", json={**body, "content": content})
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["field"] == "content"
    assert "more than 3 keys (4)" in refused.json()["errors"][0]["message"]
    kept.check()
    content = json.dumps({f"k{i}": i for i in range(3)})
    assert client.post("/configs/import", json={**body, "content": content}).status_code == 200
