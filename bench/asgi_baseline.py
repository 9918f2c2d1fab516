"""Baseline A: the smallest useful ASGI app, the ceiling for Python HTTP on this machine.

It answers every request with the same small JSON body, without reading the request, so the
figure measures uvicorn (httptools + uvloop) and nothing else. Run it with::

    uvicorn bench.asgi_baseline:app --loop uvloop --http httptools --no-access-log
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

BODY = (
    b'{"key":"key-0","value":"42","valueType":"NUMBER","application":"app-0",'
    b'"environment":"PROD","version":1}'
)
HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer HTTP requests with ``BODY``; accept the lifespan protocol."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
