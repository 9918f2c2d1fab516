"""``gitconfig validate`` never passes a check that checked nothing (issue 9)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.clirun import gitconfig, served_and_clone
from tests.support.gitrepo import commit_files

GOOD = "type: NUMBER\nvalue: 5\n"
BAD = "type: NUMBER\nvalue: five\n"


def test_a_path_that_does_not_exist_fails(tmp_path: Path) -> None:
    result = gitconfig("validate", str(tmp_path / "no" / "such" / "path"))
    assert result.exit_code == 1
    assert "does not exist" in result.output
    assert "ok:" not in result.output


def test_an_empty_tree_fails_unless_allowed(tmp_path: Path) -> None:
    _, work = served_and_clone(tmp_path)  # a config repository with no entries yet
    result = gitconfig("validate", str(work))
    assert result.exit_code == 1
    assert "no configuration or flag file found" in result.output
    assert gitconfig("validate", str(work), "--allow-empty").exit_code == 0
    assert gitconfig("validate", str(work), "--rev", "HEAD").exit_code == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    assert gitconfig("validate", str(empty)).exit_code == 1


@pytest.mark.parametrize("sub", ["configs", "configs/app/DEV", "docs"])
def test_a_subdirectory_validates_the_whole_checkout(
    tmp_path: Path, sub: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, work = served_and_clone(tmp_path)
    commit_files(work, {"configs/app/DEV/a.yaml": GOOD, "docs/readme.md": "x\n"}, "good")
    (work / "configs/app/DEV/b.yaml").write_text(BAD)  # on disk, not committed
    monkeypatch.chdir(work / sub)
    result = gitconfig("validate")
    assert result.exit_code == 1, result.output
    assert "configs/app/DEV/b.yaml" in result.output
    os.remove(work / "configs/app/DEV/b.yaml")
    ok = gitconfig("validate", ".")
    assert ok.exit_code == 0, ok.output
    assert "ok: 2 file(s) valid" in ok.output  # a.yaml and the .sops.yaml of `init`


def test_changes_and_staged_files_may_be_none(tmp_path: Path) -> None:
    _, work = served_and_clone(tmp_path)
    commit_files(work, {"README.md": "changed\n"}, "docs only")
    assert gitconfig("validate", str(work), "--changed", "HEAD~1..HEAD").exit_code == 0
    assert gitconfig("validate", str(work), "--staged").exit_code == 0
