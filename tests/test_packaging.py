from __future__ import annotations

import subprocess
import sys


def test_console_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from gitconfig_cli.main import app; app()", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "configuration" in result.stdout
