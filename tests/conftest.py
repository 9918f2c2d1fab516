"""Test isolation: no test may read or write the user's home, global git config or sops keys."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pygit2
import pytest
from pygit2.enums import ConfigLevel

from gitconfig.runtime.logs import RequestIdFilter
from tests.support.gitrepo import clone, commit_files, push
from tests.support.serve import Launched, Launcher
from tests.support.tokens import ADMIN_TOKEN

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from gitconfig.service import Service


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("SOPS_", "GIT_", "GITCONFIG_")):
            del os.environ[name]
    os.environ["HOME"] = str(home)
    os.environ["XDG_CONFIG_HOME"] = str(home / ".config")
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    os.environ["GIT_CONFIG_GLOBAL"] = str(home / ".gitconfig")
    os.environ["GIT_AUTHOR_NAME"] = "Test Author"
    os.environ["GIT_AUTHOR_EMAIL"] = "author@example.com"
    os.environ["GIT_COMMITTER_NAME"] = "Test Committer"
    os.environ["GIT_COMMITTER_EMAIL"] = "committer@example.com"
    # libgit2 fixed its config search path from HOME when pygit2 was imported: point it here.
    levels = (ConfigLevel.GLOBAL, ConfigLevel.XDG, ConfigLevel.SYSTEM)
    saved_paths = {level: pygit2.settings.search_path[level] for level in levels}
    for level in levels:
        pygit2.settings.search_path[level] = str(home)
    try:
        yield
    finally:
        for level, path in saved_paths.items():
            pygit2.settings.search_path[level] = path
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def bare_repo(tmp_path: Path) -> Path:
    """A served (bare) config repository with its initial commit."""
    from gitconfig.runtime.bootstrap import init_repository

    path = tmp_path / "served.git"
    init_repository(path, bare=True)
    return path


@pytest.fixture
def service(bare_repo: Path) -> Service:
    from gitconfig.runtime.bootstrap import open_service

    service = open_service(bare_repo)
    service.index.refresh()
    return service


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    from fastapi.testclient import TestClient

    from gitconfig.access.principals import TokenRegistry
    from gitconfig.rest.app import create_app

    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    tokens.add("reader-token", "reader", ["read"])
    app = create_app(service, tokens)
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as test_client:
        yield test_client


@pytest.fixture
def checkout(bare_repo: Path, tmp_path: Path) -> Path:
    """A clone of ``bare_repo`` to commit and push from by hand."""
    return clone(bare_repo, tmp_path / "checkout")


def change(service: Service, checkout: Path, files: Mapping[str, str | None], message: str) -> str:
    """Commit ``files`` (path -> text, None deletes) in ``checkout``, push, refresh the
    service's index; the new commit's sha."""
    sha = commit_files(checkout, files, message)
    push(checkout)
    service.index.refresh()
    return sha


def wait_until(condition: Any, timeout: float = 10.0) -> None:
    """Poll ``condition()`` every 10 ms until true; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class _Kept(logging.Handler):
    """A log handler that keeps its records."""

    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__()
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def access_lines() -> Iterator[list[logging.LogRecord]]:
    """The access log (``gitconfig.access``) on, its records kept with their request ids
    (as ``serve`` logs them)."""
    records: list[logging.LogRecord] = []
    handler = _Kept(records)
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("gitconfig.access")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(level)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that launches ``gitconfig serve`` is ``slow`` (``make test-fast`` skips it)."""
    for item in items:
        if "launch" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launcher]:
    """Start ``gitconfig serve`` processes (``tests.support.serve``); at teardown every one
    still running is stopped and the logs are printed (pytest shows them when a test fails)."""
    launched = Launched(tmp_path)
    yield launched
    launched.finish()
