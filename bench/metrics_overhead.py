"""What the per-request metrics cost: ``GET /configs/lookup`` at 64 connections, one server
process, with the request metrics (and request ids) on, next to the same server with them
off (``--no-request-metrics``), in the same run, rows interleaved. Issue 15's bound: the
metrics must not cost more than 10 % of the throughput."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path

from bench import deps, repogen, subject
from bench.http_lookup import WRK_THREADS, Endpoint
from bench.tools import (
    SUMMARY_HEADERS,
    Row,
    Sample,
    ServerError,
    Settings,
    Table,
    measure_rows,
    progress,
    run_wrk,
    wrk_script,
)

NAME = "metrics_overhead"
CONNECTIONS = 64
VARIANTS = {"on": (), "off": ("--no-request-metrics",)}


@contextmanager
def lookup(repo: Path, extra: tuple[str, ...]) -> Iterator[Endpoint]:
    with subject.gitconfig_server(repo, 1, extra=extra) as endpoints:
        yield endpoints.http_url + subject.lookup_path(), wrk_script(headers=subject.AUTH_HEADERS)


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
                    endpoint = stack.enter_context(lookup(repo, extra))
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
    return [table]


def _wrk(endpoint: Endpoint, duration_s: float) -> Sample:
    url, script = endpoint
    return run_wrk(url, script, CONNECTIONS, duration_s, WRK_THREADS)
