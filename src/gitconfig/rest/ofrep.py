"""OFREP over HTTP: ``POST /ofrep/{application}/{environment}/ofrep/v1/evaluate/flags[/{key}]``.

An OpenFeature OFREP provider whose base URL is ``<server>/ofrep/<application>/<ENV>``
appends ``/ofrep/v1/evaluate/flags/...`` itself, so one base URL selects one flag set.
Served as a pure-ASGI endpoint in front of FastAPI (like ``fastpath``): evaluations are
hot, and the protocol's answers (``{errorCode, errorDetails}`` errors, 304s) are its own.

    200  single: {key, value?, reason, variant, metadata}; bulk: {flags: [...], metadata}
         with ETag (the served commit and a digest of the context)
    304  bulk, If-None-Match names the current ETag
    400  {key?, errorCode: PARSE_ERROR | INVALID_CONTEXT | TARGETING_KEY_MISSING, errorDetails}
    401  no or an unknown token (``Authorization: Bearer`` or ``X-API-Key``); 403 no read role
    429  over the principal's rate limit, ``Retry-After`` in whole seconds
    404  {key, errorCode: FLAG_NOT_FOUND, errorDetails}
    405  a method other than POST;  503 (Retry-After: 1) the first index is not complete
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

from gitconfig.access.gate import Gate, client_address, credential
from gitconfig.access.principals import Principal
from gitconfig.core import ofrep
from gitconfig.core.errors import (
    BadRequest,
    GitconfigError,
    NotFound,
    NotReady,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
)
from gitconfig.core.text import scrub
from gitconfig.readside import EvaluationRenderings, OfrepContexts
from gitconfig.service import Service, requestid

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

log = logging.getLogger(__name__)

PREFIX: Final = "/ofrep/"
_TAIL: Final = ("ofrep", "v1", "evaluate", "flags")
_MAX_BODY: Final = 1 << 20


def _json(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _route(path: str) -> tuple[str, str, str | None] | None:
    """(application, environment, key or None for bulk) of an OFREP path, else None."""
    parts = path[len(PREFIX) :].split("/")
    if len(parts) not in (6, 7) or tuple(parts[2:6]) != _TAIL:
        return None
    key = parts[6] if len(parts) == 7 else None
    if key == "" or not parts[0] or not parts[1]:
        return None
    return parts[0], parts[1], key


class OfrepEndpoint:
    def __init__(self, app: ASGIApp, service: Service, gate: Gate) -> None:
        self.app = app
        self.service = service
        self.gate = gate
        # Parsed contexts by request body (a Context is immutable; bodies that fail are not
        # kept), and the bytes of a single flag's answer per entry and evaluation.
        self.contexts = OfrepContexts()
        self.answers = EvaluationRenderings[bytes]()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = None
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            route = _route(scope["path"])
        if route is None:
            await self.app(scope, receive, send)
            return
        application, environment, key = route
        if scope["method"] != "POST":
            body = _json({"errorDetails": "OFREP evaluations are POST requests"})
            await _send(send, 405, body, [(b"allow", b"POST")])
            return
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:  # the first of a repeated header, as Starlette
            headers.setdefault(name, value)
        request = await _body(receive)
        try:
            principal = self.gate.principal(
                credential(scope["headers"], api_key=True), client=client_address(scope)
            )
            if request is None:
                raise ofrep.OfrepError(ofrep.PARSE_ERROR, "the request body is too large")
            context = self.contexts.get(request)
            if context is None:
                context = self.contexts.keep(request, ofrep.parse_request(request))
            if key is None:
                status, body, extra = self._bulk(
                    principal, application, environment, context, headers.get(b"if-none-match")
                )
            else:
                body = self._single(principal, application, environment, key, context)
                status, extra = 200, []
        except GitconfigError as exc:
            status, body, extra = _error(exc, key)
        await _send(send, status, body, extra)

    def _single(
        self,
        principal: Principal,
        application: str,
        environment: str,
        key: str,
        context: ofrep.Context,
    ) -> bytes:
        entry, evaluation = self.service.ofrep.evaluate(
            principal, application, environment, key, context
        )
        flag = entry.flag
        assert flag is not None
        return self.answers.rendering(
            entry,
            evaluation,
            lambda: _json(
                ofrep.answer(key, flag.document, evaluation, entry.served.commit.sha, entry.version)
            ),
        )

    def _bulk(
        self,
        principal: Principal,
        application: str,
        environment: str,
        context: ofrep.Context,
        if_none_match: bytes | None,
    ) -> tuple[int, bytes, Headers]:
        bulk = self.service.ofrep.evaluate_all(principal, application, environment, context)
        etag = bulk.etag.encode()
        headers: Headers = [(b"etag", etag)]
        if if_none_match is not None and _matches(if_none_match, etag):
            return 304, b"", headers
        body = {"flags": bulk.flags, "metadata": {"commit": bulk.commit or ""}}
        return 200, _json(body), headers


def _matches(if_none_match: bytes, etag: bytes) -> bool:
    """Whether an ``If-None-Match`` list names ``etag`` (weak comparison) or is ``*``."""
    for candidate in if_none_match.split(b","):
        text = candidate.strip()
        if text == b"*" or text.removeprefix(b"W/") == etag:
            return True
    return False


def _error(exc: GitconfigError, key: str | None) -> tuple[int, bytes, Headers]:
    if isinstance(exc, ofrep.OfrepError):
        return 400, _json(ofrep.failure(key, exc.code, exc.message)), []
    if isinstance(exc, BadRequest):
        details = "; ".join([exc.message, *(f"{e.field}: {e.message}" for e in exc.errors)])
        return 400, _json(ofrep.failure(key, ofrep.INVALID_CONTEXT, details)), []
    if isinstance(exc, NotFound):
        return 404, _json(ofrep.failure(key or "", ofrep.FLAG_NOT_FOUND, exc.message)), []
    if isinstance(exc, Unauthenticated):
        return 401, _json({"errorDetails": exc.message}), [(b"www-authenticate", b"Bearer")]
    if isinstance(exc, PermissionDenied):
        return 403, _json({"errorDetails": exc.message}), []
    if isinstance(exc, RateLimited):
        retry = str(max(1, exc.retry_after)).encode()
        return 429, _json({"errorDetails": exc.message}), [(b"retry-after", retry)]
    if isinstance(exc, NotReady):
        return 503, _json({"errorDetails": exc.message}), [(b"retry-after", b"1")]
    # Anything else is ours: the detail goes to the log (scrubbed), the caller gets an id.
    request_id = requestid.current.get() or requestid.new().decode()
    log.error("OFREP request %s failed: %s", request_id, scrub(exc.message))
    return 500, _json({"errorDetails": f"internal error (request id {request_id})"}), []


async def _body(receive: Receive) -> bytes | None:
    """The request body, or None when it exceeds ``_MAX_BODY``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, status: int, body: bytes, extra: Headers) -> None:
    headers: Headers = []
    if status != 304:
        headers.append((b"content-length", str(len(body)).encode()))
        headers.append((b"content-type", b"application/json"))
    headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
