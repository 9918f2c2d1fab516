"""Where the CPU of a cached ``GET /configs/lookup`` goes, in process (``time.thread_time``):
through uvicorn's HTTP protocol without a socket, the app layer by layer, the fast path's
pieces. Baseline: the bare ASGI app of ``http_lookup`` (baseline A).

``python -m bench --only asgi_layers`` (``--quick``: fewer requests).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from email.utils import formatdate
from pathlib import Path
from typing import Any

import uvloop

from bench import asgi_baseline, repogen, subject
from bench.tools import MIN_MAX, Settings, Table, ratio, span

NAME = "asgi_layers"
App = Callable[..., Awaitable[object]]  # an ASGI app or answerer
Call = Callable[[], Awaitable[object]]  # one request, awaited


def request_bytes(target: str, headers: dict[str, str]) -> bytes:
    """The request as wrk sends it (``Host``, then the script's headers)."""
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1:8080"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def scope_of(target: str, headers: dict[str, str]) -> dict[str, Any]:
    path, _, query = target.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 40000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1:8080")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "state": {},
    }


@contextmanager
def lookup_service() -> Iterator[tuple[Any, Any]]:
    """(service, tokens) over a small generated repository, indexed; the bench token is an
    admin token (as ``GITCONFIG_ADMIN_TOKEN`` makes it in ``gitconfig serve``)."""
    from gitconfig.access.principals import TokenRegistry
    from gitconfig.runtime.bootstrap import open_service

    with tempfile.TemporaryDirectory(prefix="bench-layers-") as tmp:
        repo = Path(tmp) / "configs.git"
        repogen.make_repo(repo, n_configs=100, n_flags=10)
        service = open_service(repo)
        service.index.refresh()
        tokens = TokenRegistry()
        tokens.add(subject.TOKEN, "admin", ["admin"])
        yield service, tokens


class _Transport:
    """What uvicorn's protocol writes to, instead of a socket: it counts the writes."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 40000)}.get(name)

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass


class Connection:
    """One keep-alive connection into uvicorn's httptools protocol serving ``app``."""

    def __init__(self, app: App, **settings: Any) -> None:
        import uvicorn
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
        from uvicorn.server import ServerState

        config = uvicorn.Config(
            app, lifespan="off", http="httptools", access_log=False, log_config=None, **settings
        )
        config.load()
        self.state = ServerState()  # the headers uvicorn's server adds to every answer:
        self.state.default_headers = [(b"date", formatdate(usegmt=True).encode())]
        self.state.default_headers += config.encoded_headers  # server: uvicorn
        self.protocol = HttpToolsProtocol(config, self.state, {}, asyncio.get_running_loop())
        self.transport = _Transport()
        self.protocol.connection_made(self.transport)  # type: ignore[arg-type]  # a fake socket

    async def request(self, data: bytes) -> None:
        self.protocol.data_received(data)
        await asyncio.gather(*self.state.tasks)

    def last_status(self) -> bytes:
        return self.transport.written[-2][9:12] if len(self.transport.written) > 1 else b""


async def _cpu_per_call(call: Callable[[], Any], n: int) -> float:
    started = time.thread_time()
    for _ in range(n):
        await call()
    return (time.thread_time() - started) / n * 1e6


def _sync_cpu_per_call(call: Callable[[], object], n: int) -> float:
    started = time.thread_time()
    for _ in range(n):
        call()
    return (time.thread_time() - started) / n * 1e6


