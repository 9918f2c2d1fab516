"""Liveness, readiness, the index status and metrics.

``/healthz`` and ``/readyz`` need no token (probes; they reveal nothing but a status);
``/status`` and ``/metrics`` need one, as they name files and commits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from gitconfig.rest import openapi
from gitconfig.rest.deps import Caller, ServiceDep
from gitconfig.service import METRICS_CONTENT_TYPE, ReplicaStatus

router = APIRouter(tags=["Health"])


@router.get(
    "/healthz",
    operation_id="live",
    summary="Liveness probe",
    description="200 while the process serves HTTP. No token. `HEAD` answers like `GET`.",
)
@router.head("/healthz", include_in_schema=False)
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="ready",
    summary="Readiness probe",
    description="200 once the first complete index is built; 503 before, and from the moment a "
    "shutdown starts (so load balancers stop sending). No token. `HEAD` answers too.",
    responses={
        503: {
            "description": "Not ready: the first index is not built yet, or shutting down",
            "content": {"application/json": {"example": {"status": "starting"}}},
        }
    },
)
@router.head("/readyz", include_in_schema=False)
async def ready(service: ServiceDep) -> JSONResponse:
    if not service.operations.ready:
        body: dict[str, Any] = {"status": "starting"}
        progress = service.index.progress
        if progress is not None:  # a long first index: how far it is
            body["phase"] = progress.phase
            body["indexedFiles"] = progress.files
            body["elapsedSeconds"] = round(progress.seconds, 1)
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get(
    "/status",
    operation_id="status",
    summary="Index status",
    description="The served commit, the number of entries and the files at HEAD that do not "
    "validate (served fail-static, with the commit that broke them).",
    responses=openapi.NOT_READY,
)
async def index_status(service: ServiceDep, caller: Caller) -> dict[str, Any]:
    status = service.operations.status(caller)
    replica = service.operations.replica_status(caller)
    body: dict[str, Any] = {
        "commit": status.commit,
        "branch": status.branch,
        "entries": status.entries,
        "problems": [
            {"path": p.path, "commit": p.commit, "errors": list(p.errors)} for p in status.problems
        ],
        "secrets": [
            {"path": s.path, "commit": s.commit, "error": s.reason} for s in status.secrets
        ],
    }
    if replica is not None:
        body["remote"] = render_replica(replica)
    return body


def render_replica(replica: ReplicaStatus) -> dict[str, Any]:
    """``/status``'s ``remote`` section (times as ISO 8601 UTC)."""
    fetched = replica.last_fetch_at
    return {
        "url": replica.remote,
        "branch": replica.branch,
        "readOnly": replica.read_only,
        "servedCommit": replica.served_commit,
        "remoteHead": replica.remote_head,
        "commitsBehind": replica.commits_behind,
        "lastFetchAt": None
        if fetched is None
        else datetime.fromtimestamp(fetched, UTC).isoformat(),
        "lastFetchOk": replica.last_fetch_ok,
        "lastError": replica.last_error,
        "pollIntervalSeconds": replica.poll_interval,
    }


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics",
    description="The Prometheus text format: requests, latencies, writes, streams, the index. "
    "See docs/operations.md for what to alert on.",
    response_class=PlainTextResponse,
    responses=openapi.NOT_READY,
)
async def prometheus_metrics(service: ServiceDep, caller: Caller) -> PlainTextResponse:
    """The Prometheus text format: readiness, entries, invalid files, refreshes, streams."""
    return PlainTextResponse(
        service.operations.metrics_text(caller), media_type=METRICS_CONTENT_TYPE
    )
