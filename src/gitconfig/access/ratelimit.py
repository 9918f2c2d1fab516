"""Per-principal rate limits, by the ``limits`` library (moving window, in memory).

``--rate-limit "100/second"`` (any ``limits`` string: ``10/minute``, ``5 per 2 seconds``)
with ``--rate-burst 300``: at most the burst in a window of ``burst / rate``, so a client may
spend a burst at once and then the rate on average. Writes count against ``--write-rate-limit``
when one is set, else against the same limit as reads. Over the limit, ``hit`` raises
``RateLimited`` whose ``retry_after`` is whole seconds until the window frees a slot (REST
answers 429 with ``Retry-After``, gRPC ``RESOURCE_EXHAUSTED``). Health probes never reach it:
they are not authenticated.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import limits
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from gitconfig.access.principals import Principal
from gitconfig.core.errors import BadRequest, FieldError, RateLimited


@dataclass(frozen=True)
class Rate:
    """A parsed limit: ``item`` as ``limits`` knows it, and its text for messages."""

    item: limits.RateLimitItem
    text: str


def parse_rate(text: str, burst: int | None = None, field: str = "rate-limit") -> Rate:
    """A rate like ``100/second``; with ``burst`` (>= the rate's amount) the window widens so
    that ``burst`` requests fit in it at the same average rate. Raises ``BadRequest``."""
    try:
        item = limits.parse(text)
    except ValueError as exc:
        raise BadRequest("invalid rate limit", [FieldError(field, str(exc))]) from None
    if burst is None or burst <= item.amount:
        return Rate(item, text)
    seconds = max(1, math.ceil(item.get_expiry() * burst / item.amount))
    return Rate(limits.RateLimitItemPerSecond(burst, seconds), f"{text} (burst {burst})")


class RateLimiter:
    """Counts each principal's requests against its limits (``hit``)."""

    def __init__(self, reads: Rate, writes: Rate | None = None) -> None:
        self.reads = reads
        self.writes = writes or reads
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, principal: Principal, write: bool) -> None:
        """Count one request; raises ``RateLimited`` when the principal is over its limit."""
        rate = self.writes if write else self.reads
        scope = "write" if write and self.writes is not self.reads else "any"
        if self._limiter.hit(rate.item, principal.name, scope):
            return
        reset = self._limiter.get_window_stats(rate.item, principal.name, scope).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        raise RateLimited(
            f"{principal.name} is over its rate limit of {rate.text}; retry in {retry_after}s",
            retry_after,
        )


AUTH_FAILURES = "30/minute"  # failed authentications per client address, then 429
_RECENT_LIMIT = 100_000  # addresses with recent failures kept


class FailureLimiter:
    """Failed authentications per client address (``rate``, moving window): past the limit,
    the address gets ``RateLimited`` for every credential this server has not seen pass
    before, so guessing tokens (or webhook signatures) is slowed to the rate while clients
    that authenticated already go on."""

    def __init__(self, rate: Rate | None = None) -> None:
        self.rate = rate or parse_rate(AUTH_FAILURES, field="auth-failure-limit")
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._window = self.rate.item.get_expiry()
        # Addresses with a failure in the last window: every other request costs one lookup.
        self._recent: dict[str, float] = {}

    def failing(self, address: str | None) -> bool:
        """Whether ``address`` (None: unknown) failed in the last window: one dict lookup for
        every other address, so the hot path pays nothing more."""
        if address is None:
            return False
        last = self._recent.get(address)
        if last is None:
            return False
        if time.monotonic() - last > self._window:
            self._recent.pop(address, None)
            return False
        return True

    def check(self, address: str | None) -> None:
        """Raises ``RateLimited`` when ``address`` (None: unknown) is over its limit."""
        if address is None or not self.failing(address):
            return
        if self._limiter.test(self.rate.item, address, "failures"):
            return
        reset = self._limiter.get_window_stats(self.rate.item, address, "failures").reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        raise RateLimited(
            f"too many failed authentications from {address} ({self.rate.text}); "
            f"retry in {retry_after}s",
            retry_after,
        )

    def failed(self, address: str | None) -> None:
        """Count one failed authentication from ``address``."""
        if address is not None:
            if len(self._recent) >= _RECENT_LIMIT:
                self._recent.clear()  # a flood of addresses: forget, never grow without bound
            self._recent[address] = time.monotonic()
            self._limiter.hit(self.rate.item, address, "failures")
