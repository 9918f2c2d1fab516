"""The feature flag file ``flags/<application>/<ENV>/<key>.yaml``: parse, validate, render.

    description: Route orders through the v2 matching engine     # required
    enabled: true                                                 # default false
    value: {engine: v2}                                           # optional JSON object
    rules:                                                        # ordered, first match decides
      - {attribute: region, operator: IN, values: [EU, UK]}
      - conditions: [{attribute: plan, operator: EQUALS, values: [pro]}]
        percentage: 50
        bucketBy: accountId
    tags: [matching]

``parse_mapping`` checks a mapping (a parsed file or a REST body) and raises one ``BadRequest``
listing every problem with its dotted field path (``rules.1.operator``). ``load`` reads YAML
bytes; ``render`` writes the canonical file, which ``load`` reads back to an equal document.
docs/flags.md is the user-facing reference.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final

from gitconfig.core import limits, text, yamltext
from gitconfig.core.errors import BadRequest, FieldError
from gitconfig.core.model import Condition, FlagDocument, FlagRule
from gitconfig.core.operands import parse_ordered, pattern_error, semver_key
from gitconfig.core.operators import NAMES, ORDERED_OPERATORS, SEMVER_OPERATORS, Operator

FLAG_FIELDS: Final = ("description", "enabled", "value", "rules", "tags")
RULE_FIELDS: Final = ("attribute", "operator", "values", "conditions", "percentage", "bucketBy")
CONDITION_FIELDS: Final = ("attribute", "operator", "values")
MAX_ATTRIBUTE: Final = 100  # the seed's column sizes
MAX_RULE_VALUE: Final = 255
MAX_TAG: Final = 50
_LARGEST: Final = int(sys.float_info.max)
_KINDS: Final[dict[type, str]] = {
    bool: "a boolean",
    int: "a number",
    float: "a number",
    date: "a date",
    datetime: "a timestamp",
    list: "a list",
    dict: "a mapping",
}


class _Errors:
    """Collects every problem; ``field`` paths are relative to the document."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.found: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.found.append(
            FieldError(self.prefix + field if field else self.prefix.rstrip("."), message)
        )


def _join(path: str, name: str | int) -> str:
    return f"{path}.{name}" if path else str(name)


def _present(data: Mapping[Any, Any], name: str) -> bool:
    """Absent and ``null`` are the same for every optional field."""
    return data.get(name) is not None


def _unknown_fields(
    data: Mapping[Any, Any], allowed: tuple[str, ...], path: str, errors: _Errors
) -> None:
    for name in data:
        if name not in allowed:
            errors.add(
                _join(path, str(name)), f"unknown field; expected one of {', '.join(allowed)}"
            )


def _json_errors(value: object, path: str, errors: _Errors) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > 2**53 and (abs(value) > _LARGEST or int(float(value)) != value):
            errors.add(
                path,
                f"{value} cannot be held exactly by a double (gRPC's Struct carries doubles, "
                "so REST and gRPC would answer different numbers): use a string",
            )
        return
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            errors.add(path, "must be a finite number (JSON has no NaN or Infinity)")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _json_errors(item, _join(path, index), errors)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                errors.add(_join(path, str(key)), "object keys must be strings (quote the key)")
            else:
                _json_errors(item, _join(path, key), errors)
    elif isinstance(value, date | datetime):
        errors.add(path, "must be JSON: quote dates and times to keep them as strings")
    else:
        errors.add(path, f"must be a JSON value, not {type(value).__name__}")


def _rule_value(item: object, operator: object, path: str, errors: _Errors) -> str | None:
    """A rule value as text. Numbers and YAML dates are accepted only where they are compared as
    such (GREATER_THAN, LESS_THAN and their OR_EQUALS forms); elsewhere YAML would silently
    change them (``007`` reads as 7, ``1.10`` as 1.1, ``NO`` as false), so they must be
    quoted. SEMVER_ values must be semantic versions."""
    ordered = operator in ORDERED_OPERATORS
    if isinstance(item, str):
        text = item
    elif ordered and isinstance(item, int | float) and not isinstance(item, bool):
        text = str(item)
    elif ordered and isinstance(item, date):  # datetime is a date too
        text = item.isoformat()
    else:
        shown = _KINDS.get(type(item), type(item).__name__)
        errors.add(
            path,
            f"must be a string, not {shown}; quote it "
            "(YAML reads true, 007 and 1.10 as other types)",
        )
        return None
    if len(text) > MAX_RULE_VALUE:
        errors.add(path, f"must be at most {MAX_RULE_VALUE} characters")
        return None
    if operator == Operator.MATCHES:
        problem = pattern_error(text)
        if problem is not None:
            errors.add(path, f"is not a valid RE2 pattern: {problem}")
            return None
    elif ordered and parse_ordered(text) is None:
        errors.add(
            path,
            f"{operator} needs a number or an ISO-8601 instant "
            f"(2026-01-31T09:30:00Z), not {text!r}",
        )
        return None
    elif operator in SEMVER_OPERATORS and semver_key(text) is None:
        errors.add(
            path,
            f"{operator} needs a semantic version (MAJOR.MINOR.PATCH, e.g. 5.2.0 or "
            f"5.2.0-beta.1), not {text!r}",
        )
        return None
    return text


