"""``gitconfig serve`` as a child process, for the tests that need a real server process.

    def test_x(launch: Launcher, tmp_path: Path) -> None:
        server = launch(init_served(tmp_path / "config.git"), "--shutdown-grace", "0")
        server.http.post("/configs", json=...)     # an httpx client with the admin token
        assert server.stop() == 0                  # SIGTERM; the exit status

The server listens on ports the OS chooses (port 0) and reports them in ``--port-file``;
``start()`` waits for that file and for ``/readyz``. Its stdout and stderr go to files in the
test's folder: a server that dies while starting fails the test with its log, and the
``launch`` fixture (``conftest.py``) kills what is left at teardown and prints every log, which
pytest shows for a failed test only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import httpx

GITCONFIG = str(Path(sys.executable).parent / "gitconfig")
TOKEN = "serve-admin-token"  # GITCONFIG_ADMIN_TOKEN of a launched server
AUTH = {"Authorization": f"Bearer {TOKEN}"}
START_TIMEOUT = 30.0  # seconds to listen, and again to be ready
NO_GRACE = {"GITCONFIG_SHUTDOWN_GRACE": "0"}  # env: SIGTERM exits at once


def init_served(path: Path) -> Path:
    """A served (bare) repository made by ``gitconfig init --bare``."""
    done = subprocess.run([GITCONFIG, "init", "--bare", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return path


def serve_args(
    repo: Path | None, *extra: str, grpc: bool = True, workers: int | None = None
) -> list[str]:
    """``serve`` with HTTP (and gRPC unless ``grpc`` is false) on port 0, then ``extra``."""
    return [
        "serve",
        *(["--repo", str(repo)] if repo is not None else []),
        "--http-port",
        "0",
        "--grpc-port",
        "0" if grpc else "-1",
        *(["--workers", str(workers)] if workers is not None else []),
        *extra,
    ]


def server_env(token: str | None = TOKEN, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test's environment, the admin token (none if ``token`` is None) and ``env``."""
    base = {k: v for k, v in os.environ.items() if k != "GITCONFIG_ADMIN_TOKEN"}
    return {**base, **({"GITCONFIG_ADMIN_TOKEN": token} if token else {}), **(env or {})}


def run_serve(
    args: list[str], env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``gitconfig <args>`` to its end (a server that must refuse to start)."""
    return subprocess.run(
        [GITCONFIG, *args], env=server_env(env=env), capture_output=True, text=True, timeout=60
    )


class ServerProcess:
    """One ``gitconfig serve`` child process; ``name`` names its port file and logs."""

    def __init__(
        self, args: list[str], folder: Path, name: str, env: dict[str, str], token: str | None
    ) -> None:
        self.args = args
        self.env = env
        self.name = name
        self.port_file = folder / f"{name}.ports.json"
        self.stdout = folder / f"{name}.stdout.log"
        self.stderr = folder / f"{name}.stderr.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.ports: dict[str, Any] = {}
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http: httpx.Client | None = None

    # -- starting ----------------------------------------------------------------------------

    def launch(self) -> ServerProcess:
        """Start the process; return at once (``wait_started`` waits for it)."""
        self.port_file.unlink(missing_ok=True)
        self.ports = {}
        with self.stdout.open("ab") as out, self.stderr.open("ab") as err:
            self.process = subprocess.Popen(
                [GITCONFIG, *self.args, "--port-file", str(self.port_file)],
                env=self.env,
                stdout=out,
                stderr=err,
            )
        return self

    def wait_started(self, timeout: float = START_TIMEOUT) -> ServerProcess:
        """Wait until the server listens and has written its ports."""
        deadline = time.monotonic() + timeout
        while not self.port_file.exists():
            if not self.running:
                raise AssertionError(f"{self.name} exited {self.returncode}: {self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not listen in {timeout}s: {self.output()}")
            time.sleep(0.05)
        self.ports = json.loads(self.port_file.read_text())
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT) -> ServerProcess:
        """Wait until ``GET /readyz`` answers 200."""
        deadline = time.monotonic() + timeout
        while not self.ready():
            if not self.running:
                raise AssertionError(f"{self.name} exited {self.returncode}: {self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} not ready in {timeout}s: {self.output()}")
            time.sleep(0.05)
        return self

    def start(self, ready: bool = True) -> ServerProcess:
        self.launch().wait_started()
        return self.wait_ready() if ready else self

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    # -- talking to it -----------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.ports['http']}"

    @property
    def grpc_address(self) -> str:
        return f"127.0.0.1:{self.ports['grpc']}"

    @property
    def http(self) -> httpx.Client:
        """An HTTP client of the server, with the admin token."""
        if self._http is None:
            self._http = httpx.Client(base_url=self.base, headers=self._headers, timeout=10)
        return self._http

    # -- stopping ----------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def terminate(self) -> None:
        """SIGTERM, without waiting (to stop several servers at once)."""
        if self.running:
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 30) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait; the exit status."""
        self.close_client()
        self.terminate()
        return self.wait(timeout)

    def kill(self) -> None:
        """SIGKILL and wait, if it still runs."""
        self.close_client()
        if self.running:
            assert self.process is not None
            self.process.kill()
            self.process.wait(10)

    def close_client(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def output(self) -> str:
        """What the server wrote to stdout and stderr so far."""
        texts = [p.read_text(errors="replace") for p in (self.stdout, self.stderr) if p.exists()]
        return "".join(texts)


class Launcher(Protocol):
    """The ``launch`` fixture: a ``ServerProcess`` for ``serve_args(repo, *extra, ...)``,
    started (and ready, unless ``ready`` is false) unless ``start`` is false."""

    def __call__(
        self,
        repo: Path | None,
        *extra: str,
        env: Mapping[str, str] | None = None,
        token: str | None = TOKEN,
        workers: int | None = None,
        grpc: bool = True,
        ready: bool = True,
        start: bool = True,
        name: str = "serve",
    ) -> ServerProcess: ...


class Launched:
    """The servers a test launched; ``finish()`` stops them all at once at teardown."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.servers: list[ServerProcess] = []

    def __call__(
        self,
        repo: Path | None,
        *extra: str,
        env: Mapping[str, str] | None = None,
        token: str | None = TOKEN,
        workers: int | None = None,
        grpc: bool = True,
        ready: bool = True,
        start: bool = True,
        name: str = "serve",
    ) -> ServerProcess:
        if any(s.name == name for s in self.servers):
            name = f"{name}{len(self.servers)}"
        server = ServerProcess(
            serve_args(repo, *extra, grpc=grpc, workers=workers),
            self.folder,
            name,
            server_env(token, env),
            token,
        )
        self.servers.append(server)
        return server.start(ready) if start else server

    def finish(self) -> None:
        for server in self.servers:
            server.terminate()  # all at once: they drain in parallel
        for server in self.servers:
            if server.process is None:
                continue
            try:
                server.stop(10)
            except subprocess.TimeoutExpired:
                server.kill()
            print(f"--- {server.name}: {' '.join(server.args)}\n{server.output()}")
