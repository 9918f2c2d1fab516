"""The system under test: a ``gitconfig serve`` process over a generated repository.

This is the one place that knows how to start gitconfig. ``serve_command`` builds the command
line and ``gitconfig_server`` runs it; ``unavailable`` says why a row cannot run yet (no
``gitconfig`` command, no ``serve``, no ``--workers``), so that the suites print "not
available" instead of crashing while the server is being written. Readiness is, by default,
the real lookup answering 200: the server is ready only after its first complete index.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.tools import HOST, CommandError, free_port, http_ready, run, server_process

TOKEN = "bench-token"
APPLICATION, ENVIRONMENT, KEY = "app-0", "PROD", "key-0"
FLAG_KEY = "flag-0"
AUTH_HEADERS = {"Authorization": f"Bearer {TOKEN}"}


@dataclass(frozen=True)
class Endpoints:
    http_url: str  # e.g. http://127.0.0.1:40123
    grpc_target: str  # e.g. 127.0.0.1:40124 ("" with gRPC off)
    pid: int  # the server's (its process group's leader)


def lookup_path(key: str = KEY, application: str = APPLICATION, env: str = ENVIRONMENT) -> str:
    query = urllib.parse.urlencode({"key": key, "application": application, "environment": env})
    return f"/configs/lookup?{query}"


def check_path(flag: str = FLAG_KEY, user_id: str = "user-42") -> str:
    query = urllib.parse.urlencode(
        {"key": flag, "application": APPLICATION, "environment": ENVIRONMENT, "userId": user_id}
    )
    return f"/feature-flags/check?{query}"


def executable() -> str | None:
    """The ``gitconfig`` console script of this virtualenv, else the one on PATH."""
    beside = Path(sys.executable).parent / "gitconfig"
    return str(beside) if beside.exists() else shutil.which("gitconfig")


@functools.cache
def _serve_help() -> str | None:
    exe = executable()
    if exe is None:
        return None
    try:
        code, out, err = run([exe, "serve", "--help"], timeout=60, check=False)
    except CommandError:
        return None
    return out + err if code == 0 else None


def unavailable(workers: int) -> str | None:
    """Why ``gitconfig serve`` with ``workers`` processes cannot be measured, or None."""
    if executable() is None:
        return "not available: no gitconfig command"
    text = _serve_help()
    if text is None or "--http-port" not in text:
        return "not available: no gitconfig serve yet"
    if workers != 1 and "--workers" not in text:
        return "not available: no serve --workers yet"
    return None


def serve_command(
    repo: Path | None,
    http_port: int,
    grpc_port: int,
    workers: int,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """The command line that serves ``repo`` (None: ``extra`` says what, e.g. ``--remote``).
    Edit here if ``gitconfig serve`` changes."""
    exe = executable()
    assert exe is not None, "check unavailable() first"
    cmd = [exe, "serve", *(["--repo", str(repo)] if repo is not None else []), "--host", HOST]
    cmd += ["--http-port", str(http_port), "--grpc-port", str(grpc_port)]
    if workers != 1:
        cmd += ["--workers", str(workers)]
    return cmd + list(extra)


@contextmanager
def gitconfig_server(
    repo: Path | None,
    workers: int = 1,
    timeout: float = 180.0,
    extra: Sequence[str] = (),
    admin_token: str | None = TOKEN,
    headers: Mapping[str, str] | None = None,
    *,
    ready_path: str | None = None,
    probe: Callable[[str], bool] | None = None,
    poll: float = 0.1,
    grpc: bool = True,
    env: Mapping[str, str] | None = None,
) -> Iterator[Endpoints]:
    """Serve ``repo`` until the block ends: the one way the benchmarks start gitconfig.

    Ready once GET ``ready_path`` (default: the benchmark's lookup) answers 200 with
    ``headers`` (default: the admin token's), or once ``probe(http_url)`` is true, asked
    every ``poll`` s. ``extra``: more ``serve`` options (e.g. ``--access-file``);
    ``admin_token``: the bootstrap admin token (None: none); ``grpc``: False serves REST
    only (``--grpc-port -1``); ``env``: more environment variables for the server.
    """
    http_port, grpc_port = free_port(), free_port() if grpc else -1
    environ = dict(os.environ)
    environ.pop("GITCONFIG_ADMIN_TOKEN", None)
    if admin_token is not None:
        environ["GITCONFIG_ADMIN_TOKEN"] = admin_token
    environ.update(env or {})
    http_url = f"http://{HOST}:{http_port}"
    ready: Callable[[], bool]
    if probe is not None:
        ready = functools.partial(probe, http_url)
    else:
        path = ready_path if ready_path is not None else lookup_path()
        ready = http_ready(http_url + path, headers if headers is not None else AUTH_HEADERS)
    cmd = serve_command(repo, http_port, grpc_port, workers, tuple(extra))
    name = f"gitconfig serve ({workers}p)"
    with server_process(name, cmd, ready, env=environ, timeout=timeout, poll=poll) as proc:
        yield Endpoints(http_url, f"{HOST}:{grpc_port}" if grpc else "", proc.pid)
