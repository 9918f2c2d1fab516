"""The ecosystem protocols over HTTP, with wrk: OFREP and Spring Cloud Config.

Rows, all against one ``gitconfig serve`` process, measured in the same run, interleaved
round-robin (``tools.measure_rows``):

- baseline: ``GET /feature-flags/check`` (the fast path) and ``GET /configs/lookup``;
- OFREP single-flag evaluation, ``POST /ofrep/app-0/PROD/ofrep/v1/evaluate/flags/flag-0``,
  the same flag and user as the check;
- OFREP bulk evaluation of the application's 10 flags;
- Spring ``GET /spring/spring-app/prod`` for an application of 100 configuration keys.
"""

from __future__ import annotations

import json
import tempfile
from contextlib import ExitStack
from functools import partial
from pathlib import Path

from bench import deps, repogen, subject
from bench.tools import (
    SUMMARY_HEADERS,
    Row,
    Sample,
    Settings,
    Table,
    measure_rows,
    run_wrk,
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
    table = Table("OFREP and Spring Cloud Config over HTTP (wrk)", ["request", "connections"])
    table.headers += SUMMARY_HEADERS
    absent = deps.missing("wrk", "git")
    unavailable = subject.unavailable(1)
    if absent or unavailable:
        table.notes.append("skipped: " + (deps.install_hint(absent) if absent else unavailable))
        return [table]
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
    return [table]


def _wrk(url: str, script: str, duration_s: float) -> Sample:
    return run_wrk(url, script, CONNECTIONS, duration_s, 1)
