"""What the per-request metrics cost: ``GET /configs/lookup`` at 64 connections (wrk), one
server process with the metrics on next to one with ``--no-request-metrics`` (the baseline),
and the same in process as CPU µs per request. Issue 15's bound: at most 10 % of the
throughput. ``python -m bench --only metrics_overhead``.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

from bench import deps, repogen, subject
from bench.asgi_layers import lookup_service, scope_of
from bench.http_lookup import WRK_THREADS, Endpoint, gitconfig_endpoint
from bench.tools import (
    MIN_MAX,
    SUMMARY_HEADERS,
    Row,
    Sample,
    ServerError,
    Settings,
    Table,
    measure_rows,
    progress,
    run_wrk,
    span,
)

NAME = "metrics_overhead"
CONNECTIONS = 64
VARIANTS = {"on": (), "off": ("--no-request-metrics",)}


def run(settings: Settings) -> list[Table]:
    table = Table("Per-request metrics: cost on the lookup (wrk)", ["request metrics"])
    table.headers += SUMMARY_HEADERS
    absent = deps.missing("wrk", "git")
    if absent:
        table.notes.append("skipped: " + deps.install_hint(absent))
        return [table]
    unavailable = subject.unavailable(1)
    n_configs = 1_000 if settings.quick else 10_000
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as tmp, ExitStack() as stack:
        repo = Path(tmp) / "configs.git"
        repogen.make_repo(repo, n_configs=n_configs, n_flags=10)
        rows: list[Row] = []
        for name, extra in VARIANTS.items():
            reason, endpoint = unavailable, None
            if reason is None:
                try:
                    path = subject.lookup_path()
                    endpoint = stack.enter_context(gitconfig_endpoint(repo, 1, path, extra=extra))
                except ServerError as exc:
                    progress(f"failed to start: {exc}")
                    reason = "failed to start (see stderr)"
            if endpoint is None:
                rows.append(Row((name,), reason=reason or "not available"))
            else:
                rows.append(Row((name,), partial(_wrk, endpoint)))
        table.rows = measure_rows(rows, settings, table.notes)
    table.notes += [
        f"one `gitconfig serve` process per row, {CONNECTIONS} connections, wrk -t{WRK_THREADS}; "
        f"median of {settings.runs} runs of {settings.duration_s:g} s per row, rows "
        f"interleaved; a generated repository of {n_configs:,} configurations",
        "off: `--no-request-metrics` (no request metrics, no request id); the index, stream, "
        "write and process metrics are there in both",
    ]
    return [table, in_process(settings)]


def in_process(settings: Settings) -> Table:
    """CPU microseconds per ``GET /configs/lookup`` through the whole ASGI app."""
    from gitconfig.rest.app import create_app

    table = Table("Per-request metrics: CPU per lookup, in-process ASGI", ["request metrics"])
    table.headers += ["µs per request (median)", MIN_MAX, "requests per run"]
    scope = scope_of(subject.lookup_path(), subject.AUTH_HEADERS)
    requests = 5_000 if settings.quick else 20_000
    with lookup_service() as (service, tokens):
        apps = {name: create_app(service, tokens, observe=name == "on") for name in VARIANTS}
        status: list[int] = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        async def drive(app: Any, n: int) -> float:
            started = time.process_time()
            for _ in range(n):
                await app({**scope, "state": {}}, receive, send)
            return (time.process_time() - started) / n * 1e6

        async def measure() -> dict[str, list[float]]:
            for app in apps.values():
                await drive(app, requests // 10)
            found: dict[str, list[float]] = {name: [] for name in apps}
            for _ in range(settings.runs + 2):
                for name, app in apps.items():
                    found[name].append(await drive(app, requests))
            return found

        found = asyncio.run(measure())
    assert set(status) == {200}, set(status)
    for name, runs in found.items():
        table.rows.append(
            [name, f"{statistics.median(runs):.2f}", span(runs, ".2f"), f"{requests:,}"]
        )
    on, off = (statistics.median(found[name]) for name in ("on", "off"))
    table.notes.append(
        f"median of {settings.runs + 2} runs per row, rows interleaved; the metrics add "
        f"{on - off:.2f} µs per request ({(on - off) / off * 100:.0f} % of the app's own CPU; "
        "uvicorn's HTTP parsing and the socket work come on top of both)"
    )
    return table


def _wrk(endpoint: Endpoint, duration_s: float) -> Sample:
    url, script = endpoint
    return run_wrk(url, script, CONNECTIONS, duration_s, WRK_THREADS)
