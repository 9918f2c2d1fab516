"""The request body limit of the REST API: a larger body is answered 413 before it is read.

A pure ASGI middleware: it refuses at once a ``Content-Length`` above the limit, and counts
the bytes of a body sent without one (chunked), answering 413 as soon as they exceed it, so
no handler ever holds more than ``limits.current().body_bytes`` of a body in memory.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gitconfig.core import limits


class BodyTooLarge(HTTPException):
    """Raised from ``receive``: FastAPI passes an ``HTTPException`` through its body parsing
    (any other error there becomes a 400), so the app's error table answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit))


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limits.current().body_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                text = value.decode("latin-1").strip()
                if not text.isdigit() or len(text) > 18:
                    await _answer(send, 400, "Content-Length must be a number of bytes")
                    return
                if int(text) > limit:
                    await _answer(send, 413, _too_large(limit))
                    return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if not started:
                await _answer(send, 413, _too_large(limit))


def _too_large(limit: int) -> str:
    return (
        f"the request body is larger than {limit:,} bytes "
        "(GITCONFIG_MAX_BODY_BYTES; split an import into several requests)"
    )


async def _answer(send: Send, status: int, message: str) -> None:
    body: dict[str, Any] = {"message": message, "errors": [{"field": "body", "message": message}]}
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
