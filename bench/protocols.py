"""The ecosystem protocols over HTTP (wrk, 64 connections) and in process (CPU µs per
request): OFREP single and bulk evaluation, Spring ``GET /spring/spring-app/prod`` of 100 keys.
Baselines, same server and run: ``GET /feature-flags/check`` and ``GET /configs/lookup``.
``python -m bench --only protocols``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import MutableMapping
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

from bench import deps, repogen, subject
from bench.tools import (
    MIN_MAX,
    SUMMARY_HEADERS,
    Row,
    Sample,
    Settings,
    Table,
    measure_rows,
    run_wrk,
    span,
    wrk_script,
)

NAME = "protocols"
CONNECTIONS = 64
SPRING_APP = "spring-app"
SPRING_KEYS = 100
OFREP_BASE = f"/ofrep/{subject.APPLICATION}/{subject.ENVIRONMENT}/ofrep/v1/evaluate/flags"
OFREP_BODY = json.dumps({"context": {"targetingKey": "user-42"}})


def spring_content(number: int) -> bytes:
    """Every fourth key a small JSON object (flattened to two properties), the rest numbers."""
    if number % 4 == 0:
        return (
            f"type: JSON\nvalue: {{host: db-{number}.internal, port: {5400 + number}}}\n".encode()
        )
    return repogen.config_content(number)


def make_repo(path: Path, n_configs: int) -> None:
    repogen.make_repo(path, n_configs=n_configs, n_flags=10)
    for number in range(SPRING_KEYS):
        path_in_repo = f"configs/{SPRING_APP}/PROD/key-{number}.yaml"
        repogen.add_commit(path, path_in_repo, spring_content(number), "Spring application")


def run(settings: Settings) -> list[Table]:
    return [_over_http(settings), _in_process(settings)]


def _over_http(settings: Settings) -> Table:
    table = Table("OFREP and Spring Cloud Config over HTTP (wrk)", ["request", "connections"])
    table.headers += SUMMARY_HEADERS
    absent = deps.missing("wrk", "git")
    unavailable = subject.unavailable(1)
    if absent or unavailable:
        table.notes.append(
            "skipped: " + (deps.install_hint(absent) if absent else str(unavailable))
        )
        return table
    n_configs = 1_000 if settings.quick else 10_000
    auth = subject.AUTH_HEADERS
    json_post = {**auth, "Content-Type": "application/json"}
    with tempfile.TemporaryDirectory(prefix="bench-protocols-") as tmp, ExitStack() as stack:
        repo = Path(tmp) / "configs.git"
        make_repo(repo, n_configs)
        url = stack.enter_context(subject.gitconfig_server(repo, 1)).http_url
        requests = [
            (
                "GET /feature-flags/check (baseline)",
                url + subject.check_path(),
                wrk_script(headers=auth),
            ),
            (
                "POST OFREP evaluate one flag",
                f"{url}{OFREP_BASE}/{subject.FLAG_KEY}",
                wrk_script("POST", OFREP_BODY, json_post),
            ),
            (
                "POST OFREP evaluate all (10 flags)",
                url + OFREP_BASE,
                wrk_script("POST", OFREP_BODY, json_post),
            ),
            (
                "GET /configs/lookup (baseline)",
                url + subject.lookup_path(),
                wrk_script(headers=auth),
            ),
            (
                f"GET /spring/{SPRING_APP}/prod ({SPRING_KEYS} keys)",
                f"{url}/spring/{SPRING_APP}/prod",
                wrk_script(headers=auth),
            ),
        ]
        rows = [
            Row((name, str(CONNECTIONS)), partial(_wrk, target, script))
            for name, target, script in requests
        ]
        table.rows = measure_rows(rows, settings, table.notes)
    table.notes += [
        f"one `gitconfig serve` process; median of {settings.runs} runs of "
        f"{settings.duration_s:g} s per row (after a {settings.warmup_s:g} s warm-up), rows "
        "interleaved round-robin; wrk -t1, closed loop",
        f"repository: {n_configs:,} generated configurations, 10 flags of app-0 (an attribute "
        f"rule, then a 50 % rollout), and `{SPRING_APP}/PROD` with {SPRING_KEYS} keys (every "
        "fourth a JSON object of two properties)",
        f"OFREP body `{OFREP_BODY}`: the same flag and user as the check's `userId=user-42`",
    ]
    return table


def _wrk(url: str, script: str, duration_s: float) -> Sample:
    return run_wrk(url, script, CONNECTIONS, duration_s, 1)


# -- in process: the ASGI app called directly, CPU time per request ----------------------------


def _scope(method: str, target: str) -> dict[str, Any]:
    path, _, query = target.partition("?")
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {subject.TOKEN}".encode())]
    if method == "POST":
        headers.append((b"content-type", b"application/json"))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }


async def _cpu_per_request(app: Any, scope: dict[str, Any], body: bytes, n: int) -> float:
    """Microseconds of process CPU time per request (after a warm-up of 200)."""
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for _ in range(200):
        await app(scope, receive, send)
    start = time.process_time()
    for _ in range(n):
        await app(scope, receive, send)
    elapsed = time.process_time() - start
    assert set(statuses) == {200}, statuses
    return elapsed / n * 1e6


def _in_process(settings: Settings) -> Table:
    from gitconfig.access.principals import TokenRegistry
    from gitconfig.rest.app import create_app
    from gitconfig.runtime.bootstrap import open_service

    table = Table(
        "OFREP and Spring in process (the ASGI app called directly, no sockets)",
        ["request", "CPU µs per request (median)", MIN_MAX, "vs the flag check"],
    )
    n = 2_000 if settings.quick else 5_000
    body = OFREP_BODY.encode()
    cases = [
        ("GET /feature-flags/check (baseline)", _scope("GET", subject.check_path()), b""),
        ("POST OFREP evaluate one flag", _scope("POST", f"{OFREP_BASE}/{subject.FLAG_KEY}"), body),
        ("POST OFREP evaluate all (10 flags)", _scope("POST", OFREP_BASE), body),
        ("GET /configs/lookup", _scope("GET", subject.lookup_path()), b""),
        (
            f"GET /spring/{SPRING_APP}/prod ({SPRING_KEYS} keys)",
            _scope("GET", f"/spring/{SPRING_APP}/prod"),
            b"",
        ),
    ]
    with tempfile.TemporaryDirectory(prefix="bench-protocols-") as tmp:
        repo = Path(tmp) / "configs.git"
        make_repo(repo, 1_000)
        service = open_service(repo)
        service.index.refresh()
        tokens = TokenRegistry()
        tokens.add(subject.TOKEN, "bench", ["admin"])
        app = create_app(service, tokens)
        samples: dict[str, list[float]] = {case[0]: [] for case in cases}
        for _round in range(settings.runs):  # interleaved: noise spreads over every row
            for name, scope, payload in cases:
                samples[name].append(asyncio.run(_cpu_per_request(app, scope, payload, n)))
    baseline = statistics.median(samples[cases[0][0]])
    for name in samples:
        median = statistics.median(samples[name])
        table.rows.append(
            [
                name,
                f"{median:.1f}",
                span(samples[name], ".1f"),
                f"{baseline / median:.2f}x" if name != cases[0][0] else "1.00x",
            ]
        )
    table.notes.append(
        f"median of {settings.runs} rounds of {n:,} requests per row, rows interleaved; "
        "process CPU time (time.process_time), so other tenants of the machine disturb it "
        "far less than a wall-clock load test; 'vs the flag check' is the check's CPU time "
        "over the row's (above 1: cheaper than the check)"
    )
    return table
