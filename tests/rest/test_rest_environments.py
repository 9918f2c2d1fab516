"""Across environments over REST: compare, promote, provenance through a merged branch, and an
import into several environments as one commit (a real bare repository, FastAPI's
TestClient)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gitconfig.service import Service
from tests.support.gitrepo import clone, commit_files, git, push, rev_parse
from tests.support.refusal import unchanged

ENC_A = "ENC[AES256_GCM,data:QUFB,iv:aaaa,tag:bbbb,type:str]"
ENC_B = "ENC[AES256_GCM,data:QkJC,iv:cccc,tag:dddd,type:str]"
SOPS = "sops:\n  mac: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\n  version: 3.9.0\n"

FILES = {
    "configs/shop/STAGING/same.yaml": "type: STRING\nvalue: hello\n",
    "configs/shop/PROD/same.yaml": "type: STRING\nvalue: hello\n",
    "configs/shop/STAGING/limit.yaml": (
        "type: NUMBER\nvalue: 200\ndescription: Max basket\nschema: {type: number}\n"
    ),
    "configs/shop/PROD/limit.yaml": "type: NUMBER\nvalue: 100\ndescription: Max basket\n",
    "configs/shop/STAGING/only-staging.yaml": "type: BOOLEAN\nvalue: true\n",
    "configs/shop/PROD/only-prod.yaml": "type: STRING\nvalue: legacy\n",
    "configs/shop/STAGING/db-password.yaml": f"type: SECRET\nvalue: {ENC_A}\n{SOPS}",
    "configs/shop/PROD/db-password.yaml": f"type: SECRET\nvalue: {ENC_A}\n{SOPS}",
    "configs/shop/STAGING/api-key.yaml": f"type: SECRET\nvalue: {ENC_A}\n{SOPS}",
    "configs/shop/PROD/api-key.yaml": f"type: SECRET\nvalue: {ENC_B}\n{SOPS}",
    "flags/shop/STAGING/new-checkout.yaml": (
        "description: New checkout\nenabled: true\nrules:\n"
        "  - {attribute: region, operator: IN, values: [EU]}\n"
        "  - {attribute: appVersion, operator: SEMVER_GREATER_THAN, values: [5.2.0]}\n"
    ),
    "flags/shop/PROD/new-checkout.yaml": (
        "description: New checkout\nenabled: true\nrules:\n"
        "  - {attribute: region, operator: IN, values: [EU]}\n"
    ),
}


@pytest.fixture
def work(tmp_path: Path, bare_repo: Path, service: Service) -> Path:
    """A clone of the served repository holding ``FILES``, pushed and indexed."""
    clone_path = clone(bare_repo, tmp_path / "work")
    commit_files(clone_path, FILES, "Seed the shop", author="Seeder <seed@example.com>")
    push(clone_path)
    service.index.refresh()
    return clone_path


def _by_key(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["key"]): d for d in body["differences"]}


def _fields(diff: dict[str, Any]) -> dict[str, tuple[str | None, str | None]]:
    return {f["field"]: (f["old"], f["new"]) for f in diff["fields"]}


def test_compare_reports_configs_flags_and_secrets(client: TestClient, work: Path) -> None:
    response = client.get(
        "/configs/compare", params={"application": "shop", "from": "STAGING", "to": "PROD"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["from"]["environment"] == "STAGING"
    assert body["to"]["commit"] == rev_parse(work, "HEAD")
    found = _by_key(body)
    assert set(found) == {
        ("config", "api-key"),
        ("config", "limit"),
        ("config", "only-prod"),
        ("config", "only-staging"),
        ("flag", "new-checkout"),
    }  # same and db-password (the very same ciphertext) are equal
    assert found[("config", "limit")]["change"] == "changed"
    assert _fields(found[("config", "limit")]) == {
        "value": ("200", "100"),
        "schema": ('{"type":"number"}', None),
    }
    assert found[("config", "only-staging")]["change"] == "removed"
    assert found[("config", "only-prod")]["change"] == "added"
    assert _fields(found[("config", "only-prod")])["value"] == (None, "legacy")
    flag = found[("flag", "new-checkout")]
    assert list(_fields(flag)) == ["rules.1"]  # rule by rule: only the second differs
    assert "SEMVER_GREATER_THAN" in (_fields(flag)["rules.1"][0] or "")
    # two ciphertexts this server holds no key for: neither "same" nor "differs"
    secret = found[("config", "api-key")]
    assert (secret["change"], secret["secret"], secret["fields"]) == (
        "not comparable",
        "not comparable",
        [],
    )
    assert "ENC[" not in response.text
    assert body["summary"] == {"added": 1, "removed": 1, "changed": 2, "notComparable": 1}


def test_secrets_are_not_comparable_for_a_caller_who_may_not_reveal(
    client: TestClient, work: Path
) -> None:
    response = client.get(
        "/configs/compare",
        params={"application": "shop", "from": "STAGING", "to": "PROD"},
        headers={"Authorization": "Bearer reader-token"},
    )
    assert response.status_code == 200, response.text
    found = _by_key(response.json())
    for key in ("api-key", "db-password"):
        assert found[("config", key)]["change"] == "not comparable"
        assert found[("config", key)]["secret"] == "not comparable"
    assert "ENC[" not in response.text


def test_compare_a_side_at_a_commit_and_at_a_date(
    client: TestClient, work: Path, service: Service
) -> None:
    before = rev_parse(work, "HEAD")
    commit_files(work, {"configs/shop/PROD/limit.yaml": "type: NUMBER\nvalue: 150\n"}, "raise")
    push(work)
    service.index.refresh()
    response = client.get(
        "/configs/compare",
        params={"application": "shop", "from": f"PROD@{before[:10]}", "to": "PROD"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["from"] == {"environment": "PROD", "commit": before, "at": before[:10]}
    (diff,) = body["differences"]
    assert _fields(diff) == {"value": ("100", "150"), "description": ("Max basket", None)}
    future = client.get(
        "/configs/compare",
        params={"application": "shop", "from": "PROD@2999-01-01", "to": "PROD"},
    )
    assert future.status_code == 200
    assert future.json()["differences"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"application": "shop", "from": "STAGE", "to": "PROD"}, "from"),
        ({"application": "shop", "from": "STAGING", "to": "PROD@nonsense"}, "to"),
        ({"application": "shop", "from": "STAGING", "to": "PROD@abcdef1234"}, "to"),
        ({"application": "bad name", "from": "STAGING", "to": "PROD"}, "application"),
    ],
)
def test_compare_refuses_a_bad_side(
    client: TestClient, work: Path, params: dict[str, str], field: str
) -> None:
    response = client.get("/configs/compare", params=params)
    assert response.status_code == 400, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_promote_dry_run_then_one_commit_listing_the_changes(
    client: TestClient, work: Path, bare_repo: Path
) -> None:
    before = git(bare_repo, "rev-parse", "main")
    body = {"application": "shop", "from": "STAGING", "to": "PROD"}
    keys = ["limit", "only-staging", "new-checkout", "same"]
    dry = client.post("/configs/promote", json={**body, "keys": keys, "dryRun": True})
    assert dry.status_code == 200, dry.text
    assert dry.json()["commit"] is None
    assert git(bare_repo, "rev-parse", "main") == before
    response = client.post("/configs/promote", json={**body, "keys": keys})
    assert response.status_code == 200, response.text
    result = response.json()
    assert [(c["kind"], c["key"], c["change"]) for c in result["changes"]] == [
        ("config", "limit", "changed"),
        ("config", "only-staging", "added"),
        ("flag", "new-checkout", "changed"),
    ]
    assert result["unchanged"] == ["same"]
    after = git(bare_repo, "rev-parse", "main")
    assert result["commit"] == after
    assert git(bare_repo, "rev-parse", f"{after}^") == before  # one commit
    message = git(bare_repo, "log", "-1", "--format=%B", after)
    assert message.startswith("Promote shop STAGING -> PROD: 3 change(s)")
    assert "value: 100 -> 200" in message
    assert "only-staging: added" in message
    assert git(bare_repo, "log", "-1", "--format=%an", after) == "admin"
    compared = client.get(
        "/configs/compare", params={"application": "shop", "from": "STAGING", "to": "PROD"}
    ).json()
    assert {d["key"] for d in compared["differences"]} == {"only-prod", "api-key"}
    promoted = git(bare_repo, "show", f"{after}:configs/shop/PROD/limit.yaml")
    assert "schema" in promoted
    assert "value: 200" in promoted


def test_promote_is_refused_as_a_whole_when_one_value_fails_the_target(
    client: TestClient, work: Path, bare_repo: Path, service: Service
) -> None:
    guarded = "type: NUMBER\nvalue: 100\nschema: {type: number, maximum: 150}\n"
    commit_files(work, {"configs/shop/PROD/limit.yaml": guarded}, "guard PROD")
    push(work)
    service.index.refresh()
    kept = unchanged(service)
    response = client.post(
        "/configs/promote",
        json={
            "application": "shop",
            "from": "STAGING",
            "to": "PROD",
            "keys": ["only-staging", "limit"],
        },
    )
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["field"] == "keys.limit"
    assert "PROD's schema" in error["message"]
    kept.check()  # nothing written, not even only-staging


def test_promote_of_a_secret_this_server_cannot_decrypt_is_refused(
    client: TestClient, work: Path, service: Service
) -> None:
    kept = unchanged(service)
    response = client.post(
        "/configs/promote",
        json={"application": "shop", "from": "STAGING", "to": "PROD", "keys": ["api-key"]},
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "keys.api-key"
    assert "ENC[" not in response.text
    kept.check()
    same = client.post(  # the very same ciphertext: nothing to do
        "/configs/promote",
        json={"application": "shop", "from": "STAGING", "to": "PROD", "keys": ["db-password"]},
    )
    assert same.status_code == 200
    assert same.json()["unchanged"] == ["db-password"]


def test_promote_reencrypts_a_secret_for_the_target(bare_repo: Path, tmp_path: Path) -> None:
    """Real sops: a STAGING secret promoted to PROD is encrypted for PROD's own key (the
    STAGING key cannot read it), decrypts to the same plaintext, and is ``unchanged`` on a
    second promotion; a caller who may not reveal the source cannot promote it."""
    from gitconfig.access.principals import Principal, TokenRegistry
    from gitconfig.rest.app import create_app
    from gitconfig.service import NewConfig
    from gitconfig.store.secrets import Sops
    from tests.support.agekeys import secret_service
    from tests.support.tokens import ADMIN_TOKEN

    service, keys = secret_service(bare_repo, tmp_path)
    store = service.store
    admin = Principal("admin", frozenset({"admin"}))
    service.configs.create(admin, NewConfig("db-password", "shop", "STAGING", "SECRET", "pw-7"))
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    tokens.add("writer-token", "writer", ["read", "write"])
    body = {"application": "shop", "from": "STAGING", "to": "PROD", "keys": ["db-password"]}
    with TestClient(create_app(service, tokens)) as client:
        kept = unchanged(service)
        refused = client.post(
            "/configs/promote", json=body, headers={"Authorization": "Bearer writer-token"}
        )
        assert refused.status_code == 403, refused.text
        kept.check()
        done = client.post(
            "/configs/promote", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        assert done.status_code == 200, done.text
        assert "pw-7" not in done.text
        assert done.json()["commit"]
        again = client.post(
            "/configs/promote", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        assert again.json()["unchanged"] == ["db-password"]
    path = "configs/shop/PROD/db-password.yaml"
    data = store.read_file(store.head() or "", path)
    assert data is not None
    assert b"ENC[" in data
    assert b"pw-7" not in data
    prod_only = Sops({"HOME": str(tmp_path), "SOPS_AGE_KEY_FILE": str(keys.key_file("prod"))})
    assert prod_only.reveal(path, "b1", data) == "pw-7"
    dev_only = Sops({"HOME": str(tmp_path), "SOPS_AGE_KEY_FILE": str(keys.key_file("dev"))})
    with pytest.raises(Exception, match=r"cannot|no"):
        dev_only.reveal(path, "b2", data)


@pytest.mark.parametrize("keys", [[], ["limit", "only-staging", "new-checkout"]])
def test_promote_needs_write_permission(
    client: TestClient, work: Path, service: Service, keys: list[str]
) -> None:
    kept = unchanged(service)
    response = client.post(
        "/configs/promote",
        json={"application": "shop", "from": "STAGING", "to": "PROD", "keys": keys},
        headers={"Authorization": "Bearer reader-token"},
    )
    assert response.status_code == 403
    kept.check()


def test_provenance_of_a_value_merged_from_a_branch(
    client: TestClient, work: Path, service: Service
) -> None:
    git(work, "checkout", "--quiet", "-b", "raise-limit")
    merged = commit_files(
        work,
        {"configs/shop/PROD/limit.yaml": "type: NUMBER\nvalue: 120\n"},
        "Raise the PROD basket limit",
        author="Grace Hopper <grace@example.com>",
    )
    commit_files(work, {"configs/shop/DEV/other.yaml": "type: STRING\nvalue: x\n"}, "unrelated")
    git(work, "checkout", "--quiet", "main")
    commit_files(work, {"configs/shop/DEV/main-only.yaml": "type: STRING\nvalue: y\n"}, "main")
    git(
        work,
        "merge",
        "--quiet",
        "--no-ff",
        "-m",
        "Merge pull request #17 from raise-limit",
        "raise-limit",
    )
    merge = rev_parse(work, "HEAD")
    push(work)
    service.index.refresh()
    params = {"key": "limit", "application": "shop", "environment": "PROD", "provenance": "true"}
    response = client.get("/configs/lookup", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["value"] == "120"
    provenance = body["provenance"]
    assert provenance["commit"] == merge
    assert provenance["message"] == "Merge pull request #17 from raise-limit"
    assert provenance["merged"] is True
    assert provenance["mergedCommit"]["commit"] == merged
    assert provenance["mergedCommit"]["author"] == "Grace Hopper"
    assert provenance["mergedCommit"]["message"] == "Raise the PROD basket limit"
    assert response.headers["ETag"] == f'"{provenance["version"]}"'
    by_id = client.get(f"/configs/{body_id(client)}", params={"provenance": "true"}).json()
    assert by_id["provenance"]["mergedCommit"]["commit"] == merged
    # the version history attributes the merged change to its author, naming who merged it
    versions = client.get(f"/configs/{body_id(client)}/versions").json()
    (latest,) = [v for v in versions if v["id"] == merge]
    assert (latest["createdBy"], latest["changeDescription"]) == (
        "Grace Hopper",
        "Raise the PROD basket limit",
    )
    merger = git(work, "log", "-1", "--format=%an", merge)
    assert (latest["mergeCommit"], latest["mergedBy"]) == (merge, merger)
    direct_versions = [v for v in versions if v["id"] != merge]
    assert all("mergedBy" not in v for v in direct_versions)
    direct = client.get(
        "/configs/lookup",
        params={"key": "same", "application": "shop", "environment": "PROD", "provenance": "true"},
    ).json()["provenance"]
    assert (direct["merged"], direct["mergedCommit"], direct["author"]) == (False, None, "Seeder")
    plain = client.get(
        "/configs/lookup", params={k: v for k, v in params.items() if k != "provenance"}
    )
    assert "provenance" not in plain.json()


def body_id(client: TestClient) -> str:
    found = client.get(
        "/configs/lookup", params={"key": "limit", "application": "shop", "environment": "PROD"}
    )
    page = client.get(
        "/configs", params={"application": "shop", "environment": "PROD", "size": 100}
    )
    (entry,) = [e for e in page.json()["content"] if e["key"] == "limit"]
    assert found.status_code == 200
    return str(entry["id"])


def test_import_into_several_environments_is_one_commit(
    client: TestClient, bare_repo: Path
) -> None:
    before = git(bare_repo, "rev-parse", "main")
    response = client.post(
        "/configs/import",
        json={
            "application": "shop",
            "environments": ["DEV", "TEST", "STAGING", "PROD"],
            "format": "json",
            "content": '{"timeout": 30, "greeting": "hi"}',
        },
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert sorted(result["created"]) == sorted(
        f"{env}/{key}"
        for env in ("DEV", "TEST", "STAGING", "PROD")
        for key in ("timeout", "greeting")
    )
    after = git(bare_repo, "rev-parse", "main")
    assert result["commit"] == after
    assert git(bare_repo, "rev-parse", f"{after}^") == before
    files = git(bare_repo, "show", "--name-only", "--format=", after).splitlines()
    assert len(files) == 8


def test_import_into_several_environments_is_all_or_nothing(
    client: TestClient, service: Service
) -> None:
    guarded = {
        "key": "timeout",
        "application": "shop",
        "environment": "PROD",
        "valueType": "NUMBER",
        "value": "5",
        "schema": '{"type": "number", "maximum": 10}',
    }
    assert client.post("/configs", json=guarded).status_code == 201
    kept = unchanged(service)
    response = client.post(
        "/configs/import",
        json={
            "application": "shop",
            "environments": ["DEV", "PROD"],
            "format": "json",
            "content": '{"timeout": 30}',
        },
    )
    assert response.status_code == 400, response.text
    assert [e["field"].split(".")[0] for e in response.json()["errors"]] == ["PROD"]
    kept.check()


def test_secrets_are_compared_by_their_decrypted_values(bare_repo: Path, tmp_path: Path) -> None:
    """Real sops, a throwaway age key per environment: the same plaintext encrypted twice
    (two different ciphertexts) is ``same``, another plaintext ``differs``; never a value."""
    from gitconfig.access.principals import Principal, TokenRegistry
    from gitconfig.rest.app import create_app
    from gitconfig.service import NewConfig
    from tests.support.agekeys import secret_service
    from tests.support.tokens import ADMIN_TOKEN

    service, _keys = secret_service(bare_repo, tmp_path)
    admin = Principal("admin", frozenset({"admin"}))
    for env, token, password in (("STAGING", "t0k", "pw-1"), ("PROD", "t0k", "pw-2")):
        service.configs.create(admin, NewConfig("token", "shop", env, "SECRET", token))
        service.configs.create(admin, NewConfig("password", "shop", env, "SECRET", password))
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    tokens.add("reader-token", "reader", ["read"])
    params = {"application": "shop", "from": "STAGING", "to": "PROD"}
    with TestClient(create_app(service, tokens)) as client:
        admin_answer = client.get(
            "/configs/compare", params=params, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        reader_answer = client.get(
            "/configs/compare", params=params, headers={"Authorization": "Bearer reader-token"}
        )
    assert admin_answer.status_code == 200, admin_answer.text
    found = _by_key(admin_answer.json())
    assert ("config", "token") not in found  # the same plaintext: equal, not listed
    assert found[("config", "password")]["secret"] == "differs"
    for text in (admin_answer.text, reader_answer.text):
        assert "t0k" not in text
        assert "pw-1" not in text
        assert "pw-2" not in text
    by_reader = _by_key(reader_answer.json())
    assert by_reader[("config", "token")]["secret"] == "not comparable"
