"""The service's state in the Prometheus text format (``GET /metrics``).

What an operator alerts on: not ready, files at HEAD that do not validate (served
fail-static: one series per file, labelled with its path and the commit that broke it), an
index that stopped following the branch, and how many stream subscribers there are.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from gitconfig.core.model import Kind
from gitconfig.service.base import ServiceBase
from gitconfig.service.secrets import oldest_ages, secret_problems

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _metric(lines: list[str], name: str, kind: str, help_text: str) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")


def render(service: ServiceBase) -> str:
    index = service.index
    lines: list[str] = []
    _metric(lines, "gitconfig_ready", "gauge", "1 once the first complete index is built")
    lines.append(f"gitconfig_ready {int(index.ready)}")
    if index.ready:
        snapshot = index.current()
        branch = _label(service.store.branch)
        _metric(lines, "gitconfig_index_info", "gauge", "The indexed commit of the branch")
        lines.append(
            f'gitconfig_index_info{{branch="{branch}",commit="{snapshot.commit or ""}"}} 1'
        )
        _metric(lines, "gitconfig_index_entries", "gauge", "Entries served, by kind")
        for kind in Kind:
            count = sum(len(g) for (k, _a, _e), g in snapshot.groups.items() if k is kind)
            lines.append(f'gitconfig_index_entries{{kind="{kind.value}"}} {count}')
        _metric(lines, "gitconfig_index_problems", "gauge", "Files at HEAD that do not validate")
        lines.append(f"gitconfig_index_problems {len(snapshot.problems)}")
        _metric(
            lines,
            "gitconfig_invalid_file",
            "gauge",
            "1 per file at HEAD that does not validate (served fail-static)",
        )
        for problem in sorted(snapshot.problems.values(), key=lambda p: p.path):
            lines.append(
                f'gitconfig_invalid_file{{path="{_label(problem.path)}",'
                f'commit="{problem.commit}"}} 1'
            )
        _secrets(lines, service)
    _metric(lines, "gitconfig_index_refreshes_total", "counter", "Refreshes that moved the index")
    lines.append(f"gitconfig_index_refreshes_total {index.refreshes}")
    if index.last_refresh is not None and index.indexed_at is not None:
        _metric(
            lines, "gitconfig_index_last_refresh_seconds", "gauge", "Duration of the last refresh"
        )
        lines.append(f"gitconfig_index_last_refresh_seconds {index.last_refresh.seconds:.6f}")
        _metric(
            lines,
            "gitconfig_index_last_change_age_seconds",
            "gauge",
            "Seconds since the index last moved",
        )
        lines.append(
            f"gitconfig_index_last_change_age_seconds {time.time() - index.indexed_at:.3f}"
        )
    _metric(lines, "gitconfig_stream_subscribers", "gauge", "Open change-stream subscriptions")
    lines.append(f"gitconfig_stream_subscribers {len(service.changes)}")
    replica = getattr(service, "replica", None)
    if replica is not None:
        lines.extend(replica.metric_lines())
    return "\n".join(lines) + "\n"


def _secrets(lines: list[str], service: ServiceBase) -> None:
    snapshot = service.index.current()
    _metric(
        lines,
        "gitconfig_secret_undecryptable",
        "gauge",
        "1 per SECRET this server cannot decrypt (served masked), by path and commit",
    )
    for problem in secret_problems(snapshot, service.secrets):
        lines.append(
            f'gitconfig_secret_undecryptable{{path="{_label(problem.path)}",'
            f'commit="{problem.commit}"}} 1'
        )
    _metric(
        lines,
        "gitconfig_secret_oldest_age_seconds",
        "gauge",
        "Age of the oldest SECRET per environment (sops lastmodified)",
    )
    for environment, age in sorted(oldest_ages(snapshot, datetime.now(UTC)).items()):
        lines.append(
            f'gitconfig_secret_oldest_age_seconds{{environment="{environment.value}"}} {age:.0f}'
        )
