"""The id of the request being handled, for log lines (``logs.RequestIdFilter``).

Transports set it when a request arrives (taken from ``X-Request-ID`` / ``x-request-id``
metadata when the caller sends a sane one, else a new random id) and answer it back."""

from __future__ import annotations

import contextvars
import re
import uuid

current: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# An id from outside goes into logs: printable, bounded, no separators that forge lines.
_SANE = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")


def accept(sent: str | None) -> str:
    """The caller's id when it is sane, else a new one (32 hex digits)."""
    if sent is not None and _SANE.fullmatch(sent):
        return sent
    return uuid.uuid4().hex