def _condition(data: Mapping[Any, Any], path: str, errors: _Errors) -> Condition | None:
    """The ``attribute``/``operator``/``values`` triple at ``path`` (all three required)."""
    count = len(errors.found)
    attribute = data.get("attribute")
    if attribute is None:
        errors.add(_join(path, "attribute"), "is required")
    elif not isinstance(attribute, str) or not attribute:
        errors.add(_join(path, "attribute"), "must be a non-empty string")
    elif len(attribute) > MAX_ATTRIBUTE:
        errors.add(_join(path, "attribute"), f"must be at most {MAX_ATTRIBUTE} characters")

    operator = data.get("operator")
    known = operator if isinstance(operator, str) and operator in Operator.__members__ else None
    if operator is None:
        errors.add(_join(path, "operator"), f"is required: one of {NAMES}")
    elif known is None:
        hint = (
            f" (operators are upper case: {operator.upper()})"
            if isinstance(operator, str) and operator.upper() in Operator.__members__
            else ""
        )
        errors.add(
            _join(path, "operator"),
            f"unknown operator {operator!r}{hint}; expected one of {NAMES}",
        )

    raw_values = data.get("values")
    values: list[str] = []
    if raw_values is None:
        errors.add(_join(path, "values"), "is required: a list of strings")
    elif not isinstance(raw_values, list) or not raw_values:
        errors.add(_join(path, "values"), "must be a non-empty list of strings")
    else:
        for index, item in enumerate(raw_values):
            text = _rule_value(item, known, _join(_join(path, "values"), index), errors)
            if text is not None:
                values.append(text)

    if len(errors.found) > count:
        return None
    return Condition(str(attribute), str(operator), tuple(values))


def _rule(data: object, path: str, errors: _Errors) -> FlagRule | None:
    if not isinstance(data, dict):
        errors.add(
            path,
            "must be a mapping (attribute, operator, values, conditions, percentage, bucketBy)",
        )
        return None
    count = len(errors.found)
    _unknown_fields(data, RULE_FIELDS, path, errors)
    conditions: list[Condition | None] = []
    if any(_present(data, name) for name in CONDITION_FIELDS):
        conditions.append(_condition(data, path, errors))
    if _present(data, "conditions"):
        raw = data["conditions"]
        conditions_path = _join(path, "conditions")
        if not isinstance(raw, list):
            errors.add(conditions_path, "must be a list of {attribute, operator, values}")
        else:
            for index, item in enumerate(raw):
                item_path = _join(conditions_path, index)
                if not isinstance(item, dict):
                    errors.add(item_path, "must be a mapping {attribute, operator, values}")
                    continue
                _unknown_fields(item, CONDITION_FIELDS, item_path, errors)
                conditions.append(_condition(item, item_path, errors))

    percentage = data.get("percentage")
    if percentage is not None and (
        not isinstance(percentage, int)
        or isinstance(percentage, bool)
        or not 0 <= percentage <= 100
    ):
        errors.add(_join(path, "percentage"), "must be an integer from 0 to 100")
    bucket_by = data.get("bucketBy")
    if bucket_by is not None:
        if not isinstance(bucket_by, str) or not bucket_by:
            errors.add(_join(path, "bucketBy"), "must be a non-empty string (an attribute name)")
        elif len(bucket_by) > MAX_ATTRIBUTE:
            errors.add(_join(path, "bucketBy"), f"must be at most {MAX_ATTRIBUTE} characters")
        elif percentage is None:
            errors.add(_join(path, "bucketBy"), "applies only to a rule with a percentage")

    if len(errors.found) > count:
        return None
    return FlagRule(
        conditions=tuple(condition for condition in conditions if condition is not None),
        percentage=percentage,
        bucket_by=bucket_by,
    )


def _tags(raw: object, errors: _Errors) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        errors.add("tags", "must be a list of strings")
        return ()
    if (too_many := limits.tags_error(raw)) is not None:
        errors.add("tags", too_many.message)
        return ()
    seen: set[str] = set()
    for index, tag in enumerate(raw):
        path = _join("tags", index)
        if not isinstance(tag, str) or not tag:
            errors.add(path, "must be a non-empty string")
        elif len(tag) > MAX_TAG:
            errors.add(path, f"must be at most {MAX_TAG} characters")
        elif tag in seen:
            errors.add(path, f"duplicate tag {tag!r}")
        else:
            seen.add(tag)
    return tuple(raw)


