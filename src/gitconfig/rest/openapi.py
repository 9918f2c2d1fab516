"""What the OpenAPI document at ``/docs`` holds for every operation alike; each operation's own
text (summary, description, request example, its own answers) sits beside its route.

App-wide: the 503 of a server whose first index is not built yet (``NOT_READY``, which each
router declares for the operations that need the index), the names of the one story the
request examples tell (``APP``: the ``trading-engine`` application in ``ENV``, ``PROD``, its
``max-order-size`` configuration and its ``matching-v2`` flag; ``example`` puts one in an
operation), and no 422 (every bad input is a 400 with ``{message, errors}``; ``errors.install``
sees to that, and ``document`` drops FastAPI's 422 and its schemas)."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any, Final

import yaml
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

OFREP_PREFIX: Final = "/ofrep/{application}/{environment}"
_OFREP: Final = "OFREP."  # the prefix of the OFREP document's components in ours

# ``rest.ofrep`` answers 503 (Retry-After: 1) before the first index, in OFREP's error shape.
_OFREP_NOT_READY: Final = {
    "description": "The server's first index is not built yet (or it is shutting down): "
    "retry after Retry-After seconds",
    "content": {
        "application/json": {
            "schema": {"$ref": f"#/components/schemas/{_OFREP}generalErrorResponse"}
        }
    },
}

APP = "trading-engine"
ENV = "PROD"

NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {  # JSON whatever the route's own media type (``/metrics`` answers text)
        "description": "The server's first index is not built yet (or it is shutting down): "
        "retry shortly",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
}


def example(body: dict[str, Any]) -> dict[str, Any]:
    """A route's ``openapi_extra`` that shows ``body`` as its JSON request body's example (one
    that works as it is sent: ``tests/rest/test_rest_openapi.py`` sends each)."""
    return {"requestBody": {"content": {"application/json": {"example": body}}}}


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, built once (FastAPI's ``app.openapi``)."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for operations in schema["paths"].values():
            for operation in operations.values():
                operation["responses"].pop("422", None)
        schemas = schema.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        add_ofrep(schema)
        app.openapi_schema = schema
    return app.openapi_schema


def install(app: FastAPI) -> None:
    app.openapi = lambda: document(app)  # type: ignore[method-assign]


def ofrep_document() -> dict[str, Any]:
    """The OFREP OpenAPI document this server implements (``gitconfig/data``, unchanged)."""
    text = resources.files("gitconfig").joinpath("data", "ofrep-openapi.yaml").read_text()
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def add_ofrep(schema: dict[str, Any]) -> None:
    """Add the OFREP operations (served by ``rest.ofrep``, outside FastAPI's routes) to
    ``schema``: each of the OFREP document's paths under ``OFREP_PREFIX`` (a provider's base
    URL names the application and environment), its components renamed ``OFREP.<name>`` so
    they never meet ours, and its security schemes (bearer token or ``X-API-Key``)."""
    ofrep = ofrep_document()
    text = json.dumps(ofrep)
    for kind in ("schemas", "parameters", "securitySchemes"):
        text = text.replace(f'"#/components/{kind}/', f'"#/components/{kind}/{_OFREP}')
    renamed: dict[str, Any] = json.loads(text)
    components = schema.setdefault("components", {})
    for kind, found in renamed.get("components", {}).items():
        target = components.setdefault(kind, {})
        for name, value in found.items():
            target[f"{_OFREP}{name}"] = value
    scope = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in ("application", "environment")
    ]
    security: list[dict[str, list[str]]] = [
        {f"{_OFREP}{name}": []} for item in ofrep.get("security", []) for name in item
    ]
    for path, operations in renamed["paths"].items():
        ours = schema["paths"].setdefault(OFREP_PREFIX + path, {})
        for method, operation in operations.items():
            operation = copy.deepcopy(operation)
            operation["parameters"] = scope + operation.get("parameters", [])
            operation["tags"] = ["OFREP"]
            operation.setdefault("security", security)
            operation["responses"].setdefault("503", _OFREP_NOT_READY)
            ours[method] = operation
