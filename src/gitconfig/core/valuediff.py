"""What changed between two commits, by value: per application, environment and key, each
field's old and new value (``value: 10 -> 15``), not lines of YAML.

Built on the store's tree diff (only changed paths are read). Files are read leniently, so a
file that does not validate is still shown as it is; a SECRET's value is never shown (its
ciphertext changes on every encryption anyway). Formatting and comments are not values: a
change to them alone is no change.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gitconfig.core import valuetext, yamltext
from gitconfig.core.configfile import MASK
from gitconfig.core.errors import FieldError
from gitconfig.core.model import FileChange, ValueType
from gitconfig.core.paths import is_schema_path, parse_entry_path

CONFIG_FIELDS = ("type", "value", "description", "schema", "tags")
FLAG_FIELDS = ("enabled", "value", "rules", "description", "tags")
_HIDDEN = {"sops"}  # sops metadata changes with every encryption


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: str | None  # None: the field is absent on that side
    new: str | None


@dataclass(frozen=True, slots=True)
class EntryDiff:
    """One changed file. ``kind`` is config, flag or schema (``file`` for a path that names
    no entry); ``change`` is added, removed or changed."""

    change: str
    kind: str
    path: str
    application: str | None
    environment: str | None
    key: str | None
    fields: tuple[FieldChange, ...]


def diff(changes: Iterable[FileChange], read: Callable[[str], bytes]) -> list[EntryDiff]:
    """The value differences of a tree diff's ``changes`` (``read`` gives a blob's bytes),
    sorted by path. Files whose values are all equal are left out."""
    found = []
    for change in sorted(changes, key=lambda c: c.path):
        old = None if change.old_blob is None else read(change.old_blob)
        new = None if change.new_blob is None else read(change.new_blob)
        entry = _entry_diff(change.path, old, new)
        if entry is not None:
            found.append(entry)
    return found


def _entry_diff(path: str, old: bytes | None, new: bytes | None) -> EntryDiff | None:
    key = parse_entry_path(path)
    names: tuple[str | None, str | None, str | None] = (None, None, None)
    if isinstance(key, FieldError):
        kind = "schema" if is_schema_path(path) else "file"
    else:
        kind, names = key.kind.value, (key.application, key.environment.value, key.key)
    order = CONFIG_FIELDS if kind == "config" else FLAG_FIELDS
    before = _fields(kind, old) if old is not None else {}
    after = _fields(kind, new) if new is not None else {}
    names_in_order = [n for n in order if n in before or n in after]
    names_in_order += sorted((before.keys() | after.keys()) - set(order))
    changed = tuple(
        FieldChange(name, _shown(before.get(name)), _shown(after.get(name)))
        for name in names_in_order
        if before.get(name) != after.get(name)
    )
    if old is not None and new is not None and not changed:
        return None
    change = "added" if old is None else "removed" if new is None else "changed"
    return EntryDiff(change, kind, path, *names, changed)


def _shown(field: tuple[str, str] | None) -> str | None:
    return None if field is None else field[0]


def _fields(kind: str, data: bytes) -> dict[str, tuple[str, str]]:
    """Each top-level field of a file (a schema file: its content) as (display text, text
    compared): they differ for a SECRET value, shown masked but compared as ciphertext."""
    if kind in ("schema", "file"):
        content = data.decode("utf-8", "replace").strip()
        return {"content": (content, content)}
    try:
        parsed = yamltext.parse(data)
    except yamltext.YamlError as exc:
        return {"error": (str(exc), str(exc))}
    if not isinstance(parsed, dict):
        return {"error": ("not a YAML mapping", "")}
    secret = kind == "config" and parsed.get("type") == ValueType.SECRET.value
    texts = {}
    for name, value in parsed.items():
        if str(name) in _HIDDEN:
            continue
        shown = text(value)
        texts[str(name)] = (MASK if secret and name == "value" else shown, shown)
    return texts


def text(value: Any) -> str:
    """A value as one line: strings as they are, numbers canonical, true/false, null, and
    compact JSON for mappings and lists."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return valuetext.number_text(value)
    if isinstance(value, float):
        return str(value)
    return valuetext.compact_json(_plain(value))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
