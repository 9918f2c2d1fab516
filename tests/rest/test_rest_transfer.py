"""``POST /configs/import`` and ``GET /configs/export`` (FastAPI's TestClient, a real bare
repository)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from gitconfig.service import Service
from tests.support.gitrepo import git
from tests.support.refusal import unchanged

BODY: dict[str, Any] = {
    "application": "pricing",
    "environment": "DEV",
    "format": "env",
    "content": "MAX_SPREAD=15\nENABLED=true\nNAME=desk 7\n",
}


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "refs/heads/main")


def test_import_writes_one_commit_and_says_what_changed(
    client: TestClient, bare_repo: Path
) -> None:
    before = head(bare_repo)
    response = client.post("/configs/import", json={**BODY, "changeDescription": "From .env"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "created": ["MAX_SPREAD", "ENABLED", "NAME"],
        "updated": [],
        "unchanged": [],
        "commit": head(bare_repo),
    }
    assert git(bare_repo, "rev-parse", "main~1") == before
    assert git(bare_repo, "log", "-1", "--format=%an|%s", "main") == "admin|From .env"
    looked_up = client.get(
        "/configs/lookup", params={"application": "pricing", "environment": "DEV", "key": "ENABLED"}
    ).json()
    assert (looked_up["valueType"], looked_up["value"]) == ("BOOLEAN", "true")

    again = client.post("/configs/import", json={**BODY, "content": "MAX_SPREAD=16\nNAME=desk 7"})
    assert again.json()["updated"] == ["MAX_SPREAD"]
    assert again.json()["unchanged"] == ["NAME"]
    same = client.post("/configs/import", json={**BODY, "content": "NAME=desk 7"}).json()
    assert same == {"created": [], "updated": [], "unchanged": ["NAME"], "commit": None}


def test_a_bad_entry_rejects_the_whole_import(client: TestClient, service: Service) -> None:
    kept = unchanged(service)
    body = {**BODY, "types": {"NAME": "NUMBER", "*": "string"}, "content": "A=1\nNAME=x\nb!c=1\n"}
    response = client.post("/configs/import", json=body)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "NAME",
            "message": "must be a decimal number for type NUMBER, such as 42, -0.5 or 2.5e-3",
        },
        {
            "field": "b!c",
            "message": "invalid key: must match [A-Za-z0-9][A-Za-z0-9._-]{0,249}"
            " (with .yaml, a file name of at most 255 bytes)",
        },
    ]
    kept.check()
    bad_format = client.post("/configs/import", json={**BODY, "format": "toml"})
    assert bad_format.status_code == 400
    assert bad_format.json()["errors"][0]["field"] == "format"
    bad_type = client.post("/configs/import", json={**BODY, "types": {"A": "TEXT"}})
    assert bad_type.json()["errors"] == [
        {"field": "types.A", "message": "must be one of STRING, NUMBER, BOOLEAN, JSON, SECRET"}
    ]
    dry = client.post("/configs/import", json={**BODY, "dryRun": True})
    assert dry.json()["commit"] is None
    assert len(dry.json()["created"]) == 3
    kept.check()


def test_import_needs_the_write_role(client: TestClient, service: Service) -> None:
    reader = {"Authorization": "Bearer reader-token"}
    kept = unchanged(service)
    assert client.post("/configs/import", json=BODY, headers=reader).status_code == 403
    kept.check()
    assert (
        client.post("/configs/import", json=BODY, headers={"Authorization": ""}).status_code == 401
    )


def test_export_in_every_format(client: TestClient) -> None:
    content = json.dumps({"spread": 1.5, "desk": "fx spot", "limits": {"max": 3}})
    assert client.post(
        "/configs/import", json={**BODY, "format": "json", "content": content}
    ).is_success
    params = {"application": "pricing", "environment": "DEV"}
    exported = client.get("/configs/export", params=params)
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "application/json"
    assert exported.json() == {"desk": "fx spot", "limits": {"max": 3}, "spread": 1.5}
    assert exported.headers["X-Gitconfig-Commit"] == exported.headers["x-gitconfig-commit"]
    env = client.get("/configs/export", params={**params, "format": "env"})
    assert env.text.splitlines()[1:] == ["desk='fx spot'", "limits='{\"max\":3}'", "spread=1.5"]
    yaml_text = client.get("/configs/export", params={**params, "format": "yaml"}).text
    assert "limits:\n  max: 3\n" in yaml_text
    props = client.get("/configs/export", params={**params, "format": "properties"}).text
    assert 'limits={"max"\\:3}' in props
    # the route is not taken for a configuration id, and ids still work
    assert client.get("/configs/export", params={"application": "pricing"}).status_code == 400


def test_export_masks_secrets_unless_the_caller_may_and_asks(
    client: TestClient, bare_repo: Path
) -> None:
    work = bare_repo.parent / "work"
    git(bare_repo.parent, "clone", "--quiet", str(bare_repo), str(work))
    (work / "configs/pricing/DEV").mkdir(parents=True)
    (work / "configs/pricing/DEV/key.yaml").write_text(
        "type: SECRET\nvalue: ENC[AES256_GCM,data:AAAA,iv:aa==,tag:bb==,type:str]\n"
        "sops: {version: 3.9.0}\n"
    )
    git(work, "add", ".")
    git(work, "commit", "--quiet", "-m", "secret")
    git(work, "push", "--quiet", "origin", "main")
    client.app.state.service.index.refresh()  # type: ignore[attr-defined]
    params = {"application": "pricing", "environment": "DEV"}
    assert client.get("/configs/export", params=params).json() == {"key": "********"}
    revealed = client.get("/configs/export", params={**params, "reveal": "true"})
    assert revealed.status_code == 422  # not real sops data: a clear error, never a 500
    assert "cannot reveal configs/pricing/DEV/key.yaml" in revealed.json()["message"]
    reader = {"Authorization": "Bearer reader-token"}
    assert client.get("/configs/export", params=params, headers=reader).status_code == 200
    refused = client.get("/configs/export", params={**params, "reveal": "true"}, headers=reader)
    assert refused.status_code == 403
