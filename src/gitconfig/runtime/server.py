"""The composition root: builds the store, index, service and transports, and serves them.

One process serves REST (uvicorn) and gRPC (grpc.aio) over one service and one index. With
``workers > 1`` the parent opens the listening sockets (one HTTP socket per worker:
``workers.listen_each``) and forks that many such processes; each keeps its own index and
watcher (the Git repository is the shared state, and writes
move the branch by compare-and-swap, so workers never lose each other's commits).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import importlib.util
import json
import logging
import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from gitconfig.grpc.server import GrpcServer, create_server
from gitconfig.index.refresher import Index
from gitconfig.rest.app import create_app
from gitconfig.runtime import logs
from gitconfig.runtime.replica import RemoteOptions, open_replica
from gitconfig.runtime.security import SecurityOptions, build_tokens, no_core_dumps
from gitconfig.runtime.workers import (
    die_with_parent,
    listen_each,
    listener,
    metrics_folder,
    reserve_port,
    supervise,
)
from gitconfig.service import Service, build_service, metrics
from gitconfig.store.gitstore import GitStore
from gitconfig.store.watch import RefWatcher

if TYPE_CHECKING:  # imported on use: granian is an optional extra
    from gitconfig.runtime.granian_http import GranianHttp

log = logging.getLogger("gitconfig.runtime.server")

# Nothing here reads a request's client address or scheme, so uvicorn's X-Forwarded-*
# rewriting of them is a layer of work on every request for nothing (docs/performance.md,
# "HTTP reads against the bare ASGI ceiling"). The responses are the same.
UVICORN_OPTIONS: dict[str, Any] = {"proxy_headers": False}


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
    shutdown_grace: float = 5.0  # seconds between SIGTERM and refusing connections
    log_format: str = "text"  # or "json"
    access_log: bool = False
    request_metrics: bool = True  # off: no per-request metrics or ids (to measure their cost)
    index_cache: bool = True  # the warm-restart snapshot in <git dir>/gitconfig/index.msgpack
    http_server: str = "uvicorn"  # or "granian" (the granian extra: runtime.granian_http)
    allow_core_dumps: bool = False  # else none: a core would hold revealed secrets


class PortBusy(Exception):
    """A port this server must listen on is taken (or cannot be bound)."""


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: ``run`` owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _listen(host: str, port: int) -> socket.socket:
    """``workers.listener``, or ``PortBusy``."""
    try:
        return listener(host, port)
    except OSError as exc:
        raise PortBusy(f"cannot listen for HTTP on {host}:{port}: {exc.strerror}") from None


def _reserve_port(host: str, port: int) -> socket.socket:
    """``workers.reserve_port``, or ``PortBusy``."""
    try:
        return reserve_port(host, port)
    except OSError as exc:
        raise PortBusy(f"cannot listen for gRPC on {host}:{port}: {exc.strerror}") from None


async def run(
    options: ServeOptions, http_socket: socket.socket | None = None, share_grpc_port: bool = False
) -> None:
    """Serve until SIGTERM/SIGINT, then drain and return (see ``drain``). Raises
    ``PortBusy`` when a port is taken."""
    sock = http_socket or _listen(options.host, options.http_port)
    replicator = None
    store: GitStore
    if options.remote is not None:
        store, service, replicator = open_replica(options.remote, options.branch)
    else:
        store = GitStore(options.repo, options.branch)
        cache = store.git_dir / "gitconfig" / "index.msgpack" if options.index_cache else None
        service = build_service(store, Index(store, cache=cache))
    tokens = build_tokens(options.security)
    if not len(tokens) and tokens.jwt is None:
        log.warning(
            "no API token configured: set GITCONFIG_ADMIN_TOKEN or --access-file; "
            "every call gets 401"
        )
    app = create_app(service, tokens, observe=options.request_metrics)
    config = uvicorn.Config(
        app,
        log_level="warning",
        log_config=None,  # uvicorn's records go through our handler (text or JSON)
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=max(int(options.shutdown_grace), 1),
        **UVICORN_OPTIONS,
    )
    http: uvicorn.Server | GranianHttp = _Uvicorn(config)
    if options.http_server == "granian":
        from gitconfig.runtime.granian_http import GranianHttp

        http = GranianHttp(app)

    grpc_server = None
    grpc_port: int | None = None
    if options.grpc_port is not None:
        reuse = 1 if share_grpc_port else 0
        if not share_grpc_port:
            _reserve_port(options.host, options.grpc_port).close()  # a busy port: one line
        try:
            grpc_server, grpc_port = await create_server(
                service,
                tokens,
                f"{options.host}:{options.grpc_port}",
                options=(("grpc.so_reuseport", reuse),),
            )
        except OSError as exc:
            raise PortBusy(str(exc)) from None
        await grpc_server.start()

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)

    refresh = service.metrics.checked(service.index.refresh)
    watcher = RefWatcher(store.git_dir, refresh, options.poll_interval)
    watching = _WatcherState()

    def first_index() -> None:
        while not stopping.is_set():  # ready only once a first index is complete
            try:
                # A replica fetches first; if the remote is down it serves its mirror as it
                # was (fail-static), and with no mirror yet it is not ready.
                fetched = replicator is None or replicator.fetch_now()
                if not fetched and store.head() is None:
                    raise RuntimeError("nothing fetched from the remote yet")
                refresh()
                _settle_heap()
                break
            except Exception:  # a broken repository must not end the server: retry
                log.exception("the first index failed; retrying in %.1fs", options.poll_interval)
                time.sleep(options.poll_interval)
        watching.start(watcher)
        if replicator is not None and not stopping.is_set():
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
        _write_port_file(options.port_file, http_port, grpc_port)

    flusher = asyncio.create_task(_flush_every_second(service))
    stop_wait = asyncio.create_task(stopping.wait())
    await asyncio.wait({http_task, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
    await drain(service, http, http_task, grpc_server, options.shutdown_grace)
    watching.stop(watcher)
    if replicator is not None:
        replicator.stop()
    stop_wait.cancel()
    flusher.cancel()
    service.metrics.flush_tallies()
    log.info("stopped")


def _settle_heap() -> None:
    """Once the first index is built: collect its garbage, then move every object alive into
    the collector's permanent generation (``gc.freeze``), so that the full collections that
    serving triggers now and then no longer walk the whole index; one took 47 ms with 1,000
    files, a stall the p99 of reads saw (docs/performance.md, "HTTP reads against the bare
    ASGI ceiling")."""
    gc.collect()
    gc.freeze()


def _write_port_file(path: Path, http_port: int, grpc_port: int | None) -> None:
    """The ports as JSON, written atomically: a reader never sees a partial file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"http": http_port, "grpc": grpc_port, "pid": os.getpid()}))
    tmp.replace(path)


async def _flush_every_second(service: Service) -> None:
    """The read fast path's tallies reach the (multiprocess) histograms even when idle."""
    while True:
        await asyncio.sleep(1.0)
        service.metrics.flush_tallies()


class _WatcherState:
    """Starts the watcher once the first index is built, unless shutdown came first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = False
        self._stopped = False

    def start(self, watcher: RefWatcher) -> None:
        with self._lock:
            if not self._stopped:
                watcher.start()
                self._started = True

    def stop(self, watcher: RefWatcher) -> None:
        with self._lock:
            self._stopped = True
            if self._started:
                watcher.stop()


async def drain(
    service: Service,
    http: uvicorn.Server | GranianHttp,
    http_task: asyncio.Task[None],
    grpc_server: GrpcServer | None,
    grace: float,
) -> None:
    """Stop cleanly: readiness (``/readyz``, gRPC health) turns 503/NOT_SERVING at once; the
    listeners keep accepting for ``grace`` seconds, so that load balancers see the change
    before connections are refused; then change streams end (clients resume after the last
    commit they saw), new connections are refused, and in-flight requests get up to
    ``grace`` seconds more to finish."""
    log.info("shutting down: not ready; draining for %.1fs", grace)
    service.metrics.draining = True
    if grpc_server is not None:
        await grpc_server.drain()
    if not http_task.done():
        await asyncio.wait({http_task}, timeout=grace)
    service.changes.close()  # change streams (gRPC and SSE) end cleanly
    http.should_exit = True
    if grpc_server is not None:
        await grpc_server.stop(grace=grace)
    await http_task


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
    """Run the server (forking ``options.workers`` processes when more than one). Returns
    the exit status: 0 after a clean stop, 1 when a port is taken, 3 when a worker failed."""
    build_tokens(options.security)  # a bad access file or setting stops here (BadRequest)
    logs.configure(
        os.environ.get("GITCONFIG_LOG_LEVEL", "INFO"), options.log_format, options.access_log
    )
    if not options.allow_core_dumps:
        no_core_dumps()
    if options.http_server == "granian" and importlib.util.find_spec("granian") is None:
        log.error("--http-server granian needs granian: pip install 'granian>=2.8,<3'")
        return 1
    try:
        if options.workers <= 1:
            _run_loop(run(options))
            return 0
        return _serve_workers(options)
    except PortBusy as exc:
        log.error("%s", exc)
        return 1


def _serve_workers(options: ServeOptions) -> int:
    try:
        sockets = listen_each(options.host, options.http_port, options.workers)
    except OSError as exc:
        where = f"{options.host}:{options.http_port}"
        raise PortBusy(f"cannot listen for HTTP on {where}: {exc.strerror}") from None
    http_port = sockets[0].getsockname()[1]
    reserved = None
    grpc_port = options.grpc_port
    if grpc_port is not None:
        try:
            reserved = _reserve_port(options.host, grpc_port)
        except PortBusy:
            for sock in sockets:
                sock.close()
            raise
        grpc_port = reserved.getsockname()[1]
    worker_options = dataclasses.replace(
        options, http_port=http_port, grpc_port=grpc_port, workers=1, port_file=None
    )
    # One scrape shows every worker: prometheus-client's multiprocess mode (see metrics).
    metrics_dir = metrics_folder()
    os.environ[metrics.MULTIPROCESS_ENV] = metrics_dir
    children: set[int] = set()
    parent = os.getpid()

    def start_worker(own: socket.socket, others: list[socket.socket]) -> int:
        pid = os.fork()
        if pid == 0:  # the worker: its own listening socket only
            try:
                die_with_parent(parent)
                for other in others:
                    if other is not own:
                        other.close()
                _run_loop(run(worker_options, http_socket=own, share_grpc_port=True))
                os._exit(0)
            except PortBusy as exc:
                log.error("%s", exc)
                os._exit(1)
            except BaseException:
                log.exception("worker failed")
                os._exit(3)
        own.close()  # the worker holds it: one that exits takes its socket along
        return pid

    children.update(start_worker(own, sockets) for own in sockets)
    if options.port_file is not None:
        _write_port_file(options.port_file, http_port, grpc_port)
    stopping: list[int] = []

    def forward(sig: int, _frame: object) -> None:
        stopping.append(sig)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, sig)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)

    def restart() -> int:
        return start_worker(listener(options.host, http_port, reuse_port=True), [])

    status = supervise(children, stopping, metrics_dir, restart)
    if reserved is not None:
        reserved.close()
    shutil.rmtree(metrics_dir, ignore_errors=True)
    return status if status in (0, 1) else 3
