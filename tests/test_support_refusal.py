"""``tests.support.refusal.unchanged`` fails when a write did happen, for each way it reads
(a service, an HTTP client, a repository the command line writes to) and for each part of
the state (the branch head, the served entries, the audit trail)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gitconfig.access.principals import Principal
from gitconfig.service import NewConfig, Service
from tests.support.clirun import ok, served_and_clone
from tests.support.refusal import Unchanged, unchanged

ADMIN = Principal("admin", frozenset({"admin"}))
BODY = {"key": "k", "application": "app", "environment": "DEV", "valueType": "NUMBER"}


def test_a_write_through_the_service_is_caught(service: Service) -> None:
    kept = unchanged(service)
    kept.check()  # nothing happened yet
    service.configs.create(ADMIN, NewConfig("k", "app", "DEV", "NUMBER", "1"))
    with pytest.raises(AssertionError, match="a branch moved"):
        kept.check()


def test_a_write_over_http_is_caught(client: TestClient, bare_repo: Path) -> None:
    with unchanged(client, bare_repo):
        assert client.post("/configs", json={**BODY, "value": "x"}).status_code == 400
    kept = unchanged(client, bare_repo)
    assert client.post("/configs", json={**BODY, "value": "1"}).status_code == 201
    with pytest.raises(AssertionError, match="a branch moved"):
        kept.check()


def test_a_write_by_the_command_line_is_caught(tmp_path: Path) -> None:
    bare, work = served_and_clone(tmp_path)
    kept = unchanged(work, bare)
    ok("set", "k", "1", "-a", "app", "-e", "DEV", repo=work)
    with pytest.raises(AssertionError, match="a branch moved"):
        kept.check()


@pytest.mark.parametrize(
    ("after", "message"),
    [
        (({"id-1": (1, "blob-a", "1")}, [1, "event"]), None),
        (({"id-1": (2, "blob-b", "2")}, [1, "event"]), "the served entries changed: \\['id-1'\\]"),
        (({"id-1": (1, "blob-a", "1"), "id-2": (1, "b", "x")}, [1, "event"]), "'id-2'"),
        (({}, [1, "event"]), "'id-1'"),
        (({"id-1": (1, "blob-a", "1")}, [2, "event", "another"]), "the audit trail changed"),
    ],
)
def test_each_part_of_the_state_is_compared(
    after: tuple[dict[str, Any], list[Any]], message: str | None
) -> None:
    reads = iter([({"id-1": (1, "blob-a", "1")}, [1, "event"]), after])
    kept = Unchanged(lambda: next(reads), {})
    if message is None:
        kept.check()
    else:
        with pytest.raises(AssertionError, match=message):
            kept.check()
