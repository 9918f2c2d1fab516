"""Probes, the index status and metrics, with a file at HEAD that does not validate."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from gitconfig.service import Service
from tests.support.gitrepo import clone, commit_files, push
from tests.support.metrics import parse

BROKEN = "configs/trading-engine/PROD/limit.yaml"


def push_files(bare_repo: Path, where: Path, files: dict[str, str | None]) -> str:
    where.mkdir(parents=True, exist_ok=True)
    checkout = clone(bare_repo, where / "checkout")
    sha = commit_files(checkout, files, "by hand, around the hooks")
    push(checkout)
    return sha


def test_probes_need_no_token(client: TestClient) -> None:
    client.headers.pop("Authorization")
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    assert client.head("/healthz").status_code == 200
    head = client.head("/readyz")
    assert (head.status_code, head.content) == (200, b"")
    assert client.get("/status").status_code == 401
    assert client.get("/metrics").status_code == 401


def test_status_and_metrics_report_an_invalid_file(
    client: TestClient, service: Service, bare_repo: Path, tmp_path: Path
) -> None:
    bad = push_files(
        bare_repo,
        tmp_path,
        {
            BROKEN: "type: NUMBER\nvalue: lots\n",
            "configs/trading-engine/PROD/ok.yaml": "type: BOOLEAN\nvalue: true\n",
            "flags/trading-engine/PROD/on.yaml": "description: on\nenabled: true\n",
        },
    )
    service.index.refresh()

    status = client.get("/status").json()
    assert status["entries"] == 2
    assert [(p["path"], p["commit"]) for p in status["problems"]] == [(BROKEN, bad)]

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = parse(response.text)
    assert samples[("gitconfig_ready", ())] == 1
    assert samples[("gitconfig_index_entries", (("kind", "config"),))] == 1
    assert samples[("gitconfig_index_entries", (("kind", "flag"),))] == 1
    assert samples[("gitconfig_index_problems", ())] == 1
    assert samples[("gitconfig_invalid_file", (("commit", bad), ("path", BROKEN)))] == 1
    assert samples[("gitconfig_index_info", (("branch", "main"), ("commit", bad)))] == 1
    assert samples[("gitconfig_stream_subscribers", ())] == 0

    push_files(bare_repo, tmp_path / "again", {BROKEN: "type: NUMBER\nvalue: 5\n"})
    service.index.refresh()
    fixed = parse(client.get("/metrics").text)
    assert fixed[("gitconfig_index_problems", ())] == 0
    assert not [name for name, _labels in fixed if name == "gitconfig_invalid_file"]
