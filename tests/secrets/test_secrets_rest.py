"""SECRET values end to end over REST, with the real sops binary and throwaway age keys."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from gitconfig.access.principals import Principal, TokenRegistry
from gitconfig.core.configfile import MASK
from gitconfig.core.model import Kind
from gitconfig.index.refresher import Index
from gitconfig.rest import watch
from gitconfig.rest.app import create_app
from gitconfig.service import NewConfig, Service, build_service
from gitconfig.store.gitstore import GitStore
from gitconfig.store.secrets import Sops
from tests.support.agekeys import AgeKeys, open_service
from tests.support.metrics import parse
from tests.support.refusal import unchanged
from tests.support.secretdata import ME, PLAIN, blob_of, client_for, git_log
from tests.support.servers import UvicornThread
from tests.support.sse import Watcher
from tests.support.tokens import ADMIN_TOKEN


def create(
    client: TestClient, key: str = "db-password", env: str = "PROD", **extra: str
) -> dict[str, Any]:
    body = {"key": key, "application": "billing", "environment": env, "valueType": "SECRET"}
    response = client.post("/configs", json={**body, "value": PLAIN, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_secret_is_encrypted_in_git_and_masked_in_answers(client: TestClient, repo: Path) -> None:
    created = create(client, description="billing DB")
    assert created["value"] == MASK
    text = blob_of(repo, "configs/billing/PROD/db-password.yaml")
    assert "value: ENC[AES256_GCM," in text
    assert "description: billing DB" in text
    assert "type: SECRET" in text
    assert "mac_only_encrypted: true" in text
    assert PLAIN not in git_log(repo)
    lookup = "/configs/lookup?application=billing&environment=PROD&key=db-password"
    answers = [
        client.get(f"/configs/{created['id']}"),
        client.get(lookup),
        client.get(f"/configs/{created['id']}/versions"),
        client.get("/configs/export?application=billing&environment=PROD&format=json"),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert PLAIN not in answer.text
        assert MASK in answer.text


def test_reveal_needs_the_permission_and_the_asking(client: TestClient) -> None:
    created = create(client)
    url = f"/configs/{created['id']}"
    assert client.get(f"{url}?reveal=true").json()["value"] == PLAIN
    revealer = {"Authorization": "Bearer revealer-token"}
    assert client.get(f"{url}?reveal=true", headers=revealer).json()["value"] == PLAIN
    assert client.get(url, headers=revealer).json()["value"] == MASK  # not asked
    reader = {"Authorization": "Bearer reader-token"}
    refused = client.get(f"{url}?reveal=true", headers=reader)
    assert refused.status_code == 403
    assert PLAIN not in refused.text
    lookup = "/configs/lookup?application=billing&environment=PROD&key=db-password"
    assert client.get(f"{lookup}&reveal=true").json()["value"] == PLAIN
    assert client.get(f"{lookup}&reveal=true", headers=reader).status_code == 403
    export = "/configs/export?application=billing&environment=PROD&format=json&reveal=true"
    assert PLAIN in client.get(export).text
    assert client.get(export, headers=reader).status_code == 403


def test_update_rollback_and_versions_keep_each_plaintext(client: TestClient, repo: Path) -> None:
    created = create(client)
    url = f"/configs/{created['id']}"
    updated = client.put(url, json={"value": "second-value-42"})
    assert updated.status_code == 200
    assert updated.json()["value"] == MASK
    described = client.put(url, json={"description": "kept ciphertext"})  # no re-encryption
    assert described.status_code == 200
    assert client.get(f"{url}?reveal=true").json()["value"] == "second-value-42"
    masked_put = client.put(url, json={"value": MASK})  # a GET's answer sent back: unchanged
    assert masked_put.json()["version"] == described.json()["version"]
    versions = client.get(f"{url}/versions?reveal=true").json()
    assert [v["value"] for v in versions] == [PLAIN, "second-value-42", "second-value-42"]
    rolled = client.post(f"{url}/rollback/1")
    assert rolled.status_code == 200, rolled.text
    assert client.get(f"{url}?reveal=true").json()["value"] == PLAIN
    assert "second-value-42" not in git_log(repo)
    assert PLAIN not in git_log(repo)


def test_a_value_is_validated_against_its_schema_without_echo(
    client: TestClient, served: Service
) -> None:
    body = {"key": "api-key", "application": "billing", "environment": "DEV"}
    schema = '{"type": "string", "minLength": 40}'
    kept = unchanged(served)
    response = client.post(
        "/configs", json={**body, "valueType": "SECRET", "value": PLAIN, "schema": schema}
    )
    assert response.status_code == 400
    assert PLAIN not in response.text
    assert "minLength" in response.text
    kept.check()


def test_no_creation_rule_is_a_clear_400_and_nothing_is_committed(
    bare_repo: Path, keys: AgeKeys
) -> None:
    store = GitStore(bare_repo)
    store.write(store.head(), {".sops.yaml": keys.sops_yaml(other=())}, ME, "PROD only")
    service = open_service(bare_repo, keys, "dev", "prod")
    kept = unchanged(service)
    with client_for(service) as test_client:
        body = {"key": "k", "application": "a", "environment": "DEV", "valueType": "SECRET"}
        response = test_client.post("/configs", json={**body, "value": PLAIN})
    assert response.status_code == 400, response.text
    assert response.json()["message"] == "no sops creation rule matches configs/a/DEV/k.yaml"
    assert PLAIN not in response.text
    kept.check()


def test_a_dev_key_cannot_reveal_prod(repo: Path, keys: AgeKeys) -> None:
    with client_for(open_service(repo, keys, "dev", "prod")) as writer:
        prod = create(writer, env="PROD")
        dev = create(writer, env="DEV")
    with client_for(open_service(repo, keys, "dev")) as dev_only:
        assert dev_only.get(f"/configs/{dev['id']}?reveal=true").json()["value"] == PLAIN
        refused = dev_only.get(f"/configs/{prod['id']}?reveal=true")
        assert refused.status_code == 422
        assert "no key of this server can decrypt it" in refused.json()["message"]
        assert dev_only.get(f"/configs/{prod['id']}").json()["value"] == MASK
        status = dev_only.get("/status").json()
        assert "configs/billing/PROD/db-password.yaml" in str(status)
        assert PLAIN not in str(status)


def test_a_hand_corrupted_ciphertext_is_reported_not_a_500(
    client: TestClient, served: Service, repo: Path
) -> None:
    created = create(client)
    path = "configs/billing/PROD/db-password.yaml"
    text = blob_of(repo, path)
    start = text.index("data:") + len("data:")
    flipped = "A" if text[start] != "A" else "B"
    store = GitStore(repo)
    corrupted = text[:start] + flipped + text[start + 1 :]
    commit = store.write(store.head(), {path: corrupted.encode()}, ME, "hand edit")
    served.index.refresh()
    response = client.get(f"/configs/{created['id']}?reveal=true")
    assert response.status_code == 422, response.text
    assert "does not verify" in response.json()["message"]
    assert client.get(f"/configs/{created['id']}").json()["value"] == MASK
    status = client.get("/status").json()
    assert status["secrets"] == [
        {"path": path, "commit": commit, "error": response.json()["message"].split(": ", 1)[1]}
    ]
    samples = parse(client.get("/metrics").text)
    labels = (("commit", commit), ("path", path))
    assert samples[("gitconfig_secret_undecryptable", labels)] == 1
    assert samples[("gitconfig_secret_oldest_age_seconds", (("environment", "PROD"),))] >= 0


def test_plaintext_reaches_no_log_and_no_temp_file(
    repo: Path, keys: AgeKeys, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    environ = {
        "HOME": str(keys.folder),
        "TMPDIR": str(temp),
        "SOPS_AGE_KEY_FILE": str(keys.key_file("dev", "prod")),
    }
    store = GitStore(repo)
    service = build_service(store, Index(store), Sops(environ))
    service.index.refresh()
    caplog.set_level(logging.DEBUG)
    saved, tempfile.tempdir = tempfile.tempdir, str(temp)
    try:
        with client_for(service) as test_client:
            created = create(test_client)
            url = f"/configs/{created['id']}"
            test_client.put(url, json={"value": PLAIN + "-2"})
            assert test_client.get(f"{url}?reveal=true").json()["value"] == PLAIN + "-2"
            kept = unchanged(service)
            bad = test_client.post(
                "/configs",
                json={"key": "k", "application": "a", "environment": "DEV", "value": PLAIN}
                | {"valueType": "SECRET", "schema": '{"maxLength": 3}'},
            )
            assert bad.status_code == 400
            assert PLAIN not in bad.text
            kept.check()
    finally:
        tempfile.tempdir = saved
    assert PLAIN not in caplog.text
    leftovers = [p for p in temp.rglob("*") if p.is_file() and PLAIN.encode() in p.read_bytes()]
    assert leftovers == []
    assert PLAIN not in git_log(repo)
    assert PLAIN not in repr(service.box.sops)


def test_sse_masks_unless_revealed_and_refuses_a_reveal_without_the_right(
    served: Service,
) -> None:
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    tokens.add("reader-token", "reader", ["read"])
    app = create_app(served, tokens)
    app.dependency_overrides[watch.heartbeat_seconds] = lambda: 0.2
    with (
        UvicornThread(app) as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10
        ) as http,
    ):
        masked = Watcher(http, application="billing")
        revealed = Watcher(http, application="billing", reveal="true")
        refused = http.get(
            "/configs/watch",
            params={"reveal": "true"},
            headers={"Authorization": "Bearer reader-token"},
        )
        assert refused.status_code == 403
        admin = Principal("admin", frozenset({"admin"}))
        served.configs.create(admin, NewConfig("db-password", "billing", "PROD", "SECRET", PLAIN))
        [event] = masked.take(1)
        assert event.data["changes"][0]["value"] == MASK
        [event] = revealed.take(1)
        assert event.data["changes"][0]["value"] == PLAIN
        masked.close()
        revealed.close()


def test_the_fast_path_and_the_route_answer_reveals_alike(served: Service) -> None:
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    tokens.add("reader-token", "reader", ["read"])
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    fast = TestClient(create_app(served, tokens, fast_reads=True), headers=admin)
    slow = TestClient(create_app(served, tokens, fast_reads=False), headers=admin)
    reader = {"Authorization": "Bearer reader-token"}
    with fast, slow:
        create(fast)
        entry = served.reads.snapshot().entries(Kind.CONFIG)[0]
        lookup = "/configs/lookup?application=billing&environment=PROD&key=db-password"
        for query, headers in [
            ("", admin),
            ("&reveal=true", admin),
            ("&reveal=false", admin),
            ("&reveal=true", reader),
            ("", reader),
            ("&reveal=yes", admin),
        ]:
            answers = [c.get(lookup + query, headers=headers) for c in (fast, slow)]
            assert answers[0].status_code == answers[1].status_code
            assert answers[0].json() == answers[1].json()
        # the first reveal ran sops in the route's worker thread; later ones are fast
        assert fast.get(lookup + "&reveal=true", headers=admin).json()["value"] == PLAIN
        kept = fast.app.fast_reads.renderings  # type: ignore[attr-defined]
        assert {name for e, name in kept if e is entry} == {"lookup", "lookup:reveal"}


def test_writing_the_same_plaintext_again_makes_no_commit(client: TestClient, repo: Path) -> None:
    created = create(client)
    url = f"/configs/{created['id']}"
    head = GitStore(repo).head()
    again = client.put(url, json={"value": PLAIN})
    assert again.status_code == 200
    assert again.json()["version"] == created["version"]
    assert GitStore(repo).head() == head
    body = {"application": "billing", "environment": "PROD", "format": "json"}
    imported = client.post(
        "/configs/import",
        json={**body, "content": f'{{"db-password": "{PLAIN}"}}'},
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["unchanged"] == ["db-password"]
    assert imported.json()["commit"] is None
    changed = client.post(
        "/configs/import", json={**body, "content": '{"db-password": "another-Value-1"}'}
    )
    assert changed.json()["updated"] == ["db-password"]
    assert client.get(f"{url}?reveal=true").json()["value"] == "another-Value-1"
