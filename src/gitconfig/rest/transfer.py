"""``POST /configs/import`` and ``GET /configs/export``: one application's configurations in
one environment, as a JSON, YAML, .env or .properties file (see ``gitconfig.core.formats``)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, StrictBool

from gitconfig.core.formats import Format
from gitconfig.core.importing import ImportRequest
from gitconfig.core.model import Environment
from gitconfig.rest import models, openapi
from gitconfig.rest.deps import Caller, ServiceDep
from gitconfig.rest.strictjson import StrictJsonRoute

router = APIRouter(
    prefix="/configs",
    tags=["Configurations"],
    route_class=StrictJsonRoute,
    responses=openapi.NOT_READY,
)

MEDIA_TYPES = {
    Format.JSON: "application/json",
    Format.YAML: "application/yaml; charset=utf-8",
    Format.ENV: "text/plain; charset=utf-8",
    Format.PROPERTIES: "text/plain; charset=utf-8",
}
_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": models.ErrorBody, "description": "Invalid request or file: every problem"},
    401: {"model": models.ErrorBody, "description": "Authentication required"},
    403: {"model": models.ErrorBody, "description": "Permission denied"},
    409: {"model": models.ErrorBody, "description": "A concurrent change to an imported key"},
}


class ImportBody(models.Body):
    application: str = Field(description="Application name")
    environment: Environment | None = Field(
        None, description="Environment (or give several in environments)"
    )
    environments: list[Environment] | None = Field(
        None, description="Several environments: the file goes to each, as one commit"
    )
    format: Format = Field(description="Format of content: json, yaml, env or properties")
    content: str = Field(description="The file's text")
    types: dict[str, str] | None = Field(
        None,
        description='Value type per key, "*" for every key; default: inferred from the value '
        "(an existing key keeps its type)",
    )
    changeDescription: str | None = Field(None, description="Commit message (optional)")
    dryRun: StrictBool = Field(False, description="Validate and report, write nothing")
    allowPlaintext: StrictBool = Field(
        False,
        description="Accept values that look like plaintext credentials (refused otherwise:"
        " type them SECRET)",
    )


class ImportResponse(BaseModel):
    created: list[str] = Field(description="Keys created")
    updated: list[str] = Field(description="Keys whose value changed")
    unchanged: list[str] = Field(description="Keys already holding the value")
    commit: str | None = Field(description="The import's commit; null if nothing was written")


@router.post(
    "/import",
    operation_id="importConfigurations",
    summary="Import configurations",
    description="Create or update many configurations of one application and environment from "
    "a JSON, YAML, .env or .properties text, in one commit. `dryRun` validates only.",
    responses=_ERRORS,
    openapi_extra=openapi.example(
        {
            "application": openapi.APP,
            "environment": openapi.ENV,
            "format": "json",
            "content": '{"order-timeout-ms": 1500, "venue": "XLON"}',
            "changeDescription": "Import from the old config server",
            "dryRun": False,
        }
    ),
)
def import_configurations(body: ImportBody, service: ServiceDep, caller: Caller) -> ImportResponse:
    """Create or update many configurations in one commit. All or nothing: a bad entry
    rejects the whole import (400, every problem listed) and nothing is written. With
    ``environments`` the file goes to each of them in the one commit (keys reported as
    ``ENV/key``)."""
    request = ImportRequest(
        application=body.application,
        environment=body.environment.value if body.environment else "",
        format=body.format,
        content=body.content,
        types=body.types or {},
        message=body.changeDescription,
        dry_run=body.dryRun,
        allow_plaintext=body.allowPlaintext,
    )
    names = None if body.environments is None else [env.value for env in body.environments]
    result = service.transfer.import_to(caller, request, names)
    return ImportResponse(
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        commit=result.commit,
    )


@router.get(
    "/export",
    operation_id="exportConfigurations",
    summary="Export configurations",
    description="The configurations of one application and environment as a JSON, YAML, .env "
    "or .properties text (SECRET values masked unless the token may reveal them).",
    responses={**_ERRORS, 200: {"content": {"text/plain": {}}, "description": "The file"}},
    response_class=Response,
)
async def export_configurations(
    service: ServiceDep,
    caller: Caller,
    application: str,
    environment: Environment,
    format: Format = Format.JSON,
    reveal: bool = False,
) -> Response:
    """The configurations of one application and environment as a file. SECRET values are
    masked unless ``reveal=true`` (needs the reveal permission)."""
    export = (
        await service.transfer.export_revealed(caller, application, environment.value, format)
        if reveal
        else service.transfer.export_configs(caller, application, environment.value, format)
    )
    filename = f"{application}-{environment.value}.{format.value}"
    headers = {"Content-Disposition": f'inline; filename="{filename}"'}
    if export.commit is not None:
        headers["X-Gitconfig-Commit"] = export.commit
    return Response(export.content, media_type=MEDIA_TYPES[format], headers=headers)
