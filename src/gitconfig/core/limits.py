"""The size limits of everything gitconfig accepts: one definition for every door.

The REST and gRPC servers, the CLI, the git hooks, the validator and the index all check the
same limits, so a file the API would refuse is refused by the hooks and reported (fail-static)
by the index, and the reverse. Each limit can be changed with an environment variable, read
once when first needed (``configure`` sets them explicitly, for example in tests):

    GITCONFIG_MAX_BODY_BYTES        request body (REST) / message (gRPC)     8 MiB
    GITCONFIG_MAX_VALUE_BYTES       a value's text (UTF-8), a file's bytes   1 MiB
    GITCONFIG_MAX_TAGS              tags of one configuration or flag        64
    GITCONFIG_MAX_DESCRIPTION       description, in characters               4,000
    GITCONFIG_MAX_MESSAGE           commit message (changeDescription)        10,000
    GITCONFIG_MAX_DEPTH             nesting of a JSON value or schema         64
    GITCONFIG_MAX_ARRAY_UNIQUE      items of an array checked by uniqueItems   10,000
    GITCONFIG_MAX_IMPORT_KEYS       keys of one imported file                   10,000

The depth limit is far below what any reader or writer of gitconfig handles (JSON and YAML
readers, the YAML writer, protobuf's Struct: 100), so a value is either refused with a clear
message at every door or read and written everywhere. ``docs/file-format.md`` lists them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any

from gitconfig.core.errors import FieldError

_ENV_PREFIX = "GITCONFIG_MAX_"
MAX_INT32 = 2**31 - 1  # versions, pages: what the seed's int32 fields can carry


@dataclass(frozen=True, slots=True)
class Limits:
    body_bytes: int = 8 * 1024 * 1024
    value_bytes: int = 1024 * 1024
    tags: int = 64
    description: int = 4000
    message: int = 10_000
    depth: int = 64
    array_unique: int = 10_000
    import_keys: int = 10_000

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Limits:
        """The defaults, each overridden by ``GITCONFIG_MAX_<NAME>`` when set (a positive
        integer; raises ``ValueError`` naming the variable otherwise)."""
        environ = dict(os.environ) if environ is None else environ
        chosen: dict[str, int] = {}
        for field in fields(cls):
            name = _ENV_PREFIX + field.name.upper()
            if name in environ:
                text = environ[name].strip()
                if not (text.isascii() and text.isdigit() and 0 < len(text) < 19 and int(text)):
                    raise ValueError(f"{name} must be a positive integer, not {text!r}")
                chosen[field.name] = int(text)
        return replace(cls(), **chosen)


_current: list[Limits] = []


def current() -> Limits:
    """The limits in force (from the environment, unless ``configure`` set them)."""
    if not _current:
        _current.append(Limits.from_env())
    return _current[0]


def configure(limits: Limits | None) -> None:
    """Set the limits in force (None: read the environment again when next needed)."""
    _current.clear()
    if limits is not None:
        _current.append(limits)


# -- checks ----------------------------------------------------------------------------------


def depth(value: object, stop: int) -> int:
    """How deeply ``value`` nests lists and dicts (a scalar: 0), counting no further than
    ``stop`` + 1; iterative, so any depth is safe to measure."""
    deepest = 0
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict | list):
            level += 1
            deepest = max(deepest, level)
            if level > stop:
                return level
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, level) for child in children)
    return deepest


def depth_error(value: object, field: str) -> FieldError | None:
    """A value nested deeper than the limit."""
    limit = current().depth
    if depth(value, limit) > limit:
        return FieldError(field, f"nests more than {limit} levels of lists and objects")
    return None


def text_error(text: object, field: str, limit: int, unit: str = "characters") -> FieldError | None:
    """A string longer than ``limit`` (characters, or UTF-8 bytes when ``unit`` is bytes)."""
    if not isinstance(text, str):
        return None
    size = len(text) if unit == "characters" else len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        return FieldError(field, f"is longer than {limit:,} {unit} ({size:,})")
    return None


def value_error(text: object, field: str = "value") -> FieldError | None:
    return text_error(text, field, current().value_bytes, "bytes")


def description_error(text: object, field: str = "description") -> FieldError | None:
    return text_error(text, field, current().description)


def message_error(text: object, field: str = "changeDescription") -> FieldError | None:
    """A commit message beyond the limit, or holding a NUL: Git ends a message at its first
    NUL, so ``"fix\x00"`` would be committed as ``"fix"`` (and ``"\x00"`` as nothing)."""
    if isinstance(text, str) and "\x00" in text:
        return FieldError(field, "holds a NUL character, where Git would end the message")
    return text_error(text, field, current().message)


def import_keys_error(count: int, field: str = "content") -> FieldError | None:
    """An imported file with more keys than the limit: one import is one commit, planned and
    validated under the commit lock's retry, so its size bounds how long a writer holds it."""
    limit = current().import_keys
    if count > limit:
        return FieldError(field, f"has more than {limit:,} keys ({count:,}): split the file")
    return None


def tags_error(tags: object, field: str = "tags") -> FieldError | None:
    limit = current().tags
    if isinstance(tags, list | tuple) and len(tags) > limit:
        return FieldError(field, f"has more than {limit} tags ({len(tags):,})")
    return None


def file_error(data: bytes) -> str | None:
    """An entry file larger than a value may be, plus room for its other fields."""
    limit = current().value_bytes + 64 * 1024
    if len(data) > limit:
        return f"the file is larger than {limit:,} bytes ({len(data):,})"
    return None


def ascii_int(text: str, high: int = MAX_INT32) -> int | None:
    """The integer of plain ASCII digits ``text`` when it is 0..``high``; else None. (Python's
    ``int`` also takes full-width digits (U+FF10-U+FF19), ``"1_0"``, spaces and signs, and
    raises past 4300 digits.)"""
    if not text or not text.isascii() or not text.isdigit() or len(text) > len(str(high)):
        return None
    number = int(text)
    return number if number <= high else None


def describe() -> dict[str, Any]:
    """The limits in force, by name (for docs and the CLI)."""
    limits = current()
    return {field.name: getattr(limits, field.name) for field in fields(limits)}
