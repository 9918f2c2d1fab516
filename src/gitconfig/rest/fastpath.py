"""A pure-ASGI fast path for the two hottest reads: ``GET /configs/lookup`` and
``GET /feature-flags/check``.

Services read configuration and check flags at high rates; FastAPI's routing, dependency
injection and response validation cost more than the read itself. This middleware answers a
successful read straight from the snapshot, with response bytes cached on the immutable entry
(a lookup's answer; a check's answer per evaluation outcome, which compiled flags share).
Every other case — a bad, missing or extra parameter, no or a wrong token, an unknown key, the
index not ready — falls through to the FastAPI route, so errors are produced in one place
only and the answers are identical: the bytes come from the routes' own renderers
(``render``), and ``tests/rest/test_rest_fastpath.py`` compares them byte for byte.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_plus

from gitconfig.core.errors import GitconfigError, RateLimited
from gitconfig.core.model import ConfigDocument, Environment, Kind, ValueType
from gitconfig.index.snapshot import Entry
from gitconfig.rest import render
from gitconfig.rest.errors import error_response
from gitconfig.service import requestid
from gitconfig.service.access import Principal, TokenRegistry, authorize
from gitconfig.service.facade import Service
from gitconfig.service.metrics import Metrics
from gitconfig.service.serving import per_evaluation

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOKUP = "/configs/lookup"
CHECK = "/feature-flags/check"
_REQUIRED = frozenset(("key", "application", "environment"))
_ALLOWED = {LOOKUP: _REQUIRED | {"reveal"}, CHECK: _REQUIRED | {"userId"}}
Answer = tuple[bytes, bytes | None]  # body, ETag
PRINCIPAL = "gitconfig.principal"  # scope["state"] key: the principal the fast path found
REQUEST_ID = b"x-request-id"
FLUSH_SECONDS = 1.0  # the fast path's metrics reach the histograms at least this often


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
    if params.get("reveal", "false") not in ("true", "false"):
        return None
    return params


def _request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == REQUEST_ID:
            return value.decode("latin-1")  # type: ignore[no-any-return]
    return None


class ReadFastPath:
    """With ``metrics``, an answer here records its own request metrics and request id (the
    ``observe`` middleware behind it sees only what falls through): cheaper than wrapping
    every fast answer's ``send`` (docs/performance.md, "Per-request metrics")."""

    def __init__(
        self, app: ASGIApp, service: Service, tokens: TokenRegistry, metrics: Metrics | None = None
    ) -> None:
        self.app = app
        self.service = service
        self.tokens = tokens
        self.metrics = metrics
        self._tallies = {path: metrics.http_tally(path, "GET", 200) for path in _ALLOWED if metrics}
        self._flushed = time.perf_counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            started = time.perf_counter()
            allowed = _ALLOWED.get(scope["path"])
            try:
                answer = self._answer(scope, allowed) if allowed is not None else None
            except RateLimited as exc:
                await error_response(exc)(scope, receive, send)
                return
            if answer is not None:
                body, etag = answer
                headers = [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", b"application/json"),
                ]
                if etag is not None:
                    headers.append((b"etag", etag))
                if self.metrics is not None:
                    sent = _request_id(scope)
                    rid = requestid.new() if sent is None else requestid.accept(sent).encode()
                    headers.append((REQUEST_ID, rid))
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                if self.metrics is not None:
                    now = time.perf_counter()
                    self._tallies[scope["path"]].observe(now - started)
                    if now - self._flushed > FLUSH_SECONDS:
                        self._flushed = now
                        self.metrics.flush_tallies()
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
        except RateLimited:
            raise
        except GitconfigError:
            return None
        # The FastAPI route must not authenticate (and count) this request a second time.
        scope.setdefault("state", {})[PRINCIPAL] = principal
        try:
            authorize(principal, "read", params["application"], params["environment"])
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
            return self._lookup(entry, principal, params.get("reveal") == "true")
        return self._check(entry, params)

    def _lookup(self, entry: Entry, principal: Principal, reveal: bool) -> Answer | None:
        document = entry.document
        if not isinstance(document, ConfigDocument):
            return None
        reveal = reveal and document.value_type is ValueType.SECRET
        if reveal and not self.service.may_reveal(principal, entry.key):
            return None  # the route answers 403
        if (
            reveal
            and "lookup:reveal" not in entry.memo
            and self.service.undecrypted(principal, [entry])
        ):
            return None  # the route decrypts it in a worker thread, off the event loop
        # Revealed bytes are cached like the decrypted value itself (by this immutable entry);
        # the permission is checked on every request, above.
        memo_key = "lookup:reveal" if reveal else "lookup"
        cached: Answer | None = entry.memo.get(memo_key)
        if cached is None:
            try:
                answer = render.config_value(self.service, principal, entry, reveal)
            except GitconfigError:
                return None  # cannot decrypt: the route answers the error
            body = render.json_bytes(answer)
            cached = entry.memo[memo_key] = (body, render.etag(entry)["ETag"].encode())
        return cached

    def _check(self, entry: Entry, params: dict[str, str]) -> Answer | None:
        if entry.flag is None:
            return None
        evaluation = entry.flag.evaluate(params.get("userId"), {})
        body = per_evaluation(
            entry,
            "check",
            evaluation,
            lambda: render.json_bytes(render.flag_check(entry, evaluation)),
        )
        return body, None
