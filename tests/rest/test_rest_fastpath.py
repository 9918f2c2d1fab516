"""The lookup fast path answers exactly as the FastAPI route does, and falls through on
everything but a plain successful lookup."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from gitconfig.access.principals import TokenRegistry
from gitconfig.rest.app import create_app
from gitconfig.service import Service

ADMIN = {"Authorization": "Bearer admin-token"}


@pytest.fixture
def clients(service: Service) -> Any:
    tokens = TokenRegistry()
    tokens.add("admin-token", "admin", ["admin"])
    tokens.add("writer-token", "writer", ["write"])
    fast = TestClient(create_app(service, tokens, fast_reads=True))
    slow = TestClient(create_app(service, tokens, fast_reads=False))
    with fast, slow:
        created = fast.post(
            "/configs",
            headers=ADMIN,
            json={
                "key": "max-order-size",
                "application": "trading-engine",
                "environment": "PROD",
                "valueType": "JSON",
                "value": '{"limit": 5, "note": "caf\\u00e9 \\"quoted\\""}',
            },
        )
        assert created.status_code == 201, created.text
        flag = fast.post(
            "/feature-flags",
            headers=ADMIN,
            json={
                "key": "v2-matching",
                "application": "trading-engine",
                "environment": "PROD",
                "description": "v2 engine",
                "enabled": True,
                "value": {"engine": "v2", "note": "café", "tiny": 1e-7, "big": 1e21, "ratio": 0.1},
                "rules": [
                    {"attribute": "userId", "operator": "IN", "values": ["u1"]},
                    {"percentage": 50},
                ],
            },
        )
        assert flag.status_code == 201, flag.text
        yield fast, slow


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("key=max-order-size&application=trading-engine&environment=PROD", ADMIN),
        ("environment=PROD&key=max-order-size&application=trading-engine", ADMIN),
        ("key=max%2Dorder-size&application=trading-engine&environment=PROD", ADMIN),
        ("key=max-order-size&application=trading-engine&environment=PROD", {}),
        (
            "key=max-order-size&application=trading-engine&environment=PROD",
            {"Authorization": "Bearer nope"},
        ),
        (
            "key=max-order-size&application=trading-engine&environment=PROD",
            {"Authorization": "Bearer writer-token"},
        ),
        ("key=missing&application=trading-engine&environment=PROD", ADMIN),
        ("key=max-order-size&application=trading-engine&environment=QA", ADMIN),
        ("key=max-order-size&application=trading-engine", ADMIN),
        ("key=max-order-size&application=trading-engine&environment=PROD&extra=1", ADMIN),
        ("key=a&key=b&application=trading-engine&environment=PROD", ADMIN),
    ],
)
def test_fast_and_routed_answers_are_identical(
    clients: tuple[TestClient, TestClient], query: str, headers: dict[str, str]
) -> None:
    fast, slow = clients
    a = fast.get(f"/configs/lookup?{query}", headers=headers)
    b = slow.get(f"/configs/lookup?{query}", headers=headers)
    assert a.status_code == b.status_code
    assert a.content == b.content  # byte for byte, not only the same JSON
    assert a.headers.get("etag") == b.headers.get("etag")
    assert a.headers["content-type"] == b.headers["content-type"]


CHECK = "key=v2-matching&application=trading-engine&environment=PROD"


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        (f"{CHECK}&userId=u1", ADMIN),
        (f"{CHECK}&userId=u2", ADMIN),
        (f"{CHECK}&userId=u3", ADMIN),
        (f"{CHECK}&userId=", ADMIN),
        (CHECK, ADMIN),
        (f"{CHECK}&userId=u1", {}),
        (f"{CHECK}&userId=u1", {"Authorization": "Bearer writer-token"}),
        (f"{CHECK}&userId=u1&region=EU", ADMIN),
        ("key=nope&application=trading-engine&environment=PROD", ADMIN),
        ("key=v2-matching&application=trading-engine&environment=DEV", ADMIN),
    ],
)
def test_fast_and_routed_checks_are_identical(
    clients: tuple[TestClient, TestClient], query: str, headers: dict[str, str]
) -> None:
    fast, slow = clients
    a = fast.get(f"/feature-flags/check?{query}", headers=headers)
    b = slow.get(f"/feature-flags/check?{query}", headers=headers)
    assert a.status_code == b.status_code
    assert a.content == b.content  # byte for byte, not only the same JSON
    assert a.headers["content-type"] == b.headers["content-type"]


def test_the_cached_answer_follows_new_versions(clients: tuple[TestClient, TestClient]) -> None:
    fast, _slow = clients
    url = "/configs/lookup?key=max-order-size&application=trading-engine&environment=PROD"
    first = fast.get(url, headers=ADMIN).json()
    config_id = fast.get("/configs", headers=ADMIN).json()["content"][0]["id"]
    fast.put(f"/configs/{config_id}", headers=ADMIN, json={"value": "[1, 2]"})
    second = fast.get(url, headers=ADMIN)
    assert first["version"] == 1
    assert second.json() == {
        "key": "max-order-size",
        "value": "[1,2]",
        "valueType": "JSON",
        "version": 2,
    }
    assert second.headers["etag"] == '"2"'


def test_the_fast_path_is_taken(service: Service, clients: tuple[TestClient, TestClient]) -> None:
    """The routed answers keep nothing for the entry; the fast path's do (its
    ``readside.Renderings``)."""
    fast, slow = clients
    kept = fast.app.fast_reads.renderings  # type: ignore[attr-defined]
    url = "/configs/lookup?key=max-order-size&application=trading-engine&environment=PROD"
    entry = service.reads.snapshot().by_id(
        fast.get("/configs", headers=ADMIN).json()["content"][0]["id"]
    )
    assert entry is not None
    slow.get(url, headers=ADMIN)
    assert not [name for e, name in kept if e is entry]  # the routed answer keeps nothing
    fast.get(url, headers=ADMIN)
    assert [name for e, name in kept if e is entry] == ["lookup"]  # one answer for all


def test_the_check_fast_path_is_taken(
    service: Service, clients: tuple[TestClient, TestClient]
) -> None:
    fast, slow = clients
    flags = fast.get("/feature-flags", headers=ADMIN).json()["content"]
    entry = service.reads.snapshot().by_id(flags[0]["id"])
    assert entry is not None
    kept = fast.app.fast_reads.checks  # type: ignore[attr-defined]
    slow.get(f"/feature-flags/check?{CHECK}&userId=u1", headers=ADMIN)
    assert not [key for key in kept if key[0] is entry]
    fast.get(f"/feature-flags/check?{CHECK}&userId=u1", headers=ADMIN)
    assert [key for key in kept if key[0] is entry]  # the answer's bytes, per evaluation
