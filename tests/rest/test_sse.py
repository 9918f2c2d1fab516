"""``GET /configs/watch``: the change stream as server-sent events, through a real uvicorn."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gitconfig.access.principals import TokenRegistry
from gitconfig.rest import watch
from gitconfig.rest.app import create_app
from gitconfig.service import Service
from tests.conftest import change
from tests.support.gitrepo import commit_files, git
from tests.support.servers import UvicornThread
from tests.support.sse import Watcher
from tests.support.tokens import ADMIN_TOKEN

LIMIT = "configs/trading-engine/PROD/max-order-size.yaml"
SWITCH = "configs/trading-engine/PROD/kill-switch.yaml"
OTHER = "configs/pricing/PROD/spread.yaml"
FLAG = "flags/trading-engine/PROD/matching-v2.yaml"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def server(service: Service) -> Iterator[UvicornThread]:
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    tokens.add("nobody-token", "nobody", [])
    app = create_app(service, tokens)
    app.dependency_overrides[watch.heartbeat_seconds] = lambda: 0.2
    with UvicornThread(app) as running:
        yield running


@pytest.fixture
def client(server: UvicornThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as http:
        yield http


def number(value: int) -> str:
    return f"type: NUMBER\nvalue: {value}\n"


def test_one_event_per_commit_with_its_changes(
    service: Service, checkout: Path, client: httpx.Client
) -> None:
    watcher = Watcher(client)
    assert watcher.ready.id == service.reads.snapshot().commit
    assert watcher.ready.data == {"commit": service.reads.snapshot().commit}
    first = change(
        service, checkout, {LIMIT: number(1), SWITCH: "type: BOOLEAN\nvalue: true\n"}, "a"
    )
    second = change(service, checkout, {LIMIT: number(2)}, "b")
    third = change(service, checkout, {SWITCH: None}, "c")
    got = watcher.take(3)
    assert [(e.event, e.id) for e in got] == [
        ("change", first),
        ("change", second),
        ("change", third),
    ]
    assert got[0].data["commit"] == first
    assert [(c["key"], c["type"], c["value"], c["version"]) for c in got[0].data["changes"]] == [
        ("kill-switch", "CREATED", "true", 1),
        ("max-order-size", "CREATED", "1", 1),
    ]
    assert got[1].data["changes"][0] | {"id": None} == {
        "type": "UPDATED",
        "kind": "config",
        "id": None,
        "application": "trading-engine",
        "environment": "PROD",
        "key": "max-order-size",
        "valueType": "NUMBER",
        "value": "2",
        "version": 2,
    }
    assert got[2].data["changes"][0]["type"] == "DELETED"
    assert got[2].data["changes"][0]["value"] == ""
    watcher.close()


def test_filters_and_flags_on_request(
    service: Service, checkout: Path, client: httpx.Client
) -> None:
    only_limit = Watcher(
        client, application="trading-engine", environment="PROD", keys=["max-order-size", "x"]
    )
    pricing = Watcher(client, application="pricing")
    with_flags = Watcher(client, includeFlags="true")
    flag = "description: v2\nenabled: true\n"
    a = change(service, checkout, {SWITCH: number(0), FLAG: flag}, "switch and flag")
    b = change(service, checkout, {OTHER: number(3)}, "pricing")
    c = change(service, checkout, {LIMIT: number(4)}, "limit")
    assert [e.id for e in only_limit.take(1)] == [c]
    assert [e.id for e in pricing.take(1)] == [b]
    got = with_flags.take(3)
    assert [e.id for e in got] == [a, b, c]
    assert [(x["kind"], x["key"]) for x in got[0].data["changes"]] == [
        ("config", "kill-switch"),
        ("flag", "matching-v2"),
    ]
    assert json.loads(got[0].data["changes"][1]["value"]) == {"description": "v2", "enabled": True}
    assert got[0].data["changes"][1]["valueType"] is None
    assert only_limit.quiet()
    assert pricing.quiet()
    for w in (only_limit, pricing, with_flags):
        w.close()


def test_resume_with_last_event_id(service: Service, checkout: Path, client: httpx.Client) -> None:
    shas = [change(service, checkout, {LIMIT: number(i)}, f"v{i}") for i in range(4)]
    # The header, as a browser's EventSource sends it on reconnecting ...
    resumed = Watcher(client, headers={"Last-Event-ID": shas[0]})
    assert [e.id for e in resumed.replayed] == shas[1:]
    assert [e.data["changes"][0]["version"] for e in resumed.replayed] == [2, 3, 4]
    assert resumed.ready.id == shas[-1]  # after the replay, the live part starts at HEAD
    # ... or the query parameter, with a short sha.
    short = Watcher(client, lastEventId=shas[2][:7])
    assert [e.id for e in short.replayed] == shas[3:]
    live = change(service, checkout, {LIMIT: number(9)}, "live")
    assert [e.id for e in resumed.take(1)] == [live]
    assert [e.id for e in short.take(1)] == [live]
    assert resumed.quiet()
    resumed.close()
    short.close()


def test_heartbeats_keep_the_connection(client: httpx.Client) -> None:
    watcher = Watcher(client)
    assert [e.comment for e in watcher.reader.take(2, timeout=5)] == ["heartbeat", "heartbeat"]
    watcher.close()


@pytest.mark.parametrize(
    ("headers", "params", "status"),
    [
        ({"Authorization": ""}, {}, 401),
        ({"Authorization": "Bearer wrong"}, {}, 401),
        ({"Authorization": "Bearer nobody-token"}, {}, 403),
        ({}, {"environment": "prod"}, 400),
        ({}, {"keys": "../etc"}, 400),
        ({"Last-Event-ID": "0123456789abcdef0123456789abcdef01234567"}, {}, 400),
        ({}, {"lastEventId": "not-a-sha"}, 400),
    ],
)
def test_refused(
    client: httpx.Client, headers: dict[str, str], params: dict[str, str], status: int
) -> None:
    response = client.get("/configs/watch", headers=headers, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"


def test_closing_the_hub_ends_the_stream(service: Service, client: httpx.Client) -> None:
    watcher = Watcher(client)
    assert len(service.changes) == 1
    service.changes.close()
    (ending,) = [e for e in watcher.reader.finish() if e.comment is None]
    assert (ending.event, ending.data["reason"]) == ("error", "shutting-down")
    assert ending.data["resumeAfter"] == ending.id == service.reads.snapshot().commit
    assert len(service.changes) == 0
    assert client.get("/configs/watch").status_code == 503


def test_a_client_that_goes_away_leaves_no_subscription(
    service: Service, client: httpx.Client
) -> None:
    watchers = [Watcher(client) for _ in range(3)]
    assert len(service.changes) == 3
    for watcher in watchers:
        watcher.close()
    deadline = time.monotonic() + 5  # noticed at the next write: a heartbeat at the latest
    while len(service.changes) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(service.changes) == 0


def test_a_force_push_ends_the_stream_with_an_error_event(
    service: Service, checkout: Path, client: httpx.Client
) -> None:
    first = change(service, checkout, {LIMIT: number(1)}, "one")
    watcher = Watcher(client)
    change(service, checkout, {LIMIT: number(2)}, "two")
    assert len(watcher.take(1)) == 1
    git(checkout, "reset", "-q", "--hard", first)
    commit_files(checkout, {LIMIT: number(3)}, "two, rewritten")
    git(checkout, "push", "-q", "--force", "origin", "main")
    service.index.refresh()
    (error,) = [e for e in watcher.reader.finish() if e.comment is None]
    assert error.event == "error"
    assert error.id is None
    assert error.data["reason"] == "history-rewritten"
