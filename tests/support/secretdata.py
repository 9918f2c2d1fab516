"""SECRET values in tests: a plaintext, an author, a client with a revealer, and the ways to
look for the plaintext in Git."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fastapi.testclient import TestClient

from gitconfig.access.principals import TokenRegistry
from gitconfig.core.model import Author
from gitconfig.rest.app import create_app
from gitconfig.service import Service
from gitconfig.store.gitstore import GitStore
from tests.support.tokens import ADMIN_TOKEN

PLAIN = "hunter2-correct-horse"
ME = Author("test", "test@example.com")


def client_for(service: Service) -> TestClient:
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    tokens.add("reader-token", "reader", ["read", "write"])
    tokens.add("revealer-token", "revealer", ["read", "reveal"])
    app = create_app(service, tokens)
    return TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})


def blob_of(repo: Path, path: str) -> str:
    store = GitStore(repo)
    data = store.read_file(store.head() or "", path)
    assert data is not None
    return data.decode()


def git_log(repo: Path) -> str:
    return subprocess.run(
        ["git", "log", "-p", "--all"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
