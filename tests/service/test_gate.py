"""``Gate`` and ``credential``: every door finds the caller the same way — the first of a
repeated ``Authorization`` header, OFREP's ``X-API-Key`` only as a fallback, reads through
the kept header values and writes counted as writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitconfig.access.gate import Gate, credential
from gitconfig.access.principals import TokenRegistry
from gitconfig.access.ratelimit import RateLimiter, parse_rate
from gitconfig.core.errors import RateLimited, Unauthenticated
from tests.support.accessdata import TOKENS, registry


def test_the_first_authorization_header_is_the_credential() -> None:
    pairs = [(b"x-api-key", b"k"), (b"authorization", b"Bearer one"), (b"authorization", b"two")]
    assert credential(pairs) == b"Bearer one"
    assert credential(pairs, api_key=True) == b"Bearer one"  # Authorization wins over the key
    as_text = [(name.decode(), value.decode()) for name, value in pairs]  # gRPC metadata
    assert credential(as_text) == b"Bearer one"


def test_an_api_key_is_a_bearer_token_only_where_asked() -> None:
    pairs = [(b"x-api-key", b"first"), (b"x-api-key", b"second")]
    assert credential(pairs) is None
    assert credential(pairs, api_key=True) == b"Bearer first"
    assert credential([]) is None


def test_reads_and_writes_name_the_same_principal(tmp_path: Path) -> None:
    tokens = registry(tmp_path)
    gate = Gate(tokens)
    for name, token in TOKENS.items():
        value = f"Bearer {token}"
        assert gate.principal(value.encode()).name == name
        assert gate.principal(value).name == name  # a str value, as gRPC metadata
        assert gate.principal(value, write=True).name == name
        assert gate.principal(value.encode(), write=True).name == name


@pytest.mark.parametrize("value", [None, b"", "Bearer nope", "Bearer caf\u00e9\u2603", b"Basic x"])
def test_a_missing_or_wrong_credential_is_unauthenticated(
    tmp_path: Path, value: bytes | str | None
) -> None:
    gate = Gate(registry(tmp_path))
    for write in (False, True):
        with pytest.raises(Unauthenticated):
            gate.principal(value, write=write)


def test_writes_count_against_the_write_limit_reads_against_the_read_limit() -> None:
    limiter = RateLimiter(parse_rate("100/minute"), parse_rate("1/minute"))
    tokens = TokenRegistry(limiter=limiter)
    tokens.add("tok", "writer", ["writer"])
    gate = Gate(tokens)
    gate.principal("Bearer tok", write=True)
    for _ in range(5):  # reads still pass: they have their own limit
        gate.principal("Bearer tok")
    with pytest.raises(RateLimited):
        gate.principal("Bearer tok", write=True)
