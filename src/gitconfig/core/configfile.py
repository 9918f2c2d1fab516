"""The configuration file ``configs/<application>/<ENV>/<key>.yaml``: parse, validate, render.

    type: NUMBER                  # STRING | NUMBER | BOOLEAN | JSON | SECRET
    value: 250000                 # a native YAML value
    description: Maximum notional per order, USD
    schema: {$ref: schemas/positive-number.json}     # or an inline JSON Schema
    tags: [risk, limits]

``load`` reads a file and ``from_request`` builds a document from the REST/gRPC strings; both
report every problem at once, named by the file's fields (``type``, ``value``, ...) or by the
request's (``valueType``, ``value``, ...). ``render`` writes the canonical file, ``value_text``
gives a value's API string, ``check`` re-validates a document when shared schemas change.
The format, and why it is so, is in ``docs/file-format.md``.
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from gitconfig.core import jsonschemas, limits, valuetext, yamltext
from gitconfig.core.errors import BadRequest, FieldError
from gitconfig.core.model import ConfigDocument, ValueType
from gitconfig.core.text import is_text

FIELDS = ("type", "value", "description", "schema", "tags", "sops")
MAX_TAG_LENGTH = 50  # the seed's configuration_tags.tag
NOT_ENCRYPTED = "SECRET value is not sops-encrypted (encrypt the file with sops, see .sops.yaml)"
_TYPES = ", ".join(ValueType)
_ENC = re.compile(
    r"ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,type:[a-z]+\]"
)
_LARGEST = int(sys.float_info.max)
_YAML11_BOOLEANS = {"yes", "no", "on", "off", "y", "n"}
_FIELD_SET = frozenset(FIELDS)
_TYPE_NAMES = {value_type.value: value_type for value_type in ValueType}


# -- reading a file --------------------------------------------------------------------------


def load(data: bytes, schemas: Mapping[str, Any]) -> ConfigDocument:
    """Parse and validate the bytes of a configuration file against the repository's shared
    ``schemas`` (path -> parsed schema). Raises ``BadRequest`` listing every problem."""
    too_large = limits.file_error(data)
    if too_large is not None:
        raise BadRequest("Invalid configuration file", [FieldError("", too_large)])
    try:
        parsed = yamltext.parse(data)
    except yamltext.YamlError as exc:
        raise BadRequest("Invalid configuration file", [FieldError("", str(exc))]) from exc
    if not isinstance(parsed, dict):
        message = "a configuration file is a YAML mapping with at least type and value"
        raise BadRequest("Invalid configuration file", [FieldError("", message)])
    errors = (
        []
        if parsed.keys() <= _FIELD_SET
        else [
            FieldError(str(name), f"unknown field; the fields are {', '.join(FIELDS)}")
            for name in parsed
            if name not in FIELDS
        ]
    )
    value_type = _file_type(parsed, errors)
    if "value" not in parsed:
        errors.append(FieldError("value", "missing"))
    # An optional field that is null is absent.
    description, tags, schema = (parsed.get(name) for name in ("description", "tags", "schema"))
    errors += _description_errors(description)
    errors += _tag_errors(tags)
    sops = _file_sops(parsed.get("sops"), value_type, errors)
    if schema is not None and not isinstance(schema, dict):
        message = "must be a mapping: an inline JSON Schema or {$ref: schemas/<name>.json}"
        errors.append(FieldError("schema", message))
        schema = None
    checked_type = None
    if value_type is not None and "value" in parsed:
        problems = _value_errors(value_type, parsed["value"], sops)
        errors += [FieldError("value", message) for message in problems]
        checked_type = None if problems else value_type
    errors += _schema_and_value_errors(schema, checked_type, parsed.get("value"), schemas)
    if errors or value_type is None:
        raise BadRequest("Invalid configuration file", errors)
    return ConfigDocument(value_type, parsed["value"], description, schema, _tags(tags), sops)


_TAG_SETS: dict[tuple[str, ...], tuple[str, ...]] = {}


def _tags(tags: list[str] | None) -> tuple[str, ...]:
    """The tags as a tuple shared by every document with the same tags (files repeat a few
    tag lists many times; at 100,000 entries one tuple each is megabytes)."""
    found = tuple(tags or ())
    if len(_TAG_SETS) > 10_000:
        return found
    return _TAG_SETS.setdefault(found, found)


def _file_type(parsed: dict[Any, Any], errors: list[FieldError]) -> ValueType | None:
    if "type" not in parsed:
        errors.append(FieldError("type", f"missing; one of {_TYPES}"))
        return None
    name = parsed["type"]
    if isinstance(name, str) and name in _TYPE_NAMES:
        return _TYPE_NAMES[name]
    hint = f" (upper case: {name.upper()})" if str(name).upper() in ValueType.__members__ else ""
    errors.append(FieldError("type", f"must be one of {_TYPES}{hint}"))
    return None


def _file_sops(sops: object, value_type: ValueType | None, errors: list[FieldError]) -> Any:
    if sops is not None and value_type not in (ValueType.SECRET, None):
        errors.append(FieldError("sops", "only SECRET entries carry sops metadata"))
    elif sops is not None and not isinstance(sops, dict):
        errors.append(FieldError("sops", "must be a mapping (the sops metadata)"))
    return sops


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    return "a list" if isinstance(value, list) else "null"


def _value_errors(value_type: ValueType, value: Any, sops: object) -> list[str]:
    """Why a file's native value is not a value of ``value_type`` (never echoes the value)."""
    if value_type is ValueType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f"must be a number for type NUMBER, not {_kind(value)}"]
        if isinstance(value, float) and not math.isfinite(value):
            return ["must be a finite number"]
        if abs(value) > _LARGEST:
            return ["is out of range (beyond ±1.8e308)"]
    elif value_type is ValueType.BOOLEAN and not isinstance(value, bool):
        yaml11 = isinstance(value, str) and value.lower() in _YAML11_BOOLEANS
        hint = " (yes, no, on and off are strings)" if yaml11 else ""
        return [f"must be true or false for type BOOLEAN, not {_kind(value)}{hint}"]
    elif value_type is ValueType.STRING and not isinstance(value, str):
        return [f"must be a string for type STRING, not {_kind(value)} (quote it)"]
    elif value_type is ValueType.JSON:
        return jsonschemas.json_data_errors(value)
    elif value_type is ValueType.SECRET and not (
        isinstance(value, str) and _ENC.fullmatch(value) and isinstance(sops, dict)
    ):
        return [NOT_ENCRYPTED]
    return []


