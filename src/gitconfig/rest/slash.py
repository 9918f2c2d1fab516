"""A trailing slash names the same resource: ``/configs/`` is ``/configs``.

Starlette would answer 307 with an absolute ``http://`` Location, built from the Host it saw,
which breaks behind a TLS proxy (the client is sent to plain http). This ASGI middleware
serves the request as if it had no trailing slash instead: no redirect at all."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class TrailingSlash:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            scope = dict(scope)
            scope["path"] = path.rstrip("/") or "/"
            raw = scope.get("raw_path")
            if isinstance(raw, bytes):
                scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)
