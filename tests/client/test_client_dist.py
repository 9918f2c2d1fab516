"""The client-only distribution (``python -m gitconfig.client.dist``): a wheel that holds the
client's modules and no server module, depends on no server library, and works on its own."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from gitconfig.client import dist

pytestmark = pytest.mark.slow  # builds and installs a wheel

SERVER_LIBRARIES = ("fastapi", "uvicorn", "pygit2", "watchfiles", "typer", "jsonschema")


def test_the_client_wheel_stands_alone(tmp_path: Path) -> None:
    wheel = dist.build(tmp_path / "dist")
    assert wheel.name == "gitconfig_client-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read("gitconfig_client-0.1.0.dist-info/METADATA").decode()
        archive.extractall(tmp_path / "unpacked")
    expected = {
        "client/aio.py",
        "client/openfeature.py",
        "core/evaluation.py",
        "grpc/v1/config_pb2.pyi",
    }
    assert {f"gitconfig/{name}" for name in expected} <= set(names)
    for folder in ("service", "rest", "store", "index", "runtime"):
        assert not [n for n in names if n.startswith(f"gitconfig/{folder}/")], folder
    assert "gitconfig/client/dist.py" not in names
    assert "gitconfig/grpc/servicer.py" not in names
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert len(requires) == 6
    assert not any(lib in line for line in requires for lib in SERVER_LIBRARIES)

    # Only the unpacked wheel and the third-party libraries on the path (-S: no .pth files,
    # so not the editable install of this checkout): the client imports and evaluates.
    script = (
        "import sys; sys.path[:0] = sys.argv[1:3]\n"
        "from gitconfig.client import Client\n"
        "from gitconfig.client.state import LocalState, flag_value\n"
        "import gitconfig.client, gitconfig.client.openfeature\n"
        "assert gitconfig.client.__file__.startswith(sys.argv[1]), gitconfig.client.__file__\n"
        "flag = flag_value('f', '{\"description\": \"d\", \"enabled\": true}', 1, 'c', 'i')\n"
        "print(flag.flag.evaluate(None, {}).reason, Client('127.0.0.1:1', 't', 'a', 'PROD'))"
    )
    purelib = sysconfig.get_paths()["purelib"]
    result = subprocess.run(
        [sys.executable, "-S", "-c", script, str(tmp_path / "unpacked"), purelib],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "STATIC Client('127.0.0.1:1', 'a', 'PROD')"
