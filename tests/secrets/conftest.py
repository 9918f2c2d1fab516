"""Fixtures of the secrets tests: throwaway age keys, a repository whose ``.sops.yaml`` names
them, and a service (and REST client) holding both identities."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gitconfig.service import Service
from gitconfig.store.gitstore import GitStore
from tests.support.agekeys import AgeKeys, open_service
from tests.support.secretdata import ME, client_for


@pytest.fixture
def keys(tmp_path: Path) -> AgeKeys:
    return AgeKeys.make(tmp_path / "keys")


@pytest.fixture
def repo(bare_repo: Path, keys: AgeKeys) -> Path:
    store = GitStore(bare_repo)
    store.write(store.head(), {".sops.yaml": keys.sops_yaml()}, ME, "sops rules")
    return bare_repo


@pytest.fixture
def served(repo: Path, keys: AgeKeys) -> Service:
    return open_service(repo, keys, "dev", "prod")


@pytest.fixture
def client(served: Service) -> Iterator[TestClient]:
    with client_for(served) as test_client:
        yield test_client
