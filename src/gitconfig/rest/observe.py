"""The ASGI middleware of request ids, metrics and the access log of each request (behind
the read fast path, which records its own answers' metrics and access lines the same way,
and their request ids by its own rule: ``fastpath``).

Every HTTP request that reaches it gets an id (``X-Request-ID`` when the caller sent a sane
one, else a new one), returned in the ``X-Request-ID`` response header and set for the
request's log lines.
Its latency (to the end of the response body) and status are recorded under its route
template (``/configs/{configId}``, never the path; ``<unmatched>`` for a path no route
serves), so the labels stay bounded. The access log (logger ``gitconfig.access``, INFO) is
one line per request when that level is enabled (``gitconfig serve --access-log``; see
``accesslog``).
"""

from __future__ import annotations

import time
from typing import Any

from gitconfig.rest import accesslog
from gitconfig.rest.fastpath import ASGIApp, Message, Receive, Scope, Send
from gitconfig.service import Metrics, requestid

UNMATCHED = "<unmatched>"
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
_HEADER = b"x-request-id"


def route_of(scope: Scope) -> str:
    """The route template that served ``scope`` (set by the router), or ``UNMATCHED``."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return UNMATCHED


class ObserveRequests:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        sent = None
        for name, value in scope["headers"]:
            if name == _HEADER:
                sent = value.decode("latin-1")
                break
        request_id = requestid.accept(sent)
        token = requestid.current.set(request_id)
        header = (_HEADER, request_id.encode())
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            method = scope["method"]
            if method not in METHODS:
                method = "OTHER"
            route = route_of(scope)
            self.metrics.http_recorder(route, method, status)(seconds)
            if accesslog.enabled():
                accesslog.write(method, route, status, seconds, scope["path"])
            requestid.current.reset(token)
