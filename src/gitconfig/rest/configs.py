"""The /configs endpoints of the seed's OpenAPI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel

from gitconfig.access.principals import Principal
from gitconfig.core.model import Environment, Kind
from gitconfig.rest import environments, models, openapi, render
from gitconfig.rest.deps import Caller, IfMatch, ServiceDep
from gitconfig.rest.strictjson import SeedRoute
from gitconfig.service import ConfigChanges, Entry, NewConfig, Service

Reveal = Annotated[
    bool,
    Query(description="Show SECRET values in plaintext (needs the reveal permission; 403 else)"),
]

router = APIRouter(
    prefix="/configs",
    tags=["Configurations"],
    route_class=SeedRoute,
    responses=openapi.NOT_READY,
)

_ERRORS = models.error_responses("Configuration or version not found")
_WRITE_ERRORS = models.error_responses("Configuration or version not found", write=True)
_PROVENANCE = (
    "Add a provenance block: the served value's commit, author, time and message, and for a "
    "change merged from a branch the merged commit (commit is then the merge commit)"
)


Body = TypeVar("Body", bound=BaseModel)


async def _answer(
    make: Callable[[Service, Principal, Entry, bool], Body],
    service: Service,
    caller: Principal,
    entry: Entry,
    response: Response,
    provenance: bool,
    reveal: bool,
) -> Body | Response:
    """One configuration read's answer: ``make``'s body with the entry's ETag (a revealed
    SECRET decrypted off the event loop by the service first), with the provenance block
    when asked for."""
    response.headers.update(render.etag(entry))
    if reveal:
        await service.box.ready(caller, [entry])
    body = make(service, caller, entry, reveal)
    if provenance:
        return environments.with_provenance(service, caller, entry, body, render.etag(entry))
    return body


@router.get(
    "",
    operation_id="listConfigurations",
    summary="List configurations",
    description="One page of configurations, filtered by application, environment and tag.",
    responses=_ERRORS,
)
async def list_configurations(
    service: ServiceDep,
    caller: Caller,
    application: str | None = None,
    environment: Environment | None = None,
    page: Annotated[int, Query()] = 0,
    size: Annotated[int, Query()] = 20,
) -> models.ConfigurationPage:
    result = service.reads.list_entries(
        caller, Kind.CONFIG, application, environment.value if environment else None, page, size
    )
    return models.ConfigurationPage(
        content=[render.config_summary(e) for e in result.content], **render.paging(result)
    )


@router.post(
    "",
    operation_id="createConfiguration",
    summary="Create a configuration",
    description="Validates the value against its type and schema and commits a new file "
    "`configs/<application>/<environment>/<key>.yaml`. 409 if it exists.",
    status_code=status.HTTP_201_CREATED,
    responses=_WRITE_ERRORS,
    openapi_extra=openapi.example(
        {
            "key": "max-order-size",
            "application": openapi.APP,
            "environment": openapi.ENV,
            "description": "Maximum notional per order, USD",
            "valueType": "NUMBER",
            "value": "250000",
            "schema": '{"type": "number", "minimum": 0}',
            "tags": ["risk", "limits"],
            "changeDescription": "Cap orders at 250k",
        }
    ),
)
def create_configuration(
    body: models.CreateConfigurationRequest,
    service: ServiceDep,
    caller: Caller,
    response: Response,
) -> models.ConfigurationResponse:
    entry = service.configs.create(
        caller,
        NewConfig(
            key=body.key,
            application=body.application,
            environment=body.environment.value,
            value_type=body.valueType.value,
            value=body.value,
            description=body.description,
            schema=body.schema_,
            tags=body.tags,
            change_description=body.changeDescription,
        ),
    )
    response.headers.update(render.etag(entry))
    response.headers["Location"] = f"/configs/{entry.id}"
    return render.config(service, caller, entry)


@router.get(
    "/lookup",
    operation_id="lookupConfiguration",
    summary="Read one value by key",
    description="The value of a configuration by application, environment and key: the hot "
    "read path. The `ETag` is the version.",
    responses=_ERRORS,
    response_model=models.ConfigurationValue,
)
async def lookup_configuration(
    service: ServiceDep,
    caller: Caller,
    key: str,
    application: str,
    environment: Environment,
    response: Response,
    provenance: Annotated[bool, Query(description=_PROVENANCE)] = False,
    reveal: Reveal = False,
) -> models.ConfigurationValue | Response:
    entry = service.reads.lookup(caller, Kind.CONFIG, application, environment.value, key)
    return await _answer(render.config_value, service, caller, entry, response, provenance, reveal)


@router.get(
    "/{configId}",
    operation_id="getConfiguration",
    summary="Get a configuration",
    description="A configuration by id, with its metadata.",
    responses=_ERRORS,
    response_model=models.ConfigurationResponse,
)
async def get_configuration(
    configId: str,
    service: ServiceDep,
    caller: Caller,
    response: Response,
    provenance: Annotated[bool, Query(description=_PROVENANCE)] = False,
    reveal: Reveal = False,
) -> models.ConfigurationResponse | Response:
    entry = service.reads.get(caller, Kind.CONFIG, configId)
    return await _answer(render.config, service, caller, entry, response, provenance, reveal)


@router.put(
    "/{configId}",
    operation_id="updateConfiguration",
    summary="Update a configuration",
    description='Changes the given fields in one commit. Send `If-Match: "<version>"` to refuse '
    "the write (412) when someone else changed it first.",
    responses=_WRITE_ERRORS,
    openapi_extra=openapi.example(
        {"value": "300000", "changeDescription": "Raise the cap to 300k"}
    ),
)
def update_configuration(
    configId: str,
    body: models.UpdateConfigurationRequest,
    service: ServiceDep,
    caller: Caller,
    if_match: IfMatch,
    response: Response,
) -> models.ConfigurationResponse:
    changes = ConfigChanges(
        value=body.value,
        description=body.description,
        schema=body.schema_,
        tags=body.tags,
        change_description=body.changeDescription,
    )
    entry = service.configs.update(caller, configId, changes, if_match)
    response.headers.update(render.etag(entry))
    return render.config(service, caller, entry)


@router.delete(
    "/{configId}",
    operation_id="deleteConfiguration",
    summary="Delete a configuration",
    description="Removes the file in one commit; its history stays in Git.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_WRITE_ERRORS,
)
def delete_configuration(
    configId: str,
    service: ServiceDep,
    caller: Caller,
    if_match: IfMatch,
) -> Response:
    service.writer.delete(caller, Kind.CONFIG, configId, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{configId}/versions",
    operation_id="getConfigurationVersions",
    summary="List versions of a configuration",
    description="Every version, newest first: one per commit that changed the file.",
    responses=_ERRORS,
)
async def get_configuration_versions(
    configId: str,
    service: ServiceDep,
    caller: Caller,
    reveal: Reveal = False,
) -> list[models.ConfigurationVersion]:
    views = service.reads.versions(caller, Kind.CONFIG, configId)
    if reveal:
        await service.box.ready(caller, versions=views)
    return [render.config_version(service, caller, v, reveal) for v in views]


@router.get(
    "/{configId}/versions/{versionId}",
    operation_id="getConfigurationVersion",
    summary="Get one version of a configuration",
    description="A version by number or by commit SHA (full, or a unique prefix of 7+).",
    responses=_ERRORS,
)
async def get_configuration_version(
    configId: str,
    versionId: str,
    service: ServiceDep,
    caller: Caller,
    reveal: Reveal = False,
) -> models.ConfigurationVersion:
    view = service.reads.version(caller, Kind.CONFIG, configId, versionId)
    if reveal:
        await service.box.ready(caller, versions=[view])
    return render.config_version(service, caller, view, reveal)


@router.post(
    "/{configId}/rollback/{versionId}",
    operation_id="rollbackConfiguration",
    summary="Roll a configuration back",
    description="A new commit restoring the content of an earlier version (nothing is rewritten).",
    responses=_WRITE_ERRORS,
)
def rollback_configuration(
    configId: str,
    versionId: str,
    service: ServiceDep,
    caller: Caller,
    if_match: IfMatch,
    response: Response,
) -> models.ConfigurationResponse:
    entry = service.writer.rollback(caller, Kind.CONFIG, configId, versionId, if_match)
    response.headers.update(render.etag(entry))
    return render.config(service, caller, entry)
