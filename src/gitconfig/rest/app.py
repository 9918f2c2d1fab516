"""The FastAPI application factory: ``create_app(service, tokens)``."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from gitconfig import __version__
from gitconfig.access.gate import Gate
from gitconfig.access.principals import TokenRegistry
from gitconfig.rest import (
    audit,
    configs,
    docs,
    environments,
    errors,
    flags,
    health,
    openapi,
    spring,
    transfer,
    watch,
    webhooks,
)
from gitconfig.rest.bodylimit import BodyLimit
from gitconfig.rest.fastpath import ReadFastPath
from gitconfig.rest.observe import ObserveRequests
from gitconfig.rest.ofrep import OfrepEndpoint
from gitconfig.rest.slash import TrailingSlash
from gitconfig.service import Service

DESCRIPTION = """Configuration values and feature flags stored as YAML files in a Git
repository: every change is a commit, every version a commit SHA. All endpoints but
`/healthz` and `/readyz` need `Authorization: Bearer <token>`."""


class RestApp(FastAPI):
    """FastAPI that asks the read fast path first, before any middleware (Starlette's own
    included): a lookup or check answered there never enters the middleware stack
    (docs/performance.md, "HTTP reads against the bare ASGI ceiling")."""

    fast_reads: ReadFastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast = self.fast_reads
        if fast is not None and scope["type"] == "http" and await fast.answer(scope, receive, send):
            return
        await super().__call__(scope, receive, send)


def create_app(
    service: Service, tokens: TokenRegistry, fast_reads: bool = True, observe: bool = True
) -> RestApp:
    """The REST app. ``fast_reads`` answers successful lookups and flag checks without
    FastAPI's routing (see ``fastpath``); the answers are the same either way. ``observe``
    gives each request an id and records its metrics (see ``observe``; off only to
    measure what it costs)."""
    app = RestApp(
        title="Configuration Service API",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,  # never an absolute http:// Location: see slash.TrailingSlash
    )
    app.state.service = service
    app.state.gate = gate = Gate(tokens)  # every door of this app authenticates through it
    errors.install(app)
    if observe:  # what the fast path does not answer (it observes its own answers)
        app.add_middleware(ObserveRequests, metrics=service.metrics)
    if fast_reads:  # asked before the middlewares below (see RestApp)
        app.fast_reads = ReadFastPath(service, gate, service.metrics if observe else None)
    app.add_middleware(OfrepEndpoint, service=service, gate=gate)  # /ofrep/...: OFREP
    app.add_middleware(TrailingSlash)
    app.add_middleware(BodyLimit)  # outermost: no body beyond the limit reaches anything
    app.include_router(watch.router)  # first: /configs/watch is not a /configs/{configId}
    app.include_router(transfer.router)  # before /configs/{configId}, like watch
    app.include_router(environments.router)  # /configs/compare, /configs/promote: likewise
    app.include_router(configs.router)
    app.include_router(flags.router)
    app.include_router(health.router)
    app.include_router(audit.router)
    app.include_router(spring.router)  # /spring/...: Spring Cloud Config's API
    app.include_router(webhooks.router)
    docs.install(app)
    openapi.install(app)
    return app
