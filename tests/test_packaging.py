"""The installed package: the ``gitconfig`` console script runs, every package folder is
installed, and the version has one source."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

import gitconfig

pytestmark = pytest.mark.slow  # builds and runs the package

PROJECT = Path(__file__).resolve().parent.parent


def test_the_installed_gitconfig_command_runs() -> None:
    command = Path(sys.executable).parent / "gitconfig"  # what pip installed, not the module
    assert command.is_file(), "pip install -e . installs the gitconfig console script"
    result = subprocess.run(
        [str(command), "--help"], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "configuration" in result.stdout
    for group in ("validate", "hooks", "flag", "export"):
        assert group in result.stdout
    bad = subprocess.run(
        [str(command), "no-such-command"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2


def test_every_package_folder_is_installed() -> None:
    config = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(PROJECT / "src").parts)
        for init in (PROJECT / "src").rglob("__init__.py")
    }
    found |= {"gitconfig_cli"} if (PROJECT / "cli" / "__init__.py").is_file() else set()
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_the_version_has_one_source() -> None:
    config = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    assert "version" not in config["project"]
    assert "version" in config["project"]["dynamic"]
    assert metadata.version("gitconfig-server") == gitconfig.__version__
