"""The read fast path in front of the whole app (``RestApp``): what it keeps between requests
never answers for another principal, scope, snapshot or access file; it still records its
metrics, access-log lines and request ids; and a request with a body still meets the body
limit."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gitconfig.core import limits
from gitconfig.rest.app import RestApp, create_app
from gitconfig.service import Service
from tests.support.accessdata import ACCESS_FILE, TOKENS, auth, registry, seed, sha
from tests.support.metrics import parse, requests_counted

LOOKUP = "/configs/lookup"
CHECK = "/feature-flags/check"


def params(app: str, env: str = "PROD", key: str = "limit") -> dict[str, str]:
    return {"key": key, "application": app, "environment": env}


@pytest.fixture
def service(service: Service) -> Service:
    """The conftest service, seeded with the access tests' entries."""
    seed(service)
    return service


@pytest.fixture
def client(service: Service, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(service, registry(tmp_path))
    assert isinstance(app, RestApp)
    assert app.fast_reads is not None
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize("path", [LOOKUP, CHECK])
def test_a_kept_answer_is_never_given_outside_the_callers_scope(
    client: TestClient, path: str
) -> None:
    query = params("trading-engine", key="limit" if path == LOOKUP else "fast")
    assert client.get(path, params=query, headers=auth("root")).status_code == 200
    assert client.get(path, params=query, headers=auth("root")).status_code == 200  # kept
    denied = client.get(path, params=query, headers=auth("payments-service"))
    assert denied.status_code == 403, denied.text
    assert client.get(path, params=query, headers={}).status_code == 401
    assert client.get(path, params=query, headers=auth("root")).status_code == 200


def test_a_kept_answer_follows_the_access_file(client: TestClient, tmp_path: Path) -> None:
    query = params("payments")
    for _ in range(2):
        assert client.get(LOOKUP, params=query, headers=auth("payments-service")).status_code == 200
    revoked = ACCESS_FILE.replace(sha(TOKENS["payments-service"]), sha("another-token"))
    (tmp_path / "access.yaml").write_text(revoked)
    answer = client.get(LOOKUP, params=query, headers=auth("payments-service"))
    assert answer.status_code == 401
    moved = ACCESS_FILE.replace(
        "environments: [PROD]\n        reveal", "environments: [DEV]\n        reveal"
    )
    (tmp_path / "access.yaml").write_text(moved)
    answer = client.get(LOOKUP, params=query, headers=auth("payments-service"))
    assert answer.status_code == 403


def test_a_kept_answer_follows_new_commits(client: TestClient) -> None:
    query = params("payments")
    first = client.get(LOOKUP, params=query, headers=auth("root"))
    assert first.json()["value"] == "5"
    config_id = next(
        c["id"]
        for c in client.get("/configs", headers=auth("root")).json()["content"]
        if c["application"] == "payments" and c["environment"] == "PROD"
    )
    updated = client.put(f"/configs/{config_id}", headers=auth("root"), json={"value": "7"})
    assert updated.status_code == 200, updated.text
    second = client.get(LOOKUP, params=query, headers=auth("root"))
    assert (second.json()["value"], second.headers["etag"]) == ("7", '"2"')


@pytest.fixture
def no_access_log() -> Iterator[None]:
    """The access log off, whatever level pytest runs at."""
    logger = logging.getLogger("gitconfig.access")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


@pytest.mark.usefixtures("no_access_log")
def test_fast_answers_are_counted_and_carry_the_callers_request_id(client: TestClient) -> None:
    query = params("payments")
    answers = [client.get(LOOKUP, params=query, headers=auth("root")) for _ in range(3)]
    assert all(a.status_code == 200 for a in answers)
    # No access log and no id sent: a made-up id would name no log line, so none is sent.
    assert not any("x-request-id" in a.headers for a in answers)
    sent = client.get(LOOKUP, params=query, headers={**auth("root"), "X-Request-ID": "abc-1"})
    assert sent.headers["x-request-id"] == "abc-1"
    forged = client.get(LOOKUP, params=query, headers={**auth("root"), "X-Request-ID": "a b"})
    assert len(forged.headers["x-request-id"]) == 32  # not sane: replaced by a new one
    metrics = client.get("/metrics", headers=auth("root")).text
    assert requests_counted(parse(metrics), LOOKUP, 200) == 5


@pytest.mark.parametrize("path", [LOOKUP, CHECK])
def test_with_the_access_log_each_fast_answer_has_one_line_and_its_id(
    service: Service, tmp_path: Path, access_lines: list[logging.LogRecord], path: str
) -> None:
    query = params("trading-engine", key="limit" if path == LOOKUP else "fast")
    app = create_app(service, registry(tmp_path))
    assert app.fast_reads is not None
    fast, answered = app.fast_reads.answer, []

    async def spied(scope: Any, receive: Any, send: Any) -> bool:
        answered.append(await fast(scope, receive, send))
        return answered[-1]

    app.fast_reads.answer = spied  # type: ignore[method-assign]
    with TestClient(app) as client:
        answers = [client.get(path, params=query, headers=auth("root")) for _ in range(3)]
        sent = client.get(path, params=query, headers={**auth("root"), "X-Request-ID": "abc-2"})
    assert answered == [True] * 4  # all four answered by the fast path
    assert [a.status_code for a in answers] == [200, 200, 200]
    ids = [a.headers["x-request-id"] for a in [*answers, sent]]
    assert len(set(ids)) == 4
    assert ids[-1] == "abc-2"
    lines = [(r.getMessage(), getattr(r, "request_id", None)) for r in access_lines]
    assert len(lines) == 4, lines  # one per request: the fast path's, not the route's too
    for (message, request_id), expected in zip(lines, ids, strict=True):
        assert message.startswith(f"GET {path} 200 ")
        assert request_id == expected


@pytest.fixture
def small_bodies() -> Iterator[None]:
    limits.configure(limits.Limits(body_bytes=10))
    yield
    limits.configure(None)


@pytest.mark.usefixtures("small_bodies")
def test_a_lookup_with_a_body_meets_the_body_limit(client: TestClient) -> None:
    headers = {**auth("root"), "Content-Length": "11"}
    query = params("payments")
    answer = client.request("GET", LOOKUP, params=query, headers=headers, content=b"x" * 11)
    assert answer.status_code == 413, answer.text
    assert client.get(LOOKUP, params=query, headers=auth("root")).status_code == 200


def test_the_fast_path_answers_before_the_middlewares(service: Service, tmp_path: Path) -> None:
    """A fast answer never enters Starlette's stack (which would build it on first use)."""
    app = create_app(service, registry(tmp_path))
    client = TestClient(app)  # no lifespan: that would build the stack too
    answer = client.get(LOOKUP, params=params("payments"), headers=auth("root"))
    assert answer.status_code == 200
    assert app.middleware_stack is None
    assert client.get("/healthz").status_code == 200
    assert app.middleware_stack is not None


@pytest.mark.parametrize("path", [LOOKUP, CHECK])
def test_two_authorization_headers_are_judged_as_the_route_judges_them(
    service: Service, tmp_path: Path, path: str
) -> None:
    """Starlette (the routes) reads the first of repeated headers: so must the fast path, or
    a request carrying a second, more powerful token (one a proxy appended, say) would be
    served by the fast path with what the route refuses."""
    query = params("trading-engine", key="limit" if path == LOOKUP else "fast")
    headers = [
        ("authorization", f"Bearer {TOKENS['payments-service']}"),  # may not read there
        ("authorization", f"Bearer {TOKENS['root']}"),
    ]
    answers = []
    for fast_reads in (False, True):
        app = create_app(service, registry(tmp_path), fast_reads=fast_reads)
        with TestClient(app) as test_client:
            # The root's answer kept first, then the two headers.
            assert test_client.get(path, params=query, headers=auth("root")).status_code == 200
            answers.append(test_client.get(path, params=query, headers=headers).status_code)
    assert answers == [403, 403]
