"""Writes to several environments at once keep the rules of a write to one: a SECRET is
encrypted by sops before it is committed, a value that looks like a credential is refused
unless allowed, and a SECRET given its own plaintext again is unchanged. (Before, the
multi-environment import and ``set -e A -e B`` committed a SECRET's plaintext.)"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gitconfig.access.principals import Grant, Principal
from gitconfig.core.errors import PermissionDenied
from gitconfig.service import NewConfig, Service
from gitconfig.store.gitstore import GitStore
from tests.support.refusal import unchanged
from tests.support.secretdata import ME, PLAIN, blob_of, git_log

IMPORT = {"application": "billing", "environments": ["PROD", "DEV"], "format": "json"}
ADMIN = Principal("admin", frozenset({"admin"}))


def test_an_import_into_several_environments_encrypts_each_secret(
    client: TestClient, repo: Path
) -> None:
    body = {**IMPORT, "content": f'{{"db-password": "{PLAIN}"}}', "types": {"*": "SECRET"}}
    imported = client.post("/configs/import", json=body)
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == ["PROD/db-password", "DEV/db-password"]
    for env in ("PROD", "DEV"):
        assert "value: ENC[AES256_GCM," in blob_of(repo, f"configs/billing/{env}/db-password.yaml")
    assert PLAIN not in git_log(repo)
    lookup = "/configs/lookup?application=billing&environment=DEV&key=db-password&reveal=true"
    assert client.get(lookup).json()["value"] == PLAIN
    head = GitStore(repo).head()
    again = client.post("/configs/import", json=body)  # the same plaintext: nothing to write
    assert again.json()["unchanged"] == ["PROD/db-password", "DEV/db-password"]
    assert again.json()["commit"] is None
    assert GitStore(repo).head() == head


def test_an_import_into_several_environments_refuses_plaintext_credentials(
    client: TestClient, served: Service
) -> None:
    kept = unchanged(served)
    body = {**IMPORT, "content": '{"db-url": "postgres://app:s3cr3t-Pa55@db:5432/app"}'}
    refused = client.post("/configs/import", json=body)
    assert refused.status_code == 400, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["PROD.db-url", "DEV.db-url"]
    assert "s3cr3t" not in refused.text
    kept.check()
    allowed = client.post("/configs/import", json={**body, "allowPlaintext": True})
    assert allowed.status_code == 200, allowed.text


def test_a_secret_without_a_creation_rule_is_refused_for_all(
    client: TestClient, served: Service, repo: Path
) -> None:
    store = GitStore(repo)
    store.write(store.head(), {".sops.yaml": b"creation_rules: []\n"}, ME, "no rules")
    served.index.refresh()
    kept = unchanged(served)
    body = {**IMPORT, "content": '{"token": "t0k3n-Value"}', "types": {"*": "SECRET"}}
    refused = client.post("/configs/import", json=body)
    assert refused.status_code == 400, refused.text
    kept.check()
    assert "t0k3n" not in git_log(repo)


def test_set_in_several_environments_encrypts_a_secret(served: Service, repo: Path) -> None:
    new = NewConfig(
        key="api-key", application="billing", environment="", value_type="SECRET", value=PLAIN
    )
    result = served.environments.set_in(ADMIN, new, ["PROD", "DEV"])
    assert result.outcomes == {"PROD": "created", "DEV": "created"}
    for env in ("PROD", "DEV"):
        assert "value: ENC[AES256_GCM," in blob_of(repo, f"configs/billing/{env}/api-key.yaml")
    assert PLAIN not in git_log(repo)
    again = served.environments.set_in(ADMIN, new, ["PROD", "DEV"])
    assert again.outcomes == {"PROD": "unchanged", "DEV": "unchanged"}
    assert again.commit is None


DEV_WRITER = Principal(
    "dev-writer", grants=(Grant("writer", ("billing",), frozenset({"DEV"}), reveal_secrets=True),)
)


def test_set_and_rotate_outside_the_write_scope_change_nothing(served: Service) -> None:
    """Writes that only the service's scope check refuses (no transport checks first): set
    in several environments and rotate, by a writer of billing in DEV only."""
    new = NewConfig(
        key="api-key", application="billing", environment="", value_type="SECRET", value=PLAIN
    )
    served.environments.set_in(ADMIN, new, ["PROD", "DEV"])
    kept = unchanged(served)
    other = replace(new, value="another-" + PLAIN)  # a change: it would commit
    with pytest.raises(PermissionDenied):
        served.environments.set_in(DEV_WRITER, other, ["DEV", "PROD"])
    with pytest.raises(PermissionDenied):
        served.secrets.rotate(DEV_WRITER)
    with pytest.raises(PermissionDenied):
        served.secrets.rotate(DEV_WRITER, "billing", "PROD")
    kept.check()
