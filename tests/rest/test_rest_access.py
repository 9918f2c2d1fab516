"""Scoped grants over REST (the fast path included): (principal, operation, scope) -> status,
scoped lists, exports, status and metrics, and writes authored by the principal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gitconfig.core.configfile import MASK
from gitconfig.rest.app import create_app
from gitconfig.service import Service
from tests.support.accessdata import auth, registry, seed
from tests.support.gitrepo import clone, commit_files, push
from tests.support.refusal import unchanged


@pytest.fixture
def ids(service: Service) -> dict[str, str]:
    return seed(service)


@pytest.fixture(params=[True, False], ids=["fastpath", "routes"])
def client(
    request: pytest.FixtureRequest, service: Service, tmp_path: Path
) -> Iterator[TestClient]:
    app = create_app(service, registry(tmp_path), fast_reads=request.param)
    with TestClient(app) as test_client:
        yield test_client


def lookup(app: str, env: str) -> tuple[str, str, dict[str, Any]]:
    return (
        "GET",
        "/configs/lookup",
        {"params": {"key": "limit", "application": app, "environment": env}},
    )


def check(app: str, env: str) -> tuple[str, str, dict[str, Any]]:
    params = {"key": "fast", "application": app, "environment": env}
    return "GET", "/feature-flags/check", {"params": params}


def create(app: str, env: str) -> tuple[str, str, dict[str, Any]]:
    body = {
        "key": "new-key",
        "application": app,
        "environment": env,
        "valueType": "STRING",
        "value": "x",
    }
    return "POST", "/configs", {"json": body}


def export(app: str, env: str, reveal: bool = False) -> tuple[str, str, dict[str, Any]]:
    params = {"application": app, "environment": env, "reveal": str(reveal).lower()}
    return "GET", "/configs/export", {"params": params}


def create_flag(app: str, env: str) -> tuple[str, str, dict[str, Any]]:
    body = {
        "key": "new-flag",
        "application": app,
        "environment": env,
        "enabled": True,
        "description": "d",
    }
    return "POST", "/feature-flags", {"json": body}


def promote(app: str, source: str, target: str) -> tuple[str, str, dict[str, Any]]:
    return "POST", "/configs/promote", {"json": {"application": app, "from": source, "to": target}}


def import_(app: str, env: str) -> tuple[str, str, dict[str, Any]]:
    body = {"application": app, "environment": env, "format": "json", "content": '{"k": "v"}'}
    return "POST", "/configs/import", {"json": body}


def import_many(app: str, envs: list[str]) -> tuple[str, str, dict[str, Any]]:
    body = {"application": app, "environments": envs, "format": "json", "content": '{"k": "v"}'}
    return "POST", "/configs/import", {"json": body}


def evaluate_all(app: str, env: str) -> tuple[str, str, dict[str, Any]]:
    return "POST", "/feature-flags/evaluate-all", {"json": {"application": app, "environment": env}}


TABLE = [
    # reader of payments/PROD
    ("payments-service", lookup("payments", "PROD"), 200),
    ("payments-service", lookup("payments", "DEV"), 403),
    ("payments-service", lookup("trading-engine", "PROD"), 403),
    ("payments-service", check("payments", "PROD"), 200),
    ("payments-service", check("payments", "DEV"), 403),
    ("payments-service", create("payments", "PROD"), 403),
    ("payments-service", export("payments", "PROD", reveal=True), 200),
    ("payments-service", export("payments", "DEV"), 403),
    ("payments-service", import_("payments", "PROD"), 403),
    ("payments-service", evaluate_all("payments", "PROD"), 200),
    ("payments-service", evaluate_all("trading-engine", "PROD"), 403),
    # writer of trading-* in DEV and TEST (writer implies reader)
    ("trading-dev-writer", lookup("trading-engine", "DEV"), 200),
    ("trading-dev-writer", lookup("trading-engine", "PROD"), 403),
    ("trading-dev-writer", lookup("payments", "DEV"), 403),
    ("trading-dev-writer", create("trading-engine", "DEV"), 201),
    ("trading-dev-writer", create("trading-risk", "TEST"), 201),
    ("trading-dev-writer", create("trading-engine", "PROD"), 403),
    ("trading-dev-writer", create("payments", "DEV"), 403),
    ("trading-dev-writer", import_("trading-engine", "DEV"), 200),
    ("trading-dev-writer", import_("trading-engine", "STAGING"), 403),
    ("trading-dev-writer", import_("trading-engine", "PROD"), 403),
    ("trading-dev-writer", import_many("trading-engine", ["DEV", "TEST"]), 200),
    ("trading-dev-writer", import_many("trading-engine", ["DEV", "PROD"]), 403),
    ("trading-dev-writer", create_flag("trading-engine", "DEV"), 201),
    ("trading-dev-writer", create_flag("trading-engine", "PROD"), 403),
    ("trading-dev-writer", promote("trading-engine", "PROD", "DEV"), 403),
    ("trading-dev-writer", promote("trading-engine", "DEV", "PROD"), 403),
    ("release", promote("trading-engine", "DEV", "PROD"), 403),
    ("payments-service", promote("payments", "PROD", "DEV"), 403),
    ("trading-dev-writer", export("trading-engine", "DEV", reveal=True), 403),
    # writer of every application in PROD
    ("release", create("payments", "PROD"), 201),
    ("release", create("payments", "DEV"), 403),
    ("release", lookup("trading-engine", "PROD"), 200),
    ("release", lookup("trading-engine", "DEV"), 403),
    # admin, and nobody
    ("root", create("anything", "STAGING"), 201),
    ("root", export("payments", "DEV", reveal=True), 200),
    (None, lookup("payments", "PROD"), 401),
    ("unknown", lookup("payments", "PROD"), 401),
]


@pytest.mark.parametrize(("who", "operation", "status"), TABLE)
def test_grants_table(
    client: TestClient,
    service: Service,
    ids: dict[str, str],
    who: str | None,
    operation: tuple[str, str, dict[str, Any]],
    status: int,
) -> None:
    method, path, kwargs = operation
    headers = (
        {} if who is None else {"Authorization": "Bearer nope"} if who == "unknown" else auth(who)
    )
    kept = unchanged(service)
    response = client.request(method, path, headers=headers, **kwargs)
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["message"]
    if status >= 400:
        kept.check()


BY_ID = [
    ("payments-service", "GET", "/configs/{id}", "payments/PROD/limit", 200),
    ("payments-service", "GET", "/configs/{id}", "payments/DEV/limit", 403),
    ("payments-service", "GET", "/configs/{id}/versions", "trading-engine/PROD/limit", 403),
    ("payments-service", "GET", "/feature-flags/{id}", "payments/DEV/fast", 403),
    ("trading-dev-writer", "PUT", "/configs/{id}", "trading-engine/DEV/limit", 200),
    ("trading-dev-writer", "PUT", "/configs/{id}", "trading-engine/PROD/limit", 403),
    ("trading-dev-writer", "DELETE", "/configs/{id}", "trading-engine/PROD/limit", 403),
    ("trading-dev-writer", "DELETE", "/configs/{id}", "trading-engine/DEV/limit", 204),
    ("trading-dev-writer", "POST", "/configs/{id}/rollback/1", "trading-engine/PROD/limit", 403),
    ("trading-dev-writer", "PUT", "/feature-flags/{id}", "trading-engine/PROD/fast", 403),
    ("trading-dev-writer", "PUT", "/feature-flags/{id}", "trading-engine/DEV/fast", 200),
    ("trading-dev-writer", "DELETE", "/feature-flags/{id}", "trading-engine/PROD/fast", 403),
    (
        "trading-dev-writer",
        "POST",
        "/feature-flags/{id}/rollback/1",
        "trading-engine/PROD/fast",
        403,
    ),
    ("payments-service", "PUT", "/configs/{id}", "payments/PROD/limit", 403),
    ("payments-service", "DELETE", "/configs/{id}", "payments/PROD/limit", 403),
    ("payments-service", "PUT", "/feature-flags/{id}", "payments/PROD/fast", 403),
    ("payments-service", "DELETE", "/feature-flags/{id}", "payments/PROD/fast", 403),
    ("release", "POST", "/configs/{id}/rollback/1", "payments/PROD/limit", 200),
]


@pytest.mark.parametrize(("who", "method", "template", "target", "status"), BY_ID)
def test_grants_by_id(
    client: TestClient,
    service: Service,
    ids: dict[str, str],
    who: str,
    method: str,
    template: str,
    target: str,
    status: int,
) -> None:
    body: dict[str, object] | None = None
    if template == "/configs/{id}" and method == "PUT":
        body = {"value": "7"}
    if template == "/feature-flags/{id}" and method == "PUT":
        body = {"enabled": False}
    path = template.format(id=ids[target])
    kept = unchanged(service)
    response = client.request(method, path, headers=auth(who), json=body)
    assert response.status_code == status, response.text
    if status >= 400:
        kept.check()


@pytest.mark.parametrize(
    ("kind", "target", "body"),
    [
        ("configs", "payments/PROD/limit", {"value": "6"}),
        ("feature-flags", "payments/PROD/fast", {"enabled": False}),
    ],
)
def test_a_reader_cannot_roll_back_what_it_may_read(
    client: TestClient,
    service: Service,
    ids: dict[str, str],
    kind: str,
    target: str,
    body: dict[str, Any],
) -> None:
    """Version 2 exists, so a rollback to 1 would commit: only the write check refuses it."""
    path = f"/{kind}/{ids[target]}"
    assert client.put(path, json=body, headers=auth("root")).status_code == 200
    kept = unchanged(service)
    refused = client.post(f"{path}/rollback/1", headers=auth("payments-service"))
    assert refused.status_code == 403, refused.text
    kept.check()


def test_lists_hold_only_what_the_principal_may_read(
    client: TestClient, ids: dict[str, str]
) -> None:
    configs = client.get("/configs", headers=auth("payments-service")).json()
    assert [(c["application"], c["environment"]) for c in configs["content"]] == [
        ("payments", "PROD")
    ]
    assert configs["totalElements"] == 1
    flags = client.get("/feature-flags", headers=auth("trading-dev-writer")).json()
    assert [(f["application"], f["environment"]) for f in flags["content"]] == [
        ("trading-engine", "DEV")
    ]
    assert client.get("/configs", headers=auth("root")).json()["totalElements"] == 4
    only_dev = client.get("/configs", params={"environment": "DEV"}, headers=auth("release"))
    assert only_dev.json()["totalElements"] == 0  # filtered silently
    named = {"application": "payments", "environment": "DEV"}
    assert client.get("/configs", params=named, headers=auth("release")).status_code == 403


def test_status_is_scoped_and_metrics_need_a_global_reader(
    client: TestClient, ids: dict[str, str]
) -> None:
    assert client.get("/status", headers=auth("payments-service")).status_code == 200
    assert client.get("/metrics", headers=auth("payments-service")).status_code == 403
    assert client.get("/metrics", headers=auth("root")).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_writes_are_authored_by_the_principal(
    client: TestClient, service: Service, ids: dict[str, str]
) -> None:
    method, path, kwargs = create("payments", "PROD")
    created = client.request(method, path, headers=auth("release"), **kwargs).json()
    assert created["createdBy"] == "release"
    commit = service.store.commit(created["commit"])
    assert (commit.author.name, commit.author.email) == ("release", "release@example.com")


ENC = "ENC[AES256_GCM,data:Tr7o=,iv:1bWUo8L2oS9n7VuOIp5T9A==,tag:ZqSmg0SYeyGy3hP3Rj7sJQ==,type:str]"
SECRET = f"type: SECRET\nvalue: {ENC}\nsops:\n  mac: {ENC}\n  version: 3.9.0\n"


@pytest.mark.parametrize(
    ("who", "revealed"), [("payments-service", True), ("release", False), ("root", True)]
)
def test_secrets_are_revealed_only_within_a_reveal_grant(
    client: TestClient, service: Service, bare_repo: Path, tmp_path: Path, who: str, revealed: bool
) -> None:
    checkout = clone(bare_repo, tmp_path / "checkout")
    commit_files(checkout, {"configs/payments/PROD/db-password.yaml": SECRET}, "add a secret")
    push(checkout)
    service.index.refresh()
    params = {"key": "db-password", "application": "payments", "environment": "PROD"}
    value = client.get("/configs/lookup", params=params, headers=auth(who)).json()["value"]
    assert value == MASK  # masked unless asked for, whoever asks
    # Asked for: refused outside a reveal grant; inside one the reveal is attempted, and this
    # hand-written ciphertext cannot be decrypted by the server (422, never the value).
    asked = client.get("/configs/lookup", params=params | {"reveal": "true"}, headers=auth(who))
    assert asked.status_code == (422 if revealed else 403), asked.text
    exported = client.get(
        "/configs/export",
        params={"application": "payments", "environment": "PROD", "reveal": "true"},
        headers=auth(who),
    )
    assert (exported.status_code != 403) is revealed, exported.text
