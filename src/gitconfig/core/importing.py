"""Importing: the configuration type each entry of a file stands for, and the plan of an
import against the current entries (``core.formats`` reads and writes the files).

JSON and YAML hold one mapping of key to value, and the value's own type says the
configuration type; ``.env`` and ``.properties`` hold text, so the type is inferred from it:

    value                                   JSON / YAML      .env / .properties text
    true, false                             BOOLEAN          only exactly "true" / "false"
    a number                                NUMBER           only canonical decimal text:
                                                              "15", "-0.5" (not "007", "1.50",
                                                              "1e3", which stay STRING)
    a mapping or a list                     JSON             text starting with { or [ that
                                                              is a JSON object or array
    a string                                STRING           anything else
    null                                    ambiguous: give the type

Where the inference is not what you mean, the caller names the type: per key, or for every
key with ``*``. A key that exists already keeps its type (and description, schema and tags)
unless a type is named. ``plan`` builds the files against the current entries: each entry is
created, updated or unchanged, and any problem rejects the whole import. An imported value
equal to the mask leaves an existing SECRET unchanged, so an export can be imported back.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitconfig.core import configfile, valuetext
from gitconfig.core.configfile import MASK
from gitconfig.core.errors import BadRequest, FieldError
from gitconfig.core.formats import Format, Item
from gitconfig.core.model import ConfigDocument, ValueType
from gitconfig.core.paths import key_error

ALL_KEYS = "*"


# -- types -----------------------------------------------------------------------------------


def infer_type(item: Item) -> ValueType | None:
    """The type an entry's value stands for (see the module docstring); None: ambiguous."""
    value = item.value
    if item.native:
        if isinstance(value, bool):
            return ValueType.BOOLEAN
        if isinstance(value, int | float):
            return ValueType.NUMBER
        if isinstance(value, dict | list):
            return ValueType.JSON
        return ValueType.STRING if isinstance(value, str) else None
    return infer_text(value)


def infer_text(text: str) -> ValueType:
    """The type of a text value: see the module docstring."""
    if text in ("true", "false"):
        return ValueType.BOOLEAN
    try:
        if valuetext.number_text(valuetext.parse_number(text)) == text:
            return ValueType.NUMBER
    except ValueError:
        pass
    if text[:1] in ("{", "["):
        try:
            parsed = valuetext.parse_json(text)
        except ValueError:
            return ValueType.STRING
        if isinstance(parsed, dict | list):
            return ValueType.JSON
    return ValueType.STRING


def value_text(item: Item, value_type: ValueType) -> str:
    """The API text of an entry's value as ``value_type``; ValueError says why it is not."""
    value = item.value
    if not item.native:
        return str(value)
    if value_type is ValueType.JSON:
        return valuetext.compact_json(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value} is not a number JSON can hold")
        return valuetext.number_text(value)
    shown = "null" if value is None else "a mapping" if isinstance(value, dict) else "a list"
    raise ValueError(f"is {shown}; only type JSON holds one")


def parse_types(types: Mapping[str, str]) -> dict[str, ValueType]:
    """``{key or "*": type name}`` checked; raises BadRequest naming each bad one."""
    parsed, errors = {}, []
    for key, name in types.items():
        upper = name.strip().upper()
        if upper not in ValueType.__members__:
            errors.append(FieldError(f"types.{key}", f"must be one of {', '.join(ValueType)}"))
        else:
            parsed[key] = ValueType(upper)
    if errors:
        raise BadRequest("invalid types", errors)
    return parsed


# -- planning an import ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """Import ``content`` (a file in ``format``) into ``application``/``environment``.
    ``types``: key (or ``*`` for all keys) -> type name; ``message``: the commit message.
    A value that looks like a plaintext credential (``credentials``) rejects the import
    unless its key is typed SECRET or ``allow_plaintext``."""

    application: str
    environment: str
    format: Format
    content: str
    types: Mapping[str, str] = field(default_factory=dict)
    message: str | None = None
    dry_run: bool = False
    allow_plaintext: bool = False  # accept values that look like plaintext credentials


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The keys created, updated and left unchanged, and the commit (None: nothing written,
    or a dry run)."""

    created: list[str]
    updated: list[str]
    unchanged: list[str]
    commit: str | None


@dataclass(frozen=True, slots=True)
class Planned:
    """What an import does to one key: ``status`` created, updated or unchanged; ``content``
    is the new file (None when unchanged)."""

    key: str
    status: str
    value_type: ValueType
    content: bytes | None = field(repr=False)  # a SECRET's is plaintext until encrypted


def plan(
    items: Sequence[Item],
    types: Mapping[str, ValueType],
    current: Mapping[str, ConfigDocument | None],
    schemas: Mapping[str, Any],
    invalid: Collection[str] = (),
) -> list[Planned]:
    """The file of each entry, validated as a write through the API would be, against the
    ``current`` documents (key -> document, None when absent). Keys in ``invalid`` have a
    file that does not validate (served fail-static from ``current``): they are rewritten even
    when the value equals. Raises ``BadRequest`` listing every entry's problem: nothing is
    planned unless everything is valid."""
    errors: list[FieldError] = []
    unknown = sorted(set(types) - {item.key for item in items} - {ALL_KEYS})
    errors += [FieldError(f"types.{key}", "is not a key of the file") for key in unknown]
    planned = []
    for item in items:
        problem = key_error(item.key)
        if problem is not None:
            errors.append(FieldError(item.key, f"invalid key: {problem.message}"))
            continue
        try:
            document = current.get(item.key)
            planned.append(_plan_one(item, types, document, schemas, item.key in invalid))
        except BadRequest as exc:
            errors += [_named(item.key, error) for error in exc.errors]
    if errors:
        raise BadRequest(f"import rejected: {len(errors)} problem(s), nothing changed", errors)
    return planned


def _plan_one(
    item: Item,
    types: Mapping[str, ValueType],
    document: ConfigDocument | None,
    schemas: Mapping[str, Any],
    rewrite: bool,
) -> Planned:
    named = types.get(item.key) or types.get(ALL_KEYS)
    current_type = document.value_type if document is not None else None
    secret = current_type is ValueType.SECRET and named in (None, ValueType.SECRET)
    if secret and item.value == MASK and not rewrite:
        return Planned(item.key, "unchanged", ValueType.SECRET, None)
    value_type = named or current_type or infer_type(item)
    if value_type is None:
        raise BadRequest("", [FieldError("value", "is null: name its type (e.g. JSON)")])
    try:
        text = value_text(item, value_type)
    except ValueError as exc:
        raise BadRequest("", [FieldError("value", str(exc))]) from exc
    new = configfile.from_request(
        value_type=value_type.value,
        value=text,
        description=document.description if document is not None else None,
        schema=configfile.schema_text(document) if document is not None else None,
        tags=list(document.tags) if document is not None else None,
        schemas=schemas,
    )
    if document is not None and new == document and not rewrite:
        return Planned(item.key, "unchanged", value_type, None)
    status = "created" if document is None else "updated"
    return Planned(item.key, status, value_type, configfile.render(new))


def _named(key: str, error: FieldError) -> FieldError:
    if error.field in ("value", ""):
        return FieldError(key, error.message)
    if error.field == "valueType":
        return FieldError(key, f"type: {error.message}")
    return FieldError(key, f"{error.field}: {error.message}")
