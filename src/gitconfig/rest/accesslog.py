"""The access log: one line per HTTP request (logger ``gitconfig.access``, INFO; on with
``gitconfig serve --access-log``), written alike by the request observer (``observe``) for
what the routes answer and by the read fast path (``fastpath``) for what it answers.

A line reads ``GET /configs/lookup 200 0.1ms``: method, route template (never the path with
its identifiers), status, latency to the end of the response body. The record also carries
``path`` and ``status`` (JSON logs show them as fields) and, through ``logs.RequestIdFilter``,
the request id the answer carries in ``X-Request-ID``.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("gitconfig.access")


def enabled() -> bool:
    """Whether access lines are written (the logger's INFO level is enabled)."""
    return logger.isEnabledFor(logging.INFO)


def write(method: str, route: str, status: int, seconds: float, path: str) -> None:
    """One access line; the caller has set the request id (``requestid.current``)."""
    logger.info(
        "%s %s %d %.1fms",
        method,
        route,
        status,
        seconds * 1000,
        extra={"path": path, "status": status},
    )
