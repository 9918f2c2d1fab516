"""Dependencies shared by the routers: the caller, the service, the If-Match header."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gitconfig.access.gate import Gate, credential
from gitconfig.access.principals import Principal
from gitconfig.core import limits
from gitconfig.core.errors import BadRequest, FieldError, GitconfigError
from gitconfig.rest.fastpath import PRINCIPAL, REFUSED
from gitconfig.service import Service

_bearer = HTTPBearer(auto_error=False, description="A gitconfig API token")


async def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _caller(request: Request, write: bool) -> Principal:
    state = request.scope.get("state", {})
    known: Principal | None = state.get(PRINCIPAL)
    if known is not None:  # the fast path authenticated (and counted) this request
        return known
    refused: GitconfigError | None = state.get(REFUSED)
    if refused is not None:  # the fast path refused (and counted) these credentials
        raise refused
    gate: Gate = request.app.state.gate
    client = request.client.host if request.client is not None else None
    return gate.principal(credential(request.scope["headers"]), write=write, client=client)


async def _principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller; a request of a method that may write counts against the write limit."""
    return _caller(request, write=request.method not in ("GET", "HEAD", "OPTIONS"))


async def _reader(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller of a read sent as a POST (a flag evaluation): counted as a read."""
    return _caller(request, write=False)


async def _if_match(
    if_match: Annotated[
        str | None,
        Header(description='The version you expect, as the ETag you read: "3"'),
    ] = None,
) -> int | None:
    return parse_if_match(if_match)


def parse_if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    number = limits.ascii_int(text.strip('"'))
    if number is None:
        message = f'expected a version from 0 to {limits.MAX_INT32}: "3"'
        raise BadRequest("invalid If-Match", [FieldError("If-Match", message)])
    return number


ServiceDep = Annotated[Service, Depends(_service)]
Caller = Annotated[Principal, Depends(_principal)]
Reader = Annotated[Principal, Depends(_reader)]  # a read sent as a POST (evaluations)
IfMatch = Annotated[int | None, Depends(_if_match)]
