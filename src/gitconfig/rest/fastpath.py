"""A pure-ASGI fast path for the two hottest reads: ``GET /configs/lookup`` and
``GET /feature-flags/check``.

Services read configuration and check flags at high rates; FastAPI's routing, dependency
injection and response validation, and even Starlette's middleware stack, cost more than the
read itself. ``ReadFastPath.answer``, asked first by the app (``app.RestApp``), answers a
successful read straight from the snapshot, with response bytes kept by the read side per
immutable entry (``readside.Renderings``: a lookup's answer; ``EvaluationRenderings``: a
check's answer per evaluation outcome, which compiled flags share).
Every other case but one — a bad, missing or extra parameter, no or a wrong token, an unknown
key, the index not ready — falls through to the FastAPI route, so errors are produced in
one place only and the answers are identical (their ``X-Request-ID`` aside: see
``ReadFastPath``): the bytes come from the routes' own renderers
(``render``), and ``tests/rest/test_rest_fastpath.py`` compares them byte for byte.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, MutableMapping
from time import perf_counter
from typing import Any
from urllib.parse import unquote_plus

from gitconfig.access.gate import Gate, client_address
from gitconfig.access.principals import Principal, authorize
from gitconfig.core.errors import GitconfigError, RateLimited
from gitconfig.core.model import ConfigDocument, Environment, Kind, ValueType
from gitconfig.readside import EvaluationRenderings, ParsedQueries, Renderings
from gitconfig.rest import accesslog, render
from gitconfig.rest.errors import error_response
from gitconfig.service import Entry, Metrics, Service, Snapshot, requestid

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOKUP = "/configs/lookup"
CHECK = "/feature-flags/check"
_REQUIRED = frozenset(("key", "application", "environment"))
_ALLOWED = {LOOKUP: _REQUIRED | {"reveal"}, CHECK: _REQUIRED | {"userId"}}
Answer = tuple[bytes, tuple[tuple[bytes, bytes], ...]]  # body, response headers (encoded)
PRINCIPAL = "gitconfig.principal"  # scope["state"] key: the principal the fast path found
REFUSED = "gitconfig.refused"  # scope["state"] key: the authentication error it met (counted)
REQUEST_ID = b"x-request-id"
FLUSH_SECONDS = 1.0  # the fast path's metrics reach the histograms at least this often
_BODY_HEADERS = frozenset((b"content-length", b"transfer-encoding"))


Query = tuple[str, str, Environment, str, str | None]  # app, env, Environment, key, extra


def _query(raw: bytes, allowed: frozenset[str]) -> Query | None:
    """(application, environment, Environment, key, reveal or userId) of a query, or None
    when it is anything but plain and complete."""
    params: dict[str, str] = {}
    for part in raw.decode("latin-1").split("&"):
        name, sep, value = part.partition("=")
        if not sep or name not in allowed or name in params:
            return None
        params[name] = unquote_plus(value) if "%" in value or "+" in value else value
    if not params.keys() >= _REQUIRED or params["environment"] not in Environment.__members__:
        return None
    environment = params["environment"]
    extra = params.get("userId")
    if "reveal" in allowed:
        extra = params.get("reveal", "false")
        if extra not in ("true", "false"):
            return None
    return params["application"], environment, Environment(environment), params["key"], extra


class _Seen:
    """What the fast path knows of one query string: its parse, and the last answer made for
    it with the principal it was made for, valid while ``generation`` is current (the
    snapshot it was made from is still the served one)."""

    __slots__ = ("answer", "generation", "principal", "query")

    def __init__(self, query: Query | None) -> None:
        self.query = query
        self.generation = -1
        self.answer: Answer = (b"", ())
        self.principal: Principal | None = None


class ReadFastPath:
    """``answer`` serves a plain successful lookup or check, or the 429 of a caller over its
    rate limit, and says whether it did (the app calls it before anything else:
    ``app.RestApp``). With ``metrics``, an answer here is observed as
    ``observe.ObserveRequests`` observes the routes' (which sees only what falls through),
    more cheaply than by wrapping its ``send`` (docs/performance.md, "Per-request metrics"):
    its latency and status in the request histogram, and its access-log line when that log
    is on (``accesslog``). A 429 carries an ``X-Request-ID`` always, as every error does; a
    200 carries the caller's sane id, or a new one when the caller's is not sane or the
    access log is on, and otherwise none: it logs nothing, so a made-up id would name no log
    line (``docs/decisions.md``, "Request ids on the read fast path"). Without ``metrics``,
    none of this.

    Kept between requests, so that a repeated read is a few dictionary lookups: principals
    by ``Authorization`` header (``tokencache``); per path, query strings
    (``readside.ParsedQueries``, emptied when full) with their parse and their last answer,
    which serves again while the snapshot is the same one (a new snapshot starts a new
    generation: nothing older is used, and no snapshot is kept alive by this) and the
    principal may read there (the same decision as ``authorize``); the bytes of a lookup per
    entry (``renderings``) and of a check per entry and evaluation (``checks``). A revealed
    SECRET's answer is never kept per query (its bytes are kept per entry; the permission is
    checked on every request)."""

    def __init__(self, service: Service, gate: Gate, metrics: Metrics | None = None) -> None:
        self.service = service
        self.gate = gate
        self.metrics = metrics
        self._tallies = {path: metrics.http_tally(path, "GET", 200) for path in _ALLOWED if metrics}
        self._seen: dict[str, ParsedQueries[_Seen]] = {path: ParsedQueries() for path in _ALLOWED}
        self.renderings = Renderings[Answer]()
        self.checks = EvaluationRenderings[Answer]()
        self._snapshot: Callable[[], Snapshot | None] = lambda: None  # weakly, the last seen
        self._generation = 0
        self._current = service.index.current  # raises NotReady before the first index
        self._flushed = perf_counter()

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """True when this answered the request (a 200, or a 429 over the rate limit); False
        when the app must (sent nothing then)."""
        path = scope["path"]
        seen_by_query = self._seen.get(path)
        if seen_by_query is None or scope["method"] != "GET":
            return False
        started = perf_counter()
        raw = scope["query_string"]
        seen = seen_by_query.get(raw)
        if seen is None:
            seen = self._remember(seen_by_query, raw, path)
        query = seen.query
        if query is None:
            return False
        authorization = sent_id = None
        for name, value in scope["headers"]:  # the first of a repeated header, as Starlette
            if name == b"authorization":
                authorization = value if authorization is None else authorization
            elif name == REQUEST_ID:
                sent_id = value if sent_id is None else sent_id
            elif name in _BODY_HEADERS:
                return False  # a body: the body limit and the route judge it
        try:
            principal = self.gate.principal(authorization, client=client_address(scope))
        except RateLimited as exc:
            await self._refuse(exc, path, started, sent_id, scope, receive, send)
            return True
        except GitconfigError as exc:
            # The route answers it without authenticating (and counting a failure) again.
            scope.setdefault("state", {})[REFUSED] = exc
            return False
        if (
            seen.generation == self._generation
            and self._current() is self._snapshot()
            and (seen.principal is principal or principal.may("read", query[0], query[1]))
        ):  # the answer kept for this query, made from the served snapshot, for a principal
            # that may read there (``may``: the decision ``authorize`` asks; ``_current``
            # cannot raise NotReady here: an answer was made, so the index was built, and it
            # never goes back)
            seen.principal = principal
            body, headers = seen.answer
        else:
            answer = self._answer(path, seen, principal)
            if answer is None:
                # The route must not authenticate (and count) this request a second time.
                scope.setdefault("state", {})[PRINCIPAL] = principal
                return False
            body, headers = answer
        metrics = self.metrics
        if metrics is None:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return True
        access, rid = accesslog.enabled(), b""
        if sent_id is not None or access:  # an id that names something (see the class)
            rid = requestid.accept_header(sent_id)
            headers = (*headers, (REQUEST_ID, rid))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        now = perf_counter()
        self._tallies[path].observe(now - started)
        if access:
            _log(path, 200, now - started, rid)
        if now - self._flushed > FLUSH_SECONDS:
            self._flushed = now
            metrics.flush_tallies()
        return True

    async def _refuse(
        self,
        exc: RateLimited,
        path: str,
        started: float,
        sent_id: bytes | None,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """The 429 of a caller over its rate limit, answered here as the route would answer
        it (the same ``error_response``, a request id, its metrics and access line): a
        refusal stays cheap while a client hammers the service, and its request is counted
        once by the limiter."""
        response = error_response(exc)
        if self.metrics is None:
            await response(scope, receive, send)
            return
        rid = requestid.accept_header(sent_id)
        response.raw_headers.append((REQUEST_ID, rid))
        await response(scope, receive, send)
        seconds = perf_counter() - started
        self.metrics.http_recorder(path, "GET", 429)(seconds)
        if accesslog.enabled():
            _log(path, 429, seconds, rid)

    @staticmethod
    def _remember(seen_by_query: ParsedQueries[_Seen], raw: bytes, path: str) -> _Seen:
        return seen_by_query.put(raw, _Seen(_query(raw, _ALLOWED[path])))

    def _answer(self, path: str, seen: _Seen, principal: Principal) -> Answer | None:
        assert seen.query is not None
        application, environment, env, key, extra = seen.query
        try:
            authorize(principal, "read", application, environment)
            snapshot = self._current()
        except GitconfigError:
            return None  # the route answers the error (403, 503)
        if path == LOOKUP:
            entry = snapshot.get(Kind.CONFIG, application, env, key)
            reveal = extra == "true"
            answer = None if entry is None else self._lookup(entry, principal, reveal)
            if reveal:
                return answer  # never kept here
        else:
            entry = snapshot.get(Kind.FLAG, application, env, key)
            answer = None if entry is None else self._check(entry, extra)
        if answer is not None:
            if snapshot is not self._snapshot():
                self._snapshot = weakref.ref(snapshot)
                self._generation += 1
            seen.generation, seen.answer, seen.principal = self._generation, answer, principal
        return answer

    def _lookup(self, entry: Entry, principal: Principal, reveal: bool) -> Answer | None:
        document = entry.document
        if not isinstance(document, ConfigDocument):
            return None
        reveal = reveal and document.value_type is ValueType.SECRET
        if reveal and not self.service.box.may_reveal(principal, entry.key):
            return None  # the route answers 403
        # Revealed bytes are kept like the decrypted value itself (by this immutable entry);
        # the permission is checked on every request, above.
        kept = (entry, "lookup:reveal" if reveal else "lookup")
        cached = self.renderings.get(kept)
        if cached is None:
            if reveal and self.service.box.pending(principal, [entry]):
                return None  # the route decrypts it in a worker thread, off the event loop
            try:
                answer = render.config_value(self.service, principal, entry, reveal)
            except GitconfigError:
                return None  # cannot decrypt: the route answers the error
            etag = render.etag(entry)["ETag"].encode()
            cached = self.renderings.put(kept, _answer_of(render.json_bytes(answer), etag))
        return cached

    def _check(self, entry: Entry, user_id: str | None) -> Answer | None:
        if entry.flag is None:
            return None
        evaluation = entry.flag.evaluate(user_id, {})
        return self.checks.rendering(
            entry,
            evaluation,
            lambda: _answer_of(render.json_bytes(render.flag_check(entry, evaluation)), None),
        )


def _answer_of(body: bytes, etag: bytes | None) -> Answer:
    headers = ((b"content-length", b"%d" % len(body)), (b"content-type", b"application/json"))
    return body, headers if etag is None else (*headers, (b"etag", etag))


def _log(path: str, status: int, seconds: float, request_id: bytes) -> None:
    """The access line of a fast answer, under its request id."""
    token = requestid.current.set(request_id.decode("latin-1"))
    try:
        accesslog.write("GET", path, status, seconds, path)
    finally:
        requestid.current.reset(token)
