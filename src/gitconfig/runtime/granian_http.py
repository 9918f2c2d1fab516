"""The REST app on granian, a Rust HTTP server, instead of uvicorn: ``gitconfig serve
--http-server granian`` (the ``granian`` extra of ``gitconfig-server``, or ``pip install
granian``).

On this project's hot reads it takes markedly less CPU per request than uvicorn (HTTP parsing
and the connection work happen in Rust; docs/performance.md, "HTTP reads against the bare ASGI
ceiling"). It runs embedded in the server's own event loop, next to gRPC, on the listening
socket the server opened (so ``--workers`` share it as with uvicorn), without lifespan or
websockets (the REST app uses neither). uvicorn stays the default: granian's embedded mode is
marked experimental by its authors.

``GranianHttp`` offers the little of ``uvicorn.Server`` that ``server.run`` uses: ``serve``,
``started`` and ``should_exit``.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from granian._granian import SocketHolder
from granian.constants import HTTPModes, Interfaces
from granian.log import LogLevels
from granian.server.embed import Server


class _OnSocket(Server):
    """granian's embedded server on a socket that is already listening (granian would bind
    its own, which the workers of ``--workers`` could not share)."""

    def __init__(self, app: Any, sock: socket.socket, backlog: int) -> None:
        super().__init__(
            app,
            interface=Interfaces.ASGINL,  # no lifespan: as uvicorn runs it (lifespan="off")
            http=HTTPModes.http1,
            websockets=False,
            backlog=backlog,
            log_level=LogLevels.error,
        )
        self._socket = sock

    def _init_shared_socket(self) -> None:
        self._ssp = None
        # (fd, uds, backlog): the stub leaves the constructor's arguments out.
        holder = SocketHolder(self._socket.fileno(), False, self.backlog)  # type: ignore[call-arg]
        self._shd = holder  # type: ignore[assignment]


class GranianHttp:
    """Serves ``app`` with granian in the running event loop until ``should_exit``."""

    def __init__(self, app: Any, backlog: int = 2048) -> None:
        self.app = app
        self.backlog = backlog
        self.started = False
        self._server: _OnSocket | None = None
        self._exit = False

    async def serve(self, sockets: list[socket.socket]) -> None:
        """Serve on ``sockets[0]`` (listening) until ``should_exit`` is set; connections in
        flight are finished by granian's worker shutdown."""
        server = _OnSocket(self.app, sockets[0], self.backlog)
        self._server = server
        task = asyncio.create_task(server.serve())
        await asyncio.sleep(0)  # granian starts its worker in this loop
        self.started = True
        if self._exit:
            server.stop()  # type: ignore[no-untyped-call]
        await task

    @property
    def should_exit(self) -> bool:
        return self._exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._exit = value
        if value and self._server is not None:
            self._server.stop()  # type: ignore[no-untyped-call]
