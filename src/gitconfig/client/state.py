"""The client's local copy: immutable values, and how one commit's updates change them.

``LocalState`` is one application and environment at one commit: its configurations (typed
values, parsed once when they arrive) and its feature flags (compiled once with the server's
own evaluator). ``LocalState.apply(commit, updates)`` returns the next state and the
``Change`` that on-change callbacks receive. Pure: no I/O, no network.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol

from gitconfig.core import flagfile
from gitconfig.core.evaluation import CompiledFlag, compile_flag

MASK = "********"


class EntryKind(StrEnum):
    CONFIG = "config"
    FLAG = "flag"


class ChangeKind(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


class Message(Protocol):
    """The fields of a ``config.v1.ConfigurationUpdate`` that the client reads."""

    @property
    def key(self) -> str: ...
    @property
    def update_type(self) -> int: ...
    @property
    def value_type(self) -> int: ...
    @property
    def value(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def commit(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def id(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ConfigValue:
    """One configuration: ``text`` is the API text of its value (``"250000"``), ``value`` the
    typed value (str, int, float, bool, or parsed JSON); ``value_type`` is ``STRING``,
    ``NUMBER``, ``BOOLEAN``, ``JSON`` or ``SECRET``; ``masked`` when the token may not reveal
    the secret (``text`` is then ``********``)."""

    key: str
    value_type: str
    text: str
    value: Any
    version: int
    commit: str
    id: str

    @property
    def masked(self) -> bool:
        return self.value_type == "SECRET" and self.text == MASK

    def __repr__(self) -> str:  # a secret never appears in a repr or a log line
        shown = "***" if self.value_type == "SECRET" else repr(self.text)
        return f"ConfigValue({self.key!r}, {self.value_type}, {shown}, v{self.version})"


@dataclass(frozen=True, slots=True)
class FlagValue:
    """One feature flag: its definition (the flag file as a mapping) and the compiled flag."""

    key: str
    definition: Mapping[str, Any]
    flag: CompiledFlag
    version: int
    commit: str
    id: str


@dataclass(frozen=True, slots=True)
class KeyChange:
    """One entry changed by one commit. ``old``/``new``: the typed configuration value or the
    flag's definition before and after (None when absent on that side)."""

    kind: EntryKind
    key: str
    type: ChangeKind
    old: Any
    new: Any

    def __repr__(self) -> str:
        return f"KeyChange({self.kind.value}, {self.key!r}, {self.type.value})"


