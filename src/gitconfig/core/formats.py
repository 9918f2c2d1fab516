"""The files of one application's configurations in one environment: JSON, YAML, ``.env``
and Java ``.properties``, read and written (``core.importing`` types and plans an import).

Reading (``parse``) gives the file's entries in order, each with its line; every problem of
the file is reported at once. JSON and YAML hold one mapping of key to (typed) value;
``.env`` and ``.properties`` hold text.

Writing (``render``) gives the same formats. A ``.env`` file can be ``source``d by a shell:
a key that is not a shell variable name is written under ``env_name(key)`` (``max-order-size``
as ``max_order_size``) after a ``# gitconfig key: max-order-size`` comment, which import reads
back to the key. SECRET values are whatever the caller passes (the service masks them unless
the caller may and asks to reveal them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import javaproperties

from gitconfig.core import valuetext, yamltext
from gitconfig.core.errors import BadRequest, FieldError
from gitconfig.core.model import ValueType


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
            data = json.loads(content, object_pairs_hook=valuetext.unique_object)
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


def _parse_properties(content: str, errors: list[FieldError]) -> list[Item]:
    """Java ``.properties`` as ``java.util.Properties.load`` reads it (comments, ``=``/``:``/
    space separators, continuation lines, ``\\uXXXX`` escapes including surrogate pairs, and
    LF, CR LF or CR line ends), read with ``javaproperties``."""
    items = []
    line = 1
    try:
        for element in javaproperties.parse(content):
            if isinstance(element, javaproperties.KeyValue):
                items.append(Item(element.key, element.value, native=False, line=line))
            line += len(_LINE_END.findall(element.source))
    except javaproperties.InvalidUEscapeError as exc:
        errors.append(FieldError(f"line {line}", f"malformed \\uXXXX escape: {exc.escape}"))
    return items


_LINE_END = re.compile(r"\r\n|\r|\n")


# -- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Export:
    content: str
    entries: int
    commit: str | None


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
    lines = (_property(r.key, _text(r)) + "\n" for r in rows)
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


def _property(key: str, value: str) -> str:
    """One ``key=value`` line, escaped as ``java.util.Properties.store`` does (non-ASCII as
    ``\\uXXXX``, UTF-16 surrogate pairs outside the BMP)."""
    return javaproperties.join_key_value(key, value)
