"""The ``config.v1.ConfigurationService`` servicer: parse the request, call the service, render.

Every RPC authenticates the ``authorization: Bearer <token>`` metadata and maps errors
through ``grpc/errors.py``. ``environment`` is the repository's spelling (``PROD``); the
seed's enum names (``ENVIRONMENT_PROD``) are accepted too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar, cast

import grpc
from google.protobuf import struct_pb2, timestamp_pb2

from gitconfig.access.gate import RECHECK_SECONDS, Gate, credential, peer_address
from gitconfig.access.principals import Principal, TokenRegistry
from gitconfig.core.errors import GitconfigError, StoreError
from gitconfig.core.evaluation import Evaluation
from gitconfig.core.model import ChangeType, ConfigDocument, Environment, Kind, ValueType
from gitconfig.grpc import errors
from gitconfig.grpc.v1 import config_pb2, config_pb2_grpc
from gitconfig.readside import EvaluationRenderings, UpdateMessages
from gitconfig.service import Entry, Service, Subscription, Update

SERVICE_NAME = config_pb2.DESCRIPTOR.services_by_name["ConfigurationService"].full_name
COMMIT_KEY = "gitconfig-commit"  # initial metadata of a stream: the commit it is live from

_VALUE_TYPES = {
    t: cast(config_pb2.ValueType, config_pb2.ValueType.Value(f"VALUE_TYPE_{t.value}"))
    for t in ValueType
}
_UPDATE_TYPES = {
    t: cast(config_pb2.UpdateType, config_pb2.UpdateType.Value(f"UPDATE_TYPE_{t.value}"))
    for t in ChangeType
}
_ENUM_PREFIX = "ENVIRONMENT_"

Response = TypeVar("Response")
Handler = Callable[["ConfigurationServicer", Any, Any], Awaitable[Response]]


def _mapped(method: Handler[Response]) -> Handler[Response]:
    """Turn gitconfig errors raised by a unary method into its status code."""

    @wraps(method)
    async def call(self: ConfigurationServicer, request: Any, context: Any) -> Response:
        try:
            return await method(self, request, context)
        except GitconfigError as exc:
            await errors.abort(context, exc)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug: INTERNAL with a request id, detail logged
            await errors.abort(context, StoreError(f"{type(exc).__name__}: {exc}"))

    return call


def environment(value: str) -> str:
    """``PROD`` as is; the seed's enum name ``ENVIRONMENT_PROD`` as ``PROD``."""
    if value.startswith(_ENUM_PREFIX) and value[len(_ENUM_PREFIX) :] in Environment.__members__:
        return value[len(_ENUM_PREFIX) :]
    return value


def timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def struct_value(value: Any) -> struct_pb2.Struct | None:
    """A flag's value as a Struct: a mapping as is, anything else as ``{"value": v}``."""
    if value is None:
        return None
    struct = struct_pb2.Struct()
    struct.update(value if isinstance(value, Mapping) else {"value": value})
    return struct


