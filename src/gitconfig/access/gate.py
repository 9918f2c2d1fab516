"""``Gate``: the one way a request's credentials become a principal, for every door — REST
routes, the read fast path, OFREP, Spring, SSE and gRPC.

A door finds the request's credential with ``credential`` (the first ``Authorization``
header, or for OFREP the first ``X-API-Key`` as a bearer token: a repeated header is judged
by its first value everywhere, as Starlette does) and asks ``Gate.principal`` for the caller.
Reads are answered through ``tokencache.HeaderAuthenticator`` (a value that authenticated
once is found again by its bytes); writes through ``TokenRegistry.authenticate``, so the
rate limiter counts them as writes. Both raise ``Unauthenticated`` (no, a malformed or an
unknown credential, a bad JWT) and ``RateLimited`` (over the principal's limit).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gitconfig.access.principals import Principal, TokenRegistry, bearer_token
from gitconfig.access.ratelimit import FailureLimiter
from gitconfig.access.tokencache import HeaderAuthenticator
from gitconfig.core.errors import Unauthenticated

RECHECK_SECONDS = 1.0  # how often an open stream re-authenticates its credential
_AUTHORIZATION = b"authorization"
_API_KEY = b"x-api-key"


def credential(
    headers: Iterable[tuple[bytes, bytes]] | Iterable[tuple[str, str]], api_key: bool = False
) -> bytes | None:
    """The credential of a request's ``headers`` (name, value pairs with lower-case names, as
    ASGI and gRPC metadata give them): the first ``Authorization`` value; with ``api_key``
    and no ``Authorization``, the first ``X-API-Key`` value as ``Bearer <key>`` (OFREP's
    header). None: no credential."""
    authorization = key = None
    for name, value in headers:
        raw_name = _raw(name) if isinstance(name, str) else name
        if raw_name == _AUTHORIZATION and authorization is None:
            authorization = _raw(value) if isinstance(value, str) else value
        elif api_key and raw_name == _API_KEY and key is None:
            key = _raw(value) if isinstance(value, str) else value
    if authorization is None and key is not None:
        return b"Bearer " + key
    return authorization


class Gate:
    """Principals of credentials, by ``tokens`` (see the module); failed authentications
    counted per client address by ``failures`` (``ratelimit.FailureLimiter``)."""

    def __init__(self, tokens: TokenRegistry, failures: FailureLimiter | None = None) -> None:
        self.tokens = tokens
        self.failures = failures if failures is not None else FailureLimiter()
        self._reads = HeaderAuthenticator(tokens)

    def principal(
        self, authorization: bytes | str | None, write: bool = False, client: str | None = None
    ) -> Principal:
        """The principal of an ``Authorization`` value (None: none was sent) for a read, or
        for a write with ``write``, from the address ``client`` (None: unknown); raises
        ``Unauthenticated``, or ``RateLimited`` (the principal over its rate limit, or the
        address over its failed authentications: then only a credential that passed before
        is tried)."""
        raw = _raw(authorization) if isinstance(authorization, str) else authorization
        # Only an address that failed lately is checked, and then a credential seen to pass
        # before still goes on: a request from anywhere else costs one dict lookup here.
        if self.failures.failing(client) and self._reads.kept(raw) is None:
            self.failures.check(client)
        try:
            if write:
                text = raw.decode("latin-1") if raw is not None else None
                return self.tokens.authenticate(text, write=True)
            return self._reads.authenticate(raw)
        except Unauthenticated:
            self.failures.failed(client)
            raise

    def reauthenticate(self, authorization: bytes | None) -> Principal:
        """The principal an open stream's credential (the ``Authorization`` value it was opened
        with) names now, for the periodic re-check of SSE and gRPC streams: neither the rate
        limiter nor the failed-authentication count sees it; raises ``Unauthenticated``
        (removed from the access file, a JWT past ``exp``)."""
        kept = self._reads.kept(authorization)
        if kept is not None:
            return kept
        text = authorization.decode("latin-1") if authorization is not None else None
        return self.tokens.identify(bearer_token(text))

    def recheck(self, authorization: bytes | None, opened: Principal) -> None:
        """The periodic check of an open stream opened by ``opened``: raises
        ``Unauthenticated`` when its credential no longer authenticates (removed, a JWT past
        ``exp``) or now names other grants (narrowed or widened: the stream was filtered and
        rendered for the old ones, so it ends and the client opens it again)."""
        if self.reauthenticate(authorization) != opened:
            raise Unauthenticated("the grants of this stream's credential changed: open it again")


def _raw(text: str) -> bytes:
    """A header value's bytes (HTTP header values are Latin-1; a character outside it
    cannot be part of a token, and fails authentication as any wrong token does)."""
    return text.encode("latin-1", "replace")


def client_address(scope: Mapping[str, Any]) -> str | None:
    """The client's address of an ASGI request (None: unknown)."""
    client = scope.get("client")
    return str(client[0]) if client else None


def peer_address(peer: str | None) -> str | None:
    """The address of a gRPC peer (``ipv4:127.0.0.1:5000``, ``ipv6:[::1]:5000``)."""
    if not peer:
        return None
    _family, _, rest = peer.partition(":")
    host = rest.rpartition(":")[0] if rest.count(":") else rest
    return host.strip("[]") or None
