"""The domain model: immutable values shared by the core, the service and the adapters.

A configuration or flag lives in one YAML file; ``EntryKey`` names it and knows its path and
its deterministic id. ``ConfigDocument`` and ``FlagDocument`` are the parsed, validated file
contents (see ``configfile`` and ``flagfile``). ``Commit`` and ``Version`` carry history.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

# Fixed forever: ids are UUIDv5 of "<kind>:<application>/<ENV>/<key>" under this namespace.
ID_NAMESPACE = uuid.UUID("6f1c3c1e-6b5e-5f0a-9d3c-2b8e4a7d9c10")
_NAMESPACE_BYTES = ID_NAMESPACE.bytes


def uuid5_text(name: str) -> str:
    """``str(uuid.uuid5(ID_NAMESPACE, name))`` (RFC 4122 §4.3: SHA-1 of the namespace and the
    UTF-8 name, version 5, RFC 4122 variant) without building a ``UUID`` object, which is
    half the cost of naming an entry when the index is built."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Environment(StrEnum):
    DEV = "DEV"
    TEST = "TEST"
    STAGING = "STAGING"
    PROD = "PROD"


class ValueType(StrEnum):
    STRING = "STRING"
    NUMBER = "NUMBER"
    BOOLEAN = "BOOLEAN"
    JSON = "JSON"
    SECRET = "SECRET"


class Kind(StrEnum):
    CONFIG = "config"
    FLAG = "flag"

    @property
    def folder(self) -> str:
        return "configs" if self is Kind.CONFIG else "flags"


class ChangeType(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True, order=True)
class EntryKey:
    """Names one configuration or flag: its file is ``<folder>/<application>/<ENV>/<key>.yaml``."""

    kind: Kind
    application: str
    environment: Environment
    key: str

    @property
    def path(self) -> str:
        return f"{self.kind.folder}/{self.application}/{self.environment.value}/{self.key}.yaml"

    @property
    def id(self) -> str:
        name = f"{self.kind.value}:{self.application}/{self.environment.value}/{self.key}"
        return uuid5_text(name)

    def __str__(self) -> str:
        return f"{self.application}/{self.environment.value}/{self.key}"


@dataclass(frozen=True, slots=True)
class ConfigDocument:
    """The content of a configuration file, already validated.

    ``value`` is the native YAML value (str, int, float, bool, dict, list, None for JSON null);
    for SECRET it is the sops ``ENC[...]`` string and ``sops`` holds the file's sops metadata.
    ``schema`` is an inline JSON Schema or ``{"$ref": "schemas/<name>.json"}``.
    """

    value_type: ValueType
    value: Any = field(repr=False)  # a SECRET's plaintext may pass through here: never shown
    description: str | None = None
    schema: dict[str, Any] | None = None
    tags: tuple[str, ...] = ()
    sops: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    attribute: str
    operator: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FlagRule:
    """A targeting rule. Its condition is ``conditions`` (AND); the seed's single
    ``attribute/operator/values`` form is parsed into a one-element ``conditions``.
    No conditions: matches everyone. ``percentage`` None: no rollout split."""

    conditions: tuple[Condition, ...] = ()
    percentage: int | None = None
    bucket_by: str | None = None


@dataclass(frozen=True, slots=True)
class FlagDocument:
    description: str
    enabled: bool = False
    value: Any = None
    rules: tuple[FlagRule, ...] = ()
    tags: tuple[str, ...] = ()


Document = ConfigDocument | FlagDocument


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    parent: str | None  # first parent
    author: Author
    time: datetime  # author time, timezone-aware
    message: str


@dataclass(frozen=True, slots=True)
class FileChange:
    """One path changed between two trees. ``old_blob``/``new_blob`` None: absent on that side
    (or not a regular file). ``special`` names what the path now is when it is neither a
    regular file nor a folder (``symlink``, ``submodule``): such entries are not files the
    index can serve, and are reported."""

    path: str
    old_blob: str | None
    new_blob: str | None
    special: str | None = None


@dataclass(frozen=True, slots=True)
class PendingCommit:
    """One commit to write: ``changes`` maps paths to new content (None deletes).
    ``deadline`` (a ``time.monotonic()`` value, None: none): a store that pushes abandons the
    commit rather than push it after then, since the caller has stopped waiting."""

    changes: Mapping[str, bytes | None]
    author: Author
    message: str
    deadline: float | None = None


@dataclass(frozen=True, slots=True)
class Version:
    """One version of one entry: the commit that changed its content, and the content's blob."""

    number: int
    commit: Commit
    blob: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A file at HEAD that does not validate (or a name collision); served fail-static."""

    path: str
    commit: str
    errors: tuple[str, ...]
