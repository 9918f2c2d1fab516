"""Access control and the audit trail: ``GET /configs/lookup`` (wrk at 64 connections, and in
process) with an access file of 1,000 subjects next to the admin token only (target >=
0.95x), and ``GET /audit`` in a repository of 20,000 commits (target < 20 ms).
``python -m bench --only access``.
"""

from __future__ import annotations

import hashlib
import statistics
import tempfile
import time
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
    ServerError,
    Settings,
    Table,
    measure_rows,
    progress,
    run_wrk,
    span,
    wrk_script,
)

NAME = "access"
SUBJECTS = 1_000
CALLER = 500  # the subject whose token the load uses
CONNECTIONS = 64
AUDIT_COMMITS = 20_000


def token(number: int) -> str:
    return f"bench-subject-token-{number}"


def access_file(path: Path) -> None:
    lines = ["subjects:"]
    for n in range(SUBJECTS):
        digest = hashlib.sha256(token(n).encode()).hexdigest()
        apps = '["app-*"]' if n == CALLER else f'["team-{n}-*", "svc-{n}"]'
        lines += [
            f"  - name: subject-{n}",
            f"    email: subject-{n}@example.com",
            f"    token_sha256: {digest}",
            "    grants:",
            f"      - {{role: reader, applications: {apps}, environments: [PROD]}}",
            f'      - {{role: writer, applications: ["sandbox-{n}"], environments: [DEV, TEST]}}',
        ]
    path.write_text("\n".join(lines) + "\n")


def lookup_rows(repo: Path, stack: ExitStack, tmp: Path) -> list[Row]:
    rows = []
    access = tmp / "access.yaml"
    access_file(access)
    variants = [
        ("admin token only", [], subject.AUTH_HEADERS, subject.TOKEN),
        (
            f"access file, {SUBJECTS:,} subjects",
            ["--access-file", str(access)],
            {"Authorization": f"Bearer {token(CALLER)}"},
            None,
        ),
    ]
    for label, extra, headers, admin in variants:
        try:
            server = subject.gitconfig_server(
                repo, 1, extra=extra, admin_token=admin, headers=headers
            )
            endpoints = stack.enter_context(server)
        except ServerError as exc:
            progress(f"failed to start: {exc}")
            rows.append(Row((label, str(CONNECTIONS)), reason="failed to start"))
            continue
        url = endpoints.http_url + subject.lookup_path()
        rows.append(Row((label, str(CONNECTIONS)), partial(_wrk, url, wrk_script(headers=headers))))
    return rows


def _wrk(url: str, script: str, duration_s: float) -> Sample:
    return run_wrk(url, script, CONNECTIONS, duration_s, 1)


def asgi_table(settings: Settings, repo: Path, tmp: Path) -> Table:
    """The same comparison without sockets or wrk: the REST app called as ASGI in process,
    rows interleaved, so that a busy machine's noise does not decide it."""
    import asyncio

    from gitconfig.access.accessfile import AccessFile
    from gitconfig.access.principals import TokenRegistry
    from gitconfig.rest.app import create_app
    from gitconfig.runtime.bootstrap import open_service

    service = open_service(repo)
    service.index.refresh()
    access = tmp / "access-asgi.yaml"
    access_file(access)
    admin = TokenRegistry()
    admin.add(subject.TOKEN, "admin", ["admin"])
    apps = {
        "admin token only": (create_app(service, admin), f"Bearer {subject.TOKEN}"),
        f"access file, {SUBJECTS:,} subjects": (
            create_app(service, TokenRegistry(AccessFile(access))),
            f"Bearer {token(CALLER)}",
        ),
    }
    path, _, query = subject.lookup_path().partition("?")
    requests = 5_000 if settings.quick else 20_000

    async def call(app: Any, authorization: str) -> int:
        headers = [(b"host", b"bench"), (b"authorization", authorization.encode())]
        scope = {
            "type": "http",
            "method": "GET",
            "path": path,
            "query_string": query.encode(),
            "headers": headers,
        }
        sent: list[Any] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: Any) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return int(sent[0]["status"])

    async def measure() -> dict[str, list[float]]:
        times: dict[str, list[float]] = {name: [] for name in apps}
        for app, authorization in apps.values():
            assert await call(app, authorization) == 200
        for _ in range(settings.runs + 2):
            for name, (app, authorization) in apps.items():
                started = time.perf_counter()
                for _ in range(requests):
                    await call(app, authorization)
                times[name].append((time.perf_counter() - started) / requests * 1e6)
        return times

    times = asyncio.run(measure())
    table = Table(
        "Lookup as ASGI in process, 1,000 subjects vs admin only",
        ["server", "µs per request (median)", MIN_MAX, "ratio"],
    )
    base = statistics.median(times["admin token only"])
    for name, values in times.items():
        median = statistics.median(values)
        table.rows.append([name, f"{median:.1f}", span(values, ".1f"), f"{base / median:.2f}x"])
    table.notes.append(
        f"{settings.runs + 2} interleaved runs of {requests:,} requests each; the app with its "
        "fast path, called directly (no sockets, no HTTP parsing)"
    )
    return table


