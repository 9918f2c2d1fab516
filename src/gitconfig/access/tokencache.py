"""Principals by the raw ``Authorization`` header value: authentication on the read fast path
without a SHA-256 per request.

``HeaderAuthenticator.authenticate(value)`` answers exactly what
``TokenRegistry.authenticate`` answers for the same header (the rate limiter counts every
call alike); a value that authenticated once is kept, keyed by its bytes, and found again by
one dictionary lookup (about 0.1 µs, where decoding, SHA-256 and the digest lookup take 1 µs).

What it keeps safe:

- revocation and rotation: the kept values are dropped whenever the registry's own tokens
  change (``TokenRegistry.generation``) or the access file's table does (a re-read file is a
  new table, compared by identity on every call, and the file is re-checked as often as
  without this cache), so a removed or rotated token stops working exactly when it would
  have without it;
- a JWT is never kept: each one is verified (signature, expiry) on every request;
- only values that authenticated are kept, at most ``size`` of them (the table is emptied
  when full), so wrong tokens can neither fill it nor be remembered;
- timing: the lookup hashes the value with Python's per-process keyed SipHash, and compares
  bytes only with a kept value of the same hash; a wrong value costs the same hash-and-miss
  as any other wrong value, then the registry's digest lookup;
- the values live in this process's memory only, as the request's own header does (never
  logged, never in a ``repr``); the registry and the access file still hold digests only.
"""

from __future__ import annotations

from collections.abc import Mapping

from gitconfig.access.principals import Principal, TokenRegistry, looks_like_jwt

DEFAULT_SIZE = 4096  # distinct header values kept (one per token and spelling in use)


class HeaderAuthenticator:
    """Authenticates read requests by ``Authorization`` header bytes (see the module)."""

    def __init__(self, tokens: TokenRegistry, size: int = DEFAULT_SIZE) -> None:
        self.tokens = tokens
        self.size = size
        self._known: dict[bytes, Principal] = {}
        self._generation = tokens.generation
        self._table = self._subjects_table()

    def _subjects_table(self) -> Mapping[bytes, Principal] | None:
        subjects = self.tokens.subjects
        return None if subjects is None else subjects.by_digest()

    def kept(self, value: bytes | None) -> Principal | None:
        """The principal of a header value that authenticated before and still would (the
        kept values are dropped when the tokens or the access file change), else None."""
        tokens = self.tokens
        table = self._subjects_table() if tokens.subjects is not None else None
        if table is not self._table or tokens.generation != self._generation:
            self._known.clear()
            self._table, self._generation = table, tokens.generation
        return self._known.get(value) if value is not None else None

    def authenticate(self, value: bytes | None) -> Principal:
        """The principal of an ``Authorization`` header value (None: no header) for a read;
        raises ``Unauthenticated`` (no, a malformed or an unknown token, a bad JWT) and
        ``RateLimited`` (over the principal's limit), as ``TokenRegistry.authenticate``."""
        tokens = self.tokens
        principal = self.kept(value)
        if principal is None:
            text = None if value is None else value.decode("latin-1")
            principal = tokens.authenticate(text)  # raises; counts the call when it passes
            assert value is not None
            assert text is not None
            if tokens.jwt is None or not looks_like_jwt(text.partition(" ")[2].strip()):
                if len(self._known) >= self.size:
                    self._known.clear()
                self._known[value] = principal
            return principal
        if tokens.limiter is not None:
            tokens.limiter.hit(principal, False)
        return principal
