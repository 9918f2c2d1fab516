"""``Client``: the local copy for threaded (non-asyncio) services.

An ``AsyncClient`` runs on a private event loop in one daemon thread ("gitconfig-client");
reads go straight to the shared immutable state, from any thread, without locks or network
calls. On-change callbacks run in that thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import grpc

from gitconfig.client.aio import DEFAULT_BACKOFF, AsyncClient, Backoff
from gitconfig.client.local import ChangeCallback, LocalCopy, Status, StatusCallback

T = TypeVar("T")


class Client(LocalCopy):
    """The always-current local copy of one application's configuration and feature flags in
    one environment, served by the gitconfig gRPC server at ``target`` (``host:port``).

    ``token``: a bearer token with the read role (SECRET values are delivered only when it
    may also reveal). ``include_flags``: also keep the flags, evaluated in-process.
    ``cache_path``: a file where the last state is kept (secrets left out), served when the
    server is down at ``start()``. ``credentials``: TLS channel credentials (default:
    plaintext). ``options``: gRPC channel options. ``timeout``: seconds for the snapshot
    read. ``backoff``: reconnect delays.

        with Client("config:9090", token, "trading-engine", "PROD") as config:
            limit = config.get_int("max-order-size", 1000)
    """

    def __init__(
        self,
        target: str,
        token: str,
        application: str,
        environment: str,
        *,
        include_flags: bool = True,
        cache_path: str | Path | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        options: Sequence[tuple[str, Any]] = (),
        timeout: float = 5.0,
        backoff: Backoff = DEFAULT_BACKOFF,
    ) -> None:
        self._async = AsyncClient(
            target,
            token,
            application,
            environment,
            include_flags=include_flags,
            cache_path=cache_path,
            credentials=credentials,
            options=options,
            timeout=timeout,
            backoff=backoff,
        )
        self._async._mirror(self)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._life = threading.Lock()  # start and close, from any thread

    def __repr__(self) -> str:
        inner = self._async
        return f"Client({inner.target!r}, {inner.application!r}, {inner.environment!r})"

    @property
    def status(self) -> Status:
        """Where the copy stands: commit, source, ``stale``, ``age``."""
        return self._async.status

    @property
    def started(self) -> bool:
        return self._thread is not None

    def on_change(
        self, callback: ChangeCallback, keys: Iterable[str] | None = None
    ) -> Callable[[], None]:
        """Call ``callback(change)`` once per applied commit that changed any of ``keys``
        (None: any), in the client's thread; returns a function that removes it."""
        return self._async.on_change(callback, keys)

    def on_status(self, callback: StatusCallback) -> Callable[[], None]:
        """Call ``callback(status)`` when the stream goes down or comes back."""
        return self._async.on_status(callback)

    def start(self) -> Client:
        """Load the snapshot (or the cache) and follow the server in the background. Raises
        ``ServerUnavailable`` or ``ClientError`` as ``AsyncClient.start``."""
        with self._life:
            return self._start()

    def _start(self) -> Client:
        if self._thread is not None:
            raise RuntimeError("the client is already started")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="gitconfig-client", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self._run(self._async.start())
        except BaseException:
            self._stop_loop()
            raise
        return self

    def close(self) -> None:
        """Stop following the server (reads keep answering from the last state)."""
        with self._life:
            if self._thread is None:
                return
            try:
                self._run(self._async.close())
            finally:
                self._stop_loop()

    def __enter__(self) -> Client:
        return self.start()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _stop_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