# -- checks shared by files and requests -----------------------------------------------------


def _description_errors(description: object) -> list[FieldError]:
    if description is None:
        return []
    if not isinstance(description, str):
        return [FieldError("description", f"must be a string, not {_kind(description)}")]
    too_long = limits.description_error(description)
    if too_long is not None:
        return [too_long]
    if is_text(description):  # what JSON data asks of a string
        return []
    return [FieldError("description", m) for m in jsonschemas.json_data_errors(description)]


def _tag_errors(tags: object) -> list[FieldError]:
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        return [FieldError("tags", "must be a list of strings, e.g. [risk, limits]")]
    too_many = limits.tags_error(tags)
    if too_many is not None:
        return [too_many]
    # The tags of a valid document: only the count and the depth limit (a list is one level:
    # a depth limit of 0, set through limits.configure, refuses every list) can have changed.
    if tuple(tags) in _TAG_SETS and limits.current().depth > 0:
        return []
    errors = jsonschemas.json_data_errors(tags)
    if any(not tag for tag in tags):
        errors.append("a tag must not be empty")
    if any(len(tag) > MAX_TAG_LENGTH for tag in tags):
        errors.append(f"a tag has at most {MAX_TAG_LENGTH} characters")
    duplicates = sorted(tag for tag, count in Counter(tags).items() if count > 1)
    if duplicates:
        errors.append(f"duplicate tags: {', '.join(duplicates)}")
    return [FieldError("tags", message) for message in errors]


