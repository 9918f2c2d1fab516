"""A pure-ASGI fast path for the two hottest reads: ``GET /configs/lookup`` and
``GET /feature-flags/check``.

Services read configuration and check flags at high rates; FastAPI's routing, dependency
injection and response validation cost more than the read itself. This middleware answers a
successful read straight from the snapshot, with response bytes cached on the immutable entry
(a lookup's answer; a check's answer per evaluation outcome, which compiled flags share).
Every other case — a bad, missing or extra parameter, no or a wrong token, an unknown key, the
index not ready — falls through to the FastAPI route, so errors are produced in one place
only and the answers are identical (``tests/test_rest_fastpath.py`` compares them).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_plus

from gitconfig.core.errors import GitconfigError
from gitconfig.core.model import ConfigDocument, Environment, Kind
from gitconfig.index.snapshot import Entry
from gitconfig.service.access import Principal, TokenRegistry, authorize
from gitconfig.service.facade import Service

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOKUP = "/configs/lookup"
CHECK = "/feature-flags/check"
_REQUIRED = frozenset(("key", "application", "environment"))
_ALLOWED = {LOOKUP: _REQUIRED, CHECK: _REQUIRED | {"userId"}}
Answer = tuple[bytes, bytes | None]  # body, ETag


def _query(raw: bytes, allowed: frozenset[str]) -> dict[str, str] | None:
    """The parameters, or None when the query is anything but plain and complete."""
    params: dict[str, str] = {}
    for part in raw.decode("latin-1").split("&"):
        name, sep, value = part.partition("=")
        if not sep or name not in allowed or name in params:
            return None
        params[name] = unquote_plus(value) if "%" in value or "+" in value else value
    if not params.keys() >= _REQUIRED or params["environment"] not in Environment.__members__:
        return None
    return params


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class ReadFastPath:
    def __init__(self, app: ASGIApp, service: Service, tokens: TokenRegistry) -> None:
        self.app = app
        self.service = service
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            allowed = _ALLOWED.get(scope["path"])
            answer = self._answer(scope, allowed) if allowed is not None else None
            if answer is not None:
                body, etag = answer
                headers = [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", b"application/json"),
                ]
                if etag is not None:
                    headers.append((b"etag", etag))
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _answer(self, scope: Scope, allowed: frozenset[str]) -> Answer | None:
        params = _query(scope["query_string"], allowed)
        if params is None:
            return None
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        try:
            principal = self.tokens.authenticate(authorization)
            authorize(principal, "read")
            snapshot = self.service.snapshot()
        except GitconfigError:
            return None
        kind = Kind.CONFIG if scope["path"] == LOOKUP else Kind.FLAG
        entry = snapshot.get(
            kind, params["application"], Environment(params["environment"]), params["key"]
        )
        if entry is None:
            return None
        if kind is Kind.CONFIG:
            return self._lookup(entry, principal)
        return self._check(entry, params)

    def _lookup(self, entry: Entry, principal: Principal) -> Answer | None:
        document = entry.document
        if not isinstance(document, ConfigDocument):
            return None
        memo_key = "lookup:reveal" if principal.can("reveal") else "lookup"
        cached: Answer | None = entry.memo.get(memo_key)
        if cached is None:
            body = {
                "key": entry.key.key,
                "value": self.service.value_text(principal, document),
                "valueType": document.value_type.value,
                "version": entry.version,
            }
            cached = entry.memo[memo_key] = (_json(body), f'"{entry.version}"'.encode())
        return cached

    def _check(self, entry: Entry, params: dict[str, str]) -> Answer | None:
        if entry.flag is None:
            return None
        evaluation = entry.flag.evaluate(params.get("userId"), {})
        # Compiled flags share their Evaluation objects; keep the object with its bytes, so
        # a reused id() can never answer for another evaluation.
        memo_key = f"check:{id(evaluation)}"
        cached = entry.memo.get(memo_key)
        if cached is None or cached[0] is not evaluation:
            body = {"key": entry.key.key, "enabled": evaluation.enabled}
            if evaluation.value is not None:  # the seed's value is an object: never null
                body["value"] = evaluation.value
            body["reason"] = evaluation.reason
            cached = entry.memo[memo_key] = (evaluation, _json(body))
        return cached[1], None
