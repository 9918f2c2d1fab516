"""A pure-ASGI fast path for the hottest read, ``GET /configs/lookup``.

Services read configuration at high rates; FastAPI's routing, dependency injection and
response validation cost more than the lookup itself. This middleware answers a successful
lookup straight from the snapshot with response bytes cached on the immutable entry. Every
other case — a bad or missing parameter, no or a wrong token, an unknown key, the index not
ready — falls through to the FastAPI route, so errors are produced in one place only and the
answers are identical (``tests/test_rest_fastpath.py`` compares them).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_plus

from gitconfig.auth import TokenRegistry
from gitconfig.errors import GitconfigError
from gitconfig.model import ConfigDocument, Environment, Kind
from gitconfig.service import Service

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PATH = "/configs/lookup"
_WANTED = ("key", "application", "environment")


def _query(raw: bytes) -> dict[str, str] | None:
    """The three lookup parameters, or None when the query is anything but plain."""
    params: dict[str, str] = {}
    for part in raw.decode("latin-1").split("&"):
        name, sep, value = part.partition("=")
        if not sep or name not in _WANTED or name in params:
            return None
        params[name] = unquote_plus(value) if "%" in value or "+" in value else value
    return params if len(params) == 3 else None


class LookupFastPath:
    def __init__(self, app: ASGIApp, service: Service, tokens: TokenRegistry) -> None:
        self.app = app
        self.service = service
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "GET":
            answer = self._answer(scope)
            if answer is not None:
                body, etag = answer
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"etag", etag),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _answer(self, scope: Scope) -> tuple[bytes, bytes] | None:
        params = _query(scope["query_string"])
        if params is None or params["environment"] not in Environment.__members__:
            return None
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        try:
            principal = self.tokens.authenticate(authorization)
            if not principal.can("read"):
                return None
            snapshot = self.service.snapshot()
        except GitconfigError:
            return None
        entry = snapshot.get(
            Kind.CONFIG, params["application"], Environment(params["environment"]), params["key"]
        )
        if entry is None or not isinstance(entry.document, ConfigDocument):
            return None
        reveal = principal.can("reveal")
        memo_key = "lookup:reveal" if reveal else "lookup"
        cached: tuple[bytes, bytes] | None = entry.memo.get(memo_key)
        if cached is None:
            body = {
                "key": entry.key.key,
                "value": self.service.value_text(principal, entry.document),
                "valueType": entry.document.value_type.value,
                "version": entry.version,
            }
            cached = (
                json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
                f'"{entry.version}"'.encode(),
            )
            entry.memo[memo_key] = cached
        return cached
