"""JSON Schema checks, with ``$ref`` resolved against the repository's ``schemas/`` only.

A configuration's schema is inline, or refers to a shared schema by its repository path:
``{"$ref": "schemas/positive-number.json"}``. References resolve only against the mapping of
shared schemas the caller passes (path -> parsed schema): never over the network, never from
the disk. Inside a shared schema a relative reference is relative to that file
(``retry-policy.json``, ``#/$defs/x``); ``/schemas/<name>.json`` works anywhere. The JSON
Schema metaschemas are built in. Schemas without ``$schema`` are Draft 2020-12.

Every ``$ref`` a schema could follow is resolved before validating, so a reference to a
missing or invalid shared schema is an error even in a branch the value never takes.

Compiled validators are cached by the canonical JSON of the schema and of the shared schemas
it reaches, so validating many values against one schema compiles it once, and a changed shared
schema can never be served from a stale validator.

Validation time is bounded, so no schema and no value can stall the server:

- every regular expression of a schema runs on RE2 (linear time): ``pattern``,
  ``patternProperties`` and the property matching of ``additionalProperties`` and
  ``unevaluatedProperties``; a pattern RE2 cannot compile makes the schema invalid, with the
  schema path of the pattern;
- ``uniqueItems`` compares the canonical JSON of the items (linear, not quadratic);
- values, schemas and their nesting are bounded by ``limits`` (size and depth).

The formats date, email, idn-email, ipv4, ipv6, uuid and regex (RE2 syntax) are asserted.
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import jsonschema._legacy_keywords
import jsonschema._utils
import re2
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import extend, validator_for
from jsonschema_specifications import REGISTRY as METASCHEMAS
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from gitconfig.core import limits
from gitconfig.core.text import is_text

MAX_ERRORS = 20
_MAX_MESSAGE = 400
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False

Validator = Any  # jsonschema ships no type hints


# -- JSON data -------------------------------------------------------------------------------


def json_data_errors(value: object) -> list[str]:
    """Why ``value`` is not JSON data (string keys, finite numbers, text, no deeper than
    ``limits``), with JSON paths."""
    errors: list[str] = []
    deepest = limits.current().depth
    pending: deque[tuple[object, tuple[str | int, ...]]] = deque([(value, ())])
    while pending and len(errors) < MAX_ERRORS:
        item, path = pending.popleft()
        if isinstance(item, dict | list) and len(path) >= deepest:
            return [f"{json_path(path)}: nests more than {deepest} levels of lists and objects"]
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    errors.append(f"{json_path(path)}: key {key!r} must be a string (quote it)")
                else:
                    pending.append((key, path))
                    pending.append((child, (*path, key)))
        elif isinstance(item, list):
            pending.extend((child, (*path, index)) for index, child in enumerate(item))
        elif isinstance(item, float):
            if not math.isfinite(item):
                errors.append(f"{json_path(path)}: {item} is not a JSON number")
        elif isinstance(item, str):
            if not is_text(item):
                errors.append(f"{json_path(path)}: text holds a lone surrogate")
        elif not isinstance(item, int) and item is not None:  # bool is an int
            errors.append(f"{json_path(path)}: {type(item).__name__} is not JSON data")
    return errors


def canonical(value: object) -> str:
    """The canonical JSON text of JSON data: the cache key of a schema's content."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def json_path(path: Iterable[str | int]) -> str:
    """``$``, ``$.retry.maxAttempts``, ``$.hosts[0]``, ``$['max-size']``."""
    text = "$"
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            text += f".{part}"
        else:
            text += "['" + part.replace("\\", "\\\\").replace("'", "\\'") + "']"
    return text


# -- regular expressions: RE2 ----------------------------------------------------------------


@lru_cache(maxsize=1024)
def _re2(pattern: str) -> Any:
    return re2.compile(pattern, _RE2_OPTIONS)


def _pattern(validator: Validator, pattern: str, instance: object, schema: object) -> Any:
    if validator.is_type(instance, "string") and not _re2(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Validator, patterns: dict[str, Any], instance: object, schema: object
) -> Any:
    if not validator.is_type(instance, "object"):
        return
    assert isinstance(instance, dict)
    for pattern, subschema in patterns.items():
        compiled = _re2(pattern)
        for key, item in instance.items():
            if compiled.search(key):
                yield from validator.descend(item, subschema, path=key, schema_path=pattern)


