"""``GitconfigProvider``: an OpenFeature provider backed by the embedded client's in-process
evaluation (``pip install openfeature-sdk``; docs/client.md).

    from openfeature import api
    from gitconfig.client import Client
    from gitconfig.client.openfeature import GitconfigProvider

    api.set_provider(GitconfigProvider(Client("config:9090", token, "trading-engine", "PROD")))
    flags = api.get_client()
    flags.get_boolean_value("v2-matching-engine", False, EvaluationContext("desk-7-42", {...}))

Resolution: the evaluation context's targeting key is the ``userId``, its attributes are the
flag attributes (numbers, booleans and datetimes as text: ``true``, ``42``, ISO-8601).

- boolean: whether the flag is on for the context; variant ``on``/``off``.
- object: the flag's ``value`` (a JSON object) when on; the default when off.
- string, integer, float: the ``value`` field of the flag's value (``value: {value: 250}``)
  when on; the default when off; TYPE_MISMATCH when the field is missing or of another type.

Reasons are the evaluator's (STATIC, TARGETING_MATCH, SPLIT, DEFAULT, DISABLED); an unknown
flag is FLAG_NOT_FOUND with the default value. ``flag_metadata`` holds the flag's ``commit``,
``version`` and, when a rule decided, ``ruleIndex``. Events: READY once started (and again
when the stream comes back), CONFIGURATION_CHANGED with the changed flag keys per commit,
STALE while the stream is down, ERROR when the server refuses the client (a revoked token).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEventDetails
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType, Reason
from openfeature.provider import AbstractProvider, Metadata

from gitconfig.client.aio import AsyncClient
from gitconfig.client.local import Status
from gitconfig.client.state import Change, EntryKind, FlagValue
from gitconfig.client.sync import Client
from gitconfig.core import context

T = TypeVar("T")
NAME = "gitconfig"
_REFUSED = frozenset({"UNAUTHENTICATED", "PERMISSION_DENIED", "INVALID_ARGUMENT"})
ObjectValue = Sequence[FlagValueType] | Mapping[str, FlagValueType]


def attribute_text(value: object) -> str | None:
    """An evaluation context attribute as flag attribute text: ``core.context.attribute_text``
    (the conversion OFREP and REST use, so ``3.0`` is ``"3"`` everywhere), a datetime as
    ISO-8601; None for a value that conversion refuses (a list or mapping)."""
    if isinstance(value, datetime):
        return value.isoformat()
    try:
        return context.attribute_text(value)
    except ValueError:
        return None


def context_of(
    evaluation_context: EvaluationContext | None,
) -> tuple[str | None, dict[str, str]]:
    """``(user_id, attributes)`` of an OpenFeature evaluation context."""
    if evaluation_context is None:
        return None, {}
    attributes: dict[str, str] = {}
    for name, value in evaluation_context.attributes.items():
        text = attribute_text(value)
        if text is not None:
            attributes[name] = text
    return evaluation_context.targeting_key, attributes


class GitconfigProvider(AbstractProvider):
    """Resolves flags from ``client`` (a ``Client``, started by ``initialize`` if it is not
    yet, and closed by ``shutdown`` then; or an ``AsyncClient`` already started)."""

    def __init__(self, client: Client | AsyncClient) -> None:
        super().__init__()
        self.client = client
        self._owns_client = False
        self._unsubscribe: list[Callable[[], None]] = []

    def get_metadata(self) -> Metadata:
        return Metadata(name=NAME)

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        """Start the client when it is a ``Client`` that is not started yet (raising its
        ``ServerUnavailable``/``ClientError``: the SDK reports the provider in error)."""
        if isinstance(self.client, Client) and not self.client.started:
            self.client.start()
            self._owns_client = True
        self._unsubscribe = [
            self.client.on_change(self._changed),
            self.client.on_status(self._status),
        ]

    def shutdown(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self._owns_client and isinstance(self.client, Client):
            self.client.close()
            self._owns_client = False

    # -- events ------------------------------------------------------------------------------

    def _changed(self, change: Change) -> None:
        flags = [c.key for c in change.changes if c.kind is EntryKind.FLAG]
        if flags and hasattr(self, "_on_emit"):
            details = ProviderEventDetails(flags_changed=flags, metadata={"commit": change.commit})
            self.emit_provider_configuration_changed(details)

    def _status(self, status: Status) -> None:
        if not hasattr(self, "_on_emit"):
            return
        metadata: dict[str, bool | str | int | float] = {"commit": status.commit}
        if not status.stale:
            self.emit_provider_ready(ProviderEventDetails(metadata=metadata))
        elif status.error in _REFUSED:
            self.emit_provider_error(
                ProviderEventDetails(
                    message=f"the server refused the client: {status.error}",
                    error_code=ErrorCode.GENERAL,
                    metadata=metadata,
                )
            )
        else:
            message = f"the change stream is down ({status.error}); serving commit {status.commit}"
            self.emit_provider_stale(ProviderEventDetails(message=message, metadata=metadata))

    # -- resolution --------------------------------------------------------------------------

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        flag = self.client.flag(flag_key)
        if flag is None:
            return _not_found(flag_key, default_value)
        evaluation = flag.flag.evaluate(*context_of(evaluation_context))
        return FlagResolutionDetails(
            value=evaluation.enabled,
            reason=Reason(evaluation.reason),
            variant="on" if evaluation.enabled else "off",
            flag_metadata=_metadata(flag, evaluation.rule_index),
        )

    def resolve_string_details(
        self,
        flag_key: str,
        default_value: str,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[str]:
        return self._field(flag_key, default_value, evaluation_context, (str,), "a string")

    def resolve_integer_details(
        self,
        flag_key: str,
        default_value: int,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[int]:
        return self._field(flag_key, default_value, evaluation_context, (int,), "an integer")

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        details = self._field(flag_key, default_value, evaluation_context, (int, float), "a number")
        if details.error_code is None:
            details.value = float(details.value)
        return details

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: ObjectValue,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[ObjectValue]:
        flag = self.client.flag(flag_key)
        if flag is None:
            return _not_found(flag_key, default_value)
        evaluation = flag.flag.evaluate(*context_of(evaluation_context))
        on = evaluation.enabled and evaluation.value is not None
        return FlagResolutionDetails(
            value=evaluation.value if on else default_value,
            reason=Reason(evaluation.reason),
            variant="on" if evaluation.enabled else "off",
            flag_metadata=_metadata(flag, evaluation.rule_index),
        )

    def _field(
        self,
        flag_key: str,
        default_value: T,
        evaluation_context: EvaluationContext | None,
        types: tuple[type, ...],
        noun: str,
    ) -> FlagResolutionDetails[T]:
        flag = self.client.flag(flag_key)
        if flag is None:
            return _not_found(flag_key, default_value)
        evaluation = flag.flag.evaluate(*context_of(evaluation_context))
        metadata = _metadata(flag, evaluation.rule_index)
        reason = Reason(evaluation.reason)
        if not evaluation.enabled:
            return FlagResolutionDetails(
                value=default_value, reason=reason, variant="off", flag_metadata=metadata
            )
        value: Any = (evaluation.value or {}).get("value")
        if type(value) is bool or type(value) not in types:
            return FlagResolutionDetails(
                value=default_value,
                reason=Reason.ERROR,
                error_code=ErrorCode.TYPE_MISMATCH,
                error_message=f"flag {flag_key}: its value has no field 'value' that is {noun}",
                flag_metadata=metadata,
            )
        resolved: T = value
        return FlagResolutionDetails(
            value=resolved, reason=reason, variant="on", flag_metadata=metadata
        )


def _not_found(flag_key: str, default_value: T) -> FlagResolutionDetails[T]:
    return FlagResolutionDetails(
        value=default_value,
        reason=Reason.ERROR,
        error_code=ErrorCode.FLAG_NOT_FOUND,
        error_message=f"no flag {flag_key} in this application and environment",
    )


def _metadata(flag: FlagValue, rule_index: int | None) -> dict[str, bool | int | float | str]:
    metadata: dict[str, bool | int | float | str] = {
        "commit": flag.commit,
        "version": flag.version,
    }
    if rule_index is not None:
        metadata["ruleIndex"] = rule_index
    return metadata