def _schema_and_value_errors(
    schema: dict[str, Any] | None,
    value_type: ValueType | None,
    value: Any,
    schemas: Mapping[str, Any],
) -> list[FieldError]:
    """Problems of the schema itself, then of the value against it. ``value_type`` None: the
    value is already known to be wrong, so it is not validated."""
    if schema is None:
        return []
    problems = [f"not a valid JSON Schema: {p}" for p in jsonschemas.schema_errors(schema)]
    problems = problems or jsonschemas.reference_errors(schema, schemas)
    if problems:
        return [FieldError("schema", problem) for problem in problems]
    if value_type is None or value_type is ValueType.SECRET:
        return []  # a SECRET's value is ciphertext: its schema applies to the plaintext
    return [FieldError("value", m) for m in jsonschemas.validate(value, schema, schemas)]


def _secret_errors(
    schema: dict[str, Any] | None, plaintext: str, schemas: Mapping[str, Any]
) -> list[FieldError]:
    """A SECRET's plaintext against its schema, before encryption; never echoes it."""
    if schema is None or jsonschemas.schema_errors(schema):
        return []  # no schema, or its own problems are reported already
    problems = jsonschemas.validate(plaintext, schema, schemas, redact=True)
    return [FieldError("value", m) for m in problems]


# -- building from a request -----------------------------------------------------------------


def from_request(
    *,
    value_type: str,
    value: str,
    description: str | None,
    schema: str | None,
    tags: list[str] | None,
    schemas: Mapping[str, Any],
) -> ConfigDocument:
    """The document for a create/update request's fields (the seed's strings): ``value`` is
    the value's text (see ``valuetext``), ``schema`` JSON text ("" or blank: none). Raises
    ``BadRequest`` whose field names are the request's: valueType, value, description, schema,
    tags.

    A SECRET's ``value`` is its plaintext: the document returned holds it unencrypted
    (``sops`` None), validated against the schema without being echoed; the caller encrypts
    it (``render`` then sops) before anything is written."""
    errors: list[FieldError] = []
    parsed_type: ValueType | None = None
    if value_type in ValueType.__members__:
        parsed_type = ValueType(value_type)
    else:
        errors.append(FieldError("valueType", f"must be one of {_TYPES}"))
    parsed_value: Any = None
    too_large = limits.value_error(value)
    if too_large is not None:
        errors.append(too_large)
        parsed_type = None
    if parsed_type is ValueType.SECRET:
        if not isinstance(value, str) or not value or jsonschemas.json_data_errors(value):
            errors.append(FieldError("value", "a SECRET value must be non-empty text"))
        else:
            parsed_value = value
    elif parsed_type is not None:
        try:
            parsed_value = valuetext.parse(parsed_type, value)
        except ValueError as exc:
            errors.append(FieldError("value", str(exc)))
            parsed_type = None  # not validated against the schema
    errors += _description_errors(description)
    errors += _tag_errors(tags)
    parsed_schema = request_schema(schema, errors)
    errors += _schema_and_value_errors(parsed_schema, parsed_type, parsed_value, schemas)
    if parsed_type is ValueType.SECRET and parsed_value is not None:
        errors += _secret_errors(parsed_schema, parsed_value, schemas)
    if errors:
        raise BadRequest("Invalid configuration", errors)
    return ConfigDocument(
        ValueType(value_type), parsed_value, description, parsed_schema, tuple(tags or ())
    )


