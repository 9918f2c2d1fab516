"""Reads of the local copy, shared by ``Client`` and ``AsyncClient``: all from memory.

A read takes the current ``LocalState`` reference (swapped in one assignment when a commit
arrives), so reads are thread-safe and never block, and a ``snapshot()`` is exactly one
commit. Nothing here touches the network.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from gitconfig.client.state import Change, ConfigValue, FlagValue, LocalState
from gitconfig.core.evaluation import Evaluation

log = logging.getLogger("gitconfig.client")

T = TypeVar("T")
ChangeCallback = Callable[[Change], None]
StatusCallback = Callable[["Status"], None]
_EMPTY_ATTRIBUTES: Mapping[str, str] = MappingProxyType({})


class ClientError(Exception):
    """Root of the client's errors."""


class ServerUnavailable(ClientError):
    """``start()`` could not reach the server and there is no usable cache to serve."""


class FlagNotFound(ClientError, KeyError):
    """``evaluate`` of a flag that the local copy does not hold."""


@dataclass(frozen=True, slots=True)
class Status:
    """Where the local copy stands.

    ``commit``: the last commit applied ("" before any); ``source``: ``"server"`` once read
    from the server, ``"cache"`` while serving what the cache file held; ``stale``: True while
    the change stream is down (the copy may lag the server); ``synced_at``: epoch seconds when
    the copy was last known current (None before the first sync); ``error``: why the stream
    is down, if it is."""

    commit: str
    source: str
    stale: bool
    synced_at: float | None
    error: str | None = None

    @property
    def age(self) -> float:
        """Seconds since the copy was last known current: 0 while live, never negative (a
        clock that went back), ``inf`` when never synced."""
        if not self.stale:
            return 0.0
        if self.synced_at is None or not math.isfinite(self.synced_at):
            return float("inf")
        return max(0.0, time.time() - self.synced_at)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The configuration at one commit: ``values`` maps each key to its typed value."""

    commit: str
    values: Mapping[str, Any]


class LocalCopy:
    """The read API over a current ``LocalState`` (see ``Client``)."""

    _state: LocalState
    _values: dict[str, Any]

    def _install(self, state: LocalState) -> None:
        self._state = state
        self._values = state.values

    # -- configuration -----------------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        """The typed value of configuration ``key`` (str, int, float, bool, or parsed JSON),
        else ``default``. A dictionary lookup: no network call."""
        return self._values.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def config(self, key: str) -> ConfigValue | None:
        """Configuration ``key`` with its type, API text, version and commit, or None."""
        return self._state.configs.get(key)

    def get_str(self, key: str, default: str | None = None) -> str | None:
        """The API text of ``key``'s value, whatever its type (``"250000"``, ``"true"``,
        compact JSON), else ``default``."""
        config = self._state.configs.get(key)
        return default if config is None else config.text

    def get_int(self, key: str, default: int | None = None) -> int | None:
        """``key``'s value as an int (a NUMBER that is integral), else ``default``. Raises
        ``TypeError`` for a value of another type."""
        return self._typed(key, default, int, "an integer NUMBER")

    def get_float(self, key: str, default: float | None = None) -> float | None:
        """``key``'s value (a NUMBER) as a float, else ``default``. Raises ``TypeError`` for a
        value of another type."""
        config = self._state.configs.get(key)
        if config is None:
            return default
        if config.value_type != "NUMBER":
            raise TypeError(f"{key} is a {config.value_type}, not a NUMBER")
        return float(config.value)

    def get_bool(self, key: str, default: bool | None = None) -> bool | None:
        """``key``'s value (a BOOLEAN), else ``default``. Raises ``TypeError`` for a value of
        another type."""
        return self._typed(key, default, bool, "a BOOLEAN")

    def get_json(self, key: str, default: Any = None) -> Any:
        """``key``'s value (a JSON configuration) parsed, else ``default``. Raises
        ``TypeError`` for a value of another type."""
        config = self._state.configs.get(key)
        if config is None:
            return default
        if config.value_type != "JSON":
            raise TypeError(f"{key} is a {config.value_type}, not JSON")
        return config.value

    def _typed(self, key: str, default: T | None, wanted: type[T], noun: str) -> T | None:
        config = self._state.configs.get(key)
        if config is None:
            return default
        value = config.value
        if type(value) is not wanted:  # bool is an int subclass: compare exactly
            raise TypeError(f"{key} is a {config.value_type} ({config.text!r}), not {noun}")
        return value

    def snapshot(self) -> Snapshot:
        """Every configuration value and the commit they were read at (immutable)."""
        state = self._state
        return Snapshot(state.commit, MappingProxyType(state.values))

    # -- feature flags -----------------------------------------------------------------------

    def flag(self, key: str) -> FlagValue | None:
        """Flag ``key`` with its definition, version and commit, or None."""
        return self._state.flags.get(key)

    def flag_keys(self) -> Iterable[str]:
        return tuple(self._state.flags)

    def evaluate(
        self, key: str, user_id: str | None = None, attributes: Mapping[str, str] | None = None
    ) -> Evaluation:
        """Evaluate flag ``key`` in-process with the server's evaluator: ``enabled``,
        ``value``, ``reason`` (STATIC, TARGETING_MATCH, SPLIT, DEFAULT, DISABLED) and
        ``rule_index``, exactly what the server's CheckFeatureFlag answers. Attribute values
        are strings. Raises ``FlagNotFound``."""
        flag = self._state.flags.get(key)
        if flag is None:
            raise FlagNotFound(key)
        return flag.flag.evaluate(user_id, attributes or _EMPTY_ATTRIBUTES)

    def enabled(
        self,
        key: str,
        user_id: str | None = None,
        attributes: Mapping[str, str] | None = None,
        default: bool = False,
    ) -> bool:
        """Whether flag ``key`` is on for this context; ``default`` for an unknown flag."""
        flag = self._state.flags.get(key)
        if flag is None:
            return default
        return flag.flag.evaluate(user_id, attributes or _EMPTY_ATTRIBUTES).enabled


class Listeners:
    """On-change and on-status callbacks; a callback that raises is logged, never
    propagated."""

    def __init__(self) -> None:
        self._changes: list[tuple[ChangeCallback, frozenset[str] | None]] = []
        self._status: list[StatusCallback] = []

    def on_change(
        self, callback: ChangeCallback, keys: Iterable[str] | None = None
    ) -> Callable[[], None]:
        entry = (callback, frozenset(keys) if keys is not None else None)
        self._changes.append(entry)
        return lambda: self._changes.remove(entry) if entry in self._changes else None

    def on_status(self, callback: StatusCallback) -> Callable[[], None]:
        self._status.append(callback)
        return lambda: self._status.remove(callback) if callback in self._status else None

    def changed(self, change: Change) -> None:
        for callback, keys in list(self._changes):
            wanted = change if keys is None else change.only(keys)
            if wanted is not None and wanted.changes:
                try:
                    callback(wanted)
                except Exception:
                    log.exception("an on_change callback failed at commit %s", change.commit[:12])

    def status(self, status: Status) -> None:
        for callback in list(self._status):
            try:
                callback(status)
            except Exception:
                log.exception("an on_status callback failed")