@dataclass(frozen=True, slots=True)
class Change:
    """What one commit changed in the local copy, in the commit's order."""

    commit: str
    changes: tuple[KeyChange, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """The changed keys (configurations and flags), in order."""
        return tuple(change.key for change in self.changes)

    def only(self, keys: frozenset[str]) -> Change | None:
        """This change restricted to ``keys``; None when none of them changed."""
        kept = tuple(change for change in self.changes if change.key in keys)
        return Change(self.commit, kept) if kept else None


class BadUpdate(ValueError):
    """An update the client cannot apply (an unknown kind or type, a malformed value)."""


def typed_value(value_type: str, text: str) -> Any:
    """The Python value of a configuration's API text: STRING and SECRET as is, NUMBER as an
    int when integral else a float, BOOLEAN as a bool, JSON parsed. Raises ``BadUpdate``."""
    try:
        if value_type in ("STRING", "SECRET"):
            return text
        if value_type == "NUMBER":
            number = float(text)
            if not math.isfinite(number):
                raise BadUpdate(f"not a finite number: {text!r}")
            if number.is_integer() and "." not in text and "e" not in text.lower():
                return int(text)
            return number
        if value_type == "BOOLEAN":
            if text not in ("true", "false"):
                raise BadUpdate(f"not a boolean: {text!r}")
            return text == "true"
        if value_type == "JSON":
            return json.loads(text)
    except ValueError as exc:
        raise BadUpdate(f"bad {value_type} value: {exc}") from exc
    raise BadUpdate(f"unknown value type {value_type!r}")


def config_value(
    key: str, value_type: str, text: str, version: int, commit: str, id: str
) -> ConfigValue:
    return ConfigValue(key, value_type, text, typed_value(value_type, text), version, commit, id)


def flag_value(key: str, definition_json: str, version: int, commit: str, id: str) -> FlagValue:
    """Parse and compile a flag's definition (compact JSON, as streamed). Raises
    ``BadUpdate``."""
    try:
        definition = json.loads(definition_json)
        document = flagfile.parse_mapping(definition)
        compiled = compile_flag(key, document)
    except Exception as exc:  # a BadRequest, a JSON or an operand error: all mean the same
        raise BadUpdate(f"flag {key!r}: {exc}") from exc
    return FlagValue(key, MappingProxyType(definition), compiled, version, commit, id)


_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class LocalState:
    """One application and environment at ``commit`` ("" before anything is known).
    ``values`` maps each configuration key to its typed value: what ``Client.get`` reads (a
    plain dict for the speed of its lookups, never modified once built)."""

    commit: str
    configs: Mapping[str, ConfigValue]
    flags: Mapping[str, FlagValue]
    values: dict[str, Any]

    @staticmethod
    def empty() -> LocalState:
        return LocalState("", _EMPTY, _EMPTY, {})

    @staticmethod
    def build(
        commit: str, configs: Iterable[ConfigValue], flags: Iterable[FlagValue]
    ) -> LocalState:
        by_key = {config.key: config for config in configs}
        return LocalState(
            commit,
            MappingProxyType(by_key),
            MappingProxyType({flag.key: flag for flag in flags}),
            {key: config.value for key, config in by_key.items()},
        )

    def apply(self, commit: str, updates: Iterable[Message]) -> tuple[LocalState, Change]:
        """The state after one commit's ``updates`` and the change they make. Raises
        ``BadUpdate``; the state is then unchanged."""
        configs = dict(self.configs)
        flags = dict(self.flags)
        changes: list[KeyChange] = []
        for update in updates:
            change = _CHANGE_TYPES.get(update.update_type)
            if change is None:
                raise BadUpdate(f"unknown update type {update.update_type}")
            if update.kind == EntryKind.FLAG:
                old_flag = flags.pop(update.key, None)
                new_flag = None
                if change is not ChangeKind.DELETED:
                    new_flag = flags[update.key] = flag_value(
                        update.key, update.value, update.version, update.commit, update.id
                    )
                changes.append(
                    KeyChange(
                        EntryKind.FLAG,
                        update.key,
                        change,
                        old_flag.definition if old_flag else None,
                        new_flag.definition if new_flag else None,
                    )
                )
            elif update.kind in (EntryKind.CONFIG, ""):
                old_config = configs.pop(update.key, None)
                new_config = None
                if change is not ChangeKind.DELETED:
                    value_type = _value_type(update)
                    new_config = configs[update.key] = config_value(
                        update.key,
                        value_type,
                        update.value,
                        update.version,
                        update.commit,
                        update.id,
                    )
                changes.append(
                    KeyChange(
                        EntryKind.CONFIG,
                        update.key,
                        change,
                        old_config.value if old_config else None,
                        new_config.value if new_config else None,
                    )
                )
            else:
                raise BadUpdate(f"unknown kind {update.kind!r}")
        return LocalState.build(commit, configs.values(), flags.values()), Change(
            commit, tuple(changes)
        )

    def diff(self, newer: LocalState, withheld_secrets: bool = False) -> Change:
        """The change from this state to ``newer`` (after a reload), as one change at
        ``newer.commit``: entries whose version or value differs. ``withheld_secrets``: this
        state came from a cache file, which never holds SECRETs: a SECRET it lacks is not
        reported as added."""
        changes: list[KeyChange] = []
        for key in sorted(self.configs.keys() | newer.configs.keys()):
            old, new = self.configs.get(key), newer.configs.get(key)
            if withheld_secrets and old is None and new is not None and new.value_type == "SECRET":
                continue
            if (
                old is not None
                and new is not None
                and (old.version, old.text)
                == (
                    new.version,
                    new.text,
                )
            ):
                continue
            changes.append(
                KeyChange(
                    EntryKind.CONFIG,
                    key,
                    _kind_of(old, new),
                    old.value if old else None,
                    new.value if new else None,
                )
            )
        for key in sorted(self.flags.keys() | newer.flags.keys()):
            old_flag, new_flag = self.flags.get(key), newer.flags.get(key)
            if (
                old_flag is not None
                and new_flag is not None
                and old_flag.definition == new_flag.definition
            ):
                continue
            changes.append(
                KeyChange(
                    EntryKind.FLAG,
                    key,
                    _kind_of(old_flag, new_flag),
                    old_flag.definition if old_flag else None,
                    new_flag.definition if new_flag else None,
                )
            )
        return Change(newer.commit, tuple(changes))


_CHANGE_TYPES = {1: ChangeKind.CREATED, 2: ChangeKind.UPDATED, 3: ChangeKind.DELETED}
_VALUE_TYPES = {1: "STRING", 2: "NUMBER", 3: "BOOLEAN", 4: "JSON", 5: "SECRET"}


def _value_type(update: Message) -> str:
    value_type = _VALUE_TYPES.get(update.value_type)
    if value_type is None:
        raise BadUpdate(f"unknown value type {update.value_type}")
    return value_type


def _kind_of(old: object, new: object) -> ChangeKind:
    if old is None:
        return ChangeKind.CREATED
    return ChangeKind.DELETED if new is None else ChangeKind.UPDATED
