"""The id of the request being handled, for log lines (``logs.RequestIdFilter``).

Transports set it when a request arrives (taken from ``X-Request-ID`` / ``x-request-id``
metadata when the caller sends a sane one, else a new random id) and answer it back; the
read fast path makes one only when something is logged under it (``rest.fastpath``)."""

from __future__ import annotations

import contextvars
import itertools
import os
import re

current: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# An id from outside goes into logs: printable, bounded, no separators that forge lines.
_PATTERN = r"[A-Za-z0-9._:/+=-]{1,128}"
_SANE = re.compile(_PATTERN)
_SANE_BYTES = re.compile(_PATTERN.encode())  # the same test on a header's raw bytes


_prefix = b""
_counter = itertools.count()


def _reseed() -> None:
    """A random prefix per process (forked workers too), so ids are unique across them."""
    global _prefix, _counter
    _prefix = os.urandom(8).hex().encode()
    _counter = itertools.count()


_reseed()
os.register_at_fork(after_in_child=_reseed)


def accept(sent: str | None) -> str:
    """The caller's id when it is sane, else a new one: 32 hex digits, unique (a random
    prefix per process and a counter: cheaper than a UUID on the hot path)."""
    if sent is not None and _SANE.fullmatch(sent):
        return sent
    return new().decode()


def accept_header(sent: bytes | None) -> bytes:
    """``accept`` for the raw bytes of an ``X-Request-ID`` header value (None: no header):
    the same answer, without decoding and encoding (the pattern is ASCII, so the bytes and
    their latin-1 text match alike)."""
    return sent if sent is not None and _SANE_BYTES.fullmatch(sent) else new()


def new() -> bytes:
    """A new id, as the bytes of a header value."""
    return b"%s%016x" % (_prefix, next(_counter))
