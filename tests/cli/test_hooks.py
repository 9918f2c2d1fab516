"""The git hooks, run by real git: pre-commit on ``git commit``, pre-receive on ``git push``
into a bare repository; ``gitconfig hooks install``; the shipped files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from gitconfig_cli.hooks import render

from tests.support.clirun import gitconfig, ok, served_and_clone
from tests.support.gitrepo import commit_files, git, rev_parse
from tests.support.refusal import unchanged

pytestmark = pytest.mark.slow  # git runs the hooks as processes

PROJECT = Path(__file__).resolve().parents[2]
BAD = "type: NUMBER\nvalue: lots\n"
GOOD = "type: NUMBER\nvalue: 5\n"


def run_git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("hook", ["pre-commit", "pre-receive"])
def test_the_shipped_hooks_are_the_templates(hook: str) -> None:
    shipped = PROJECT / "hooks" / hook
    assert shipped.read_text() == render(hook)
    assert os.access(shipped, os.X_OK)
    assert render(hook).splitlines()[-1].startswith("exec gitconfig ")


def test_the_pre_commit_framework_manifest() -> None:
    manifest = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    assert manifest == [
        {
            "id": "gitconfig-validate",
            "name": "gitconfig validate",
            "description": manifest[0]["description"],
            "entry": "gitconfig hooks files",  # the files the framework passes (issue 9)
            "language": "python",
            "pass_filenames": True,
            "files": "^(configs|flags|schemas)/",
        }
    ]


def test_install_puts_pre_receive_in_a_bare_repo_and_pre_commit_in_a_clone(
    tmp_path: Path,
) -> None:
    bare, work = served_and_clone(tmp_path)
    assert ok("hooks", "install", repo=bare).startswith("installed pre-receive hook")
    hook = (bare / "hooks" / "pre-receive").read_text()
    command = hook.splitlines()[-1].split()[1]
    assert Path(command).is_absolute()
    assert os.access(command, os.X_OK)
    assert hook.splitlines()[-1].endswith(" hooks pre-receive")
    ok("hooks", "install", repo=work / "configs" if (work / "configs").exists() else work)
    assert (work / ".git" / "hooks" / "pre-commit").read_text().endswith(" validate --staged\n")
    ok("hooks", "install", repo=work)  # again: replaces its own hook
    git(work, "config", "core.hooksPath", "my-hooks")
    (work / "my-hooks").mkdir()
    (work / "my-hooks" / "pre-commit").write_text("#!/bin/sh\nexit 0\n")
    refused = gitconfig("hooks", "install", repo=work)
    assert refused.exit_code == 1
    assert "use --force" in refused.stderr
    ok("hooks", "install", "--force", repo=work)
    assert "validate --staged" in (work / "my-hooks" / "pre-commit").read_text()


def test_pre_commit_refuses_an_invalid_staged_file(tmp_path: Path) -> None:
    _, work = served_and_clone(tmp_path)
    ok("hooks", "install", repo=work)
    (work / "configs/app/DEV").mkdir(parents=True)
    (work / "configs/app/DEV/limit.yaml").write_text(BAD)
    git(work, "add", ".")
    refused = run_git(work, "commit", "-m", "bad")
    assert refused.returncode != 0
    assert "configs/app/DEV/limit.yaml:2: value: must be a number" in refused.stderr
    (work / "configs/app/DEV/limit.yaml").write_text(GOOD)  # fixed on disk, not staged
    assert run_git(work, "commit", "-m", "still bad").returncode != 0
    assert run_git(work, "commit", "-am", "fixed").returncode == 0  # git commit -a: its index


def test_pre_receive_accepts_valid_pushes_and_deletions_and_rejects_invalid_ones(
    tmp_path: Path,
) -> None:
    bare, work = served_and_clone(tmp_path)
    ok("hooks", "install", repo=bare)
    commit_files(work, {"configs/app/DEV/limit.yaml": GOOD}, "good")
    assert run_git(work, "push", "origin", "main").returncode == 0
    assert rev_parse(bare, "main") == rev_parse(work, "HEAD")

    accepted_head = rev_parse(bare, "main")
    commit_files(
        work,
        {"configs/app/DEV/limit.yaml": BAD, "flags/app/DEV/f.yaml": "enabled: 1\n"},
        "break things",
    )
    commit_files(work, {"configs/app/DEV/other.yaml": GOOD}, "unrelated")
    kept = unchanged(bare)  # what a server on it serves, its history, its audit trail
    rejected = run_git(work, "push", "origin", "main")
    assert rejected.returncode != 0
    assert "pre-receive hook declined" in rejected.stderr
    assert "push rejected: 3 problem(s) in 1 commit(s)" in rejected.stderr
    assert "'break things'" in rejected.stderr
    assert "configs/app/DEV/limit.yaml:2: value: must be a number" in rejected.stderr
    assert "flags/app/DEV/f.yaml:1: enabled: must be true or false" in rejected.stderr
    assert "flags/app/DEV/f.yaml: description: is required" in rejected.stderr
    assert rev_parse(bare, "main") == accepted_head  # nothing moved
    kept.check()
    assert run_git(work, "push", "origin", "HEAD:refs/heads/feature").returncode != 0

    # a branch at an accepted commit, then its deletion
    assert run_git(work, "push", "origin", f"{accepted_head}:refs/heads/release").returncode == 0
    assert run_git(work, "push", "origin", ":release").returncode == 0
    assert run_git(bare, "rev-parse", "--verify", "--quiet", "release").returncode != 0

    git(work, "reset", "--quiet", "--hard", accepted_head)
    commit_files(work, {"configs/app/DEV/limit.yaml": "type: NUMBER\nvalue: 6\n"}, "fix")
    assert run_git(work, "push", "origin", "main").returncode == 0
    assert rev_parse(bare, "main") == rev_parse(work, "HEAD")
