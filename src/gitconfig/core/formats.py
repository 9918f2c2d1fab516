"""Import and export of one application's configurations in one environment, as JSON, YAML,
``.env`` or Java ``.properties``.

Reading (``parse``) gives the file's entries in order; every problem of the file is reported
at once. JSON and YAML hold one mapping of key to value, and the value's own type says the
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
created, updated or unchanged, and any problem rejects the whole import.

Writing (``render``) gives the same formats. A ``.env`` file can be ``source``d by a shell:
a key that is not a shell variable name is written under ``env_name(key)`` (``max-order-size``
as ``max_order_size``) after a ``# gitconfig key: max-order-size`` comment, which import reads
back to the key. SECRET values are whatever the caller passes
(the service masks them unless the caller may and asks to reveal them). An imported value equal
to the mask leaves an existing SECRET unchanged, so an export can be imported back.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gitconfig.core import configfile, valuetext, yamltext
from gitconfig.core.configfile import MASK
from gitconfig.core.errors import BadRequest, FieldError
from gitconfig.core.model import ConfigDocument, ValueType
from gitconfig.core.paths import key_error

ALL_KEYS = "*"


class Format(StrEnum):
    JSON = "json"
    YAML = "yaml"
    ENV = "env"
    PROPERTIES = "properties"


_EXTENSIONS = {
    ".json": Format.JSON,
    ".yaml": Format.YAML,
    ".yml": Format.YAML,
    ".env": Format.ENV,
    ".properties": Format.PROPERTIES,
}


def format_of(filename: str) -> Format | None:
    """The format a file name suggests (``app.json``, ``.env``, ``prod.env``, ...)."""
    name = filename.rsplit("/", 1)[-1].lower()
    if name == ".env" or name.startswith(".env."):
        return Format.ENV
    for extension, found in _EXTENSIONS.items():
        if name.endswith(extension):
            return found
    return None


@dataclass(frozen=True, slots=True)
class Item:
    """One entry of an imported file: ``native`` values come from JSON/YAML (any JSON value),
    the others are text (.env, .properties)."""

    key: str
    value: Any
    native: bool
    line: int = 0


# -- reading ---------------------------------------------------------------------------------


def parse(fmt: Format, content: str) -> list[Item]:
    """The entries of a file; raises ``BadRequest`` listing every problem."""
    errors: list[FieldError] = []
    if fmt in (Format.JSON, Format.YAML):
        items = _parse_mapping(fmt, content, errors)
    elif fmt is Format.ENV:
        items = _parse_env(content, errors)
    else:
        items = _parse_properties(content, errors)
    seen: dict[str, Item] = {}
    folded: dict[str, str] = {}
    for item in items:
        if item.key in seen:
            errors.append(FieldError(item.key, f"appears twice{_lines(seen[item.key], item)}"))
            continue
        seen[item.key] = item
        other = folded.setdefault(item.key.casefold(), item.key)
        if other != item.key:
            errors.append(FieldError(item.key, f"differs only in case from {other}"))
    if errors:
        raise BadRequest("the file cannot be imported", errors)
    if not items:
        raise BadRequest("the file holds no entries", [FieldError("content", "no entries")])
    return items


def _lines(first: Item, second: Item) -> str:
    return f" (lines {first.line} and {second.line})" if first.line and second.line else ""


def _parse_mapping(fmt: Format, content: str, errors: list[FieldError]) -> list[Item]:
    try:
        if fmt is Format.JSON:
            data = json.loads(content, object_pairs_hook=_unique_pairs)
        else:
            data = yamltext.parse(content.encode("utf-8"))
    except (ValueError, RecursionError) as exc:  # YamlError is a ValueError
        errors.append(FieldError("content", f"not valid {fmt.value.upper()}: {exc}"))
        return []
    if not isinstance(data, dict):
        errors.append(FieldError("content", "must be a mapping of key to value"))
        return []
    items = []
    for key, value in data.items():
        if not isinstance(key, str):
            errors.append(FieldError(str(key), "keys must be strings (quote the key)"))
            continue
        items.append(Item(key, value, native=True))
    return items


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


_ENV_LINE = re.compile(r"[ \t]*(?:export[ \t]+)?([^\s=#]+)[ \t]*=[ \t]*")
_ENV_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "$": "$", "`": "`"}


def _parse_env(content: str, errors: list[FieldError]) -> list[Item]:
    """``KEY=value`` lines (``export`` allowed); values unquoted (a `` #`` starts a comment),
    in single quotes (literal) or double quotes (\\n \\t \\r \\\\ \\" \\$ escapes); quoted
    values may span lines. Blank lines and ``#`` comments are skipped."""
    items = []
    position, line, end = 0, 1, len(content)
    named: str | None = None  # the key a "# gitconfig key: <key>" line names for the next line
    while position < end:
        newline = content.find("\n", position)
        stop = end if newline < 0 else newline
        text = content[position:stop]
        start_line = line
        if not text.strip() or text.lstrip().startswith("#"):
            if text.startswith(ENV_KEY_COMMENT):
                named = text[len(ENV_KEY_COMMENT) :].strip()
            position, line = stop + 1, line + 1
            continue
        match = _ENV_LINE.match(text)
        if match is None:
            errors.append(FieldError(f"line {line}", "expected KEY=value"))
            position, line = stop + 1, line + 1
            continue
        key, rest_at = match.group(1), position + match.end()
        quote = content[rest_at : rest_at + 1]
        if quote in ("'", '"'):
            value, after = _env_quoted(content, rest_at, quote)
            if value is None:
                errors.append(FieldError(f"line {line}", f"the {quote} quote is not closed"))
                break
            line += content.count("\n", position, after)
            newline = content.find("\n", after)
            stop = end if newline < 0 else newline
            tail = content[after:stop].strip()
            if tail and not tail.startswith("#"):
                errors.append(FieldError(f"line {line}", "unexpected text after the quoted value"))
        else:
            raw = content[rest_at:stop]
            comment = re.search(r"[ \t]#", raw)
            value = (raw[: comment.start()] if comment else raw).strip()
        if named is not None and (key == env_name(named) or key.startswith(env_name(named) + "_")):
            key = named  # the export's mapping, reversed
        named = None
        items.append(Item(key, value, native=False, line=start_line))
        position, line = stop + 1, line + 1
    return items


def _env_quoted(content: str, start: int, quote: str) -> tuple[str | None, int]:
    """The value of a quoted .env value starting at ``start``, and where it ends."""
    if quote == "'":
        close = content.find("'", start + 1)
        return (None, start) if close < 0 else (content[start + 1 : close], close + 1)
    chars: list[str] = []
    index = start + 1
    while index < len(content):
        char = content[index]
        if char == "\\" and index + 1 < len(content):
            following = content[index + 1]
            chars.append(_ENV_ESCAPES.get(following, "\\" + following))
            index += 2
            continue
        if char == '"':
            return "".join(chars), index + 1
        chars.append(char)
        index += 1
    return None, start


_PROPERTY_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _parse_properties(content: str, errors: list[FieldError]) -> list[Item]:
    """Java ``.properties`` as ``java.util.Properties.load`` reads it: ``#``/``!`` comments,
    ``key=value``, ``key: value`` or ``key value``, a trailing backslash continues the line,
    escapes \\t \\n \\r \\f \\uXXXX and \\<char>."""
    items = []
    lines = content.split("\n")
    index = 0
    while index < len(lines):
        start_line = index + 1
        text = lines[index].rstrip("\r").lstrip(" \t\f")
        index += 1
        if not text or text[0] in "#!":
            continue
        while _continues(text) and index < len(lines):
            text = text[:-1] + lines[index].rstrip("\r").lstrip(" \t\f")
            index += 1
        if _continues(text):
            text = text[:-1]
        try:
            key, value = _split_property(text)
        except ValueError as exc:
            errors.append(FieldError(f"line {start_line}", str(exc)))
            continue
        items.append(Item(key, value, native=False, line=start_line))
    return items


def _continues(text: str) -> bool:
    return (len(text) - len(text.rstrip("\\"))) % 2 == 1


def _split_property(text: str) -> tuple[str, str]:
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char in "=: \t\f":
            break
        index += 1
    key, rest = text[:index], text[index:]
    rest = rest.lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return _unescape(key), _unescape(rest)


def _unescape(text: str) -> str:
    chars: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "\\" or index + 1 >= len(text):
            chars.append(char)
            index += 1
            continue
        following = text[index + 1]
        if following == "u":
            digits = text[index + 2 : index + 6]
            if not re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
                raise ValueError(f"malformed \\uXXXX escape: \\u{digits}")
            chars.append(chr(int(digits, 16)))
            index += 6
            continue
        chars.append(_PROPERTY_ESCAPES.get(following, following))
        index += 2
    return "".join(chars)


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
    ``types``: key (or ``*`` for all keys) -> type name; ``message``: the commit message."""

    application: str
    environment: str
    format: Format
    content: str
    types: Mapping[str, str] = field(default_factory=dict)
    message: str | None = None
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The keys created, updated and left unchanged, and the commit (None: nothing written,
    or a dry run)."""

    created: list[str]
    updated: list[str]
    unchanged: list[str]
    commit: str | None


@dataclass(frozen=True, slots=True)
class Export:
    content: str
    entries: int
    commit: str | None


@dataclass(frozen=True, slots=True)
class Planned:
    """What an import does to one key: ``status`` created, updated or unchanged; ``content``
    is the new file (None when unchanged)."""

    key: str
    status: str
    value_type: ValueType
    content: bytes | None


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


# -- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One exported entry: the key, its type, and its value (native, as in the file; a
    masked SECRET is the mask text)."""

    key: str
    value_type: ValueType
    value: Any


def render(fmt: Format, rows: Sequence[Row], header: str | None = None) -> str:
    """The file of ``rows`` in ``fmt``; ``header`` becomes a comment where the format has
    comments (.env, .properties, YAML)."""
    if fmt is Format.JSON:
        return json.dumps({r.key: r.value for r in rows}, indent=2, ensure_ascii=False) + "\n"
    comment = "" if header is None else "".join(f"# {line}\n" for line in header.splitlines())
    if fmt is Format.YAML:
        body = yamltext.dump({r.key: r.value for r in rows}).decode("utf-8") if rows else "{}\n"
        return comment + body
    if fmt is Format.ENV:
        return comment + "".join(_env_lines(rows))
    lines = (f"{_property(r.key, key=True)}={_property(_text(r), key=False)}\n" for r in rows)
    return comment + "".join(lines)


def _text(row: Row) -> str:
    if isinstance(row.value, str) and row.value_type in (ValueType.STRING, ValueType.SECRET):
        return row.value
    return valuetext.text(row.value_type, row.value)


_ENV_PLAIN = re.compile(r"[A-Za-z0-9_./:@%+,-]*")
ENV_KEY_COMMENT = "# gitconfig key: "


def env_name(key: str) -> str:
    """The shell-safe variable name of ``key``: every character but ASCII letters, digits and
    ``_`` becomes ``_``, and a leading digit gets a ``_`` before it (``max-order-size`` ->
    ``max_order_size``, ``2fa.timeout`` -> ``_2fa_timeout``). A key that is already a shell
    name is kept as it is."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", key)
    return "_" + name if name[:1].isdigit() else name


