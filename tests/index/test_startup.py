"""Startup readiness: a long first index reports its progress in the log and on /readyz."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

from bench.repogen import make_repo
from gitconfig.access.principals import TokenRegistry
from gitconfig.index import startup
from gitconfig.index.refresher import Index
from gitconfig.rest.app import create_app
from gitconfig.service import build_service
from gitconfig.store.gitstore import GitStore


class ProbingStore(GitStore):
    """The real store; at the 2,500th blob read it asks ``/readyz`` how far the index is."""

    probe: TestClient | None = None
    reads = 0
    seen: ClassVar[list[tuple[int, dict[str, Any]]]] = []

    def read_blob(self, sha: str) -> bytes:
        self.reads += 1
        if self.probe is not None and self.reads == 2500:
            response = self.probe.get("/readyz")
            self.seen.append((response.status_code, response.json()))
        return super().read_blob(sha)


def test_a_long_first_index_shows_its_progress(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "big.git"
    make_repo(repo, 3000)
    monkeypatch.setattr(startup, "PROGRESS_LOG_SECONDS", 0.0)
    store = ProbingStore(repo)
    service = build_service(store, Index(store, parallel_minimum=None))
    with TestClient(create_app(service, TokenRegistry())) as client:
        store.probe = client
        with caplog.at_level(logging.INFO, logger="gitconfig.index.refresher"):
            service.index.refresh()
        status, body = store.seen[0]
        assert status == 503
        assert body["status"] == "starting"
        assert body["indexedFiles"] == 2000  # counted per 1,000 files
        assert body["elapsedSeconds"] >= 0
        assert "indexing" in caplog.text
        assert "3000 files" in caplog.text
        assert service.index.progress is None
        assert client.get("/readyz").json() == {"status": "ready"}
