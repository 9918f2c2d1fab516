"""The OFREP endpoint's cache of parsed contexts (``readside.OfrepContexts``) is bounded in
bytes, not only in entries: it keeps small bodies (what providers send again and again), never
a hostile stream of distinct 1 MiB bodies (4,096 of them would have held 4 GiB)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from gitconfig.access.gate import Gate
from gitconfig.access.principals import TokenRegistry
from gitconfig.rest.ofrep import OfrepEndpoint
from gitconfig.service import Service
from tests.support.tokens import ADMIN_TOKEN


async def _elsewhere(scope: Any, receive: Any, send: Any) -> None:
    assert scope["type"] != "http", "an OFREP path reached the app behind"


def test_large_bodies_are_answered_but_not_kept(service: Service) -> None:
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    endpoint = OfrepEndpoint(_elsewhere, service, Gate(tokens))
    url = "/ofrep/shop/PROD/ofrep/v1/evaluate/flags"
    client = TestClient(endpoint, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    for user in range(20):
        body = json.dumps({"context": {"targetingKey": f"u{user}", "note": "x" * 100_000}})
        assert client.post(url, content=body).status_code == 200
    assert client.post(url, content=b'{"context": {"targetingKey": "u1"}}').status_code == 200
    kept = endpoint.contexts
    assert len(kept) == 1
    assert sum(len(body) for body in kept) < 100