def _env_lines(rows: Sequence[Row]) -> list[str]:
    """``NAME=value`` lines that a shell can ``source``. Where the name is not the key itself,
    a ``# gitconfig key: <key>`` comment line before it keeps the key, and import reads it
    back (names made equal by the mapping get ``_2``, ``_3``, ... after them)."""
    lines: list[str] = []
    used: set[str] = set()
    for row in rows:
        name = base = env_name(row.key)
        number = 1
        while name in used:
            number += 1
            name = f"{base}_{number}"
        used.add(name)
        if name != row.key:
            lines.append(f"{ENV_KEY_COMMENT}{row.key}\n")
        lines.append(f"{name}={_env_value(_text(row))}\n")
    return lines


def _env_value(text: str) -> str:
    """The value as a shell reads it: plain, in single quotes (literal, line breaks too), or
    in double quotes with only ``\\ " $ ` `` escaped, as ``sh`` undoes them."""
    if _ENV_PLAIN.fullmatch(text):
        return text
    if "'" not in text:
        return f"'{text}'"
    escaped = re.sub(r'([\\"$`])', r"\\\1", text)
    return f'"{escaped}"'


def _property(text: str, key: bool) -> str:
    out = []
    for index, char in enumerate(text):
        if char == "\\":
            out.append("\\\\")
        elif char in "\t\n\r\f":
            out.append({"\t": "\\t", "\n": "\\n", "\r": "\\r", "\f": "\\f"}[char])
        elif char in "=:#!" or (char == " " and (key or index == 0)):
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) > 0x7E:
            out.append("".join(f"\\u{unit:04x}" for unit in _utf16(char)))
        else:
            out.append(char)
    return "".join(out)


def _utf16(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
