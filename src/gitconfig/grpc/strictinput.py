"""Requests whose bytes do not decode (a string field that is not UTF-8, a truncated message)
are ``INVALID_ARGUMENT``, as REST answers 400 — not ``UNKNOWN`` with protobuf's exception.

A server interceptor wraps each unary handler's deserializer: a message that does not decode
becomes a marker, and the handler answers INVALID_ARGUMENT for it before the servicer runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError

Deserializer = Callable[[bytes], Any]
Behavior = Callable[[Any, Any], Awaitable[Any]]


class _Undecodable:
    def __init__(self, problem: str) -> None:
        self.problem = problem


def _lenient(deserialize: Deserializer) -> Deserializer:
    def read(data: bytes) -> Any:
        try:
            return deserialize(data)
        except DecodeError as exc:
            return _Undecodable(str(exc))

    return read


def _guarded(behavior: Behavior) -> Behavior:
    async def guarded(request: Any, context: Any) -> Any:
        if isinstance(request, _Undecodable):
            detail = request.problem.split(": ", 1)[-1]  # "String field had bad UTF-8"
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"invalid request: the message does not decode ({detail}); every string "
                "field must be UTF-8 text",
            )
        return await behavior(request, context)

    return guarded


class StrictInput(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], details: Any
    ) -> Any:
        handler = await continuation(details)
        if handler is None or handler.request_deserializer is None:
            return handler
        lenient = _lenient(handler.request_deserializer)
        if handler.unary_unary is not None:
            return handler._replace(
                request_deserializer=lenient, unary_unary=_guarded(handler.unary_unary)
            )
        if handler.unary_stream is not None:
            return handler._replace(
                request_deserializer=lenient, unary_stream=_guarded(handler.unary_stream)
            )
        return handler
