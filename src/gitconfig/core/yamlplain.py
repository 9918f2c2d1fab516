"""A fast reader for the plainest YAML documents, the shape most configuration files have.

    type: NUMBER
    value: 250000
    description: Maximum notional per order, USD   # a comment
    tags: [risk, limits]

``read(text)`` gives the document's data when every line is a top-level ``key: value`` pair
(or blank, or a ``#`` comment) whose value is a plain scalar, a single-quoted scalar or a
one-line flow list of plain scalars, all in printable ASCII; it gives None for anything else
(nesting, block scalars, double quotes, anchors, tags, tabs, non-ASCII, duplicate keys, a
``---`` marker...), and the caller reads the document with libyaml (``yamltext``). The plain
scalars are resolved by the same YAML 1.2 core-schema rules as ``yamltext`` (it passes them
in), so the result is the one libyaml and ``yamltext`` give: ``tests/core/test_yamlplain.py``
compares the two readers on generated documents, near-misses included.

Why our own: a cold index of 100,000 files spends about half its time in YAML (libyaml's
scanner, then PyYAML's Python constructors, about 45 µs for a four-line file); this subset
takes a few µs, and everything outside it still goes to libyaml. No maintained YAML library
reads the YAML 1.2 core schema faster (docs/decisions.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_OUTSIDE = re.compile(r"[^\x20-\x7e\n]")  # not printable ASCII or a line feed: leave it to libyaml
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,127}")  # a plain key, short of libyaml's 1,024
_KEYWORDS = frozenset(("true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL"))
# A plain scalar starts with a character that is never an indicator; a minus only before a
# digit or a dot (-5, -.5): "- x" is a list item, "-x" is left to libyaml.
_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./~(+")
_QUOTED = re.compile(r"'((?:[^'\n]|'')*)'(?: +#.*)?")  # 'it''s' and a comment after a space
_FLOW = re.compile(r"\[([^\[\]{}#'\"\n]*)\](?: +#.*)?")  # [a, b] and a comment
# An item of a one-line flow list: plain, and in flow context also free of , [ ] { } and ":".
_ITEM = re.compile(r"(?:[A-Za-z0-9_./~(+]|-(?=[0-9.]))[A-Za-z0-9_./~()+ -]*")

Resolve = Callable[[str], Any]


def read(text: str, resolve: Resolve) -> tuple[dict[str, Any], int] | None:
    """``(data, depth)`` of a document in the subset above, else None. ``resolve`` turns a
    plain scalar's text into its value (``yamltext``'s core-schema resolution); it may raise
    ValueError, which also gives None. ``depth`` is 1, or 2 when a value is a list."""
    if _OUTSIDE.search(text) is not None:
        return None
    data: dict[str, Any] = {}
    depth = 1
    for line in text.split("\n"):
        if not line or line[0] == "#":
            continue
        name, colon, rest = line.partition(": ")
        if not colon or name in data or name in _KEYWORDS or _KEY.fullmatch(name) is None:
            return None  # not a plain key; or a duplicate one, which libyaml reports
        rest = rest.lstrip(" ")
        first = rest[:1]
        try:
            if first in _FIRST or (first == "-" and rest[1:2] in _DIGIT_OR_DOT):
                value = _plain(rest, resolve)
            elif first == "'":
                quoted = _QUOTED.fullmatch(rest)
                value = _NOT_PLAIN if quoted is None else quoted[1].replace("''", "'")
            elif first == "[":
                value = _list(rest, resolve)
                depth = 2
            else:
                return None
        except ValueError:
            return None
        if value is _NOT_PLAIN:
            return None
        data[name] = value
    return (data, depth) if data else None


_NOT_PLAIN = object()
_DIGIT_OR_DOT = frozenset("0123456789.")


def _plain(rest: str, resolve: Resolve) -> Any:
    """A plain scalar and an optional comment (which starts at a space and a ``#``)."""
    cut = rest.find(" #")
    value = (rest if cut < 0 else rest[:cut]).rstrip(" ")
    # "#" elsewhere, ": " or a final ":" (mapping indicators) are left to libyaml.
    if "#" in value or ": " in value or value.endswith(":"):
        return _NOT_PLAIN
    return resolve(value)


def _list(rest: str, resolve: Resolve) -> Any:
    found = _FLOW.fullmatch(rest)
    if found is None:
        return _NOT_PLAIN
    inner = found[1].strip(" ")
    if not inner:
        return []
    values = []
    for item in inner.split(","):
        item = item.strip(" ")
        if _ITEM.fullmatch(item) is None:
            return _NOT_PLAIN
        values.append(resolve(item))
    return values
