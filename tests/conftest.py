"""Test isolation: no test may read or write the user's home, global git config or sops keys."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


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
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
