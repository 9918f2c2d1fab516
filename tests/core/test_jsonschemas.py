"""JSON Schema support: metaschema checks, validation messages, $ref against schemas/ only."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from gitconfig.core import jsonschemas

DRAFT7 = "http://json-schema.org/draft-07/schema#"
SHARED: dict[str, Any] = {
    "schemas/positive-number.json": {"type": "number", "exclusiveMinimum": 0},
    "schemas/retry-policy.json": {
        "type": "object",
        "properties": {
            "initialBackoffMs": {"$ref": "positive-number.json"},
            "maxBackoffMs": {"$ref": "/schemas/positive-number.json"},
            "jitter": {"$ref": "#/$defs/fraction"},
        },
        "$defs": {"fraction": {"type": "number", "minimum": 0, "maximum": 1}},
    },
    "schemas/endpoint.json": {"type": "object", "required": ["host", "port"]},
}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """References must never be fetched: any connection attempt fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("jsonschemas tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize(
    "schema",
    [
        {},
        True,
        False,
        {"type": "number", "minimum": 0},
        {"$schema": DRAFT7, "type": "string", "maxLength": 3},
        {"type": "string", "pattern": "^[A-Z]{3}$"},
        {"type": "object", "patternProperties": {"^x-": {"type": "string"}}},
        {"type": "string", "pattern": r"\p{Greek}"},  # RE2 syntax (every pattern runs on RE2)
        {"$ref": "schemas/positive-number.json"},
        {"$defs": {"a": {"type": "integer"}}, "$ref": "#/$defs/a"},
    ],
)
def test_valid_schemas(schema: object) -> None:
    assert jsonschemas.schema_errors(schema) == []


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "strin"}, "$.type: 'strin' is not valid under any of the given schemas"),
        ({"minimum": "zero"}, "$.minimum: 'zero' is not of type 'number'"),
        ({"properties": {"a": {"type": 5}}}, "$.properties.a.type:"),
        ({"required": "host"}, "$.required: 'host' is not of type 'array'"),
        ({"pattern": "("}, "$.pattern: '(' is not a 'regex'"),
        ({"pattern": "(?<=a)b"}, "is not a 'regex'"),  # lookbehind: not RE2
        ({"patternProperties": {"(": {}}}, "is not a 'regex'"),
        ({"$schema": "https://example.com/my-dialect"}, "unknown JSON Schema dialect"),
        ({"$schema": 7}, "unknown JSON Schema dialect"),
        ({"maximum": float("nan")}, "$.maximum: nan is not a JSON number"),
        ({"enum": {1: "a"}}, "key 1 must be a string"),
        ([{"type": "number"}], "a JSON Schema must be an object or a boolean"),
        ("number", "a JSON Schema must be an object or a boolean"),
        (None, "a JSON Schema must be an object or a boolean"),
    ],
)
def test_invalid_schemas(schema: object, expected: str) -> None:
    errors = jsonschemas.schema_errors(schema)
    assert errors
    assert any(expected in error for error in errors), errors


@pytest.mark.parametrize(
    ("instance", "schema", "expected"),
    [
        (5, {"type": "number", "minimum": 0}, []),
        (-1, {"type": "number", "minimum": 0}, ["$: -1 is less than the minimum of 0"]),
        ("x", {"type": "number"}, ["$: 'x' is not of type 'number'"]),
        (
            {"retry": {"maxAttempts": 0}},
            {"properties": {"retry": {"properties": {"maxAttempts": {"minimum": 1}}}}},
            ["$.retry.maxAttempts: 0 is less than the minimum of 1"],
        ),
        (
            {"hosts": ["a", 5]},
            {"properties": {"hosts": {"items": {"type": "string"}}}},
            ["$.hosts[1]: 5 is not of type 'string'"],
        ),
        (
            {"max-size": "big"},
            {"properties": {"max-size": {"type": "integer"}}},
            ["$['max-size']: 'big' is not of type 'integer'"],
        ),
        ({}, {"required": ["host"]}, ["$: 'host' is a required property"]),
        ("nope", {"format": "email"}, ["$: 'nope' is not a 'email'"]),
        ("2024-13-01", {"format": "date"}, ["$: '2024-13-01' is not a 'date'"]),
        ("2024-12-01", {"format": "date"}, []),
        ("ABC", {"pattern": "^[A-Z]{3}$"}, []),
        ("abc\n", {"pattern": "^[a-z]+$"}, ["$: 'abc\\n' does not match '^[a-z]+$'"]),
        ("x", {"$schema": DRAFT7, "type": "string", "maxLength": 3}, []),
        (
            "x",
            {"oneOf": [{"type": "integer"}, {"minLength": 3}]},
            [
                "$: 'x' is not valid under any of the given schemas"
                " (closest: $: 'x' is not of type 'integer')"
            ],
        ),
    ],
)
def test_validate(instance: object, schema: object, expected: list[str]) -> None:
    assert jsonschemas.validate(instance, schema, SHARED) == expected


