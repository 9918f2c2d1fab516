"""Push webhooks of GitHub, GitLab, Gitea/Forgejo and the generic HMAC form: good, bad and
missing signatures, another branch; a verified push makes the replica fetch."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gitconfig.access.principals import TokenRegistry
from gitconfig.access.ratelimit import AUTH_FAILURES
from gitconfig.core import webhooks
from gitconfig.core.errors import Unauthenticated
from gitconfig.rest.app import create_app
from gitconfig.runtime.bootstrap import init_repository
from gitconfig.runtime.replica import RemoteOptions, open_replica
from gitconfig.service.replica import Replicator
from tests.support.gitrepo import clone, commit_files, push, rev_parse

SECRET = b"It's a Secret to Everybody"


def sign(body: bytes, secret: bytes = SECRET) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def push_body(ref: str = "refs/heads/main") -> bytes:
    return json.dumps({"ref": ref, "after": "0" * 40}).encode()


def headers_for(provider: str, body: bytes, secret: bytes = SECRET) -> dict[str, str]:
    """The headers each host sends with a push event."""
    return {
        "github": {"x-github-event": "push", "x-hub-signature-256": "sha256=" + sign(body, secret)},
        "gitea": {
            "x-gitea-event": "push",
            "x-gitea-signature": sign(body, secret),
            "x-github-event": "push",
            "x-hub-signature-256": "sha256=" + sign(body, b"another"),  # Gitea's own wins
        },
        "forgejo": {"x-forgejo-event": "push", "x-forgejo-signature": sign(body, secret)},
        "gitlab": {"x-gitlab-event": "Push Hook", "x-gitlab-token": secret.decode()},
        "generic": {"x-gitconfig-signature": "sha256=" + sign(body, secret)},
    }[provider]


PROVIDERS = ["github", "gitea", "forgejo", "gitlab", "generic"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_good_signature_is_verified(provider: str) -> None:
    body = push_body()
    event = webhooks.verify(headers_for(provider, body), body, SECRET)
    assert (event.provider, event.ref, event.is_push) == (provider, "refs/heads/main", True)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_bad_signature_is_refused(provider: str) -> None:
    body = push_body()
    with pytest.raises(Unauthenticated, match="bad"):
        webhooks.verify(headers_for(provider, body, b"wrong secret"), body, SECRET)


@pytest.mark.parametrize("provider", [p for p in PROVIDERS if p != "gitlab"])
def test_a_signature_of_another_body_is_refused(provider: str) -> None:
    headers = headers_for(provider, push_body("refs/heads/other"))
    with pytest.raises(Unauthenticated):
        webhooks.verify(headers, push_body(), SECRET)


def test_a_missing_signature_or_an_empty_secret_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="no webhook signature"):
        webhooks.verify({"x-github-event": "push"}, push_body(), SECRET)
    with pytest.raises(Unauthenticated):
        webhooks.verify(headers_for("gitlab", b"", b""), b"", b"")


def test_a_ping_is_not_a_push_and_a_bodyless_generic_hook_names_no_ref() -> None:
    ping = b'{"zen": "Keep it logically awesome."}'
    headers = {"x-github-event": "ping", "x-hub-signature-256": "sha256=" + sign(ping)}
    assert not webhooks.verify(headers, ping, SECRET).is_push
    event = webhooks.verify(headers_for("generic", b""), b"", SECRET)
    assert event.is_push
    assert event.ref is None


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[tuple[TestClient, Replicator, Path]]:
    origin = tmp_path / "origin.git"
    init_repository(origin, bare=True)
    options = RemoteOptions(
        url=f"file://{origin}",
        data_dir=tmp_path / "mirror",
        fetch_interval=600.0,  # only webhooks make it fetch during the test
        webhook_secret=SECRET,
    )
    _store, service, replicator = open_replica(options, "main")
    replicator.fetch_now(raise_errors=True)
    replicator.start()
    app = create_app(service, TokenRegistry())  # no bearer token: webhooks need none
    try:
        with TestClient(app) as client:
            yield client, replicator, origin
    finally:
        replicator.stop()


LIMIT = int(AUTH_FAILURES.partition("/")[0])


def wait_for_fetches(replicator: Replicator, count: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while replicator.fetches["ok"] < count and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_verified_push_webhook_makes_the_replica_fetch(
    provider: str, replica: tuple[TestClient, Replicator, Path], tmp_path: Path
) -> None:
    client, replicator, origin = replica
    work = clone(origin, tmp_path / "work")
    commit_files(work, {"configs/app/DEV/k.yaml": "type: STRING\nvalue: x\n"}, "by hand")
    push(work)
    fetched = replicator.fetches["ok"]

    body = push_body("refs/heads/other")
    ignored = client.post("/webhooks/git", content=body, headers=headers_for(provider, body))
    assert ignored.status_code == 200
    assert ignored.json()["status"] == "ignored"
    body = push_body()
    bad = client.post(
        "/webhooks/git", content=body, headers=headers_for(provider, body, b"wrong secret")
    )
    assert bad.status_code == 401
    missing = client.post("/webhooks/git", content=body)
    assert missing.status_code == 401
    assert replicator.fetches["ok"] == fetched  # nothing was triggered so far

    accepted = client.post("/webhooks/git", content=body, headers=headers_for(provider, body))
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["provider"] == provider
    wait_for_fetches(replicator, fetched + 1)
    assert replicator.index.current().commit == rev_parse(origin, "main")


def test_a_server_without_a_remote_takes_no_webhooks(client: TestClient) -> None:
    body = push_body()
    answer = client.post("/webhooks/git", content=body, headers=headers_for("github", body))
    assert answer.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-past-the-recursion-limit"),
        pytest.param(b"\xff\xfe{", id="not-utf8"),
        pytest.param(b'{"ref": 7}', id="ref-not-text"),
        pytest.param(b'["refs/heads/main"]', id="not-an-object"),
    ],
)
def test_an_odd_signed_body_names_no_ref(body: bytes) -> None:
    # Signed, so genuine: the fetch it triggers reads the remote itself (never a 500 here).
    event = webhooks.verify(headers_for("github", body), body, SECRET)
    assert event.is_push
    assert event.ref is None


def test_bad_signatures_are_limited_per_address(
    replica: tuple[TestClient, Replicator, Path],
) -> None:
    """Guessing the webhook secret is slowed like guessing a token: past the failures an
    address may make, its webhooks get 429 before any signature is checked."""
    client, _replicator, _origin = replica
    body = push_body()
    statuses = [
        client.post(
            "/webhooks/git", content=body, headers=headers_for("github", body, b"guess")
        ).status_code
        for _ in range(LIMIT + 1)
    ]
    assert statuses == [401] * LIMIT + [429]
    right = client.post("/webhooks/git", content=body, headers=headers_for("github", body))
    assert right.status_code == 429  # even the right one waits: it was never seen to pass
