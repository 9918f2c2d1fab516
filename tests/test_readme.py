"""The README is a test: its quick-start commands, run as a new user would against the demo
server (``make run``), do what their text says (issue 9). And the docs' flag examples use
keys the API takes."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitconfig.core import paths
from gitconfig.core.evaluation import bucket

pytestmark = pytest.mark.slow  # the demo server as a process

PROJECT = Path(__file__).resolve().parent.parent
README = (PROJECT / "README.md").read_text()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def quick_start() -> str:
    """The README's shell block that starts with TOKEN=..."""
    blocks = re.findall(r"```sh\n(.*?)```", README, re.DOTALL)
    [block] = [b for b in blocks if b.startswith("TOKEN=")]
    return str(block)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    workdir = tmp_path_factory.mktemp("demo")
    http, grpc_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITCONFIG_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gitconfig.runtime.demo",
            "--source",
            str(PROJECT / "example-repo"),
            "--workdir",
            str(workdir),
            "--http-port",
            str(http),
            "--grpc-port",
            str(grpc_port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{http}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "the demo server exited"
            assert time.monotonic() < deadline, "the demo server did not get ready"
            time.sleep(0.2)
        yield http
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_quick_start_does_what_it_says(demo: int) -> None:
    script = quick_start()
    kept = [
        line
        for line in script.splitlines()
        # interactive: an editor, a clone into the cwd, a stream that never ends
        if "$EDITOR" not in line and not line.startswith("git clone") and "curl -N" not in line
    ]
    assert len(kept) == len(script.splitlines()) - 3
    body = "\n".join(kept).replace("127.0.0.1:8080", f"127.0.0.1:{demo}")
    prelude = "set -eu\ncurl() { command curl -sS --fail-with-body -w '\\n' \"$@\"; }\n"
    done = subprocess.run(
        ["bash", "-c", prelude + body], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    answers: list[Any] = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    lookup, listing, changed, added, check, evaluation, secret, masked, revealed = answers
    assert (lookup["key"], lookup["value"]) == ("max-order-size", "250000")
    assert {c["key"] for c in listing["content"]} >= {"spread-bps", "fallback-source"}
    # "change a value": the existing spread-bps, a new version, not a new key
    assert (changed["key"], changed["version"]) == ("spread-bps", 2)
    assert json.loads(changed["value"])["fx"] == 4
    assert (added["key"], added["version"]) == ("max-spread", 1)
    # the flag examples are on, for the reasons the comments give
    assert bucket("intraday-var-engine", "dave") < 50
    assert (check["enabled"], check["reason"]) == (True, "SPLIT")
    assert (evaluation["enabled"], evaluation["reason"]) == (True, "TARGETING_MATCH")
    # the secret: written (encrypted by sops), masked unless revealed, then revealed
    assert (secret["key"], secret["valueType"], secret["value"]) == (
        "db-password",
        "SECRET",
        "********",
    )
    assert masked["value"] == "********"
    assert revealed["value"] == "s3cr3t-demo"


def test_the_readme_says_how_to_reach_gitconfig_and_a_busy_port() -> None:
    assert "make run HTTP_PORT=" in README
    first_bare = README.index("\ngitconfig ")
    assert ".venv/bin/activate" in README[:first_bare]


def test_the_docs_flag_keys_are_keys_the_api_takes() -> None:
    text = (PROJECT / "docs" / "flags.md").read_text()
    rows = re.findall(
        r"^\| `([^`]*)` \| `([^`]*)`(?: \(empty\))? \| (\d+) \| (\d+) \|$", text, re.M
    )
    assert len(rows) >= 8
    for key, value, _hashed, expected in rows:
        assert paths.key_error(key) is None, key
        assert bucket(key, value) == int(expected), (key, value)
