"""``GET /audit``: the audit trail (the seed's ``configuration_audit_log``), newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from gitconfig.core.model import Environment
from gitconfig.rest import models, openapi
from gitconfig.rest.deps import Caller, ServiceDep

router = APIRouter(tags=["Audit"], responses=openapi.NOT_READY)


class AuditEntry(BaseModel):
    eventId: str  # "<commit sha>:<path>"
    kind: Literal["config", "flag"]
    key: str
    application: str
    environment: Environment
    eventType: Literal["CREATED", "UPDATED", "DELETED", "ROLLED_BACK"]
    version: int
    userId: str
    userEmail: str
    timestamp: datetime
    value: str | None
    changeDescription: str
    commit: str  # the commit of the tracked branch that brought the change
    sourceCommit: str  # the commit that made it (on a merged branch, or ``commit``)
    mergedBy: str | None = None


class AuditPageModel(BaseModel):
    content: list[AuditEntry]
    page: int
    size: int
    totalElements: int
    totalPages: int


@router.get(
    "/audit",
    operation_id="listAuditEvents",
    summary="The audit trail",
    description="Changes newest first, only those the token may read: who changed which key, "
    "when, how (CREATED, UPDATED, DELETED, ROLLED_BACK), in which commit, and who merged it. "
    "Filters: application, environment, key, kind, author, since, until.",
    responses=models.error_responses("Not found"),
)
async def list_audit_events(
    service: ServiceDep,
    caller: Caller,
    application: str | None = None,
    environment: Environment | None = None,
    key: str | None = None,
    kind: Literal["config", "flag"] | None = None,
    author: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: Annotated[int, Query()] = 0,
    size: Annotated[int, Query()] = 20,
) -> AuditPageModel:
    """Changes newest first, only those the caller may read (``totalElements`` counts only
    those). Filters combine with AND; ``author`` is a name or an email; ``since``/``until``
    are ISO-8601 times with a zone."""
    result = service.audit.events(
        caller,
        application=application,
        environment=environment.value if environment else None,
        key=key,
        kind=kind,
        author=author,
        since=since,
        until=until,
        page=page,
        size=size,
    )
    return AuditPageModel(
        content=[AuditEntry.model_validate(event.fields()) for event in result.content],
        page=result.page,
        size=result.size,
        totalElements=result.total_elements,
        totalPages=result.total_pages,
    )
