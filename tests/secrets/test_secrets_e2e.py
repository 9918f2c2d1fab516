"""The demo's secret set-up, served by a real `gitconfig serve` process: write and reveal
one secret over HTTP, and find its plaintext nowhere in the server's log or in Git."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from gitconfig.core.configfile import MASK
from gitconfig.runtime import demo
from gitconfig.store.gitstore import GitStore
from tests.support.gitrepo import git
from tests.test_e2e import GITCONFIG, TOKEN

PROJECT = Path(__file__).resolve().parents[2]
PLAIN = "e2e-Secret-value-77"


def test_the_demo_serves_a_secret_written_and_revealed(tmp_path: Path) -> None:
    workdir = tmp_path / ".demo"
    workdir.mkdir()
    repo = workdir / "config.git"
    demo.seed(PROJECT / "example-repo", repo)
    demo.use_demo_key(workdir, repo)
    demo.use_demo_key(workdir, repo)  # a second run changes nothing
    key_file = workdir / demo.KEY_FILE
    assert key_file.stat().st_mode & 0o077 == 0
    assert git(repo, "log", "--format=%s", "-1") == "Demo: age key for SECRETs"
    assert git(repo, "rev-list", "--count", "HEAD") == "3"
    port_file, log = tmp_path / "ports.json", tmp_path / "server.log"
    env = {**os.environ, "GITCONFIG_ADMIN_TOKEN": TOKEN, "SOPS_AGE_KEY_FILE": str(key_file)}
    args = ["serve", "--repo", str(repo), "--http-port", "0", "--grpc-port", "-1"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [GITCONFIG, *args, "--port-file", str(port_file)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while not port_file.exists():
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            base = f"http://127.0.0.1:{json.loads(port_file.read_text())['http']}"
            headers = {"Authorization": f"Bearer {TOKEN}"}
            with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
                while http.get("/readyz").status_code != 200:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
                body = {"key": "db-password", "application": "pricing", "environment": "DEV"}
                created = http.post(
                    "/configs", json={**body, "valueType": "SECRET", "value": PLAIN}
                )
                assert created.status_code == 201, created.text
                lookup = "/configs/lookup?application=pricing&environment=DEV&key=db-password"
                assert http.get(lookup).json()["value"] == MASK
                assert http.get(f"{lookup}&reveal=true").json()["value"] == PLAIN
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)
    assert PLAIN not in log.read_text()
    store = GitStore(repo)
    blob = store.read_file(store.head() or "", "configs/pricing/DEV/db-password.yaml")
    assert blob is not None and b"ENC[AES256_GCM," in blob
    assert PLAIN not in git(repo, "log", "-p", "--all")
