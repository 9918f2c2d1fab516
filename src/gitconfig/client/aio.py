"""``AsyncClient``: the local copy kept current over gRPC, on an asyncio event loop.

``start()`` reads the application's configuration (and flags) for one environment at one
commit (``GetSnapshot``), then follows ``StreamConfigurationUpdates`` from that commit. The
updates of one commit are applied together (the server marks a commit's last update with
``commit_end``), then on-change callbacks run, then the cache file is rewritten. When the
stream breaks (server restart or crash, network, an overflow), the client reconnects with
exponential backoff and jitter and resumes after the last commit it applied: the server
replays every change since from Git, so none is lost or applied twice. When the history was
rewritten it reads the snapshot again and reports the difference as one change. A server
that does not know the client's commit (a replica that has not fetched it yet) is asked
again later: the client never applies an older commit than the one it has.

If the server cannot be reached at ``start()``, the client serves the cache file (status
``stale=True``, ``source="cache"``) and catches up with a fresh snapshot once it can.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc

from gitconfig.client import cache
from gitconfig.client.local import (
    ChangeCallback,
    ClientError,
    Listeners,
    LocalCopy,
    ServerUnavailable,
    Status,
    StatusCallback,
)
from gitconfig.client.state import BadUpdate, LocalState, Message
from gitconfig.grpc.v1 import config_pb2, config_pb2_grpc

log = logging.getLogger("gitconfig.client")

# Errors no retry can fix: raised by start(), logged (and retried slowly) later.
_FATAL = frozenset(
    {
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect delays: ``initial`` doubling per failed attempt up to ``maximum`` seconds,
    each drawn uniformly from the upper half of that (so that many clients restarted together
    spread out)."""

    initial: float = 0.1
    maximum: float = 10.0

    def delay(self, attempt: int) -> float:
        cap = min(self.maximum, self.initial * 2 ** min(attempt, 30))
        return float(cap / 2 + random.uniform(0, cap / 2))


DEFAULT_BACKOFF = Backoff()


def channel_options(
    options: Sequence[tuple[str, Any]], backoff: Backoff
) -> tuple[tuple[str, Any], ...]:
    """``options`` and gRPC's reconnect backoff capped at ``backoff``'s: its own grows to
    120 s, past which a restarted server would be found late. Given options win."""
    reconnect = (
        ("grpc.initial_reconnect_backoff_ms", int(backoff.initial * 1000)),
        ("grpc.min_reconnect_backoff_ms", int(backoff.initial * 1000)),
        ("grpc.max_reconnect_backoff_ms", int(backoff.maximum * 1000)),
    )
    given = {name for name, _value in options}
    return tuple(options) + tuple(item for item in reconnect if item[0] not in given)


