"""The audit trail (``GET /audit``, ``gitconfig audit``) of a repository made of API writes,
CLI commits, a pushed ``git revert`` and a merged branch."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gitconfig.rest.app import create_app
from gitconfig.runtime.bootstrap import open_service
from gitconfig.service import Service
from tests.support.accessdata import auth, registry
from tests.support.clirun import as_json, ok, served_and_clone
from tests.support.gitrepo import commit_files, git, push, rev_parse


@dataclass
class History:
    service: Service
    client: TestClient
    work: Path
    api_create: str
    cli_set: str
    reverted: str
    revert: str
    feature: str
    merge: str
    rollback: str


def number(value: int) -> str:
    return f"type: NUMBER\nvalue: {value}\n"


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    bare, work = served_and_clone(tmp_path)
    service = open_service(bare)
    service.index.refresh()
    app = create_app(service, registry(tmp_path))
    with TestClient(app) as client:
        body = {
            "key": "limit",
            "application": "payments",
            "environment": "PROD",
            "valueType": "NUMBER",
            "value": "100",
            "changeDescription": "Start at 100",
        }
        created = client.post("/configs", json=body, headers=auth("release"))
        assert created.status_code == 201, created.text
        api_create = created.json()["commit"]
        git(work, "pull", "--quiet")
        ok(
            "set",
            "limit",
            "5",
            "-a",
            "trading-engine",
            "-e",
            "DEV",
            "-m",
            "CLI: 5",
            "--push",
            repo=work,
        )
        cli_set = rev_parse(work, "HEAD")
        reverted = commit_files(
            work, {"configs/payments/PROD/limit.yaml": number(999)}, "Oops: 999"
        )
        git(work, "revert", "--no-edit", "HEAD")
        revert = rev_parse(work, "HEAD")
        push(work)
        git(work, "checkout", "--quiet", "-b", "feature")
        feature = commit_files(
            work,
            {"flags/payments/PROD/fast.yaml": "description: fast\nenabled: true\n"},
            "Add the fast flag",
            author="Bob Builder <bob@example.com>",
        )
        commit_files(work, {"README.md": "docs\n"}, "Docs only", author="Bob <bob@example.com>")
        git(work, "checkout", "--quiet", "main")
        git(work, "merge", "--quiet", "--no-ff", "-m", "Merge pull request #7", "feature")
        merge = rev_parse(work, "HEAD")
        push(work)
        service.index.refresh()
        config_id = created.json()["id"]
        rolled = client.post(f"/configs/{config_id}/rollback/2", headers=auth("release"))
        assert rolled.status_code == 200, rolled.text
        yield History(
            service,
            client,
            work,
            api_create,
            cli_set,
            reverted,
            revert,
            feature,
            merge,
            rolled.json()["commit"],
        )


def audit(history: History, who: str = "root", **params: Any) -> dict[str, Any]:
    response = history.client.get("/audit", params=params, headers=auth(who))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def brief(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["application"],
        row["environment"],
        row["key"],
        row["eventType"],
        row["version"],
        row["userId"],
    )


def test_the_trail_is_newest_first_with_every_kind_of_change(history: History) -> None:
    rows = audit(history)["content"]
    assert [brief(r) for r in rows] == [
        ("payments", "PROD", "limit", "ROLLED_BACK", 4, "release"),
        ("payments", "PROD", "fast", "CREATED", 1, "Bob Builder"),
        ("payments", "PROD", "limit", "ROLLED_BACK", 3, "Test Author"),
        ("payments", "PROD", "limit", "UPDATED", 2, "Test Author"),
        ("trading-engine", "DEV", "limit", "CREATED", 1, "Test Author"),  # git env identity
        ("payments", "PROD", "limit", "CREATED", 1, "release"),
    ]
    first = rows[-1]
    assert first["eventId"] == f"{history.api_create}:configs/payments/PROD/limit.yaml"
    assert first["commit"] == history.api_create
    assert first["changeDescription"] == "Start at 100"
    assert first["value"] == "100"
    assert first["mergedBy"] is None
    assert rows[2]["commit"] == history.revert
    assert rows[2]["value"] == "100"
    assert rows[4]["commit"] == history.cli_set


def test_a_merged_change_is_attributed_to_the_commit_that_made_it(history: History) -> None:
    (row,) = audit(history, key="fast")["content"]
    assert row["commit"] == history.merge
    assert row["sourceCommit"] == history.feature
    assert (row["userId"], row["userEmail"]) == ("Bob Builder", "bob@example.com")
    assert row["changeDescription"] == "Add the fast flag"
    assert row["mergedBy"] == "Test Author"
    assert row["kind"] == "flag"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"application": "trading-engine"}, 1),
        ({"application": "payments", "environment": "PROD", "key": "limit"}, 4),
        ({"kind": "flag"}, 1),
        ({"kind": "config"}, 5),
        ({"author": "release"}, 2),
        ({"author": "bob@example.com"}, 1),
        ({"since": "2999-01-01T00:00:00Z"}, 0),
        ({"until": "2000-01-01T00:00:00Z"}, 0),
        ({"since": "2000-01-01T00:00:00+00:00"}, 6),
    ],
)
def test_filters(history: History, params: dict[str, str], expected: int) -> None:
    body = audit(history, **params)
    assert body["totalElements"] == expected
    assert len(body["content"]) == expected


def test_paging(history: History) -> None:
    all_rows = audit(history)["content"]
    page = audit(history, page=1, size=4)
    assert page["totalElements"] == 6
    assert page["totalPages"] == 2
    assert page["content"] == all_rows[4:]


def test_the_trail_holds_only_what_the_principal_may_read(history: History) -> None:
    body = audit(history, who="payments-service")
    assert body["totalElements"] == 5
    assert {(r["application"], r["environment"]) for r in body["content"]} == {("payments", "PROD")}
    denied = history.client.get(
        "/audit",
        params={"application": "trading-engine", "environment": "DEV"},
        headers=auth("payments-service"),
    )
    assert denied.status_code == 403
    assert history.client.get("/audit").status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "secret"},
        {"environment": "PRD"},
        {"size": "0"},
        {"since": "yesterday"},
        {"since": "2026-01-01T00:00:00"},
        {"key": "a b"},
        {"page": "2147483648"},  # past int32, like every other page
    ],
)
def test_bad_filters_are_400(history: History, params: dict[str, str]) -> None:
    response = history.client.get("/audit", params=params, headers=auth("root"))
    assert response.status_code == 400, response.text
    assert response.json()["errors"]


def test_the_index_is_extended_incrementally(history: History) -> None:
    before = len(history.service.audit.audit_index)
    git(history.work, "pull", "--quiet")
    commit_files(history.work, {"configs/payments/DEV/x.yaml": number(1)}, "Add x")
    push(history.work)
    history.service.index.refresh()
    assert len(history.service.audit.audit_index) == before + 1
    assert audit(history)["content"][0]["key"] == "x"


def test_the_cli_gives_the_same_rows(history: History) -> None:
    git(history.work, "pull", "--quiet")
    data = as_json("audit", repo=history.work)
    rest = audit(history)["content"]
    assert [r["eventId"] for r in data["content"]] == [r["eventId"] for r in rest]
    assert data["content"][1]["mergedBy"] == "Test Author"
    table = ok("audit", "--key", "fast", repo=history.work)
    assert "Bob Builder" in table
    assert "Add the fast flag" in table


def test_a_force_push_rebuilds_the_trail(history: History) -> None:
    git(history.work, "pull", "--quiet")
    git(history.work, "reset", "--quiet", "--hard", history.cli_set)
    commit_files(history.work, {"configs/payments/DEV/y.yaml": number(2)}, "Rewritten")
    git(history.work, "push", "--quiet", "--force", "origin", "main:main")
    history.service.index.refresh()
    rows = audit(history)["content"]
    assert [(r["key"], r["environment"]) for r in rows] == [
        ("y", "DEV"),
        ("limit", "DEV"),
        ("limit", "PROD"),
    ]
