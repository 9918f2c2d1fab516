"""The benchmark repository generator writes the files and commits it promises."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench.repogen import add_commit, config_content, config_path, flag_path, make_repo


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args], capture_output=True, check=True, text=True
    ).stdout


def test_bare_repo_holds_every_file_with_its_content(tmp_path: Path) -> None:
    repo = tmp_path / "configs.git"
    head = make_repo(repo, n_configs=230, n_flags=2)

    files = git(repo, "ls-tree", "-r", "--name-only", "main").split()
    assert sorted(files) == sorted(
        ["README.md", *(config_path(n) for n in range(230)), flag_path(0), flag_path(1)]
    )
    assert config_path(0) == "configs/app-0/DEV/key-0.yaml"
    assert config_path(229) == "configs/app-2/TEST/key-4.yaml"
    assert git(repo, "show", f"main:{config_path(229)}") == config_content(229).decode()
    assert "type: NUMBER\nvalue: 42\n" in config_content(229).decode()
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert git(repo, "rev-parse", "--is-bare-repository").strip() == "true"


def test_commits_cycle_through_the_touched_configs(tmp_path: Path) -> None:
    repo = tmp_path / "history.git"
    make_repo(repo, n_configs=10, n_commits=6, touched=[3, 5])

    assert git(repo, "rev-list", "--count", "main").strip() == "6"
    assert git(repo, "rev-list", "--count", "main", "--", config_path(3)).strip() == "4"
    assert git(repo, "rev-list", "--count", "main", "--", config_path(5)).strip() == "3"
    assert git(repo, "show", f"main:{config_path(3)}") == config_content(3, value=5).decode()


def test_add_commit_extends_a_bare_and_a_working_repository(tmp_path: Path) -> None:
    for repo, bare in ((tmp_path / "a.git", True), (tmp_path / "work", False)):
        make_repo(repo, n_configs=5, n_commits=2, bare=bare)
        git_dir = repo if bare else repo / ".git"
        sha = add_commit(repo, "configs/new/PROD/k.yaml", b"type: STRING\nvalue: x\n", "add k")

        assert git(git_dir, "rev-parse", "main").strip() == sha
        assert git(git_dir, "rev-list", "--count", "main").strip() == "3"
        assert git(git_dir, "show", "main:configs/new/PROD/k.yaml") == "type: STRING\nvalue: x\n"
        assert git(git_dir, "log", "-1", "--format=%s", "main").strip() == "add k"
        if not bare:
            assert (repo / config_path(4)).read_bytes() == config_content(4)


def test_rejects_impossible_requests(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"."):
        make_repo(tmp_path / "r", n_configs=0)
    with pytest.raises(ValueError, match=r"."):
        make_repo(tmp_path / "r", n_configs=3, n_commits=2, touched=[3])