def with_fields(
    doc: ConfigDocument,
    description: str | None,
    schema: str | None,
    tags: list[str] | None,
    schemas: Mapping[str, Any],
) -> ConfigDocument:
    """``doc`` with the given request fields changed (None: kept) and its value untouched:
    how a SECRET's description, schema or tags change without decrypting it (sops' MAC covers
    the encrypted value only, ``mac_only_encrypted``). Raises ``BadRequest`` like
    ``from_request``, and when the file's MAC covers every field (encrypted without
    ``mac_only_encrypted``: a change would make the value undecryptable)."""
    errors = _description_errors(description) + _tag_errors(tags)
    parsed_schema = doc.schema if schema is None else request_schema(schema, errors)
    errors += _schema_and_value_errors(parsed_schema, None, None, schemas)
    if errors:
        raise BadRequest("Invalid configuration", errors)
    changed = replace(
        doc,
        description=doc.description if description is None else description,
        schema=parsed_schema,
        tags=doc.tags if tags is None else tuple(tags),
    )
    sealed_all = (doc.sops or {}).get("mac_only_encrypted") is not True
    if changed != doc and doc.value_type is ValueType.SECRET and sealed_all:
        message = (
            "this SECRET was encrypted without mac_only_encrypted: its MAC covers every field, "
            "so its description, schema or tags change only with its value (set the value too)"
        )
        raise BadRequest(message, [FieldError("value", message)])
    return changed


def request_schema(text: str | None, errors: list[FieldError]) -> dict[str, Any] | None:
    if text is None or not text.strip():
        return None
    too_large = limits.value_error(text, "schema")
    if too_large is not None:
        errors.append(too_large)
        return None
    try:
        schema = valuetext.parse_json(text)
    except ValueError as exc:
        errors.append(FieldError("schema", f"not JSON: {exc}"))
        return None
    if not isinstance(schema, dict):
        errors.append(FieldError("schema", 'must be a JSON object: a JSON Schema or {"$ref": …}'))
        return None
    return schema


# -- writing ---------------------------------------------------------------------------------


def render(doc: ConfigDocument) -> bytes:
    """The canonical file: type, value, description, schema, tags, sops (absent ones left
    out). ``load`` reads it back to an equal document."""
    mapping: dict[str, Any] = {"type": doc.value_type.value, "value": doc.value}
    if doc.description is not None:
        mapping["description"] = doc.description
    if doc.schema is not None:
        mapping["schema"] = doc.schema
    if doc.tags:
        mapping["tags"] = list(doc.tags)
    if doc.sops is not None:
        mapping["sops"] = doc.sops
    return yamltext.dump(mapping)


def is_plaintext_secret(doc: ConfigDocument) -> bool:
    """A SECRET built from a request, not yet encrypted (``render`` it only for sops)."""
    return doc.value_type is ValueType.SECRET and doc.sops is None


def value_text(doc: ConfigDocument) -> str:
    """The API string of the value: STRING itself, NUMBER canonical decimal text, BOOLEAN
    true/false, JSON compact JSON, SECRET the sops ciphertext (the service masks it)."""
    return valuetext.text(doc.value_type, doc.value)


MASK = "********"
"""What every transport shows instead of a SECRET value the caller may not reveal."""


def api_value_text(doc: ConfigDocument, reveal: bool) -> str:
    """The API string of a value, with a SECRET masked unless ``reveal``."""
    if doc.value_type is ValueType.SECRET and not reveal:
        return MASK
    return value_text(doc)


def schema_text(doc: ConfigDocument) -> str | None:
    """The API string of the schema: compact JSON, or None."""
    return None if doc.schema is None else valuetext.compact_json(doc.schema)


# -- shared schemas --------------------------------------------------------------------------


def check(doc: ConfigDocument, schemas: Mapping[str, Any]) -> list[FieldError]:
    """Re-validate a loaded document against (possibly changed) shared ``schemas``."""
    return _schema_and_value_errors(doc.schema, doc.value_type, doc.value, schemas)


def references(doc: ConfigDocument) -> str | None:
    """A shared schema (``schemas/<name>.json``) the document's schema refers to, None if it
    depends on none: the top-level ``$ref``, else the first nested one. The index re-checks
    documents that have one whenever a shared schema changes."""
    if doc.schema is None:
        return None
    paths = jsonschemas.referenced_paths(doc.schema)
    return paths[0] if paths else None