async def _interleaved(calls: Mapping[str, Call], n: int, runs: int) -> dict[str, list[float]]:
    for call in calls.values():
        await _cpu_per_call(call, max(1, n // 10))
    found: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            found[name].append(await _cpu_per_call(call, n))
    return found


def _rows(table: Table, found: dict[str, list[float]], base: str | None, n: int) -> None:
    reference = statistics.median(found[base]) if base is not None else None
    for name, runs in found.items():
        median = statistics.median(runs)
        cells = [name, f"{median:.2f}", span(runs, ".2f")]
        if reference is not None:
            cells.append(ratio(reference / median, ".2f"))
        table.rows.append([*cells, f"{n:,}"])


def layers(service: Any, tokens: Any) -> dict[str, App]:
    """The lookup's answerers, from the whole app inwards: the app (the fast path asked
    first), the fast path's ``answer`` alone, with and without its request metrics and id,
    and the FastAPI route behind it (middlewares, routing, dependencies, rendering)."""
    from gitconfig.access.gate import Gate
    from gitconfig.rest.app import create_app
    from gitconfig.rest.fastpath import ReadFastPath

    with_metrics = ReadFastPath(service, Gate(tokens), service.metrics)
    without = ReadFastPath(service, Gate(tokens))
    return {
        "gitconfig app (create_app)": create_app(service, tokens),
        "ReadFastPath.answer": with_metrics.answer,
        "ReadFastPath.answer, no request metrics": without.answer,
        "the FastAPI route (create_app(fast_reads=False))": create_app(
            service, tokens, fast_reads=False
        ),
    }


def run(settings: Settings) -> list[Table]:
    n = 4_000 if settings.quick else 20_000
    runs = settings.runs + 2
    with lookup_service() as (service, tokens):
        from gitconfig.rest.app import create_app

        app = create_app(service, tokens)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(_measure(app, service, tokens, n, runs))


async def _measure(app: Any, service: Any, tokens: Any, n: int, runs: int) -> list[Table]:
    from gitconfig.runtime import server

    auth = subject.AUTH_HEADERS
    lookup, check = subject.lookup_path(), subject.check_path()
    through = Table(
        "ASGI layers: CPU per request through uvicorn's HTTP protocol (no socket)", ["request"]
    )
    through.headers += ["µs per request (median)", MIN_MAX, "bare app / this", "requests per run"]
    served = server.UVICORN_OPTIONS  # as `gitconfig serve` configures uvicorn
    connections = {
        "bare ASGI app (baseline A)": (Connection(asgi_baseline.app), request_bytes("/", {})),
        "gitconfig lookup": (Connection(app, **served), request_bytes(lookup, auth)),
        "gitconfig flag check": (Connection(app, **served), request_bytes(check, auth)),
    }
    calls: dict[str, Call] = {}
    for name, (connection, data) in connections.items():

        def request(c: Connection = connection, d: bytes = data) -> Awaitable[None]:
            return c.request(d)

        calls[name] = request
    found = await _interleaved(calls, n, runs)
    for name, (connection, _) in connections.items():
        assert connection.last_status() == b"200", (name, connection.transport.written[-2:])
    _rows(through, found, "bare ASGI app (baseline A)", n)

    peeled = Table("ASGI layers: CPU per lookup, in-process ASGI calls", ["called"])
    peeled.headers += ["µs per request (median)", MIN_MAX, "requests per run"]
    scope = scope_of(lookup, auth)
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    apps = {"bare ASGI app (baseline A)": asgi_baseline.app, **layers(service, tokens)}
    calls = {}
    for name, answerer in apps.items():

        def call(a: App = answerer) -> Awaitable[object]:
            return a({**scope, "state": {}}, receive, send)

        calls[name] = call
    found = await _interleaved(calls, n, runs)
    assert set(statuses) == {200}, set(statuses)
    _rows(peeled, found, None, n)
    return [through, peeled, pieces(service, tokens, n, runs)]


def pieces(service: Any, tokens: Any, n: int, runs: int) -> Table:
    """CPU per call of each piece of a fast lookup: what a repeated request pays (kept
    header, kept query, decision, snapshot, request id, tally) and, for comparison, what the
    first one pays instead (SHA-256 of the token, parsing the query)."""
    from gitconfig.access.principals import authorize, token_digest
    from gitconfig.access.tokencache import HeaderAuthenticator
    from gitconfig.rest import fastpath
    from gitconfig.service import requestid

    table = Table("ASGI layers: the pieces of a fast lookup", ["piece"])
    table.headers += ["µs per call (median)", MIN_MAX, "calls per run"]
    header = f"Bearer {subject.TOKEN}"
    raw_header = header.encode()
    principal = tokens.authenticate(header)
    authenticator = HeaderAuthenticator(tokens)
    query = subject.lookup_path().partition("?")[2].encode()
    allowed = fastpath._ALLOWED[fastpath.LOOKUP]
    kept_queries = {query: object()}
    tally = service.metrics.http_tally(fastpath.LOOKUP, "GET", 200)
    app = subject.APPLICATION
    calls: dict[str, Callable[[], object]] = {
        "authenticate a kept header (tokencache)": lambda: authenticator.authenticate(raw_header),
        "find the kept query string": lambda: kept_queries.get(query),
        "the principal's decision (authorize)": lambda: authorize(principal, "read", app, "PROD"),
        "the current snapshot": service.reads.snapshot,
        "new request id": requestid.new,
        "tally one observation": lambda: tally.observe(0.0001),
        "two perf_counter calls": lambda: (time.perf_counter(), time.perf_counter()),
        "first request only: authenticate (SHA-256 + lookup)": lambda: tokens.authenticate(header),
        "first request only: SHA-256 of the token": lambda: token_digest(subject.TOKEN),
        "first request only: parse the query": lambda: fastpath._query(query, allowed),
    }
    found: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            found[name].append(_sync_cpu_per_call(call, n * 5))
    _rows(table, found, None, n * 5)
    return table