def audit_table(settings: Settings, tmp: Path) -> Table:
    from fastapi.testclient import TestClient

    from gitconfig.access.principals import TokenRegistry
    from gitconfig.rest.app import create_app
    from gitconfig.runtime.bootstrap import open_service

    commits = 2_000 if settings.quick else AUDIT_COMMITS
    table = Table(
        f"GET /audit, {commits:,} commits (in process, FastAPI TestClient)",
        ["query", "matches", "median ms", "p90 ms", "requests"],
    )
    repo = tmp / "audit.git"
    n_configs = 1_000
    started = time.perf_counter()
    repogen.make_repo(repo, n_configs=n_configs, n_commits=commits)
    service = open_service(repo)
    service.index.refresh()
    build_s = time.perf_counter() - started
    tokens = TokenRegistry()
    tokens.add("t", "admin", ["admin"])
    client = TestClient(create_app(service, tokens), headers={"Authorization": "Bearer t"})
    key_path = repogen.config_path(7)  # configs/app-0/DEV/key-7.yaml
    _, app, env, key = key_path.removesuffix(".yaml").split("/")
    queries = [
        ("one key", {"application": app, "environment": env, "key": key}),
        ("one application", {"application": app}),
        ("everything (page 0)", {}),
    ]
    requests = 30 if settings.quick else 100
    for label, params in queries:
        times = []
        total = 0
        for _ in range(requests):
            t0 = time.perf_counter()
            response = client.get("/audit", params=params)
            times.append((time.perf_counter() - t0) * 1000)
            total = response.json()["totalElements"]
        times.sort()
        table.rows.append(
            [
                label,
                f"{total:,}",
                f"{statistics.median(times):.2f}",
                f"{times[int(len(times) * 0.9)]:.2f}",
                str(requests),
            ]
        )
    table.notes.append(
        f"repository generated with {n_configs:,} configurations and {commits:,} commits, each "
        f"changing one configuration; generating and indexing it (history and audit) took "
        f"{build_s:.1f} s; page size 20"
    )
    return table


def run(settings: Settings) -> list[Table]:
    tables = []
    lookup = Table("Lookup with 1,000 subjects vs admin only (wrk)", ["server", "connections"])
    lookup.headers += SUMMARY_HEADERS
    absent = deps.missing("wrk", "git")
    with tempfile.TemporaryDirectory(prefix="bench-access-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        if absent:
            lookup.notes.append("skipped: " + deps.install_hint(absent))
        else:
            repo = tmp / "configs.git"
            repogen.make_repo(repo, n_configs=1_000 if settings.quick else 10_000, n_flags=10)
            rows = lookup_rows(repo, stack, tmp)
            lookup.rows = measure_rows(rows, settings, lookup.notes)
            in_process = asgi_table(settings, repo, tmp)
            lookup.notes.append(
                f"median of {settings.runs} runs of {settings.duration_s:g} s per row, rows "
                "interleaved; the access-file caller is a reader of app-* in PROD, one of "
                f"{SUBJECTS:,} subjects with two scoped grants each"
            )
        tables.append(lookup)
        if not absent:
            tables.append(in_process)
        stack.close()
        tables.append(audit_table(settings, tmp))
    return tables