class AsyncClient(LocalCopy):
    """The local copy of ``application``/``environment`` served by the gitconfig gRPC server
    at ``target`` (``host:port``), for asyncio services; see ``Client`` for the parameters.
    Reads are synchronous and in memory; ``start()``/``close()`` are coroutines."""

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
        self.target = target
        self.application = application
        self.environment = environment
        self.include_flags = include_flags
        self.cache_path = Path(cache_path) if cache_path is not None else None
        self.timeout = timeout
        self.backoff = backoff
        self._credentials = credentials
        self._options = channel_options(options, backoff)
        self._metadata = (("authorization", f"Bearer {token}"),)
        self._install(LocalState.empty())
        self._mirrors: list[LocalCopy] = []
        self._listeners = Listeners()
        self._status = Status("", "none", True, None)
        self._channel: grpc.aio.Channel | None = None
        self._stub: config_pb2_grpc.ConfigurationServiceStub | None = None
        self._task: asyncio.Task[None] | None = None
        self._attempt = 0
        self._saving: asyncio.Future[None] | None = None

    def __repr__(self) -> str:  # never the token
        return f"AsyncClient({self.target!r}, {self.application!r}, {self.environment!r})"

    @property
    def status(self) -> Status:
        return self._status

    @property
    def started(self) -> bool:
        return self._task is not None

    def on_change(
        self, callback: ChangeCallback, keys: Iterable[str] | None = None
    ) -> Callable[[], None]:
        """Call ``callback(change)`` once per applied commit that changed any of ``keys``
        (None: any key), with only those keys' changes; returns a function that removes it.
        Callbacks run on the client's event loop and must not block."""
        return self._listeners.on_change(callback, keys)

    def on_status(self, callback: StatusCallback) -> Callable[[], None]:
        """Call ``callback(status)`` when the stream goes down or comes back."""
        return self._listeners.on_status(callback)

    # -- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the snapshot and start following the change stream. Without a server, serve
        the cache file. Raises ``ServerUnavailable`` (no server, no usable cache) or
        ``ClientError`` (a bad token, application or environment)."""
        if self._task is not None:
            raise ClientError("the client is already started")
        self._open_channel()
        try:
            state = await self._read_snapshot()
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _FATAL:
                await self._close_channel()
                raise ClientError(f"{exc.code().name}: {exc.details()}") from exc
            cached = (
                cache.load(self.cache_path, self.application, self.environment)
                if self.cache_path is not None
                else None
            )
            if cached is None:
                await self._close_channel()
                raise ServerUnavailable(
                    f"{self.target}: {exc.code().name}: {exc.details()}"
                ) from exc
            log.warning(
                "gitconfig server %s unreachable (%s): serving the cache at commit %s",
                self.target,
                exc.code().name,
                cached.state.commit[:12],
            )
            self._swap(cached.state)
            self._set_status(
                Status(cached.state.commit, "cache", True, cached.synced_at, str(exc.code().name))
            )
            self._task = asyncio.create_task(self._follow(reload=True), name="gitconfig-client")
            return
        self._swap(state)
        self._set_status(Status(state.commit, "server", False, time.time()))
        await self._persist()
        self._task = asyncio.create_task(self._follow(reload=False), name="gitconfig-client")

    async def close(self) -> None:
        """Stop following the server; reads keep answering from the last state."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._saving is not None:  # a cache write under way completes
            with contextlib.suppress(OSError):
                await self._saving
        await self._close_channel()
        status = self._status
        self._status = Status(status.commit, status.source, True, status.synced_at, "closed")

    async def __aenter__(self) -> AsyncClient:
        await self.start()
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- following ---------------------------------------------------------------------------

    async def _follow(self, reload: bool) -> None:
        while True:
            try:
                if reload:
                    await self._reload()
                    reload = False
                await self._stream()
                log.info("the gitconfig stream ended (server shutting down): reconnecting")
                self._lost("the server ended the stream")
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
                if code == grpc.StatusCode.FAILED_PRECONDITION:  # the history was rewritten
                    log.warning(
                        "cannot resume after %s (%s): reloading",
                        self._state.commit[:12],
                        exc.details(),
                    )
                    reload = True
                elif code == grpc.StatusCode.INVALID_ARGUMENT and self._state.commit:
                    # A server that lacks our commit: never go back to its older snapshot.
                    log.warning("the server lacks commit %s: retrying", self._state.commit[:12])
                elif code == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    log.warning("the gitconfig stream overflowed: resuming")
                    self._attempt = 0
                elif code == grpc.StatusCode.UNAVAILABLE and "shutting down" in (
                    exc.details() or ""
                ):
                    log.info("the gitconfig stream ended (server shutting down): reconnecting")
                else:  # logged once per outage, not once per retry
                    repeated = self._status.stale and self._status.error == code.name
                    refused = code in _FATAL
                    level = logging.ERROR if refused else logging.WARNING
                    log.log(
                        logging.DEBUG if repeated else level,
                        "gitconfig stream %s: %s: %s",
                        "refused" if refused else "lost",
                        code.name,
                        exc.details(),
                    )
                    if refused:  # no quick retry can fix it: retry at the slowest pace
                        self._attempt = max(self._attempt, 30)
                self._lost(code.name)
            except BadUpdate as exc:
                log.error("could not apply an update (%s): reloading", exc)
                reload = True
                self._lost(str(exc))
            delay = self.backoff.delay(self._attempt)
            self._attempt += 1
            await asyncio.sleep(delay)

    async def _stream(self) -> None:
        assert self._stub is not None
        fields: dict[str, Any] = {}
        if self._state.commit:
            fields["resume_after_commit"] = self._state.commit
        request = config_pb2.StreamConfigurationUpdatesRequest(
            application=self.application,
            environment=self.environment,
            include_flags=self.include_flags,
            **fields,
        )
        call = self._stub.StreamConfigurationUpdates(request, metadata=self._metadata)
        try:
            await call.initial_metadata()
            if call.done() and await call.code() != grpc.StatusCode.OK:
                async for _ in call:  # refused at once: raises the call's error
                    pass
            self._attempt = 0
            status = self._status
            self._set_status(Status(self._state.commit, "server", False, time.time()))
            if status.stale and status.source == "server":
                log.info("gitconfig stream resumed after %s", self._state.commit[:12] or "start")
            pending: list[config_pb2.ConfigurationUpdate] = []
            async for message in call:
                if pending and message.commit != pending[0].commit:  # a server without commit_end
                    await self._apply(pending[0].commit, pending)
                    pending = []
                pending.append(message)
                if message.commit_end:
                    await self._apply(message.commit, pending)
                    pending = []
            if pending:
                await self._apply(pending[0].commit, pending)
        finally:
            call.cancel()

    async def _reload(self) -> None:
        state = await self._read_snapshot()
        # SECRETs are never cached: after a start from the cache they are withheld, not new.
        change = self._state.diff(state, withheld_secrets=self._status.source == "cache")
        self._swap(state)
        self._set_status(Status(state.commit, "server", False, time.time()))
        if change.changes:
            self._listeners.changed(change)
        await self._persist()

    async def _apply(self, commit: str, updates: Sequence[Message]) -> None:
        state, change = self._state.apply(commit, updates)
        self._swap(state)
        status = self._status
        self._status = Status(commit, status.source, status.stale, time.time(), status.error)
        self._listeners.changed(change)
        await self._persist()

    async def _read_snapshot(self) -> LocalState:
        assert self._stub is not None
        request = config_pb2.GetSnapshotRequest(
            application=self.application,
            environment=self.environment,
            include_flags=self.include_flags,
        )
        response = await self._stub.GetSnapshot(
            request, metadata=self._metadata, timeout=self.timeout
        )
        state, _ = LocalState.empty().apply(response.commit, response.entries)
        return state

    # -- state -------------------------------------------------------------------------------

    def _swap(self, state: LocalState) -> None:
        self._install(state)
        for mirror in self._mirrors:
            mirror._install(state)

    def _mirror(self, copy: LocalCopy) -> None:
        """Keep ``copy``'s state the same as this client's (``Client`` reads through it)."""
        copy._install(self._state)
        self._mirrors.append(copy)

    def _set_status(self, status: Status) -> None:
        """Install ``status``; listeners hear when the stream goes down or comes back, and
        when the reason it is down changes."""
        previous, self._status = self._status, status
        if previous.stale != status.stale or (status.stale and previous.error != status.error):
            self._listeners.status(status)

    def _lost(self, error: str) -> None:
        status = self._status
        if not status.stale:
            self._set_status(Status(status.commit, status.source, True, time.time(), error))
        elif status.error != error:
            self._set_status(Status(status.commit, status.source, True, status.synced_at, error))

    async def _persist(self) -> None:
        if self.cache_path is None:
            return
        state, synced_at = self._state, self._status.synced_at or time.time()
        self._saving = asyncio.ensure_future(
            asyncio.to_thread(
                cache.save, self.cache_path, self.application, self.environment, state, synced_at
            )
        )
        try:
            await asyncio.shield(self._saving)
        except OSError as exc:
            log.warning("could not write the cache file %s: %s", self.cache_path, exc)

    # -- channel -----------------------------------------------------------------------------

    def _open_channel(self) -> None:
        if self._credentials is not None:
            self._channel = grpc.aio.secure_channel(self.target, self._credentials, self._options)
        else:
            self._channel = grpc.aio.insecure_channel(self.target, self._options)
        self._stub = config_pb2_grpc.ConfigurationServiceStub(self._channel)

    async def _close_channel(self) -> None:
        channel, self._channel, self._stub = self._channel, None, None
        if channel is not None:
            await channel.close()
