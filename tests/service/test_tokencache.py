"""Authentication by kept header values answers exactly as the registry does: revoked and
rotated tokens stop working with the access file, JWTs are verified every time, the rate
limit counts every call, and wrong tokens are never kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitconfig.access.accessfile import AccessFile
from gitconfig.access.principals import TokenRegistry
from gitconfig.access.ratelimit import RateLimiter, parse_rate
from gitconfig.access.tokencache import HeaderAuthenticator
from gitconfig.core.errors import RateLimited, Unauthenticated
from tests.support.accessdata import ACCESS_FILE, TOKENS, registry, sha


def bearer(token: str) -> bytes:
    return f"Bearer {token}".encode()


def test_the_same_principal_as_the_registry(tmp_path: Path) -> None:
    tokens = registry(tmp_path)
    authenticator = HeaderAuthenticator(tokens)
    for name, token in TOKENS.items():
        for _ in range(2):  # computed, then kept
            principal = authenticator.authenticate(bearer(token))
            assert principal is tokens.authenticate(f"Bearer {token}")
            assert principal.name == name


@pytest.mark.parametrize(
    "value", [None, b"", b"Bearer", b"Bearer ", b"Basic dG9rLXJvb3Q=", b"Bearer nope"]
)
def test_no_or_a_wrong_token_is_refused_every_time(tmp_path: Path, value: bytes | None) -> None:
    authenticator = HeaderAuthenticator(registry(tmp_path))
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            authenticator.authenticate(value)


def test_a_revoked_token_stops_working_when_the_file_changes(tmp_path: Path) -> None:
    tokens = registry(tmp_path)  # re-checks the file on every use (interval 0)
    authenticator = HeaderAuthenticator(tokens)
    root = bearer(TOKENS["root"])
    assert authenticator.authenticate(root).name == "root"
    assert authenticator.authenticate(root).name == "root"  # kept
    without_root = ACCESS_FILE.replace(sha(TOKENS["root"]), sha("rotated-root"))
    (tmp_path / "access.yaml").write_text(without_root)
    with pytest.raises(Unauthenticated):
        authenticator.authenticate(root)
    assert authenticator.authenticate(bearer("rotated-root")).name == "root"
    payments = authenticator.authenticate(bearer(TOKENS["payments-service"]))
    assert payments.may("read", "payments", "PROD")


def test_a_changed_grant_takes_effect_with_the_file(tmp_path: Path) -> None:
    tokens = registry(tmp_path)
    authenticator = HeaderAuthenticator(tokens)
    payments = bearer(TOKENS["payments-service"])
    assert authenticator.authenticate(payments).may("read", "payments", "PROD")
    narrower = ACCESS_FILE.replace(
        "environments: [PROD]\n        reveal", "environments: [DEV]\n        reveal"
    )
    assert narrower != ACCESS_FILE
    (tmp_path / "access.yaml").write_text(narrower)
    assert not authenticator.authenticate(payments).may("read", "payments", "PROD")


def test_a_token_added_later_replaces_what_was_kept() -> None:
    tokens = TokenRegistry()
    tokens.add("secret", "first", ["admin"])
    authenticator = HeaderAuthenticator(tokens)
    assert authenticator.authenticate(bearer("secret")).name == "first"
    tokens.add("secret", "second", ["reader"])
    assert authenticator.authenticate(bearer("secret")).name == "second"


def test_a_jwt_is_verified_on_every_request(tmp_path: Path) -> None:
    valid = {"eyJhbGciOi.eyJzdWIiOi.sig"}

    def verify(token: str) -> str:  # a verifier whose token expires between two requests
        if token not in valid:
            raise Unauthenticated("the JWT expired")
        return "root"

    tokens = TokenRegistry(AccessFile(_access_file(tmp_path), interval=0.0), jwt=verify)
    authenticator = HeaderAuthenticator(tokens)
    jwt = bearer("eyJhbGciOi.eyJzdWIiOi.sig")
    assert authenticator.authenticate(jwt).name == "root"
    valid.clear()
    with pytest.raises(Unauthenticated):
        authenticator.authenticate(jwt)


def test_the_rate_limit_counts_kept_values_too(tmp_path: Path) -> None:
    limiter = RateLimiter(parse_rate("3/minute"))
    tokens = TokenRegistry(AccessFile(_access_file(tmp_path)), limiter=limiter)
    authenticator = HeaderAuthenticator(tokens)
    root = bearer(TOKENS["root"])
    for _ in range(3):
        authenticator.authenticate(root)
    with pytest.raises(RateLimited):
        authenticator.authenticate(root)


def test_at_most_size_values_are_kept(tmp_path: Path) -> None:
    authenticator = HeaderAuthenticator(registry(tmp_path), size=2)
    for _ in range(3):
        for name, token in TOKENS.items():
            assert authenticator.authenticate(bearer(token)).name == name
    assert len(authenticator._known) <= 2


def _access_file(tmp_path: Path) -> Path:
    path = tmp_path / "access.yaml"
    path.write_text(ACCESS_FILE)
    return path