def _value_size_error(value: dict[str, Any]) -> str | None:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    problem = limits.value_error(text)
    return None if problem is None else problem.message


def parse_mapping(data: object, prefix: str = "") -> FlagDocument:
    """Validate a flag given as a mapping; raise ``BadRequest`` listing every problem.

    ``prefix`` is prepended to each field path (``""`` gives ``rules.0.operator``); the
    document as a whole is reported under the prefix without its trailing dot."""
    errors = _Errors(prefix)
    if not isinstance(data, dict):
        errors.add("", "must be a mapping with description, enabled, value, rules, tags")
        raise BadRequest("Invalid feature flag", errors.found)
    _unknown_fields(data, FLAG_FIELDS, "", errors)
    not_text = text.surrogate_fields(data)
    for field in not_text:
        errors.add(field, "holds a lone surrogate, not text")
    if not_text:
        raise BadRequest("Invalid feature flag", errors.found)

    description = data.get("description")
    if description is None:
        errors.add("description", "is required")
    elif not isinstance(description, str):
        errors.add("description", "must be a string")
    elif not description.strip():
        errors.add("description", "must not be empty")
    elif (too_long := limits.description_error(description)) is not None:
        errors.add("description", too_long.message)

    enabled = data.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        errors.add("enabled", "must be true or false")

    value = data.get("value")
    if value is not None:
        if not isinstance(value, dict):
            errors.add("value", "must be a JSON object (a mapping), or be left out")
        elif (too_deep := limits.depth_error(value, "value")) is not None:
            errors.add("value", too_deep.message)
        else:
            _json_errors(value, "value", errors)
            if not errors.found and (too_large := _value_size_error(value)) is not None:
                errors.add("value", too_large)

    rules: list[FlagRule | None] = []
    raw_rules = data.get("rules")
    if raw_rules is not None:
        if not isinstance(raw_rules, list):
            errors.add("rules", "must be a list of rules")
        else:
            rules = [
                _rule(item, _join("rules", index), errors) for index, item in enumerate(raw_rules)
            ]

    tags = _tags(data.get("tags"), errors)
    if errors.found:
        raise BadRequest("Invalid feature flag", errors.found)
    return FlagDocument(
        description=str(description),
        enabled=bool(enabled),
        value=value,
        rules=tuple(rule for rule in rules if rule is not None),
        tags=tags,
    )


# -- YAML ------------------------------------------------------------------------------------


def load(data: bytes) -> FlagDocument:
    """Parse and validate the bytes of a flag file (the repository's YAML dialect, see
    ``yamltext``: YAML 1.2 core types, no aliases, no duplicate keys)."""
    too_large = limits.file_error(data)
    if too_large is not None:
        raise BadRequest("Invalid feature flag", [FieldError("", too_large)])
    try:
        parsed = yamltext.parse(data)
    except yamltext.YamlError as exc:
        raise BadRequest("Invalid feature flag", [FieldError("", str(exc))]) from exc
    return parse_mapping(parsed)


def _condition_mapping(condition: Condition) -> dict[str, Any]:
    return {
        "attribute": condition.attribute,
        "operator": condition.operator,
        "values": list(condition.values),
    }


def _rule_mapping(rule: FlagRule) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    if len(rule.conditions) == 1:
        mapping.update(_condition_mapping(rule.conditions[0]))
    elif rule.conditions:
        mapping["conditions"] = [_condition_mapping(condition) for condition in rule.conditions]
    if rule.percentage is not None:
        mapping["percentage"] = rule.percentage
    if rule.bucket_by is not None:
        mapping["bucketBy"] = rule.bucket_by
    return mapping


def to_mapping(document: FlagDocument) -> dict[str, Any]:
    """The file form of a document (plain dicts and lists, JSON-compatible); ``parse_mapping``
    reads it back to an equal document. A one-condition rule takes the seed's flat form."""
    mapping: dict[str, Any] = {"description": document.description, "enabled": document.enabled}
    if document.value is not None:
        mapping["value"] = document.value
    if document.rules:
        mapping["rules"] = [_rule_mapping(rule) for rule in document.rules]
    if document.tags:
        mapping["tags"] = list(document.tags)
    return mapping


def render(document: FlagDocument) -> bytes:
    """The canonical YAML file (fields in the order description, enabled, value, rules, tags),
    written by ``yamltext.dump`` like every file of the repository; ``load`` reads it back
    equal."""
    return yamltext.dump(to_mapping(document))
