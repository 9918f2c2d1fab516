"""Symlinks and submodule entries under configs/, flags/ or schemas/ are refused by the
validator, the hooks and CI, naming them, and reported by the index (/status, /metrics)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gitconfig.runtime.bootstrap import open_service
from tests.support.clirun import gitconfig, ok, served_and_clone
from tests.support.gitrepo import commit_files, git, push, rev_parse
from tests.support.metrics import parse
from tests.support.refusal import unchanged

pytestmark = pytest.mark.slow  # git runs the hooks as processes

LINK = "configs/qa/PROD/link.yaml"
GOOD = "type: NUMBER\nvalue: 5\n"


def add_symlink(work: Path) -> None:
    commit_files(work, {"configs/qa/PROD/target.yaml": GOOD}, "a value")
    os.symlink("target.yaml", work / LINK)
    git(work, "add", LINK)
    git(work, "commit", "--quiet", "--no-verify", "-m", "a link")


def add_submodule(work: Path) -> str:
    sha = rev_parse(work, "HEAD")
    git(work, "update-index", "--add", "--cacheinfo", f"160000,{sha},flags/qa/PROD/sub")
    git(work, "commit", "--quiet", "--no-verify", "-m", "a submodule")
    return "flags/qa/PROD/sub"


def test_validator_on_disk_and_at_a_commit(tmp_path: Path) -> None:
    _, work = served_and_clone(tmp_path)
    add_symlink(work)
    for args in (["validate", str(work)], ["validate", str(work), "--rev", "HEAD"]):
        result = gitconfig(*args)
        assert result.exit_code == 1, result.output
        assert f"{LINK}: is a symlink, not a regular file" in result.output
    sub = add_submodule(work)
    result = gitconfig("validate", str(work), "--rev", "HEAD")
    assert f"{sub}: is a submodule, not a regular file" in result.output
    changed = gitconfig("validate", str(work), "--changed", "HEAD~1..HEAD")
    assert changed.exit_code == 1
    assert f"{sub}: is a submodule" in changed.output


def test_pre_commit_and_pre_receive_hooks_refuse(tmp_path: Path) -> None:
    bare, work = served_and_clone(tmp_path)
    ok("hooks", "install", repo=work)
    ok("hooks", "install", repo=bare)
    commit_files(work, {"configs/qa/PROD/target.yaml": GOOD}, "a value")
    os.symlink("target.yaml", work / LINK)
    git(work, "add", LINK)
    refused = subprocess.run(
        ["git", "commit", "-m", "link"], cwd=work, capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0
    assert f"{LINK}: is a symlink" in refused.stderr
    git(work, "commit", "--quiet", "--no-verify", "-m", "link")
    kept = unchanged(bare)
    pushed = subprocess.run(
        ["git", "push", "origin", "main"], cwd=work, capture_output=True, text=True, check=False
    )
    assert pushed.returncode != 0
    assert f"{LINK}: is a symlink" in pushed.stderr
    kept.check()


def test_index_reports_them_in_status_and_metrics(tmp_path: Path) -> None:
    from gitconfig.access.principals import TokenRegistry
    from gitconfig.rest.app import create_app
    from tests.support.tokens import ADMIN_TOKEN

    bare, work = served_and_clone(tmp_path)
    add_symlink(work)
    sub = add_submodule(work)
    push(work)
    service = open_service(bare)
    service.index.refresh()
    problems = service.index.current().problems
    assert set(problems) == {LINK, sub}
    assert "is a symlink" in problems[LINK].errors[0]
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    with TestClient(
        create_app(service, tokens), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ) as client:
        assert LINK in client.get("/status").text
        samples = parse(client.get("/metrics").text)
        invalid = {
            dict(labels)["path"] for (name, labels) in samples if name == "gitconfig_invalid_file"
        }
        assert LINK in invalid
    # Replaced by a regular file, the problem goes.
    git(work, "rm", "--quiet", LINK)
    commit_files(work, {LINK: GOOD}, "a file again")
    push(work)
    service.index.refresh()
    assert LINK not in service.index.current().problems
    assert sub in service.index.current().problems
