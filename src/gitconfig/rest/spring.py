"""Spring Cloud Config's HTTP API under ``/spring`` (the base URL a Spring client is given).

    GET /spring/{application}/{profile}[/{label}]          Spring's Environment JSON
    GET /spring/{application}-{profile}.{ext}              one merged file:
    GET /spring/{label}/{application}-{profile}.{ext}      json, yml, yaml or properties

The prefix keeps Spring's catch-all paths from shadowing the service's own (see
docs/decisions.md). Errors are the API's usual ``{message, errors}`` bodies.
"""

from __future__ import annotations

import json
from typing import Any, Final

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from gitconfig.access.principals import Principal
from gitconfig.core import spring, yamltext
from gitconfig.core.errors import NotFound
from gitconfig.rest import models, openapi
from gitconfig.rest.deps import Caller, ServiceDep
from gitconfig.service import Service, SpringEnvironment

router = APIRouter(prefix="/spring", tags=["SpringCloudConfig"], responses=openapi.NOT_READY)

_ERRORS = models.error_responses("No such label, or no configuration for the application")
_MEDIA: Final = {
    "json": "application/json",
    "yml": "text/yaml; charset=utf-8",
    "yaml": "text/yaml; charset=utf-8",
    "properties": "text/plain; charset=utf-8",
}


class PropertySource(BaseModel):
    name: str
    source: dict[str, Any] = Field(description="Flat property names (a.b, a[0]) to values")


class Environment(BaseModel):
    name: str
    profiles: list[str]
    label: str | None
    version: str | None = Field(description="The commit SHA the values were read at")
    state: str | None = None
    propertySources: list[PropertySource] = Field(description="Highest precedence first")


def _environment(env: SpringEnvironment) -> Environment:
    return Environment(
        name=env.name,
        profiles=env.profiles,
        label=env.label,
        version=env.version,
        propertySources=[
            PropertySource(name=s.name, source=s.source) for s in env.property_sources
        ],
    )


def _document(service: Service, caller: Principal, document: str, label: str | None) -> Response:
    stem, dot, extension = document.rpartition(".")
    application, dash, profile = stem.rpartition("-")
    if not dot or extension not in _MEDIA or not dash or not application:
        raise NotFound(f"no such document {document!r}: expected <application>-<profile>.yml")
    flat = service.spring.environment(caller, application, profile, label).merged()
    if extension == "properties":
        text = spring.properties(flat)
    elif extension == "json":
        text = json.dumps(spring.unflatten(flat), indent=2, ensure_ascii=False) + "\n"
    else:
        nested = spring.unflatten(flat)
        text = yamltext.dump(nested).decode("utf-8") if nested else "{}\n"
    return Response(text, media_type=_MEDIA[extension])


@router.get(
    "/{application}/{profile}",
    operation_id="springEnvironment",
    summary="Spring Cloud Config: an application's Environment",
    description="Spring's `Environment` JSON (`propertySources` highest precedence first) for "
    "a profile (an environment name or a Spring profile such as `prod`), at the served commit. "
    "Point `spring.config.import=configserver:` at `/spring`.",
    responses=_ERRORS,
    response_model=Environment,
)
async def spring_environment(
    application: str, profile: str, service: ServiceDep, caller: Caller
) -> Any:
    """Spring's ``Environment`` at the served commit; ``/{label}/{application}-{profile}.yml``
    (a label and a file name) is the merged file at that label."""
    if "." in profile and profile.rpartition(".")[2] in _MEDIA:
        return _document(service, caller, profile, application)
    return _environment(service.spring.environment(caller, application, profile))


@router.get(
    "/{application}/{profile}/{label}",
    operation_id="springEnvironmentAtLabel",
    summary="Spring Cloud Config: an Environment at a label",
    description="As above, at a branch, tag or commit SHA (`(_)` stands for `/` in a branch name).",
    responses=_ERRORS,
    response_model=Environment,
)
def spring_environment_at_label(
    application: str, profile: str, label: str, service: ServiceDep, caller: Caller
) -> Any:
    """Spring's ``Environment`` at a branch, tag or commit (``(_)`` for ``/`` in a name)."""
    return _environment(service.spring.environment(caller, application, profile, label))


@router.get(
    "/{document}",
    operation_id="springDocument",
    summary="Spring Cloud Config: one merged file",
    description="`{application}-{profile}.json|yml|yaml|properties` (optionally under a "
    "label): every property source merged into one document.",
    responses=_ERRORS,
)
async def spring_document(document: str, service: ServiceDep, caller: Caller) -> Response:
    """``{application}-{profile}.json|yml|yaml|properties``: every property source merged
    into one file at the served commit."""
    return _document(service, caller, document, None)
