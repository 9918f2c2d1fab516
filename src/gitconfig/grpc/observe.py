"""A server interceptor recording each gRPC call's method, status code and latency, and
setting its request id (``x-request-id`` metadata when sent, else a new one) for its log
lines. Method names come from registered handlers only (an unknown method has none), so
the labels stay bounded; streams are timed over their whole life."""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from gitconfig.service import Metrics, requestid

REQUEST_ID_KEY = "x-request-id"


def _request_id(context: Any) -> str:
    sent = None
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_KEY:  # the first of repeated ones, as the HTTP side reads it
            sent = value if isinstance(value, str) else None
            break
    return requestid.accept(sent)


class ObserveCalls(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], details: Any
    ) -> Any:
        handler = await continuation(details)
        if handler is None:
            return None
        method: str = details.method
        if handler.unary_unary is not None:
            return handler._replace(unary_unary=self._unary(method, handler.unary_unary))
        if handler.unary_stream is not None:
            return handler._replace(unary_stream=self._stream(method, handler.unary_stream))
        return handler

    def _record(self, method: str, context: Any, started: float, failed: bool) -> None:
        code = context.code()
        if code is None:
            name = "UNKNOWN" if failed else "OK"
        else:
            name = code.name if isinstance(code, grpc.StatusCode) else str(code)
        self.metrics.grpc_calls.labels(method, name).inc()
        self.metrics.grpc_latency.labels(method).observe(time.perf_counter() - started)

    def _unary(self, method: str, behavior: Any) -> Any:
        async def observed(request: Any, context: Any) -> Any:
            started = time.perf_counter()
            token = requestid.current.set(_request_id(context))
            failed = True
            try:
                response = await behavior(request, context)
                failed = False
                return response
            finally:
                self._record(method, context, started, failed)
                requestid.current.reset(token)

        return observed

    def _stream(self, method: str, behavior: Any) -> Any:
        if inspect.isasyncgenfunction(behavior):

            async def generated(request: Any, context: Any) -> AsyncIterator[Any]:
                started = time.perf_counter()
                token = requestid.current.set(_request_id(context))
                failed = True
                try:
                    async for item in behavior(request, context):
                        yield item
                    failed = False
                finally:
                    self._record(method, context, started, failed)
                    requestid.current.reset(token)

            return generated

        async def written(request: Any, context: Any) -> None:
            started = time.perf_counter()
            token = requestid.current.set(_request_id(context))
            failed = True
            try:
                await behavior(request, context)
                failed = False
            finally:
                self._record(method, context, started, failed)
                requestid.current.reset(token)

        return written
