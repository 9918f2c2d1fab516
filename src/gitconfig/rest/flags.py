"""The /feature-flags endpoints: the seed's operations, plus delete, versions, rollback and
evaluation with a full context."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from gitconfig.core.model import Environment, Kind
from gitconfig.rest import models, openapi, render
from gitconfig.rest.deps import Caller, IfMatch, Reader, ServiceDep
from gitconfig.rest.strictjson import SeedRoute
from gitconfig.service import FlagChanges, NewFlag

router = APIRouter(
    prefix="/feature-flags",
    tags=["FeatureFlags"],
    route_class=SeedRoute,
    responses=openapi.NOT_READY,
)

_ERRORS = models.error_responses("Feature flag or version not found")
_WRITE_ERRORS = models.error_responses("Feature flag or version not found", write=True)


def _rules(rules: list[models.FeatureFlagRule] | None) -> list[dict[str, Any]] | None:
    if rules is None:
        return None
    return [rule.model_dump(exclude_none=True) for rule in rules]


@router.get(
    "",
    operation_id="listFeatureFlags",
    summary="List feature flags",
    description="One page of feature flags, filtered by application, environment and tag.",
    responses=_ERRORS,
)
async def list_feature_flags(
    service: ServiceDep,
    caller: Caller,
    application: str | None = None,
    environment: Environment | None = None,
    page: Annotated[int, Query()] = 0,
    size: Annotated[int, Query()] = 20,
) -> models.FeatureFlagPage:
    result = service.reads.list_entries(
        caller, Kind.FLAG, application, environment.value if environment else None, page, size
    )
    return models.FeatureFlagPage(
        content=[render.flag(e) for e in result.content], **render.paging(result)
    )


@router.post(
    "",
    operation_id="createFeatureFlag",
    summary="Create a feature flag",
    description="Validates the rules and commits a new file "
    "`flags/<application>/<environment>/<key>.yaml`. 409 if it exists.",
    status_code=status.HTTP_201_CREATED,
    responses=_WRITE_ERRORS,
    openapi_extra=openapi.example(
        {
            "key": "matching-v2",
            "application": openapi.APP,
            "environment": openapi.ENV,
            "description": "Route orders through the v2 matching engine",
            "enabled": True,
            "rules": [
                {"attribute": "region", "operator": "IN", "values": ["EU", "UK"]},
                {"percentage": 10},
            ],
            "tags": ["matching"],
        }
    ),
)
def create_feature_flag(
    body: models.CreateFeatureFlagRequest,
    service: ServiceDep,
    caller: Caller,
    response: Response,
) -> models.FeatureFlag:
    entry = service.flags.create(
        caller,
        NewFlag(
            key=body.key,
            application=body.application,
            environment=body.environment.value,
            description=body.description,
            enabled=body.enabled,
            rules=_rules(body.rules),
            value=body.value,
            tags=body.tags,
            change_description=body.changeDescription,
        ),
    )
    response.headers.update(render.etag(entry))
    response.headers["Location"] = f"/feature-flags/{entry.id}"
    return render.flag(entry)


@router.get(
    "/check",
    operation_id="checkFeatureFlag",
    summary="Check a flag for a user",
    description="Evaluates one flag for an optional `userId`: the hot path of flag checks.",
    responses=_ERRORS,
)
async def check_feature_flag(
    service: ServiceDep,
    caller: Caller,
    key: str,
    application: str,
    environment: Environment,
    userId: str | None = None,
) -> models.FlagCheck:
    entry, evaluation = service.flags.evaluate(
        caller, application, environment.value, key, userId, {}
    )
    return render.flag_check(entry, evaluation)


@router.post(
    "/evaluate",
    operation_id="evaluateFeatureFlag",
    summary="Evaluate a flag",
    description="Evaluates one flag for a user and attributes; the answer carries the reason "
    "(OpenFeature's vocabulary) and the commit it was read at.",
    responses=_ERRORS,
    openapi_extra=openapi.example(
        {
            "key": "matching-v2",
            "application": openapi.APP,
            "environment": openapi.ENV,
            "userId": "desk-7-alice",
            "attributes": {"region": "EU"},
        }
    ),
)
async def evaluate_feature_flag(
    body: models.EvaluationRequest, service: ServiceDep, caller: Reader
) -> models.FlagEvaluation:
    entry, evaluation = service.flags.evaluate(
        caller, body.application, body.environment.value, body.key, body.userId, body.attributes
    )
    return render.flag_evaluation(entry, evaluation)


@router.post(
    "/evaluate-all",
    operation_id="evaluateAllFeatureFlags",
    summary="Evaluate every flag",
    description="Evaluates every flag of one application and environment for one context, at "
    "one commit.",
    responses=_ERRORS,
    openapi_extra=openapi.example(
        {
            "application": openapi.APP,
            "environment": openapi.ENV,
            "userId": "desk-7-alice",
            "attributes": {"region": "EU"},
        }
    ),
)
async def evaluate_all_feature_flags(
    body: models.EvaluateAllRequest, service: ServiceDep, caller: Reader
) -> models.FlagEvaluations:
    evaluations = service.flags.evaluate_all(
        caller, body.application, body.environment.value, body.userId, body.attributes
    )
    return models.FlagEvaluations(
        application=body.application,
        environment=body.environment,
        commit=evaluations.commit,
        flags=[render.flag_evaluation(e, evaluation) for e, evaluation in evaluations.results],
    )


@router.get(
    "/{flagId}",
    operation_id="getFeatureFlag",
    summary="Get a feature flag",
    description="A feature flag by id, with its rules.",
    responses=_ERRORS,
)
async def get_feature_flag(
    flagId: str, service: ServiceDep, caller: Caller, response: Response
) -> models.FeatureFlag:
    entry = service.reads.get(caller, Kind.FLAG, flagId)
    response.headers.update(render.etag(entry))
    return render.flag(entry)


@router.put(
    "/{flagId}",
    operation_id="updateFeatureFlag",
    summary="Update a feature flag",
    description="Changes the given fields in one commit; `If-Match` as for configurations.",
    responses=_WRITE_ERRORS,
    openapi_extra=openapi.example({"enabled": False, "changeDescription": "Pause the rollout"}),
)
def update_feature_flag(
    flagId: str,
    body: models.UpdateFeatureFlagRequest,
    service: ServiceDep,
    caller: Caller,
    if_match: IfMatch,
    response: Response,
) -> models.FeatureFlag:
    changes = FlagChanges(
        description=body.description,
        enabled=body.enabled,
        rules=_rules(body.rules),
        value=body.value,
        value_set="value" in body.model_fields_set,
        tags=body.tags,
        change_description=body.changeDescription,
    )
    entry = service.flags.update(caller, flagId, changes, if_match)
    response.headers.update(render.etag(entry))
    return render.flag(entry)


@router.delete(
    "/{flagId}",
    operation_id="deleteFeatureFlag",
    summary="Delete a feature flag",
    description="Removes the file in one commit.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_WRITE_ERRORS,
)
def delete_feature_flag(
    flagId: str, service: ServiceDep, caller: Caller, if_match: IfMatch
) -> Response:
    service.writer.delete(caller, Kind.FLAG, flagId, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{flagId}/versions",
    operation_id="getFeatureFlagVersions",
    summary="List versions of a feature flag",
    description="Every version, newest first: one per commit that changed the file.",
    responses=_ERRORS,
)
async def get_feature_flag_versions(
    flagId: str, service: ServiceDep, caller: Caller
) -> list[models.FeatureFlagVersion]:
    return [render.flag_version(v) for v in service.reads.versions(caller, Kind.FLAG, flagId)]


@router.get(
    "/{flagId}/versions/{versionId}",
    operation_id="getFeatureFlagVersion",
    summary="Get one version of a feature flag",
    description="A version by number or by commit SHA (full, or a unique prefix of 7+).",
    responses=_ERRORS,
)
async def get_feature_flag_version(
    flagId: str, versionId: str, service: ServiceDep, caller: Caller
) -> models.FeatureFlagVersion:
    return render.flag_version(service.reads.version(caller, Kind.FLAG, flagId, versionId))


@router.post(
    "/{flagId}/rollback/{versionId}",
    operation_id="rollbackFeatureFlag",
    summary="Roll a feature flag back",
    description="A new commit restoring the content of an earlier version.",
    responses=_WRITE_ERRORS,
)
def rollback_feature_flag(
    flagId: str,
    versionId: str,
    service: ServiceDep,
    caller: Caller,
    if_match: IfMatch,
    response: Response,
) -> models.FeatureFlag:
    entry = service.writer.rollback(caller, Kind.FLAG, flagId, versionId, if_match)
    response.headers.update(render.etag(entry))
    return render.flag(entry)
