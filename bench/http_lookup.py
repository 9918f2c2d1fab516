"""HTTP reads: ``GET /configs/lookup`` and the flag check with wrk (one thread) at 16 and 64
connections, 1 and 2 server processes, with the server's CPU per request.

Baselines in the same run: A, the bare ASGI app (``asgi_baseline.py``) on uvicorn (and on
granian when installed); B, one key read from etcd over its HTTP gateway.
``python -m bench --only http_lookup``; the method is in docs/performance.md.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench import cpu, deps, etcd, repogen, subject
from bench.tools import (
    EN_DASH,
    HOST,
    SUMMARY_HEADERS,
    Row,
    Sample,
    ServerError,
    Settings,
    Table,
    free_port,
    http_ready,
    measure_rows,
    progress,
    run_wrk,
    server_process,
    summary_cells,
    wrk_script,
)

NAME = "http_lookup"
CONNECTIONS = (16, 64)
WRK_THREADS = 1
GRANIAN = ("--http-server", "granian")
REQUEST_ID = "bench-request-0001"  # the caller's id of the "X-Request-ID sent" rows
ROOT = Path(__file__).resolve().parent.parent

# (url, wrk lua script) of a started target
Endpoint = tuple[str, str]


@dataclass(frozen=True)
class Target:
    system: str
    processes: int
    start: Callable[[], AbstractContextManager[Endpoint]]
    unavailable: str | None = None
    connections: tuple[int, ...] = CONNECTIONS


def baseline_command(http_server: str, workers: int, port: int) -> list[str]:
    """Baseline A, ``bench.asgi_baseline:app``, on uvicorn (httptools, uvloop, no access log)
    or on granian (uvloop, HTTP/1, no lifespan), ``workers`` processes."""
    target = "bench.asgi_baseline:app"
    if http_server == "granian":
        exe = str(Path(sys.executable).parent / "granian")
        cmd = [exe, "--interface", "asginl", "--host", HOST, "--port", str(port)]
        cmd += ["--workers", str(workers), "--loop", "uvloop", "--http", "1", "--no-ws"]
        cmd += ["--log-level", "warning", "--working-dir", str(ROOT)]
        return [*cmd, target]
    cmd = [sys.executable, "-m", "uvicorn", target, "--app-dir", str(ROOT)]
    cmd += ["--host", HOST, "--port", str(port), "--workers", str(workers)]
    cmd += ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    return cmd


def granian_missing() -> str | None:
    if (Path(sys.executable).parent / "granian").exists():
        return None
    return "not available: pip install -e '.[bench]' (granian)"


@contextmanager
def asgi_baseline(http_server: str, workers: int) -> Iterator[Endpoint]:
    """The one way to start baseline A: ``http_server`` "uvicorn" or "granian"."""
    port = free_port()
    url = f"http://{HOST}:{port}/"
    cmd = baseline_command(http_server, workers, port)
    with server_process(f"{http_server} asgi baseline ({workers}p)", cmd, http_ready(url)):
        yield url, wrk_script()


@contextmanager
def etcd_baseline() -> Iterator[Endpoint]:
    key = repogen.config_path(0)
    with etcd.etcd_server() as client_url:
        etcd.put(client_url, key, repogen.config_content(0))
        script = wrk_script("POST", etcd.range_body(key), {"Content-Type": "application/json"})
        yield f"{client_url}/v3/kv/range", script


@contextmanager
def gitconfig_endpoint(
    repo: Path,
    workers: int,
    path: str,
    headers: Mapping[str, str] = subject.AUTH_HEADERS,
    extra: tuple[str, ...] = (),
) -> Iterator[Endpoint]:
    """``gitconfig serve`` (``extra``: more options) and wrk's GET ``path`` with ``headers``."""
    with subject.gitconfig_server(repo, workers, extra=extra) as endpoints:
        yield endpoints.http_url + path, wrk_script(headers=headers)