def test_pattern_runs_in_linear_time() -> None:
    # Python's backtracking re would take hours on this; RE2 answers at once.
    errors = jsonschemas.validate("a" * 60 + "!", {"pattern": "^(a+)+$"}, {})
    assert errors == [f"$: '{'a' * 60}!' does not match '^(a+)+$'"]


EVIL = "^(a+)+$"  # exponential on a backtracking engine: 40 a's then "!" would take years
EVIL_KEY = "a" * 40 + "!"


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "patternProperties": {EVIL: {"type": "string"}}},
        {"type": "object", "patternProperties": {EVIL: {}}, "additionalProperties": False},
        {"type": "object", "patternProperties": {EVIL: {}}, "unevaluatedProperties": False},
        {"$schema": DRAFT7, "type": "object", "patternProperties": {EVIL: {}}},
        {"$schema": DRAFT7, "patternProperties": {EVIL: {}}, "additionalProperties": False},
        {"type": "object", "propertyNames": {"pattern": EVIL}},
    ],
)
def test_every_schema_regex_runs_on_re2(schema: dict[str, Any]) -> None:
    # Each of these hangs (hours) if any regex of the schema ran on Python's re.
    errors = jsonschemas.validate({EVIL_KEY: 1}, schema, {})
    assert isinstance(errors, list)


def test_pattern_properties_are_matched() -> None:
    schema = {"patternProperties": {"^x-": {"type": "string"}}, "additionalProperties": False}
    assert jsonschemas.validate({"x-a": "s"}, schema, {}) == []
    assert jsonschemas.validate({"x-a": 1}, schema, {}) == ["$['x-a']: 1 is not of type 'string'"]
    assert jsonschemas.validate({"y": 1}, schema, {}) == [
        "$: 'y' does not match any of the regexes: '^x-'"
    ]
    uneval = {"patternProperties": {"^x-": {}}, "unevaluatedProperties": False}
    assert jsonschemas.validate({"x-a": 1}, uneval, {}) == []
    assert jsonschemas.validate({"y": 1}, uneval, {})[0].startswith("$: Unevaluated properties")


def test_pattern_properties_must_compile_as_re2() -> None:
    errors = jsonschemas.schema_errors({"patternProperties": {"(?<=a)b": {}}})
    assert errors
    assert errors[0].startswith("$.patternProperties: ")


@pytest.mark.parametrize(
    ("items", "unique"),
    [
        ([{"a": i} for i in range(20_000)], True),  # quadratic in jsonschema: minutes
        ([{"a": i} for i in range(20_000)] + [{"a": 5}], False),
        ([1, 1.0], False),  # equal numbers
        ([1, True], True),  # true is not 1
        ([{"a": 1, "b": [1]}, {"b": [1.0], "a": 1}], False),  # key order does not matter
        ([[0], [False]], True),
    ],
)
def test_unique_items_is_linear_and_exact(items: list[Any], unique: bool) -> None:
    errors = jsonschemas.validate(items, {"uniqueItems": True}, {})
    assert errors == ([] if unique else ["$: has non-unique elements"])


def test_values_deeper_than_the_limit_are_not_json_data() -> None:
    from gitconfig.core import limits

    deep: Any = 1
    for _ in range(limits.current().depth):
        deep = [deep]
    assert jsonschemas.json_data_errors(deep) == []
    errors = jsonschemas.json_data_errors([deep])
    assert errors
    assert "nests more than 64 levels" in errors[0]


def test_errors_are_capped() -> None:
    errors = jsonschemas.validate(list(range(100)), {"items": {"type": "string"}}, {})
    assert len(errors) == jsonschemas.MAX_ERRORS + 1
    assert errors[-1] == f"... and {100 - jsonschemas.MAX_ERRORS} more errors"


def test_invalid_schema_is_reported_by_validate() -> None:
    assert jsonschemas.validate(1, {"type": "strin"}, {})[0].startswith("the schema is invalid:")


@pytest.mark.parametrize(
    ("instance", "schema", "expected"),
    [
        (5, {"$ref": "schemas/positive-number.json"}, []),
        (
            0,
            {"$ref": "schemas/positive-number.json"},
            ["$: 0 is less than or equal to the minimum of 0"],
        ),
        (
            0,
            {"$ref": "/schemas/positive-number.json"},
            ["$: 0 is less than or equal to the minimum of 0"],
        ),
        # relative references inside a shared schema, and its own #/$defs
        (
            {"initialBackoffMs": 100, "maxBackoffMs": 1000, "jitter": 0.5},
            {"$ref": "schemas/retry-policy.json"},
            [],
        ),
        (
            {"initialBackoffMs": -1, "maxBackoffMs": 0, "jitter": 2},
            {"$ref": "schemas/retry-policy.json"},
            [
                "$.initialBackoffMs: -1 is less than or equal to the minimum of 0",
                "$.jitter: 2 is greater than the maximum of 1",
                "$.maxBackoffMs: 0 is less than or equal to the minimum of 0",
            ],
        ),
        # a reference nested in an inline schema
        (
            [{"host": "a", "port": 1}, {"host": "b"}],
            {"type": "array", "items": {"$ref": "schemas/endpoint.json"}},
            ["$[1]: 'port' is a required property"],
        ),
        # the metaschemas are built in
        ({"type": "number"}, {"$ref": "https://json-schema.org/draft/2020-12/schema"}, []),
    ],
)
def test_references_resolve_against_shared_schemas(
    instance: object, schema: object, expected: list[str]
) -> None:
    assert jsonschemas.validate(instance, schema, SHARED) == expected


