"""Spring Cloud Config's API: the real ``config-client`` package, unchanged, against a real
server on port 0, and the Environment JSON and flat forms over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from config.spring import ConfigClient
from fastapi.testclient import TestClient

from gitconfig.access.principals import Grant, TokenRegistry
from gitconfig.core.model import ConfigDocument, ValueType
from gitconfig.core.spring import flatten, unflatten
from gitconfig.rest.app import create_app
from gitconfig.service import Service
from tests.support.gitrepo import clone, commit_files, git, push
from tests.support.servers import UvicornThread
from tests.support.tokens import ADMIN_TOKEN

APP = "configs/trading-engine"
SHARED = "configs/application"
FIRST = {
    f"{APP}/PROD/max-order-size.yaml": "type: NUMBER\nvalue: 250000\n",
    f"{APP}/PROD/desk.name.yaml": "type: STRING\nvalue: fx spot\n",
    f"{APP}/PROD/risk.yaml": "type: JSON\nvalue:\n  daily: 10\n  venues: [XLON, XNYS]\n"
    "  checks: {pre-trade: true, empty: {}}\n",
    f"{APP}/PROD/kill-switch.yaml": "type: BOOLEAN\nvalue: false\n",
    f"{APP}/PROD/api-key.yaml": "type: SECRET\n"
    "value: ENC[AES256_GCM,data:AAAA,iv:aa==,tag:bb==,type:str]\nsops: {version: 3.9.0}\n",
    f"{APP}/DEV/max-order-size.yaml": "type: NUMBER\nvalue: 1000\n",
    f"{APP}/DEV/debug.yaml": "type: BOOLEAN\nvalue: true\n",
    f"{SHARED}/PROD/max-order-size.yaml": "type: NUMBER\nvalue: 1\n",
    f"{SHARED}/PROD/logging.level.root.yaml": "type: STRING\nvalue: WARN\n",
    "configs/other-app/PROD/x.yaml": "type: STRING\nvalue: y\n",
}
READER = "spring-reader-token"


@pytest.fixture
def repo(bare_repo: Path, tmp_path: Path) -> tuple[Path, str]:
    work = clone(bare_repo, tmp_path / "work")
    first = commit_files(work, FIRST, "The first configuration")
    return work, first


@pytest.fixture
def server(service: Service, repo: tuple[Path, str]) -> Iterator[str]:
    work, _first = repo
    push(work)
    service.index.refresh()
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    tokens.add(READER, "reader", ["read"])
    with UvicornThread(create_app(service, tokens)) as running:
        yield running.url


def reader(url: str, path: str) -> httpx.Response:
    return httpx.get(f"{url}/spring/{path}", headers={"Authorization": f"Bearer {READER}"})


def spring_client(url: str, profile: str, label: str, token: str = READER) -> ConfigClient:
    client = ConfigClient(
        address=f"{url}/spring", app_name="trading-engine", profile=profile, label=label
    )
    client.get_config(headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return client


def test_config_client_reads_prod(server: str, service: Service) -> None:
    client = spring_client(server, "prod", "main")
    assert client.get("max-order-size") == 250000  # the application's own beats the shared
    assert client.get("desk.name") == "fx spot"
    assert client.get("risk.daily") == 10
    assert client.get("risk.venues") == ["XLON", "XNYS"]
    assert client.get("risk.checks.pre-trade") is True
    assert client.get("kill-switch") is False
    assert client.get("logging.level.root") == "WARN"  # from configs/application/PROD
    assert client.get("api-key") == "********"
    assert client.get("debug", default="absent") == "absent"  # DEV only


def test_config_client_reads_an_older_commit(
    server: str, service: Service, repo: tuple[Path, str]
) -> None:
    work, first = repo
    assert spring_client(server, "prod", "main").get("max-order-size") == 250000
    commit_files(work, {f"{APP}/PROD/max-order-size.yaml": "type: NUMBER\nvalue: 300000\n"}, "Up")
    push(work)
    service.index.refresh()
    assert spring_client(server, "prod", "main").get("max-order-size") == 300000
    assert spring_client(server, "PROD", first).get("max-order-size") == 250000
    assert spring_client(server, "production", first[:10]).get("max-order-size") == 250000


def test_config_client_exits_on_a_404(server: str) -> None:
    with pytest.raises(SystemExit):
        spring_client(server, "prod", "no-such-branch")
    with pytest.raises(SystemExit):
        spring_client(server, "prod", "main", token="wrong")
    assert reader(server, "trading-engine/prod/no-such-branch").status_code == 404
    assert reader(server, "no-such-app/prod").status_code == 404
    assert reader(server, "trading-engine/default").status_code == 404
    assert reader(server, "trading-engine/prod/main").status_code == 200


def test_environment_json(server: str, service: Service) -> None:
    body = reader(server, "trading-engine/dev,prod").json()
    assert body["name"] == "trading-engine"
    assert body["profiles"] == ["dev", "prod"]
    assert body["label"] == "main"
    assert body["version"] == service.reads.snapshot().commit
    assert body["state"] is None
    names = [source["name"] for source in body["propertySources"]]
    assert names == [  # highest precedence first: a later profile wins, the app's own wins
        "configs/trading-engine/PROD",
        "configs/trading-engine/DEV",
        "configs/application/PROD",
    ]
    prod = body["propertySources"][0]["source"]
    assert prod == {
        "api-key": "********",
        "desk.name": "fx spot",
        "kill-switch": False,
        "max-order-size": 250000,
        "risk.checks.empty": "",
        "risk.checks.pre-trade": True,
        "risk.daily": 10,
        "risk.venues[0]": "XLON",
        "risk.venues[1]": "XNYS",
    }
    assert body["propertySources"][1]["source"] == {"debug": True, "max-order-size": 1000}
    admin = httpx.get(
        f"{server}/spring/trading-engine/prod",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ).json()
    # the admin may reveal, but no key here decrypts this hand-written ciphertext: masked
    # (and reported in /status), never the ciphertext
    assert admin["propertySources"][0]["source"]["api-key"] == "********"
    assert httpx.get(f"{server}/spring/trading-engine/prod").status_code == 401


def test_profiles_map_to_environments(server: str) -> None:
    for profile in ("PROD", "prod", "Prod", "production"):
        sources = reader(server, f"trading-engine/{profile}").json()["propertySources"]
        assert sources[0]["name"] == "configs/trading-engine/PROD"
    for profile in ("DEV", "dev", "development"):
        sources = reader(server, f"trading-engine/{profile}").json()["propertySources"]
        assert [s["name"] for s in sources] == ["configs/trading-engine/DEV"]
    test_env = reader(server, "trading-engine/test")
    assert test_env.status_code == 200
    assert test_env.json()["propertySources"] == []


def test_flat_forms(server: str, service: Service) -> None:
    properties = reader(server, "trading-engine-prod.properties")
    assert properties.status_code == 200
    lines = properties.text.splitlines()
    assert "max-order-size=250000" in lines
    assert "desk.name=fx spot" in lines
    assert "risk.venues[1]=XNYS" in lines
    assert "logging.level.root=WARN" in lines
    as_json = reader(server, "trading-engine-prod.json").json()
    assert as_json["risk"] == {
        "daily": 10,
        "venues": ["XLON", "XNYS"],
        "checks": {"pre-trade": True, "empty": ""},
    }
    assert as_json["max-order-size"] == 250000
    assert as_json["logging"]["level"]["root"] == "WARN"
    as_yaml = reader(server, "main/trading-engine-prod.yml")
    assert yaml.safe_load(as_yaml.text) == as_json
    assert reader(server, "trading-engine-prod.yaml").text == as_yaml.text
    assert reader(server, "trading-engine-prod.txt").status_code == 404
    assert reader(server, "trading-engine-dev,prod.json").json()["max-order-size"] == 250000


def test_labels_are_branches_tags_and_commits(
    server: str, service: Service, repo: tuple[Path, str]
) -> None:
    work, first = repo
    git(work, "tag", "-a", "v1.0", "-m", "release", first)
    git(work, "push", "--quiet", "origin", "v1.0")
    git(work, "checkout", "--quiet", "-b", "release/2.0")
    commit_files(work, {f"{APP}/PROD/max-order-size.yaml": "type: NUMBER\nvalue: 5\n"}, "Rel")
    git(work, "push", "--quiet", "origin", "release/2.0")

    def size(label: str) -> Any:
        response = reader(server, f"trading-engine/prod/{label}")
        assert response.status_code == 200, response.text
        return response.json()["propertySources"][0]["source"]["max-order-size"]

    assert size("v1.0") == 250000
    assert size("release(_)2.0") == 5
    assert reader(server, "release(_)2.0/trading-engine-prod.json").json()["max-order-size"] == 5
    body = reader(server, "trading-engine/prod/v1.0").json()
    assert (body["label"], body["version"]) == ("v1.0", first)
    assert reader(server, "trading-engine/prod/..%2Fescape").status_code == 404


def test_seed_paths_are_not_shadowed(server: str) -> None:
    auth = {"Authorization": f"Bearer {READER}"}
    lookup = httpx.get(
        f"{server}/configs/lookup",
        params={"key": "desk.name", "application": "trading-engine", "environment": "PROD"},
        headers=auth,
    )
    assert lookup.json()["value"] == "fx spot"
    assert httpx.get(f"{server}/healthz").status_code == 200
    assert httpx.get(f"{server}/configs/nope/nope", headers=auth).status_code == 404


@pytest.mark.parametrize(
    ("value", "flat"),
    [
        ({"a": {"b": [1, {"c": None}]}}, {"k.a.b[0]": 1, "k.a.b[1].c": ""}),
        ([], {"k": ""}),
        ("text", {"k": "text"}),
        ({"x.y": 1}, {"k.x.y": 1}),
    ],
)
def test_flatten_json_values_as_spring_does(value: Any, flat: dict[str, Any]) -> None:
    document = ConfigDocument(ValueType.JSON, value)
    assert dict(flatten("k", document)) == flat


def test_unflatten_keeps_conflicting_names_whole() -> None:
    assert unflatten({"a": 1, "a.b": 2, "c[1]": "x", "c[0]": "w"}) == {
        "a": 1,
        "a.b": 2,
        "c": ["w", "x"],
    }


def test_secrets_are_plaintext_only_where_the_caller_may_reveal_them(
    bare_repo: Path, tmp_path: Path
) -> None:
    """A Spring client uses its values (as gRPC does): a token with the reveal permission
    gets a SECRET decrypted by sops, any other the mask; never the ciphertext."""
    from gitconfig.access.principals import Principal
    from gitconfig.core.configfile import MASK
    from gitconfig.service import NewConfig
    from tests.support.agekeys import secret_service

    service, _keys = secret_service(bare_repo, tmp_path)
    admin = Principal("admin", frozenset({"admin"}))
    service.configs.create(admin, NewConfig("db-password", "shop", "PROD", "SECRET", "pw-9"))
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    tokens.add("reader-token", "reader", ["read"])
    with UvicornThread(create_app(service, tokens)) as running:
        revealed = httpx.get(
            f"{running.url}/spring/shop/prod", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        masked = httpx.get(
            f"{running.url}/spring/shop/prod", headers={"Authorization": "Bearer reader-token"}
        )
    assert revealed.status_code == 200
    assert masked.status_code == 200
    assert revealed.json()["propertySources"][0]["source"]["db-password"] == "pw-9"
    assert masked.json()["propertySources"][0]["source"]["db-password"] == MASK
    assert "ENC[" not in revealed.text + masked.text
    assert "pw-9" not in masked.text


def test_the_shared_set_comes_only_where_the_caller_may_read_it(
    service: Service, repo: tuple[Path, str]
) -> None:
    """A reader of trading-engine/PROD only gets no application/PROD values through /spring,
    where /configs/lookup and /spring/application/prod answer 403 for them."""
    work, _first = repo
    push(work)
    service.index.refresh()
    tokens = TokenRegistry()
    only_app = Grant("reader", ("trading-engine",), frozenset({"PROD"}))
    tokens.add("app-only", "app-only", grants=[only_app])
    with_shared = Grant("reader", ("trading-engine", "application"), frozenset({"PROD"}))
    tokens.add("with-shared", "with-shared", grants=[with_shared])
    with TestClient(create_app(service, tokens)) as client:

        def sources(token: str, path: str = "trading-engine/prod") -> list[str]:
            answer = client.get(f"/spring/{path}", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200, answer.text
            return [source["name"] for source in answer.json()["propertySources"]]

        assert sources("with-shared") == [f"{APP}/PROD", f"{SHARED}/PROD"]
        assert sources("app-only") == [f"{APP}/PROD"]  # the shared set is not its to read
        assert sources("with-shared") == [f"{APP}/PROD", f"{SHARED}/PROD"]  # nothing mixed up
        denied = client.get(
            "/spring/application/prod", headers={"Authorization": "Bearer app-only"}
        )
        assert denied.status_code == 403