def targets(repo: Path) -> list[Target]:
    no_etcd = deps.missing("etcd")
    etcd_name = "etcd range (HTTP gateway)" if no_etcd else f"etcd {etcd.version()} range (HTTP)"
    lookup, check = subject.lookup_path(), subject.check_path()
    with_id = {**subject.AUTH_HEADERS, "X-Request-ID": REQUEST_ID}  # echoed in the answer
    auth = subject.AUTH_HEADERS
    gitconfig = [  # system, path, headers, connections
        ("gitconfig lookup", lookup, auth, CONNECTIONS),
        ("gitconfig lookup, caller sends X-Request-ID", lookup, with_id, (64,)),
        ("gitconfig flag check", check, auth, CONNECTIONS),
    ]
    return [
        Target("ASGI baseline (uvicorn)", 1, partial(asgi_baseline, "uvicorn", 1)),
        Target("ASGI baseline (uvicorn)", 2, partial(asgi_baseline, "uvicorn", 2)),
        Target(etcd_name, 1, etcd_baseline, deps.install_hint(no_etcd) if no_etcd else None),
        *(
            Target(
                system,
                workers,
                partial(gitconfig_endpoint, repo, workers, path, headers),
                subject.unavailable(workers),
                connections,
            )
            for system, path, headers, connections in gitconfig
            for workers in (1, 2)
        ),
        *(
            Target(system, workers, partial(start, workers), granian_missing(), (64,))
            for system, start in (
                ("ASGI baseline (granian)", partial(asgi_baseline, "granian")),
                (
                    "gitconfig lookup (--http-server granian)",
                    partial(gitconfig_endpoint, repo, path=lookup, extra=GRANIAN),
                ),
            )
            for workers in (1, 2)
        ),
    ]


def run(settings: Settings) -> list[Table]:
    table = Table("HTTP single-key read (wrk)", ["system", "processes", "connections"])
    table.headers += [*SUMMARY_HEADERS, "server CPU µs/request"]
    absent = deps.missing("wrk", "git")
    if absent:
        table.notes.append("skipped: " + deps.install_hint(absent))
        return [table]
    n_configs = 1_000 if settings.quick else 10_000
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp, ExitStack() as stack:
        repo = Path(tmp) / "configs.git"
        repogen.make_repo(repo, n_configs=n_configs, n_flags=10)
        rows: list[Row] = []
        for target in targets(repo):
            reason, endpoint = target.unavailable, None
            if reason is None:
                try:
                    endpoint = stack.enter_context(target.start())
                except ServerError as exc:
                    progress(f"failed to start: {exc}")
                    reason = "failed to start (see stderr)"
            for connections in target.connections:
                label = (target.system, str(target.processes), str(connections))
                if endpoint is None:
                    rows.append(Row(label, reason=reason or "not available"))
                else:
                    rows.append(Row(label, partial(_wrk, endpoint, connections)))
        table.rows = measure_rows(rows, settings, table.notes, cells_with_cpu)
    table.notes += [
        f"median of {settings.runs} runs of {settings.duration_s:g} s per row (after a "
        f"{settings.warmup_s:g} s warm-up), rows interleaved round-robin; wrk -t{WRK_THREADS}, "
        "closed loop (latency excludes queueing before send: no coordinated-omission correction)",
        f"gitconfig serves a generated repository of {n_configs:,} configuration files; the "
        f"lookup is `GET {subject.lookup_path()}` with a bearer token; the flag check is "
        f"`GET {subject.check_path()}` (a flag with an attribute rule, then a 50 % rollout)",
        f"'caller sends X-Request-ID' rows: every lookup carries `X-Request-ID: {REQUEST_ID}`, "
        "which the answer echoes (an answer to a caller that sends none carries none)",
        "errors: socket errors, timeouts and non-2xx answers, summed over all runs of the row",
        "granian rows (64 connections): `granian --interface asginl --loop uvloop --http 1` "
        "serving the same bare app, and `gitconfig serve --http-server granian`",
        "server CPU µs/request: the CPU time (user + system) the server's processes used during "
        "a run, divided by the requests answered (median over runs): steadier than req/s on a "
        "busy machine, since other tenants take wall-clock time, not this process's CPU",
    ]
    return [table]


def cells_with_cpu(samples: Sequence[Sample]) -> list[str]:
    """``summary_cells`` and the median server CPU per request."""
    cpu_us = [s.server_cpu_us for s in samples if s.server_cpu_us is not None]
    return [*summary_cells(samples), f"{statistics.median(cpu_us):.1f}" if cpu_us else EN_DASH]


def measure_with_cpu(
    url: str, script: str, connections: int, duration_s: float, threads: int = WRK_THREADS
) -> Sample:
    """One wrk run, and the CPU the servers this process started used meanwhile (all of
    them: the others are idle) per request answered."""
    before = cpu.descendant_ticks()
    sample = run_wrk(url, script, connections, duration_s, threads)
    ticks = cpu.descendant_ticks() - before
    requests = sample.rps * max(1, round(duration_s))
    per_request = ticks / cpu.TICKS_PER_SECOND / requests * 1e6 if requests else None
    return dataclasses.replace(sample, server_cpu_us=per_request)


def _wrk(endpoint: Endpoint, connections: int, duration_s: float) -> Sample:
    url, script = endpoint
    return measure_with_cpu(url, script, connections, duration_s)
