"""What the OpenAPI document at ``/docs`` holds for every operation alike; each operation's own
text (summary, description, request example, its own answers) sits beside its route.

App-wide: the 503 of a server whose first index is not built yet (``NOT_READY``, which each
router declares for the operations that need the index), the names of the one story the
request examples tell (``APP``: the ``trading-engine`` application in ``ENV``, ``PROD``, its
``max-order-size`` configuration and its ``matching-v2`` flag; ``example`` puts one in an
operation), and no 422 (every bad input is a 400 with ``{message, errors}``; ``errors.install``
sees to that, and ``document`` drops FastAPI's 422 and its schemas)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

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
        app.openapi_schema = schema
    return app.openapi_schema


def install(app: FastAPI) -> None:
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
