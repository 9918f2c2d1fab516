"""The real ``pre-commit`` framework runs this project's hook (as declared in
``.pre-commit-hooks.yaml``) on the files it passes: ``pre-commit run --all-files`` — what CI
and pre-commit.ci run — fails on a committed invalid file (issue 9)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.clirun import served_and_clone
from tests.support.gitrepo import commit_files, git

pytestmark = pytest.mark.slow  # pre-commit and git as processes

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GOOD = "type: NUMBER\nvalue: 5\n"
BAD = "type: NUMBER\nvalue: five\n"


def local_hook() -> dict[str, Any]:
    """The manifest's hook as a ``repo: local`` hook running this installation's command:
    the same entry, arguments, file filter and file passing; only the install differs."""
    [hook] = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    assert hook["pass_filenames"] is True
    program, *args = shlex.split(hook["entry"])
    assert program == "gitconfig"
    return {**hook, "entry": shlex.join([str(BIN / "gitconfig"), *args]), "language": "system"}


def pre_commit(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "pre-commit"), *args],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def work(tmp_path: Path) -> Path:
    _, work = served_and_clone(tmp_path)
    config = {"repos": [{"repo": "local", "hooks": [local_hook()]}]}
    commit_files(work, {".pre-commit-config.yaml": yaml.safe_dump(config)}, "pre-commit")
    return work


def test_all_files_fails_on_a_committed_invalid_file(work: Path) -> None:
    commit_files(work, {"configs/app/DEV/a.yaml": GOOD, "configs/app/DEV/b.yaml": BAD}, "bad")
    result = pre_commit(work, "run", "--all-files")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "configs/app/DEV/b.yaml:2: value: must be a number" in result.stdout
    assert "configs/app/DEV/a.yaml" not in result.stdout.replace("b.yaml", "")
    commit_files(work, {"configs/app/DEV/b.yaml": GOOD}, "fixed")
    result = pre_commit(work, "run", "--all-files")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_installed_hook_checks_the_staged_files(work: Path) -> None:
    assert pre_commit(work, "install").returncode == 0
    (work / "configs/app/DEV").mkdir(parents=True)
    (work / "configs/app/DEV/b.yaml").write_text(BAD)
    git(work, "add", ".")
    refused = subprocess.run(
        ["git", "commit", "-m", "bad"], cwd=work, capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0
    assert "configs/app/DEV/b.yaml:2: value: must be a number" in refused.stdout + refused.stderr


def test_a_shared_schema_revalidates_every_file(work: Path) -> None:
    config = "type: NUMBER\nvalue: -1\nschema: {$ref: schemas/positive.json}\n"
    positive = '{"type": "number", "minimum": 0}'
    commit_files(work, {"configs/app/DEV/a.yaml": config, "schemas/positive.json": "{}"}, "ok")
    assert pre_commit(work, "run", "--all-files").returncode == 0
    (work / "schemas/positive.json").write_text(positive)
    git(work, "add", ".")
    result = pre_commit(work, "run", "--files", "schemas/positive.json")
    assert result.returncode == 1
    assert "configs/app/DEV/a.yaml" in result.stdout
