"""``GET /configs/compare`` and ``POST /configs/promote``: one application across two
environments (configurations and flags), and the provenance block of ``?provenance=true``."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from gitconfig.access.principals import Principal
from gitconfig.core import envdiff
from gitconfig.core.model import Environment
from gitconfig.rest import models, openapi
from gitconfig.rest.deps import Caller, ServiceDep
from gitconfig.service import Entry, Promotion, Service, Side

router = APIRouter(prefix="/configs", tags=["Environments"], responses=openapi.NOT_READY)

_ERRORS = models.error_responses("Not found")
_WRITE_ERRORS = models.error_responses("Not found", write=True)


class FieldChange(BaseModel):
    field: str = Field(
        description="type, value, description, schema, tags; for flags description, "
        "enabled, value, tags, rules.<n>"
    )
    old: str | None = Field(description="The old side's text (null: absent)")
    new: str | None = Field(description="The new side's text (null: absent)")


class KeyDifference(BaseModel):
    kind: str = Field(description="config or flag")
    key: str
    change: str = Field(description="added, removed, changed or not comparable")
    fields: list[FieldChange]
    secret: str | None = Field(
        None, description="A SECRET value: same, differs or not comparable (never the value)"
    )


class CompareSide(BaseModel):
    environment: Environment
    commit: str | None = Field(description="The commit this side was read at")
    at: str | None = Field(None, description="The @commit or @date asked for (null: the head)")


class CompareSummary(BaseModel):
    added: int
    removed: int
    changed: int
    notComparable: int


class Comparison(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    application: str
    source: CompareSide = Field(alias="from")
    target: CompareSide = Field(alias="to")
    summary: CompareSummary
    differences: list[KeyDifference]


class PromoteBody(models.Body):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    application: str = Field(description="Application name")
    source: Environment = Field(alias="from", description="Environment to copy from")
    target: Environment = Field(alias="to", description="Environment to copy to")
    keys: list[str] | None = Field(None, description="Keys to promote (default: all)")
    dryRun: bool = Field(False, description="Report what would change, write nothing")
    changeDescription: str | None = Field(None, description="Commit message (optional)")


class PromoteResponse(BaseModel):
    changes: list[KeyDifference] = Field(description="Per key: the target's old and new text")
    unchanged: list[str] = Field(description="Chosen keys already equal in the target")
    commit: str | None = Field(description="The promotion's commit; null if none was written")
    message: str = Field(description="The commit message (with dryRun: the one it would have)")


def _difference(diff: envdiff.KeyDiff) -> KeyDifference:
    return KeyDifference.model_validate(diff.data())


def _side(side: Side) -> CompareSide:
    return CompareSide(environment=side.environment, commit=side.commit, at=side.at)


@router.get(
    "/compare",
    operation_id="compareEnvironments",
    summary="Compare two environments",
    description="Per key of an application, what differs from one environment (or a commit or "
    "date of it: `PROD@<sha>`) to another: configurations field by field (type, value, schema, "
    "description, tags) and flags rule by rule. SECRET values are only `same` or `differs`, and "
    "`not comparable` unless the token may reveal them.",
    responses=_ERRORS,
)
def compare_environments(
    service: ServiceDep,
    caller: Caller,
    application: str,
    source: Annotated[
        str, Query(alias="from", description="ENV, ENV@<commit> or ENV@<ISO-8601 date>")
    ],
    target: Annotated[
        str, Query(alias="to", description="ENV, ENV@<commit> or ENV@<ISO-8601 date>")
    ],
) -> Comparison:
    """Per key of ``application``, what differs from ``from`` to ``to``: configurations
    (type, value, schema, description, tags) and flags (rule by rule). SECRET values are
    never shown: ``secret`` is same or differs when the caller may reveal secrets, else
    not comparable."""
    found = service.environments.compare(caller, application, source, target)
    counts = Counter(diff.change for diff in found.differences)
    return Comparison.model_validate(
        {
            "application": found.application,
            "from": _side(found.old),
            "to": _side(found.new),
            "summary": CompareSummary(
                added=counts["added"],
                removed=counts["removed"],
                changed=counts["changed"],
                notComparable=counts[envdiff.NOT_COMPARABLE],
            ),
            "differences": [_difference(diff) for diff in found.differences],
        }
    )


@router.post(
    "/promote",
    operation_id="promoteEnvironment",
    summary="Promote between environments",
    description="Copy the chosen keys (default: all) of an application from one environment to "
    "another as one commit whose message lists what changed; refused as a whole if any value "
    "fails the target's validation. `dryRun` reports without writing.",
    responses=_WRITE_ERRORS,
    openapi_extra=openapi.example(
        {
            "application": openapi.APP,
            "from": openapi.ENV,
            "to": "STAGING",
            "keys": ["max-order-size"],
            "dryRun": True,
            "changeDescription": "Promote the order cap to STAGING",
        }
    ),
)
def promote(body: PromoteBody, service: ServiceDep, caller: Caller) -> PromoteResponse:
    """Copy keys (default: all) of an application from one environment to another as one
    commit whose message lists the changes; all or nothing (400 listing every value the
    target refuses). SECRET values are re-encrypted for the target's recipients (needs the
    reveal permission on the source)."""
    result = service.environments.promote(
        caller,
        Promotion(
            application=body.application,
            source=body.source.value,
            target=body.target.value,
            keys=body.keys or (),
            dry_run=body.dryRun,
            message=body.changeDescription,
        ),
    )
    return PromoteResponse(
        changes=[_difference(diff) for diff in result.changes],
        unchanged=result.unchanged,
        commit=result.commit,
        message=result.message,
    )


def with_provenance(
    service: Service, caller: Principal, entry: Entry, body: BaseModel, headers: dict[str, str]
) -> JSONResponse:
    """``body`` with a ``provenance`` block: the served value's commit (author, time,
    message, version) and, for a change merged from a branch, ``mergedCommit`` (the commit on
    that branch) while ``commit`` is the merge commit."""
    block = service.environments.provenance(caller, entry).fields()
    content = jsonable_encoder(body, by_alias=True) | {"provenance": jsonable_encoder(block)}
    return JSONResponse(content, headers=headers)
