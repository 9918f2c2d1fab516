"""Real servers on port 0 for the transport tests, each in a thread with its own event loop.

    with GrpcServerThread(service, tokens) as server:
        stub = config_pb2_grpc.ConfigurationServiceStub(grpc.insecure_channel(server.address))
    with UvicornThread(create_app(service, tokens)) as server:
        httpx.get(f"{server.url}/configs/watch", ...)

``Reader`` drains a blocking iterator (a gRPC response stream, an SSE line iterator) in a
thread, so a test can wait for items with a timeout.
"""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

import uvicorn

from gitconfig.access.principals import TokenRegistry
from gitconfig.grpc.server import GrpcServer, create_server
from gitconfig.service import Service

T = TypeVar("T")


class GrpcServerThread:
    def __init__(self, service: Service, tokens: TokenRegistry, grace: float = 1.0) -> None:
        self.service = service
        self.tokens = tokens
        self.grace = grace
        self.port = 0
        self.server: GrpcServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def _main(self) -> None:
        try:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self.server, self.port = await create_server(self.service, self.tokens, self.address)
            await self.server.start()
        except BaseException as exc:
            self._error = exc
            raise
        finally:
            self._started.set()
        await self._stop.wait()
        await self.server.stop(self.grace)

    def start(self) -> GrpcServerThread:
        self._thread.start()
        self._started.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def call(self, coroutine: Any) -> Any:
        """Run a coroutine on the server's loop and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)

    def __enter__(self) -> GrpcServerThread:
        return self.start()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # not the main thread
        pass


class UvicornThread:
    """uvicorn serving ``app`` on 127.0.0.1, port 0."""

    def __init__(self, app: Any) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = _Server(config)
        self._thread = threading.Thread(
            target=lambda: self.server.run(sockets=[self.socket]), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> UvicornThread:
        self._thread.start()
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            threading.Event().wait(0.01)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(10)
        self.socket.close()


_END = object()


class Reader(Generic[T]):
    """Reads ``source`` in a daemon thread; ``take(n)`` waits for the next n items."""

    def __init__(self, source: Iterable[T]) -> None:
        self.error: BaseException | None = None
        self.done = threading.Event()
        self._items: queue.Queue[Any] = queue.Queue()
        self._peeked: list[Any] = []
        self._thread = threading.Thread(target=self._run, args=(iter(source),), daemon=True)
        self._thread.start()

    def _run(self, iterator: Iterator[T]) -> None:
        try:
            for item in iterator:
                self._items.put(item)
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
            self.error = exc
        finally:
            self.done.set()
            self._items.put(_END)

    def _get(self, timeout: float) -> Any:
        if self._peeked:
            return self._peeked.pop()
        item = self._items.get(timeout=timeout)
        if item is _END:
            self._peeked.append(_END)
        return item

    def take(self, n: int, timeout: float = 10.0) -> list[T]:
        found: list[T] = []
        for _ in range(n):
            try:
                item = self._get(timeout)
            except queue.Empty:
                raise AssertionError(f"got {len(found)} of {n} items: {found}") from None
            if item is _END:
                raise AssertionError(f"stream ended after {len(found)} of {n}: {self.error!r}")
            found.append(item)
        return found

    def nothing_more(self, wait: float = 0.3) -> bool:
        """True if no item arrives within ``wait`` seconds (the end is not an item)."""
        try:
            item = self._get(wait)
        except queue.Empty:
            return True
        if item is not _END:
            self._peeked.append(item)
        return item is _END

    def finish(self, timeout: float = 10.0) -> list[T]:
        """Every item until the source ends."""
        rest: list[T] = []
        while True:
            try:
                item = self._get(timeout)
            except queue.Empty:
                raise AssertionError(f"the stream did not end; got {rest}") from None
            if item is _END:
                return rest
            rest.append(item)
