"""The difference between two environments of one application: pure, no I/O.

``compare(old, new, secret)`` takes each side's documents by ``(kind, key)`` and answers one
``KeyDiff`` per key that differs, sorted by kind (configurations first) and key:

    added      only on the new side          fields: the new side's, ``old`` None
    removed    only on the old side          fields: the old side's, ``new`` None
    changed    on both, something differs    fields: only those that differ
    not comparable  on both, nothing differs but a SECRET value that could not be compared

A configuration's fields are ``type``, ``value``, ``description``, ``schema`` (compact JSON)
and ``tags`` (comma-separated); a flag's ``description``, ``enabled``, ``value`` (compact
JSON), ``tags`` and one ``rules.<n>`` per rule (compact JSON of the rule as the file writes
it), so flags are compared rule by rule. A SECRET value is never shown: ``secret(old, new)``
decides ``same``, ``differs`` or ``not comparable`` and ``KeyDiff.secret`` says which.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from gitconfig.core import configfile, flagfile, valuediff
from gitconfig.core.model import ConfigDocument, Document, FlagDocument, Kind, ValueType

SAME: Final = "same"
DIFFERS: Final = "differs"
NOT_COMPARABLE: Final = "not comparable"

SideKey = tuple[Kind, str]
SecretCompare = Callable[[ConfigDocument, ConfigDocument], str]


@dataclass(frozen=True, slots=True)
class FieldDiff:
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class KeyDiff:
    kind: Kind
    key: str
    change: str  # added | removed | changed | not comparable
    fields: tuple[FieldDiff, ...]
    secret: str | None = None  # same | differs | not comparable, for a SECRET value

    def data(self) -> dict[str, Any]:
        """The difference as every door shows it: ``kind``, ``key``, ``change``, ``fields``
        (``field``, ``old``, ``new``) and ``secret``."""
        return {
            "kind": self.kind.value,
            "key": self.key,
            "change": self.change,
            "fields": [{"field": f.field, "old": f.old, "new": f.new} for f in self.fields],
            "secret": self.secret,
        }


def _joined(tags: tuple[str, ...]) -> str | None:
    return ",".join(tags) if tags else None


def config_fields(document: ConfigDocument) -> dict[str, str | None]:
    """The compared fields of a configuration; a SECRET value is left out (never shown)."""
    secret = document.value_type is ValueType.SECRET
    return {
        "type": document.value_type.value,
        "value": None if secret else configfile.value_text(document),
        "description": document.description,
        "schema": configfile.schema_text(document),
        "tags": _joined(document.tags),
    }


def flag_fields(document: FlagDocument) -> dict[str, str | None]:
    """The compared fields of a flag, one ``rules.<n>`` per rule."""
    fields: dict[str, str | None] = {
        "description": document.description,
        "enabled": "true" if document.enabled else "false",
        "value": None if document.value is None else valuediff.text(document.value),
        "tags": _joined(document.tags),
    }
    rules = flagfile.to_mapping(document).get("rules", [])
    for index, rule in enumerate(rules):
        fields[f"rules.{index}"] = valuediff.text(rule)
    return fields


def fields_of(document: Document) -> dict[str, str | None]:
    if isinstance(document, ConfigDocument):
        return config_fields(document)
    return flag_fields(document)


def _is_secret(document: Document) -> bool:
    return isinstance(document, ConfigDocument) and document.value_type is ValueType.SECRET


def compare_pair(
    kind: Kind, key: str, old: Document | None, new: Document | None, secret: SecretCompare
) -> KeyDiff | None:
    """The difference of one key, or None when both sides are the same."""
    if old is None and new is None:
        return None
    if old is None or new is None:
        present = old if old is not None else new
        assert present is not None
        shown = tuple(
            FieldDiff(name, None, text) if old is None else FieldDiff(name, text, None)
            for name, text in fields_of(present).items()
            if text is not None
        )
        return KeyDiff(kind, key, "added" if old is None else "removed", shown)
    if old == new and not _is_secret(old):
        return None
    before, after = fields_of(old), fields_of(new)
    changed = tuple(
        FieldDiff(name, before.get(name), after.get(name))
        for name in dict.fromkeys([*before, *after])
        if before.get(name) != after.get(name)
    )
    verdict = None
    if _is_secret(old) or _is_secret(new):
        assert isinstance(old, ConfigDocument)
        assert isinstance(new, ConfigDocument)
        verdict = secret(old, new)
    if changed or verdict == DIFFERS:
        return KeyDiff(kind, key, "changed", changed, verdict)
    if verdict == NOT_COMPARABLE:
        return KeyDiff(kind, key, NOT_COMPARABLE, (), verdict)
    return None


def compare(
    old: Mapping[SideKey, Document], new: Mapping[SideKey, Document], secret: SecretCompare
) -> list[KeyDiff]:
    """Every key that differs between the two sides (see the module docstring)."""
    found = []
    for side_key in sorted(old.keys() | new.keys(), key=lambda k: (k[0] is Kind.FLAG, k[1])):
        diff = compare_pair(side_key[0], side_key[1], old.get(side_key), new.get(side_key), secret)
        if diff is not None:
            found.append(diff)
    return found
