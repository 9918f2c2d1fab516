"""A 500 says only that the request failed, with a request id; the detail goes to the log,
with the credentials of any URL scrubbed (issue 9)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest
from fastapi.testclient import TestClient

from gitconfig.access.principals import TokenRegistry
from gitconfig.core.errors import StoreError
from gitconfig.core.model import PendingCommit
from gitconfig.core.text import scrub
from gitconfig.grpc import errors as grpc_errors
from gitconfig.index.refresher import Index
from gitconfig.rest.app import create_app
from gitconfig.service import build_service
from gitconfig.store import gitcli
from gitconfig.store.gitstore import GitStore
from tests.support.gitrepo import init_repo
from tests.support.tokens import ADMIN_TOKEN

SECRET_PATH = "/srv/very/secret/layout/objects/pack"


class BrokenStore(GitStore):
    def write_chain(self, parent: str | None, commits: Sequence[PendingCommit]) -> list[str]:
        raise StoreError(f"git store failed: could not open '{SECRET_PATH}': Permission denied")


def test_rest_500_carries_a_request_id_and_no_detail(
    bare_repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = BrokenStore(bare_repo, "main")
    service = build_service(store, Index(store))
    service.index.refresh()
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    body: dict[str, Any] = {"key": "k", "application": "app", "environment": "DEV"}
    body |= {"valueType": "STRING", "value": "v"}
    with (
        caplog.at_level(logging.ERROR),
        TestClient(
            create_app(service, tokens), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ) as client,
    ):
        response = client.post("/configs", json=body)
    assert response.status_code == 500
    answer = response.json()
    assert SECRET_PATH not in response.text
    assert answer["message"] == f"internal error (request id {answer['requestId']})"
    assert response.headers["X-Request-Id"] == answer["requestId"]
    logged = [r.getMessage() for r in caplog.records if answer["requestId"] in r.getMessage()]
    assert logged
    assert SECRET_PATH in logged[0]


def test_grpc_internal_details_are_a_request_id(caplog: pytest.LogCaptureFixture) -> None:
    exc = StoreError(f"git store failed: {SECRET_PATH} at https://bot:tok3n@git.example/x.git")
    with caplog.at_level(logging.ERROR):
        details = grpc_errors.details_of(exc)
    assert grpc_errors.code_of(exc) is grpc.StatusCode.INTERNAL
    assert details.startswith("internal error (request id ")
    assert SECRET_PATH not in details
    assert "tok3n" not in caplog.text
    assert "https://***@git.example/x.git" in caplog.text


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("https://user:tok@host/x.git", "https://***@host/x.git"),
        ("unable to access 'http://tok@h:8/r/'", "unable to access 'http://***@h:8/r/'"),
        ("ssh://git@github.com/o/r.git", "ssh://***@github.com/o/r.git"),
        ("git@github.com:o/r.git and /a/b", "git@github.com:o/r.git and /a/b"),
    ],
)
def test_scrub(text: str, scrubbed: str) -> None:
    assert scrub(text) == scrubbed


def test_git_failures_never_carry_the_remote_credentials(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    remote = "http://deploy-bot:s3cr3t-t0ken@127.0.0.1:1/config.git"  # nothing listens there
    with pytest.raises(gitcli.GitCommandFailed) as raised:
        gitcli.push_commit(repo, remote, "HEAD", "main")
    assert "s3cr3t-t0ken" not in raised.value.message
    assert raised.value.message.startswith("git push failed: ")
