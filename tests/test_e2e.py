"""End to end: `gitconfig serve` as a process, driven over HTTP and by `git push`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.gitrepo import clone, commit_files, git, push

TOKEN = "e2e-token"
GITCONFIG = str(Path(sys.executable).parent / "gitconfig")


class Served:
    def __init__(self, process: subprocess.Popen[bytes], base: str, repo: Path) -> None:
        self.process = process
        self.repo = repo
        self.http = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )

    def lookup(self, key: str) -> httpx.Response:
        params = {"key": key, "application": "trading-engine", "environment": "PROD"}
        return self.http.get("/configs/lookup", params=params)

    def wait_for(self, key: str, expected: str | None, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            response = self.lookup(key)
            found = response.json().get("value") if response.status_code == 200 else None
            if found == expected:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{key}: expected {expected!r}, still {found!r}")
            time.sleep(0.02)


def start(repo: Path, tmp_path: Path, *extra: str) -> Served:
    port_file = tmp_path / "ports.json"
    env = {**os.environ, "GITCONFIG_ADMIN_TOKEN": TOKEN, "GITCONFIG_SHUTDOWN_GRACE": "0"}
    process = subprocess.Popen(
        [
            GITCONFIG,
            "serve",
            "--repo",
            str(repo),
            "--http-port",
            "0",
            "--grpc-port",
            "0",
            "--port-file",
            str(port_file),
            *extra,
        ],
        env=env,
    )
    deadline = time.monotonic() + 30
    while not port_file.exists():
        assert process.poll() is None, "server exited early"
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    ports = json.loads(port_file.read_text())
    served = Served(process, f"http://127.0.0.1:{ports['http']}", repo)
    while served.http.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "server did not become ready"
        time.sleep(0.05)
    return served


def stop(served: Served) -> int:
    served.http.close()
    served.process.send_signal(signal.SIGTERM)
    return served.process.wait(timeout=15)


def kill(served: Served) -> None:
    served.http.close()
    if served.process.poll() is None:
        served.process.kill()
        served.process.wait()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    repo = tmp_path / "config.git"
    init = subprocess.run([GITCONFIG, "init", "--bare", str(repo)], capture_output=True, text=True)
    assert init.returncode == 0, init.stderr
    server = start(repo, tmp_path)
    try:
        yield server
    finally:
        kill(server)


def test_api_writes_and_git_pushes_are_served(served: Served, tmp_path: Path) -> None:
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
    assert served.lookup("max-order-size").json()["value"] == "250000"

    checkout = clone(served.repo, tmp_path / "checkout")
    path = "configs/trading-engine/PROD/max-order-size.yaml"
    content = (checkout / path).read_text().replace("250000", "300000")
    commit_files(checkout, {path: content}, "Raise the limit by hand")
    push(checkout)
    served.wait_for("max-order-size", "300000")

    git(checkout, "revert", "--no-edit", "HEAD")
    push(checkout)
    served.wait_for("max-order-size", "250000")
    versions = served.http.get(f"/configs/{created.json()['id']}/versions").json()
    assert [v["value"] for v in versions] == ["250000", "300000", "250000"]

    commit_files(
        checkout,
        {"configs/trading-engine/PROD/kill-switch.yaml": "type: BOOLEAN\nvalue: true\n"},
        "Add a kill switch",
    )
    push(checkout)
    served.wait_for("kill-switch", "true")

    flag = "flags/trading-engine/PROD/v2-matching.yaml"
    commit_files(checkout, {flag: "description: v2 engine\nenabled: true\n"}, "Add a flag")
    push(checkout)
    check = {"key": "v2-matching", "application": "trading-engine", "environment": "PROD"}
    deadline = time.monotonic() + 10
    while (answer := served.http.get("/feature-flags/check", params=check)).status_code != 200:
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.02)
    assert answer.json() == {"key": "v2-matching", "enabled": True,
                             "reason": "STATIC"}  # fmt: skip

    assert stop(served) == 0


def test_two_worker_processes_serve_and_write(tmp_path: Path) -> None:
    repo = tmp_path / "config.git"
    subprocess.run([GITCONFIG, "init", "--bare", str(repo)], check=True, capture_output=True)
    server = start(repo, tmp_path, "--workers", "2")
    try:
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
            server.wait_for(f"k{i}", str(i))
        assert git(repo, "rev-list", "--count", "main") == "7"
        assert stop(server) == 0
    finally:
        kill(server)
