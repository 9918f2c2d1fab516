"""The gRPC server factory: ``await create_server(service, tokens, "host:port")``.

It serves ``config.v1.ConfigurationService``, the standard health service
(``grpc.health.v1.Health``: NOT_SERVING until the first index is complete, then SERVING, and
NOT_SERVING again from the start of shutdown) and server reflection. Health and reflection
need no token. ``GrpcServer.stop(grace)`` drains: health turns NOT_SERVING, streams end with
status OK, in-flight unary calls get ``grace`` seconds to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gitconfig.access.principals import TokenRegistry
from gitconfig.core import limits
from gitconfig.grpc.observe import ObserveCalls
from gitconfig.grpc.servicer import SERVICE_NAME, ConfigurationServicer
from gitconfig.grpc.strictinput import StrictInput
from gitconfig.grpc.v1 import config_pb2_grpc
from gitconfig.service import Service

log = logging.getLogger(__name__)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
READY_POLL_SECONDS = 0.02
OPTIONS = (
    # Find peers that vanished without closing (their streams hold a subscription).
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.keepalive_permit_without_calls", 1),
)


class GrpcServer:
    """A ``grpc.aio.Server`` with its health state and streams; ``start``, ``stop``
    and ``wait_for_termination`` as on ``grpc.aio.Server``."""

    def __init__(
        self,
        server: Any,
        service: Service,
        servicer: ConfigurationServicer,
        health_servicer: health.aio.HealthServicer,
    ) -> None:
        self.server = server
        self.service = service
        self.servicer = servicer
        self.health = health_servicer
        self._ready: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.server.start()
        self._ready = asyncio.create_task(self._serving_once_indexed())

    async def _serving_once_indexed(self) -> None:
        while not self.service.operations.ready:
            await asyncio.sleep(READY_POLL_SECONDS)
        for name in ("", SERVICE_NAME):
            await self.health.set(name, SERVING)
        log.info("gRPC health: SERVING")

    async def drain(self) -> None:
        """Health turns NOT_SERVING (for good); calls are still served."""
        if self._ready is not None:
            self._ready.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ready
        await self.health.enter_graceful_shutdown()

    async def stop(self, grace: float | None) -> None:
        await self.drain()
        self.servicer.end_streams()
        await self.server.stop(grace)

    async def wait_for_termination(self, timeout: float | None = None) -> bool:
        result: bool = await self.server.wait_for_termination(timeout)
        return result


async def create_server(
    service: Service,
    tokens: TokenRegistry,
    address: str,
    options: tuple[tuple[str, Any], ...] = (("grpc.so_reuseport", 0),),
) -> tuple[GrpcServer, int]:
    """Build the server bound to ``address`` (port 0: any free port); returns it (not yet
    started) and the bound port. Raises ``OSError`` when the port is taken: ``options``
    turn ``SO_REUSEPORT`` off unless the caller shares the port among its own workers. A
    message larger than the body limit is refused (RESOURCE_EXHAUSTED) before it is read."""
    limit = ("grpc.max_receive_message_length", limits.current().body_bytes)
    server = grpc.aio.server(
        options=(*OPTIONS, limit, *options),
        interceptors=[ObserveCalls(service.metrics), StrictInput()],
    )
    servicer = ConfigurationServicer(service, tokens)
    config_pb2_grpc.add_ConfigurationServiceServicer_to_server(servicer, server)
    health_servicer = health.aio.HealthServicer()
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as exc:  # grpcio raises it for a port it cannot bind
        raise OSError(f"cannot listen for gRPC on {address}: {exc}") from None
    if port == 0:
        raise OSError(f"cannot listen for gRPC on {address}")
    return GrpcServer(server, service, servicer, health_servicer), port
