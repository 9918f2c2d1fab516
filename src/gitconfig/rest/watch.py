"""``GET /configs/watch``: the change stream as server-sent events.

One ``change`` event per commit, carrying every change of that commit that matches the
filters, with ``id:`` the commit SHA; so a client that reconnects with ``Last-Event-ID``
(browsers do it on their own) resumes exactly after the last commit it received. First comes a
``ready`` event whose id is the commit the stream is live from (after any replay), then a
comment line every ``heartbeat`` seconds while nothing happens, so proxies keep the
connection. A stream that fell too far behind gets an ``error`` event (its id the commit to
resume after) and is closed; shutdown closes streams without one. See docs/grpc.md.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from gitconfig.access.gate import RECHECK_SECONDS, Gate, credential
from gitconfig.core.errors import GitconfigError, Unauthenticated
from gitconfig.core.model import Environment
from gitconfig.rest import models
from gitconfig.rest.deps import Caller, ServiceDep
from gitconfig.service import Batch, HistoryRewritten, SubscriberTooSlow, Subscription

router = APIRouter(prefix="/configs", tags=["Configurations"])

HEARTBEAT_SECONDS = 15.0
RETRY_MILLISECONDS = 1000


def heartbeat_seconds() -> float:
    """How long a stream may stay silent before a heartbeat comment (tests override it)."""
    return HEARTBEAT_SECONDS


class Change(BaseModel):
    type: str  # CREATED | UPDATED | DELETED
    kind: str  # config | flag
    id: str
    application: str
    environment: Environment
    key: str
    valueType: str | None
    value: str
    version: int


class CommitChanges(BaseModel):
    commit: str
    updatedAt: datetime
    changes: list[Change]


class StreamError(BaseModel):
    reason: str  # too-slow | history-rewritten | shutting-down | unauthenticated
    message: str
    resumeAfter: str | None = None


def _reason(exc: GitconfigError) -> str:
    if isinstance(exc, SubscriberTooSlow):
        return "too-slow"
    return "history-rewritten" if isinstance(exc, HistoryRewritten) else "error"


def _event(kind: str, event_id: str | None, data: str) -> str:
    head = f"event: {kind}\n" + (f"id: {event_id}\n" if event_id else "")
    return f"{head}data: {data}\n\n"


def _change_event(batch: Batch) -> str:
    body = CommitChanges(
        commit=batch.commit,
        updatedAt=batch.updates[0].time,
        changes=[
            Change(
                type=u.type.value,
                kind=u.kind.value,
                id=u.id,
                application=u.application,
                environment=u.environment,
                key=u.key,
                valueType=u.value_type.value if u.value_type else None,
                value=u.value,
                version=u.version,
            )
            for u in batch.updates
        ],
    )
    return _event("change", batch.commit, body.model_dump_json())


def _still_valid(recheck: Callable[[], None]) -> bool:
    try:
        recheck()
    except Unauthenticated:
        return False
    return True


def _revoked() -> str:
    """The last event of a stream whose credential was revoked or expired: no ``id``, so a
    reconnect with a valid credential resumes after the last change delivered."""
    error = StreamError(
        reason="unauthenticated", message="the stream's credential is no longer valid"
    )
    return _event("error", None, error.model_dump_json())


async def _stream(
    subscription: Subscription, heartbeat: float, recheck: Callable[[], None]
) -> AsyncIterator[str]:
    """The events of ``subscription``; ``recheck`` (raises ``Unauthenticated`` once the
    stream's credential is revoked or expired) runs at most every ``RECHECK_SECONDS`` and
    before a delivery once that much time has passed, so the cost per event stays a clock
    read."""
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n\n"
        ready = False
        seen = subscription.start
        checked = quiet = time.monotonic()
        while True:
            if time.monotonic() - checked >= RECHECK_SECONDS:
                if not _still_valid(recheck):
                    yield _revoked()
                    return
                checked = time.monotonic()
            if not ready and not subscription.replaying:  # its id must not skip the replay
                start = subscription.start
                yield _event("ready", start, f'{{"commit":"{start or ""}"}}')
                ready = True
            try:
                wait = min(heartbeat - (time.monotonic() - quiet), RECHECK_SECONDS)
                batch = await asyncio.wait_for(anext(subscription), max(wait, 0.0))
            except TimeoutError:
                if time.monotonic() - quiet >= heartbeat:
                    yield ": heartbeat\n\n"
                    quiet = time.monotonic()
                continue
            except StopAsyncIteration:  # the server is shutting down: come back, losslessly
                error = StreamError(
                    reason="shutting-down",
                    message="the server is shutting down: reconnect with Last-Event-ID",
                    resumeAfter=seen,
                )
                yield _event("error", seen, error.model_dump_json())
                return
            except GitconfigError as exc:
                resume = exc.resume_after if isinstance(exc, SubscriberTooSlow) else None
                error = StreamError(reason=_reason(exc), message=exc.message, resumeAfter=resume)
                yield _event("error", resume, error.model_dump_json())
                return
            seen = batch.commit
            if time.monotonic() - checked >= RECHECK_SECONDS:  # before this delivery
                if not _still_valid(recheck):
                    yield _revoked()
                    return
                checked = time.monotonic()
            quiet = time.monotonic()
            yield _change_event(batch)
    finally:
        subscription.close()


@router.get(
    "/watch",
    operation_id="watchConfigurations",
    summary="Stream configuration changes (SSE)",
    description="A Server-Sent Events stream of changes, one event per commit. Resume without "
    "loss by sending the last commit seen as `lastEventId` (or the `Last-Event-ID` header).",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"},
        400: {"model": models.ErrorBody, "description": "Invalid filter or unknown commit"},
        401: {"model": models.ErrorBody, "description": "Authentication required"},
        403: {"model": models.ErrorBody, "description": "Permission denied"},
        412: {"model": models.ErrorBody, "description": "Commit not in the branch's history"},
        503: {"model": models.ErrorBody, "description": "Not ready yet, or shutting down"},
    },
)
async def watch_configurations(
    request: Request,
    service: ServiceDep,
    caller: Caller,
    heartbeat: Annotated[float, Depends(heartbeat_seconds)],
    application: str | None = None,
    environment: Environment | None = None,
    keys: Annotated[list[str] | None, Query(description="Repeatable: keys=a&keys=b")] = None,
    includeFlags: bool = False,
    lastEventId: Annotated[
        str | None, Query(description="Resume after this commit, if no Last-Event-ID header")
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(alias="Last-Event-ID", description="Resume after this commit (SHA)"),
    ] = None,
    reveal: Annotated[
        bool, Query(description="SECRET values in plaintext (needs the reveal permission)")
    ] = False,
) -> StreamingResponse:
    """Stream configuration (and, with ``includeFlags``, flag) changes as they are committed.
    SECRET values are masked unless ``reveal=true``."""
    subscription = service.streams.watch(
        caller,
        application,
        environment.value if environment is not None else None,
        keys or [],
        includeFlags,
        last_event_id or lastEventId or None,
        reveal=reveal,
    )
    try:
        await subscription.prepare()
    except BaseException:
        subscription.close()
        raise
    gate: Gate = request.app.state.gate
    held = credential(request.scope["headers"])  # in memory only, never logged

    def recheck() -> None:
        gate.recheck(held, caller)

    return StreamingResponse(
        _stream(subscription, heartbeat, recheck),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