@pytest.mark.parametrize(
    ("schema", "shared", "expected"),
    [
        (
            {"$ref": "schemas/missing.json"},
            {},
            "$ref 'schemas/missing.json': there is no shared schema schemas/missing.json",
        ),
        (
            # never taken by the value 5, still an error
            {"anyOf": [{"type": "number"}, {"$ref": "schemas/typo.json"}]},
            {},
            "there is no shared schema schemas/typo.json",
        ),
        (
            {"$ref": "https://example.com/schemas/money.json"},
            {},
            "only shared schemas of this repository (schemas/<name>.json) can be referenced",
        ),
        (
            {"$ref": "schemas/outer.json"},
            {"schemas/outer.json": {"$ref": "schemas/inner.json"}, "schemas/inner.json": {}},
            "there is no shared schema schemas/schemas/inner.json (inside a shared schema a "
            "reference is relative to it: write 'name.json' or '/schemas/name.json')",
        ),
        (
            {"$ref": "schemas/broken.json"},
            {"schemas/broken.json": {"type": "numbr"}},
            "schemas/broken.json is not a valid JSON Schema: $.type:",
        ),
    ],
)
def test_unresolvable_references(schema: object, shared: dict[str, Any], expected: str) -> None:
    errors = jsonschemas.validate(5, schema, shared)
    assert len(errors) == 1
    assert expected in errors[0]
    assert jsonschemas.reference_errors(schema, shared) == errors


def test_reference_cycle_is_an_error_not_a_crash() -> None:
    schema = {"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}
    assert jsonschemas.validate(1, schema, {}) == [
        "the schema recurses without end (a $ref cycle?)"
    ]


def test_an_id_that_moves_the_base_is_reported() -> None:
    schema = {"$id": "https://example.com/a.json", "$ref": "schemas/positive-number.json"}
    [error] = jsonschemas.validate(1, schema, SHARED)
    assert error.startswith("$ref 'schemas/positive-number.json' cannot be resolved")


def test_validators_are_cached_and_never_stale() -> None:
    schema = {"$ref": "schemas/limit.json", "description": "cache test"}
    strict = {"schemas/limit.json": {"maximum": 10}}
    before = jsonschemas._validator.cache_info()
    assert jsonschemas.validate(5, schema, strict) == []
    assert jsonschemas.validate(50, schema, strict) == ["$: 50 is greater than the maximum of 10"]
    after = jsonschemas._validator.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)
    # a changed shared schema is a different cache entry
    relaxed = {"schemas/limit.json": {"maximum": 100}}
    assert jsonschemas.validate(50, schema, relaxed) == []


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "number"}, []),
        ({"$ref": "schemas/a.json"}, ["schemas/a.json"]),
        ({"$ref": "/schemas/a.json#/$defs/x"}, ["schemas/a.json"]),
        (
            {"$ref": "schemas/a.json", "properties": {"b": {"$ref": "schemas/b.json"}}},
            ["schemas/a.json", "schemas/b.json"],
        ),
        ({"$defs": {"x": {}}, "$ref": "#/$defs/x"}, []),
        ({"const": {"$ref": "schemas/data.json"}}, []),  # data, not a reference
        ({"$ref": "https://json-schema.org/draft/2020-12/schema"}, []),
        ({"type": "strin"}, []),
    ],
)
def test_referenced_paths(schema: object, expected: list[str]) -> None:
    assert jsonschemas.referenced_paths(schema) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": [1, 2.5, True, None, "x"]}, []),
        ({1: "a"}, ["$: key 1 must be a string (quote it)"]),
        ({"a": {"b": float("inf")}}, ["$.a.b: inf is not a JSON number"]),
        ([float("nan")], ["$[0]: nan is not a JSON number"]),
        ({"a": (1, 2)}, ["$.a: tuple is not JSON data"]),
        ({"a": {1, 2}}, ["$.a: set is not JSON data"]),
        ("\ud800", ["$: text holds a lone surrogate"]),
    ],
)
def test_json_data_errors(value: object, expected: list[str]) -> None:
    assert jsonschemas.json_data_errors(value) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ((), "$"),
        (("retry", "maxAttempts"), "$.retry.maxAttempts"),
        (("hosts", 0, "port"), "$.hosts[0].port"),
        (("max-size",), "$['max-size']"),
        (("it's",), "$['it\\'s']"),
    ],
)
def test_json_path(path: tuple[str | int, ...], expected: str) -> None:
    assert jsonschemas.json_path(path) == expected
