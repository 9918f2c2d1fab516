"""Spring Cloud Config's shapes of configuration values (pure).

A configuration becomes one or more Spring properties (``flatten``), as Spring flattens a
YAML file: a mapping's entries become ``key.child``, a list's items ``key[0]``, ``key[1]``;
an empty mapping or list, and null, become the empty string; scalars stay JSON scalars
(STRING a string, NUMBER a number, BOOLEAN a boolean). A SECRET is its API text: masked
unless the caller may reveal it.

``unflatten`` turns a flat map back into nested mappings and lists for the flat
``.json``/``.yml`` forms; ``properties`` renders the ``.properties`` form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from gitconfig.core import configfile, formats
from gitconfig.core.model import ConfigDocument, ValueType

_SEGMENT: Final = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def flatten(
    key: str, document: ConfigDocument, secret: str = configfile.MASK
) -> Iterator[tuple[str, Any]]:
    """The Spring properties ``(name, value)`` of one configuration, in document order; a
    SECRET's is ``secret`` (the mask unless the caller decrypted it for a principal that
    may reveal it)."""
    if document.value_type is ValueType.SECRET:
        yield key, secret
    elif document.value_type is ValueType.JSON:
        yield from _flatten_value(key, document.value)
    else:
        yield key, document.value


def _flatten_value(path: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        if not value:
            yield path, ""
        for name, child in value.items():
            child_path = f"{path}{name}" if str(name).startswith("[") else f"{path}.{name}"
            yield from _flatten_value(child_path, child)
    elif isinstance(value, list):
        if not value:
            yield path, ""
        for index, child in enumerate(value):
            yield from _flatten_value(f"{path}[{index}]", child)
    else:
        yield path, "" if value is None else value


def _segments(name: str) -> list[str | int] | None:
    """``a.b[0].c`` -> ``["a", "b", 0, "c"]``; None for a name that does not split cleanly."""
    segments: list[str | int] = []
    position = 0
    while position < len(name):
        if segments and name[position] == ".":
            position += 1
        match = _SEGMENT.match(name, position)
        if match is None:
            return None
        word, index = match.groups()
        segments.append(int(index) if index is not None else word)
        position = match.end()
    return segments or None


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Nested mappings (and lists, for ``[i]`` indexes) of a flat map. A name that would
    nest under a scalar (``a`` and ``a.b`` both set) is kept whole at the top level."""
    root: dict[Any, Any] = {}
    for name, value in flat.items():
        segments = _segments(name)
        if segments is None:
            root[name] = value
            continue
        node: dict[Any, Any] = root
        placed = True
        for segment in segments[:-1]:
            child = node.setdefault(segment, {})
            if not isinstance(child, dict):
                placed = False
                break
            node = child
        last = segments[-1]
        if placed and not isinstance(node.get(last), dict):
            node[last] = value
        else:
            root[name] = value
    result: dict[str, Any] = _lists(root)
    return result


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(child) for key, child in node.items()}
    keys = list(converted)
    if keys and all(isinstance(k, int) for k in keys):
        return [converted.get(i, "") for i in range(max(keys) + 1)]
    return {str(key): child for key, child in converted.items()}


def properties(flat: Mapping[str, Any]) -> str:
    """The ``.properties`` text of a flat map (Java escapes; values as Spring prints them:
    booleans ``true``/``false``, numbers their JSON text)."""
    rows = [
        formats.Row(name, ValueType.STRING, value if isinstance(value, str) else json.dumps(value))
        for name, value in flat.items()
    ]
    return formats.render(formats.Format.PROPERTIES, rows)
