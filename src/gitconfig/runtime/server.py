"""The composition root: builds the store, index, service and transports, and serves them.

One process serves REST (uvicorn) and gRPC (grpc.aio) over one service and one index. With
``workers > 1`` the parent opens the listening sockets and forks that many such processes;
each keeps its own index and watcher (the Git repository is the shared state, and writes
move the branch by compare-and-swap, so workers never lose each other's commits).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import uvicorn

from gitconfig.grpc.server import create_server
from gitconfig.index.refresher import Index
from gitconfig.rest.app import create_app
from gitconfig.runtime.replica import RemoteOptions, open_replica
from gitconfig.runtime.security import SecurityOptions, build_tokens
from gitconfig.service.facade import Service
from gitconfig.store.gitstore import GitStore
from gitconfig.store.watch import RefWatcher

log = logging.getLogger("gitconfig.runtime.server")


@dataclass(frozen=True)
class ServeOptions:
    repo: Path
    branch: str = "main"
    host: str = "127.0.0.1"
    http_port: int = 8080
    grpc_port: int | None = 9090  # None: no gRPC
    workers: int = 1
    port_file: Path | None = None  # written as JSON once listening (for scripts and tests)
    poll_interval: float = 1.0
    security: SecurityOptions = field(default_factory=SecurityOptions)
    remote: RemoteOptions | None = None  # a replica of a remote Git host (see runtime.replica)


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: ``run`` owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _listen(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the
    # protocol says TCP; without it every response waits for the peer's delayed ACK (40 ms).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _reserve_port(host: str, port: int) -> socket.socket:
    """Bind (without listening) with SO_REUSEPORT so workers can all bind the same port."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


async def run(options: ServeOptions, http_socket: socket.socket | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then drain and return."""
    replicator = None
    store: GitStore
    if options.remote is not None:
        store, service, replicator = open_replica(options.remote, options.branch)
    else:
        store = GitStore(options.repo, options.branch)
        service = Service(store, Index(store))
    tokens = build_tokens(options.security)
    if not len(tokens) and tokens.jwt is None:
        log.warning(
            "no API token configured: set GITCONFIG_ADMIN_TOKEN or --access-file; "
            "every call gets 401"
        )
    app = create_app(service, tokens)
    sock = http_socket or _listen(options.host, options.http_port)
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=5
    )
    http = _Uvicorn(config)

    grpc_server = None
    grpc_port: int | None = None
    if options.grpc_port is not None:
        grpc_server, grpc_port = await create_server(
            service, tokens, f"{options.host}:{options.grpc_port}"
        )
        await grpc_server.start()

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)

    watcher = RefWatcher(store.git_dir, service.index.refresh, options.poll_interval)

    def first_index() -> None:
        while not stopping.is_set():  # ready only once a first index is complete
            try:
                # A replica fetches first; if the remote is down it serves its mirror as it
                # was (fail-static), and with no mirror yet it is not ready.
                fetched = replicator is None or replicator.fetch_now()
                if not fetched and store.head() is None:
                    raise RuntimeError("nothing fetched from the remote yet")
                service.index.refresh()
                break
            except Exception:  # a broken repository must not end the server: retry
                log.exception("the first index failed; retrying in %.1fs", options.poll_interval)
                time.sleep(options.poll_interval)
        watcher.start()
        if replicator is not None:
            replicator.start()

    threading.Thread(target=first_index, name="first-index", daemon=True).start()
    http_task = asyncio.create_task(http.serve(sockets=[sock]))
    while not http.started and not http_task.done():
        await asyncio.sleep(0.01)
    http_port = sock.getsockname()[1]
    log.info(
        "serving %s (branch %s): REST on http://%s:%d, gRPC on %s",
        options.repo if options.remote is None else options.remote.display_url,
        options.branch,
        options.host,
        http_port,
        f"{options.host}:{grpc_port}" if grpc_port else "off",
    )
    if options.port_file is not None:
        tmp = options.port_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"http": http_port, "grpc": grpc_port, "pid": os.getpid()}))
        tmp.replace(options.port_file)

    stop_wait = asyncio.create_task(stopping.wait())
    await asyncio.wait({http_task, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
    log.info("shutting down: draining requests")
    service.changes.close()  # change streams (gRPC and SSE) end cleanly
    http.should_exit = True
    if grpc_server is not None:
        await grpc_server.stop(grace=3)
    await http_task
    watcher.stop()
    if replicator is not None:
        replicator.stop()
    stop_wait.cancel()
    log.info("stopped")


def _run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop (installed with uvicorn[standard]) when available, else asyncio's loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a declared dependency
        factory = None
    else:
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main)


def serve(options: ServeOptions) -> int:
    """Run the server (forking ``options.workers`` processes when more than one)."""
    build_tokens(options.security)  # a bad access file or setting stops here (BadRequest)
    logging.basicConfig(
        level=os.environ.get("GITCONFIG_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s",
        stream=sys.stderr,
    )
    if options.workers <= 1:
        _run_loop(run(options))
        return 0

    sock = _listen(options.host, options.http_port)
    reserved = None
    grpc_port = options.grpc_port
    if grpc_port is not None:
        reserved = _reserve_port(options.host, grpc_port)
        grpc_port = reserved.getsockname()[1]
    worker_options = replace(
        options, http_port=sock.getsockname()[1], grpc_port=grpc_port, workers=1, port_file=None
    )
    children = []
    for _ in range(options.workers):
        pid = os.fork()
        if pid == 0:  # the worker
            try:
                _run_loop(run(worker_options, http_socket=sock))
                os._exit(0)
            except BaseException:
                log.exception("worker failed")
                os._exit(3)
        children.append(pid)
    if options.port_file is not None:
        options.port_file.write_text(
            json.dumps({"http": sock.getsockname()[1], "grpc": grpc_port, "pid": os.getpid()})
        )

    def forward(sig: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, sig)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    for child in children:
        _, code = os.waitpid(child, 0)
        status = status or os.waitstatus_to_exitcode(code)
    sock.close()
    if reserved is not None:
        reserved.close()
    return 0 if status == 0 else 3