def _unique_items(validator: Validator, unique: object, instance: object, schema: object) -> Any:
    if not unique or not validator.is_type(instance, "array"):
        return
    assert isinstance(instance, list)
    seen: set[str] = set()
    for item in instance:
        key = canonical(_numbers_as_equal(item))
        if key in seen:
            yield ValidationError("has non-unique elements")
            return
        seen.add(key)


def _numbers_as_equal(value: object) -> object:
    """``value`` with integral floats as ints (JSON Schema: 1 and 1.0 are equal; true and 1
    are not, and stay apart since JSON text tells them apart)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_numbers_as_equal(item) for item in value]
    if isinstance(value, dict):
        return {key: _numbers_as_equal(item) for key, item in value.items()}
    return value


class _RE2Search:
    """What jsonschema's helpers call as ``re.search`` (the property matching of
    ``additionalProperties`` and ``unevaluatedProperties``), answered by RE2."""

    @staticmethod
    def search(pattern: str, text: str) -> Any:
        return _re2(pattern).search(text)


# jsonschema's helper modules use ``re`` only for ``re.search(pattern, property)``: route
# those calls through RE2 so that no schema regex ever runs on the backtracking engine.
jsonschema._utils.re = _RE2Search
jsonschema._legacy_keywords.re = _RE2Search


_FORMATS = FormatChecker(["date", "email", "idn-email", "ipv4", "ipv6", "uuid"])


def _is_regex(instance: object) -> bool:
    if isinstance(instance, str):
        _re2(instance)
    return True


_FORMATS.checks("regex", raises=(re2.error,))(_is_regex)


@cache
def _with_re2(base: Any) -> Any:
    keywords: dict[str, Any] = {"pattern": _pattern, "uniqueItems": _unique_items}
    if "patternProperties" in base.VALIDATORS:
        keywords["patternProperties"] = _pattern_properties
    return extend(base, validators=keywords)


# -- schemas ---------------------------------------------------------------------------------


def schema_errors(schema: object) -> list[str]:
    """Why ``schema`` is not a valid JSON Schema (checked against its metaschema)."""
    if not isinstance(schema, dict | bool):
        return ["a JSON Schema must be an object or a boolean"]
    errors = json_data_errors(schema)
    return errors or list(_schema_errors(canonical(schema)))


@lru_cache(maxsize=4096)
def _schema_errors(key: str) -> tuple[str, ...]:
    schema = json.loads(key)
    if isinstance(schema, dict) and "$schema" in schema:
        dialect = schema["$schema"]
        if not isinstance(dialect, str) or validator_for(schema, default=None) is None:
            return (f"$.$schema: unknown JSON Schema dialect {dialect!r}",)
    cls = validator_for(schema, default=Draft202012Validator)
    meta = cls(cls.META_SCHEMA, format_checker=_FORMATS, registry=Registry())
    return tuple(_messages(meta.iter_errors(schema)))


def _redacted(errors: Iterable[ValidationError]) -> list[str]:
    messages = [
        f"{json_path(error.absolute_path)}: does not satisfy the schema's {error.validator!s}"
        f" rule (the value is not shown)"
        for error in errors
    ]
    return list(dict.fromkeys(messages))[:MAX_ERRORS]


def _messages(errors: Iterable[ValidationError]) -> list[str]:
    found = list(errors)
    messages: list[str] = []
    for error in found:
        message = error.message
        if error.context:
            closest = best_match(error.context)
            message += f" (closest: {json_path(closest.absolute_path)}: {closest.message})"
        if len(message) > _MAX_MESSAGE:
            message = message[: _MAX_MESSAGE - 3] + "..."
        messages.append(f"{json_path(error.absolute_path)}: {message}")
    messages = list(dict.fromkeys(messages))
    if len(messages) > MAX_ERRORS:
        more = len(messages) - MAX_ERRORS
        messages = [*messages[:MAX_ERRORS], f"... and {more} more errors"]
    return messages


# -- references ------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _refs(key: str) -> tuple[str, ...]:
    """Every ``$ref`` of a schema (and its subschemas, keyword-aware: not inside ``const``)."""
    found = []
    pending = [Resource.from_contents(json.loads(key), default_specification=DRAFT202012)]
    while pending:
        resource = pending.pop()
        contents = resource.contents
        if isinstance(contents, dict) and isinstance(contents.get("$ref"), str):
            found.append(contents["$ref"])
        pending.extend(resource.subresources())
    return tuple(found)


def _target(base: str, ref: str) -> str:
    """The repository path (``schemas/x.json``) or absolute URI that ``ref`` names."""
    target = urldefrag(urljoin(base, ref)).url
    return target if urlsplit(target).scheme else target.lstrip("/")


def referenced_paths(schema: object) -> list[str]:
    """The repository paths that ``schema`` refers to directly, top-level ``$ref`` first."""
    if not isinstance(schema, dict) or schema_errors(schema):
        return []
    targets = (_target("", ref) for ref in _refs(canonical(schema)))
    return list(dict.fromkeys(t for t in targets if t and not urlsplit(t).scheme))


_HINT = (
    " (inside a shared schema a reference is relative to it:"
    " write 'name.json' or '/schemas/name.json')"
)
Closure = tuple[tuple[str, str], ...]  # (path, canonical JSON) of every shared schema reached


def _closure(key: str, schemas: Mapping[str, Any]) -> tuple[Closure, list[str]]:
    reached: dict[str, str] = {}
    errors: list[str] = []
    pending = [("", key)]
    while pending:
        base, current = pending.pop()
        for ref in _refs(current):
            target = _target(base, ref)
            if not target or target == base or target in reached:
                continue
            if urlsplit(target).scheme:
                if target not in METASCHEMAS:
                    errors.append(
                        f"$ref {ref!r}: only shared schemas of this repository "
                        "(schemas/<name>.json) can be referenced"
                    )
                continue
            if target not in schemas:
                hint = _HINT if base and ref.startswith("schemas/") else ""
                errors.append(f"$ref {ref!r}: there is no shared schema {target}{hint}")
                continue
            problems = schema_errors(schemas[target])
            if problems:
                errors.append(f"$ref {ref!r}: {target} is not a valid JSON Schema: {problems[0]}")
                continue
            reached[target] = canonical(schemas[target])
            pending.append((target, reached[target]))
    return tuple(sorted(reached.items())), errors


@lru_cache(maxsize=1024)
def _validator(key: str, closure: Closure) -> Validator:
    resources = []
    for path, content in closure:
        resource = Resource.from_contents(json.loads(content), default_specification=DRAFT202012)
        resources += [(path, resource), ("/" + path, resource)]
    schema = json.loads(key)
    cls = _with_re2(validator_for(schema, default=Draft202012Validator))
    return cls(schema, registry=Registry().with_resources(resources), format_checker=_FORMATS)


def reference_errors(schema: object, schemas: Mapping[str, Any]) -> list[str]:
    """Why some ``$ref`` of a valid ``schema`` cannot be resolved against ``schemas``."""
    if schema_errors(schema):
        return []
    return _closure(canonical(schema), schemas)[1]


def validate(
    instance: object, schema: object, schemas: Mapping[str, Any], redact: bool = False
) -> list[str]:
    """Why ``instance`` does not validate against ``schema`` (empty: it does).

    ``schemas`` maps repository paths (``schemas/x.json``) to parsed shared schemas. Messages
    start with the JSON path of the failing part: ``$.retry.maxAttempts: 0 is less than ...``.
    With ``redact`` (a secret's plaintext) a message names the failed keyword, never the value.
    """
    problems = schema_errors(schema)
    if problems:
        return [f"the schema is invalid: {problem}" for problem in problems]
    key = canonical(schema)
    closure, errors = _closure(key, schemas)
    if errors:
        return errors
    try:
        found = _validator(key, closure).iter_errors(instance)
        if redact:
            return _redacted(found)
        return _messages(found)
    except Unresolvable as exc:
        return [f"$ref {exc.ref!r} cannot be resolved (does a $id change its base?)"]
    except RecursionError:
        return ["the schema recurses without end (a $ref cycle?)"]
