"""The one table that maps gitconfig errors to gRPC status codes.

The details string is the error's message; a ``BadRequest`` appends its field errors
(``invalid lookup: environment: must be one of DEV, TEST, STAGING, PROD``). A stream ended
because its subscriber fell behind also carries the commit to resume after in the trailing
metadata ``gitconfig-resume-after``.
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn

import grpc

from gitconfig.core import errors
from gitconfig.core.text import scrub
from gitconfig.service import SubscriberTooSlow, requestid

log = logging.getLogger(__name__)

RESUME_AFTER_KEY = "gitconfig-resume-after"
RETRY_AFTER_KEY = "retry-after"  # whole seconds, on RESOURCE_EXHAUSTED for a rate limit

CODES: dict[type[errors.GitconfigError], grpc.StatusCode] = {
    errors.BadRequest: grpc.StatusCode.INVALID_ARGUMENT,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.Conflict: grpc.StatusCode.ABORTED,
    errors.PreconditionFailed: grpc.StatusCode.FAILED_PRECONDITION,
    errors.RateLimited: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.SecretUnavailable: grpc.StatusCode.FAILED_PRECONDITION,
    errors.NotReady: grpc.StatusCode.UNAVAILABLE,
    errors.StoreError: grpc.StatusCode.INTERNAL,
    errors.StorageFull: grpc.StatusCode.RESOURCE_EXHAUSTED,
    SubscriberTooSlow: grpc.StatusCode.RESOURCE_EXHAUSTED,
}


def code_of(exc: errors.GitconfigError) -> grpc.StatusCode:
    for cls in type(exc).__mro__:
        if cls in CODES:
            return CODES[cls]
    return grpc.StatusCode.INTERNAL


def details_of(exc: errors.GitconfigError) -> str:
    if code_of(exc) is grpc.StatusCode.INTERNAL:  # the detail goes to the log, not the client
        request_id = requestid.current.get() or requestid.new().decode()
        log.error("call %s failed: %s: %s", request_id, type(exc).__name__, scrub(exc.message))
        return f"internal error (request id {request_id})"
    if isinstance(exc, errors.BadRequest) and exc.errors:
        fields = "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in exc.errors)
        return f"{exc.message}: {fields}"
    return exc.message


def trailing_metadata_of(exc: errors.GitconfigError) -> tuple[tuple[str, str], ...]:
    if isinstance(exc, SubscriberTooSlow) and exc.resume_after:
        return ((RESUME_AFTER_KEY, exc.resume_after),)
    if isinstance(exc, errors.RateLimited):
        return ((RETRY_AFTER_KEY, str(exc.retry_after)),)
    return ()


async def abort(context: Any, exc: errors.GitconfigError) -> NoReturn:
    """End the call with the status ``exc`` maps to (``context`` is a grpc.aio context)."""
    await context.abort(code_of(exc), details_of(exc), trailing_metadata_of(exc))
    raise AssertionError("unreachable: abort raises")
