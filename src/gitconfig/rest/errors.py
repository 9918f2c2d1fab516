"""The one table that maps gitconfig errors to HTTP responses."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gitconfig.core import errors
from gitconfig.core.text import scrub, shown
from gitconfig.service import requestid

log = logging.getLogger(__name__)

STATUS: dict[type[errors.GitconfigError], int] = {
    errors.BadRequest: 400,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.ReadOnly: 405,
    errors.NotFound: 404,
    errors.AlreadyExists: 409,
    errors.Conflict: 409,
    errors.PreconditionFailed: 412,
    errors.RateLimited: 429,
    errors.SecretUnavailable: 422,
    errors.NotReady: 503,
    errors.StoreError: 500,
    errors.StorageFull: 507,  # RFC 4918: Insufficient Storage
}


def status_of(exc: errors.GitconfigError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def internal_error(detail: str, exc: BaseException | None = None) -> JSONResponse:
    """A 500 that says only that the request failed, with an id to find the detail (logged,
    credentials scrubbed) in the server's log: a store's message can carry server paths."""
    request_id = requestid.current.get()
    headers = {}
    if request_id is None:  # no ``observe`` middleware gave this request its id: one here
        request_id = requestid.new().decode()
        headers["X-Request-ID"] = request_id
    log.error("request %s failed: %s", request_id, scrub(detail), exc_info=exc)
    body = {"message": f"internal error (request id {request_id})", "requestId": request_id}
    return JSONResponse(body, status_code=500, headers=headers)


def error_response(exc: errors.GitconfigError) -> JSONResponse:
    status = status_of(exc)
    if status == 500:
        return internal_error(f"{type(exc).__name__}: {exc.message}")
    body: dict[str, object] = {"message": shown(exc.message)}
    if isinstance(exc, errors.BadRequest):  # shown: a message never fails to encode
        body["errors"] = [
            {"field": shown(e.field), "message": shown(e.message)} for e in exc.errors
        ]
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if status == 503:
        headers["Retry-After"] = str(getattr(exc, "retry_after", 1))
    if status == 507:
        headers["Retry-After"] = "60"  # an operator has to free space first
    if isinstance(exc, errors.PreconditionFailed) and exc.current_version is not None:
        headers["ETag"] = f'"{exc.current_version}"'
    return JSONResponse(body, status_code=status, headers=headers)


def _field(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _ctx_field(error: Mapping[str, Any]) -> tuple[str, ...]:
    """A model-level check names the field inside the model in its context (``rules.0.values``)."""
    field = (error.get("ctx") or {}).get("field")
    return tuple(str(field).split(".")) if field else ()


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.GitconfigError)
    async def _domain(_request: Request, exc: errors.GitconfigError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        return internal_error(f"{type(exc).__name__}: {exc}", exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        field_errors = [
            errors.FieldError("body", f"not valid JSON: {(e.get('ctx') or {}).get('error')}")
            if e.get("type") == "json_invalid"
            else errors.FieldError(
                _field(tuple(e.get("loc", ())) + _ctx_field(e)), str(e.get("msg", "invalid"))
            )
            for e in exc.errors()
        ]
        return error_response(errors.BadRequest("invalid request", field_errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        body: dict[str, object] = {"message": str(exc.detail)}
        if exc.status_code in (400, 413):  # a body FastAPI cannot parse, or one too large
            body["errors"] = [{"field": "body", "message": str(exc.detail)}]
        return JSONResponse(body, status_code=exc.status_code)