class ConfigurationServicer(config_pb2_grpc.ConfigurationServiceServicer):
    def __init__(self, service: Service, tokens: TokenRegistry) -> None:
        self.service = service
        self.gate = Gate(tokens)
        self._streams: set[Subscription] = set()
        # Responses kept by the read side: a check's per entry and evaluation, a stream
        # update's message per update (configurations: ``service.box.rendering``).
        self.flag_checks = EvaluationRenderings[config_pb2.CheckFeatureFlagResponse]()
        self.messages = UpdateMessages[config_pb2.ConfigurationUpdate]()

    def principal(self, context: Any) -> Principal:
        return self.gate.principal(
            credential(context.invocation_metadata() or ()), client=peer_address(context.peer())
        )

    @_mapped
    async def GetConfiguration(
        self, request: config_pb2.GetConfigurationRequest, context: Any
    ) -> config_pb2.ConfigurationResponse:
        principal = self.principal(context)
        entry = self.service.reads.lookup(
            principal,
            Kind.CONFIG,
            request.application,
            environment(request.environment),
            request.key,
        )
        await self.service.box.ready(principal, [entry])
        return self.configuration(principal, entry)

    @_mapped
    async def GetConfigurations(
        self, request: config_pb2.GetConfigurationsRequest, context: Any
    ) -> config_pb2.GetConfigurationsResponse:
        principal = self.principal(context)
        entries = self.service.reads.lookup_many(
            principal,
            Kind.CONFIG,
            request.application,
            environment(request.environment),
            list(request.keys),
        )
        await self.service.box.ready(principal, entries)
        return config_pb2.GetConfigurationsResponse(
            configurations=[self.configuration(principal, entry) for entry in entries]
        )

    @_mapped
    async def CheckFeatureFlag(
        self, request: config_pb2.CheckFeatureFlagRequest, context: Any
    ) -> config_pb2.CheckFeatureFlagResponse:
        principal = self.principal(context)
        entry, evaluation = self.service.flags.evaluate(
            principal,
            request.application,
            environment(request.environment),
            request.key,
            request.user_id or None,
            request.attributes,  # proto3: "" is unset (see docs/grpc.md)
        )
        return self.flag_check(entry, evaluation)

    async def StreamConfigurationUpdates(
        self, request: config_pb2.StreamConfigurationUpdatesRequest, context: Any
    ) -> None:
        """Replays after ``resume_after_commit``, then streams live until the client cancels
        (the subscription is closed in ``finally``), the server stops (UNAVAILABLE, the
        retryable status, naming the commit to resume after), or the subscriber falls behind
        (RESOURCE_EXHAUSTED naming the commit to resume after)."""
        held = credential(context.invocation_metadata() or ())  # in memory only, never logged
        try:
            opened = self.principal(context)
            subscription = self.service.streams.watch(
                opened,
                request.application or None,
                environment(request.environment) or None,
                list(request.keys),
                request.include_flags,
                request.resume_after_commit if request.HasField("resume_after_commit") else None,
            )
        except GitconfigError as exc:
            await errors.abort(context, exc)
        self._streams.add(subscription)
        try:
            await subscription.prepare()
            await context.send_initial_metadata(((COMMIT_KEY, subscription.start or ""),))
            seen = subscription.start
            checked = time.monotonic()
            while True:
                if time.monotonic() - checked >= RECHECK_SECONDS:
                    self.gate.recheck(held, opened)  # Unauthenticated: UNAUTHENTICATED
                    checked = time.monotonic()
                try:
                    batch = await asyncio.wait_for(anext(subscription), RECHECK_SECONDS)
                except TimeoutError:
                    continue
                except StopAsyncIteration:
                    break
                seen = batch.commit
                if time.monotonic() - checked >= RECHECK_SECONDS:  # before this delivery
                    self.gate.recheck(held, opened)
                    checked = time.monotonic()
                if not batch.updates:
                    continue
                *updates, last = batch.updates
                for update in updates:
                    await context.write(self.update(update))
                await context.write(self.update(last, commit_end=True))
            # The server closed the stream (shutting down): tell the client to come back.
            resume = f"resume_after_commit {seen}" if seen else "subscribe again"
            await context.abort(
                grpc.StatusCode.UNAVAILABLE, f"the server is shutting down: {resume}"
            )
        except GitconfigError as exc:
            await errors.abort(context, exc)
        finally:
            subscription.close()
            self._streams.discard(subscription)

    @_mapped
    async def GetSnapshot(
        self, request: config_pb2.GetSnapshotRequest, context: Any
    ) -> config_pb2.GetSnapshotResponse:
        commit, updates = await self.service.streams.read_scope_async(
            self.principal(context),
            request.application,
            environment(request.environment),
            request.include_flags,
        )
        return config_pb2.GetSnapshotResponse(
            commit=commit, entries=[self.update(update) for update in updates]
        )

    def end_streams(self) -> None:
        """Shutting down: every stream of this server ends with status OK."""
        for subscription in list(self._streams):
            subscription.end()

    # -- rendering -------------------------------------------------------------------------

    def configuration(self, principal: Principal, entry: Entry) -> config_pb2.ConfigurationResponse:
        """The response for ``entry``, built once per entry and audience (the service decides
        who is shown a SECRET's plaintext and when a rendering may be kept)."""
        return self.service.box.rendering(
            principal,
            entry,
            "grpc.ConfigurationResponse",
            lambda: self._configuration(principal, entry),
        )

    def _configuration(
        self, principal: Principal, entry: Entry
    ) -> config_pb2.ConfigurationResponse:
        document = entry.document
        assert isinstance(document, ConfigDocument)
        updated = entry.updated
        return config_pb2.ConfigurationResponse(
            key=entry.key.key,
            value=self.service.box.served_text(principal, document, entry.key, entry.served.blob),
            value_type=_VALUE_TYPES[document.value_type],
            version=entry.version,
            updated_at=timestamp(updated.commit.time),
            application=entry.key.application,
            environment=entry.key.environment.value,
            id=entry.id,
            commit=updated.commit.sha,
        )

    def flag_check(
        self, entry: Entry, evaluation: Evaluation
    ) -> config_pb2.CheckFeatureFlagResponse:
        """The response for one evaluation, kept per entry and ``Evaluation`` object."""
        return self.flag_checks.rendering(
            entry, evaluation, lambda: ConfigurationServicer._flag_check(entry, evaluation)
        )

    @staticmethod
    def _flag_check(entry: Entry, evaluation: Evaluation) -> config_pb2.CheckFeatureFlagResponse:
        return config_pb2.CheckFeatureFlagResponse(
            key=entry.key.key,
            enabled=evaluation.enabled,
            value=struct_value(evaluation.value),
            reason=evaluation.reason,
            rule_index=evaluation.rule_index,
        )

    def update(self, update: Update, commit_end: bool = False) -> config_pb2.ConfigurationUpdate:
        """The message of ``update``, rendered once (``commit_end``: marked as the last of
        its commit in this stream)."""

        def render() -> config_pb2.ConfigurationUpdate:
            message = ConfigurationServicer.render_update(update)
            message.commit_end = commit_end
            return message

        return self.messages.message(update, commit_end, render)

    @staticmethod
    def render_update(update: Update) -> config_pb2.ConfigurationUpdate:
        return config_pb2.ConfigurationUpdate(
            key=update.key,
            value=update.value,
            value_type=_VALUE_TYPES[update.value_type] if update.value_type else None,
            version=update.version,
            update_type=_UPDATE_TYPES[update.type],
            updated_at=timestamp(update.time),
            commit=update.commit,
            application=update.application,
            environment=update.environment.value,
            kind=update.kind.value,
            id=update.id,
        )
