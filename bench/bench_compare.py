"""``GET /configs/compare`` of two environments of 1,000 keys (100 differing) over HTTP, one
keep-alive client, next to a lookup of one key and ``GET /configs`` of the same 1,000 entries.

    .venv/bin/python -m bench --only compare [--quick]
"""

from __future__ import annotations

import http.client
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench import subject
from bench.tools import (
    SUMMARY_HEADERS,
    Row,
    Sample,
    Settings,
    Table,
    measure_rows,
    percentile,
)
from gitconfig.core.model import Author
from gitconfig.store.gitstore import GitStore

NAME = "compare"
KEYS = 1_000
FLAGS = 20
APP = subject.APPLICATION


def _config(value: int) -> bytes:
    return f"type: NUMBER\nvalue: {value}\ndescription: Bench value\ntags: [bench]\n".encode()


def _flag(region: str) -> bytes:
    return (
        "description: Bench flag\nenabled: true\nrules:\n"
        f"  - {{attribute: region, operator: IN, values: [{region}]}}\n"
        "  - {attribute: appVersion, operator: SEMVER_GREATER_THAN, values: [5.2.0]}\n"
        "  - percentage: 50\n"
    ).encode()


def make_repo(path: Path) -> str:
    """The benchmark repository (bare); returns its first commit."""
    store = GitStore.init(path, bare=True, fsync=False)
    author = Author("Bench", "bench@example.com")
    files: dict[str, bytes | None] = {}
    for n in range(KEYS):
        staging, prod = n, n
        if n < 50:
            staging = n + 1_000  # a changed value
        if not 50 <= n < 75:  # 25 keys only in STAGING
            files[f"configs/{APP}/PROD/key-{n}.yaml"] = _config(prod)
        files[f"configs/{APP}/STAGING/key-{n if not 75 <= n < 100 else n + KEYS}.yaml"] = _config(
            staging
        )  # keys 75..99 of PROD have no STAGING twin: 25 only in PROD
    for n in range(FLAGS):
        files[f"flags/{APP}/PROD/flag-{n}.yaml"] = _flag("EU")
        files[f"flags/{APP}/STAGING/flag-{n}.yaml"] = _flag("UK" if n < 5 else "EU")
    first = store.write(None, files, author, "Benchmark environments")
    store.write(first, {f"configs/{APP}/PROD/key-0.yaml": _config(7)}, author, "Change key-0")
    return first


def _requests(connection: http.client.HTTPConnection, path: str, duration_s: float) -> Sample:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration_s
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        sent = time.perf_counter()
        connection.request("GET", path, headers=subject.AUTH_HEADERS)
        response = connection.getresponse()
        response.read()
        latencies.append((time.perf_counter() - sent) * 1000)
        errors += response.status != 200
    elapsed = time.perf_counter() - started
    latencies.sort()
    return Sample(
        len(latencies) / elapsed, percentile(latencies, 50), percentile(latencies, 99), errors
    )


def _compare_path(source: str, target: str) -> str:
    query = urllib.parse.urlencode({"application": APP, "from": source, "to": target})
    return f"/configs/compare?{query}"


def run(settings: Settings) -> list[Table]:
    table = Table(
        "Compare two environments of 1,000 keys over HTTP (one client, keep-alive)",
        ["request", *SUMMARY_HEADERS],
    )
    reason = subject.unavailable(1)
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        repo = Path(tmp) / "configs.git"
        first = make_repo(repo)
        paths = [
            ("lookup one key (baseline)", subject.lookup_path()),
            (
                "list 1,000 configs (baseline)",
                f"/configs?application={APP}&environment=PROD&size=1000",
            ),
            ("compare STAGING..PROD", _compare_path("STAGING", "PROD")),
            ("compare PROD@first..PROD", _compare_path(f"PROD@{first}", "PROD")),
        ]
        if reason is not None:
            table.rows = [[label, reason, *[""] * (len(SUMMARY_HEADERS) - 1)] for label, _ in paths]
            return [table]
        with subject.gitconfig_server(repo, 1) as endpoints:
            host, port = urllib.parse.urlsplit(endpoints.http_url).netloc.split(":")
            connection = http.client.HTTPConnection(host, int(port), timeout=30)
            rows: list[Row] = []
            for label, path in paths:
                measure: Callable[[float], Sample] = partial(_requests, connection, path)
                rows.append(Row((label,), measure))
            table.rows = measure_rows(rows, settings, table.notes)
            connection.close()
    table.notes += [
        f"median of {settings.runs} runs of {settings.duration_s:g} s per row (after a "
        f"{settings.warmup_s:g} s warm-up), rows interleaved round-robin; closed loop, one "
        "request at a time, so req/s = 1000 / mean latency in ms",
        f"application {APP}: {KEYS:,} keys per environment, 100 differing (50 values, 25 only "
        f"in STAGING, 25 only in PROD) and {FLAGS} flags per environment (5 differing by a rule)",
        "gitconfig serve with 1 process; the client runs on the same 2-core machine",
    ]
    return [table]
