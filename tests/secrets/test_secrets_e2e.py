"""The demo's secret set-up, served by a real `gitconfig serve` process: write and reveal
one secret over HTTP, and find its plaintext nowhere in the server's log or in Git."""

from __future__ import annotations

from pathlib import Path

from gitconfig.core.configfile import MASK
from gitconfig.runtime import demo
from gitconfig.store.gitstore import GitStore
from tests.support.gitrepo import git
from tests.support.serve import Launcher

PROJECT = Path(__file__).resolve().parents[2]
PLAIN = "e2e-Secret-value-77"


def test_the_demo_serves_a_secret_written_and_revealed(launch: Launcher, tmp_path: Path) -> None:
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
    server = launch(repo, env={"SOPS_AGE_KEY_FILE": str(key_file)}, grpc=False)
    http = server.http
    body = {"key": "db-password", "application": "pricing", "environment": "DEV"}
    created = http.post("/configs", json={**body, "valueType": "SECRET", "value": PLAIN})
    assert created.status_code == 201, created.text
    lookup = "/configs/lookup?application=pricing&environment=DEV&key=db-password"
    assert http.get(lookup).json()["value"] == MASK
    assert http.get(f"{lookup}&reveal=true").json()["value"] == PLAIN
    assert server.stop(15) == 0
    assert PLAIN not in server.output()
    store = GitStore(repo)
    blob = store.read_file(store.head() or "", "configs/pricing/DEV/db-password.yaml")
    assert blob is not None
    assert b"ENC[AES256_GCM," in blob
    assert PLAIN not in git(repo, "log", "-p", "--all")
