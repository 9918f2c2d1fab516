"""The audit trail use-case: who changed what, when, newest first, within the caller's scope."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gitconfig.access.principals import Principal, authorize
from gitconfig.core import configfile, flagfile
from gitconfig.core.errors import BadRequest, FieldError, NotReady
from gitconfig.core.limits import MAX_INT32
from gitconfig.core.model import ConfigDocument, Environment, FlagDocument, Kind
from gitconfig.core.paths import filter_errors, key_error
from gitconfig.index.audit import AuditIndex, AuditQuery, AuditRecord
from gitconfig.service.base import MAX_PAGE_SIZE
from gitconfig.service.reads import Reads


@dataclass(frozen=True)
class AuditEvent:
    """One row of the audit trail (the seed's ``configuration_audit_log``). ``value`` is the
    new value's API text (SECRET masked; a flag: its definition as JSON; DELETED: None)."""

    record: AuditRecord
    value: str | None

    @property
    def kind(self) -> Kind:
        return self.record.key.kind

    def fields(self) -> dict[str, Any]:
        """The row as REST and the CLI show it (the seed's audit-log fields, camelCase)."""
        record = self.record
        return {
            "eventId": record.event_id,
            "kind": record.key.kind.value,
            "key": record.key.key,
            "application": record.key.application,
            "environment": record.key.environment.value,
            "eventType": record.type.value,
            "version": record.version,
            "userId": record.author.name,
            "userEmail": record.author.email,
            "timestamp": record.time,
            "value": self.value,
            "changeDescription": record.source.message,
            "commit": record.commit.sha,
            "sourceCommit": record.source.sha,
            "mergedBy": record.merged_by.name if record.merged_by is not None else None,
        }


@dataclass(frozen=True)
class AuditPage:
    content: list[AuditEvent]
    page: int
    size: int
    total_elements: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total_elements / self.size) if self.size else 0


class Audit:
    """The audit trail of ``audit_index`` (kept by the index's refreshes), once ``reads``
    serves a snapshot."""

    def __init__(self, reads: Reads, audit_index: AuditIndex) -> None:
        self.reads = reads
        self.audit_index = audit_index

    def events(
        self,
        principal: Principal,
        application: str | None = None,
        environment: str | None = None,
        key: str | None = None,
        kind: str | None = None,
        author: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = 0,
        size: int = 20,
    ) -> AuditPage:
        """The changes matching the filters, newest first, that ``principal`` may read
        (``total_elements`` counts only those). Naming an application and environment outside
        the caller's read scope is PermissionDenied; bad filters are BadRequest; NotReady
        before the first index."""
        errors = filter_errors(application, environment)
        if key is not None and (error := key_error(key)) is not None:
            errors.append(error)
        if kind is not None and kind not in ("config", "flag"):
            errors.append(FieldError("kind", "must be config or flag"))
        if not 0 <= page <= MAX_INT32:  # as every other page: what an int32 field carries
            errors.append(FieldError("page", f"must be between 0 and {MAX_INT32}"))
        if not 1 <= size <= MAX_PAGE_SIZE:
            errors.append(FieldError("size", f"must be between 1 and {MAX_PAGE_SIZE}"))
        for name, moment in (("since", since), ("until", until)):
            if moment is not None and moment.tzinfo is None:
                errors.append(FieldError(name, "give a time zone (2026-01-31T12:00:00Z)"))
        if errors:
            raise BadRequest("invalid audit query", errors)
        if application is not None and environment is not None:
            authorize(principal, "read", application, environment)
        elif not principal.anywhere("read"):
            authorize(principal, "read")
        self.reads.snapshot()  # NotReady before the first index
        if not self.audit_index.ready:
            raise NotReady(
                "the audit trail is being rebuilt from Git (a warm start); retry shortly"
            )
        query = AuditQuery(
            application=application,
            environment=Environment(environment) if environment is not None else None,
            key=key,
            kind=Kind.CONFIG if kind == "config" else Kind.FLAG if kind == "flag" else None,
            author=author,
            since=since,
            until=until,
        )
        allowed = None if principal.may("read") else lambda k: principal.may_key("read", k)
        records, total = self.audit_index.query(query, allowed, page * size, size)
        return AuditPage([AuditEvent(r, _value(r)) for r in records], page, size, total)


def _value(record: AuditRecord) -> str | None:
    document = record.document
    if isinstance(document, ConfigDocument):
        return configfile.api_value_text(document, reveal=False)
    if isinstance(document, FlagDocument):
        return json.dumps(flagfile.to_mapping(document), separators=(",", ":"))
    return None
