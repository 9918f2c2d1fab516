"""End to end: `gitconfig serve` as a process, driven over HTTP and by `git push`."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.support.gitrepo import clone, commit_files, git, push
from tests.support.refusal import unchanged
from tests.support.serve import NO_GRACE, Launcher, ServerProcess, init_served


def lookup(served: ServerProcess, key: str) -> httpx.Response:
    params = {"key": key, "application": "trading-engine", "environment": "PROD"}
    return served.http.get("/configs/lookup", params=params)


def wait_for(served: ServerProcess, key: str, expected: str | None, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        response = lookup(served, key)
        found = response.json().get("value") if response.status_code == 200 else None
        if found == expected:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{key}: expected {expected!r}, still {found!r}")
        time.sleep(0.02)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_served(tmp_path / "config.git")


@pytest.fixture
def served(launch: Launcher, repo: Path) -> ServerProcess:
    return launch(repo, env=NO_GRACE)


def test_api_writes_and_git_pushes_are_served(
    served: ServerProcess, repo: Path, tmp_path: Path
) -> None:
    created = served.http.post(
        "/configs",
        json={
            "key": "max-order-size",
            "application": "trading-engine",
            "environment": "PROD",
            "valueType": "NUMBER",
            "value": "250000",
        },
    )
    assert created.status_code == 201, created.text
    assert lookup(served, "max-order-size").json()["value"] == "250000"
    with unchanged(served.http, repo):  # read over HTTP, the head from the repository
        key = {k: created.json()[k] for k in ("key", "application", "environment")}
        again = served.http.post("/configs", json={**key, "valueType": "NUMBER", "value": "1"})
        assert again.status_code == 409, again.text

    checkout = clone(repo, tmp_path / "checkout")
    path = "configs/trading-engine/PROD/max-order-size.yaml"
    content = (checkout / path).read_text().replace("250000", "300000")
    commit_files(checkout, {path: content}, "Raise the limit by hand")
    push(checkout)
    wait_for(served, "max-order-size", "300000")

    git(checkout, "revert", "--no-edit", "HEAD")
    push(checkout)
    wait_for(served, "max-order-size", "250000")
    versions = served.http.get(f"/configs/{created.json()['id']}/versions").json()
    assert [v["value"] for v in versions] == ["250000", "300000", "250000"]

    commit_files(
        checkout,
        {"configs/trading-engine/PROD/kill-switch.yaml": "type: BOOLEAN\nvalue: true\n"},
        "Add a kill switch",
    )
    push(checkout)
    wait_for(served, "kill-switch", "true")

    flag = "flags/trading-engine/PROD/v2-matching.yaml"
    commit_files(checkout, {flag: "description: v2 engine\nenabled: true\n"}, "Add a flag")
    push(checkout)
    check = {"key": "v2-matching", "application": "trading-engine", "environment": "PROD"}
    deadline = time.monotonic() + 10
    while (answer := served.http.get("/feature-flags/check", params=check)).status_code != 200:
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.02)
    assert answer.json() == {"key": "v2-matching", "enabled": True, "reason": "STATIC"}

    assert served.stop() == 0


def test_two_worker_processes_serve_and_write(launch: Launcher, repo: Path) -> None:
    server = launch(repo, workers=2, env=NO_GRACE)
    for i in range(6):  # the writes land on either worker; none is lost
        response = server.http.post(
            "/configs",
            json={
                "key": f"k{i}",
                "application": "trading-engine",
                "environment": "PROD",
                "valueType": "NUMBER",
                "value": str(i),
            },
        )
        assert response.status_code == 201, response.text
    for i in range(6):
        wait_for(server, f"k{i}", str(i))
    assert git(repo, "rev-list", "--count", "main") == "7"
    assert server.stop() == 0
