"""The configuration file format: load, render, value text, requests, shared schemas."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitconfig.core import configfile, limits
from gitconfig.core.errors import BadRequest, FieldError
from gitconfig.core.model import ConfigDocument, ValueType

SCHEMAS: dict[str, Any] = {
    "schemas/positive-number.json": {"type": "number", "exclusiveMinimum": 0},
    "schemas/retry-policy.json": {
        "type": "object",
        "required": ["maxAttempts"],
        "properties": {
            "maxAttempts": {"type": "integer", "minimum": 1},
            "initialBackoffMs": {"$ref": "positive-number.json"},
        },
    },
}
ENC = "ENC[AES256_GCM,data:Tr7o=,iv:1bWUo8L2oS9n7VuOIp5T9A==,tag:ZqSmg0SYeyGy3hP3Rj7sJQ==,type:str]"
SOPS = "sops:\n  mac: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\n  version: 3.9.0\n"


def load(text: str, schemas: dict[str, Any] | None = None) -> ConfigDocument:
    return configfile.load(text.encode(), SCHEMAS if schemas is None else schemas)


def load_errors(text: str) -> list[FieldError]:
    with pytest.raises(BadRequest) as caught:
        load(text)
    assert caught.value.message == "Invalid configuration file"
    return caught.value.errors


def request_errors(**fields: Any) -> list[FieldError]:
    arguments: dict[str, Any] = {
        "value_type": "STRING",
        "value": "x",
        "description": None,
        "schema": None,
        "tags": None,
        "schemas": SCHEMAS,
    }
    with pytest.raises(BadRequest) as caught:
        configfile.from_request(**{**arguments, **fields})
    assert caught.value.message == "Invalid configuration"
    return caught.value.errors


# -- load: what a valid file means ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "type: NUMBER\nvalue: 250000\ndescription: Maximum notional per order, USD\n"
            "schema: {$ref: schemas/positive-number.json}\ntags: [risk, limits]\n",
            ConfigDocument(
                ValueType.NUMBER,
                250000,
                "Maximum notional per order, USD",
                {"$ref": "schemas/positive-number.json"},
                ("risk", "limits"),
            ),
        ),
        ("type: NUMBER\nvalue: 0.5\n", ConfigDocument(ValueType.NUMBER, 0.5)),
        ("type: NUMBER\nvalue: 1e3\n", ConfigDocument(ValueType.NUMBER, 1000.0)),
        ("type: NUMBER\nvalue: -0x1F\n", None),  # YAML 1.2: hex has no sign; a string
        ("type: BOOLEAN\nvalue: false\n", ConfigDocument(ValueType.BOOLEAN, False)),
        ("type: STRING\nvalue: yes\n", ConfigDocument(ValueType.STRING, "yes")),
        ("type: STRING\nvalue: 2024-01-01\n", ConfigDocument(ValueType.STRING, "2024-01-01")),
        ("type: STRING\nvalue: ''\n", ConfigDocument(ValueType.STRING, "")),
        ("type: JSON\nvalue: null\n", ConfigDocument(ValueType.JSON, None)),
        ("type: JSON\nvalue:\n", ConfigDocument(ValueType.JSON, None)),
        (
            "type: JSON\nvalue: {maxAttempts: 3, retryOn: [timeout]}\n"
            "schema: {$ref: schemas/retry-policy.json}\n",
            ConfigDocument(
                ValueType.JSON,
                {"maxAttempts": 3, "retryOn": ["timeout"]},
                schema={"$ref": "schemas/retry-policy.json"},
            ),
        ),
        (
            "type: STRING\nvalue: price-time\nschema:\n  type: string\n  enum: [price-time]\n",
            ConfigDocument(
                ValueType.STRING,
                "price-time",
                schema={"type": "string", "enum": ["price-time"]},
            ),
        ),
        (  # optional fields that are null are absent
            "type: STRING\nvalue: x\ndescription:\nschema: null\ntags: ~\n",
            ConfigDocument(ValueType.STRING, "x"),
        ),
        (  # a SECRET's schema applies to the plaintext: not checked against the ciphertext
            f"type: SECRET\nvalue: {ENC}\nschema: {{type: integer}}\n{SOPS}",
            ConfigDocument(
                ValueType.SECRET,
                ENC,
                schema={"type": "integer"},
                sops={"mac": "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]", "version": "3.9.0"},
            ),
        ),
        ("\ufefftype: STRING\nvalue: bom\n", ConfigDocument(ValueType.STRING, "bom")),
    ],
)
def test_load(text: str, expected: ConfigDocument | None) -> None:
    if expected is None:
        assert load_errors(text) == [
            FieldError("value", "must be a number for type NUMBER, not a string")
        ]
    else:
        assert load(text) == expected


# -- load: every problem, named by the file's field -------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("type: [", [("", "not valid YAML (line 2, column 1)")]),
        ("- type\n- value\n", [("", "a configuration file is a YAML mapping")]),
        ("", [("", "a configuration file is a YAML mapping")]),
        ("just text", [("", "a configuration file is a YAML mapping")]),
        ("type: STRING\nvalue: a\nvalue: b\n", [("", "duplicate key 'value'")]),
        ("type: STRING\nvalue: &v a\ndescription: *v\n", [("", "aliases (*name) are not allowed")]),
        ("type: STRING\nvalue: !!binary aGk=\n", [("", "could not determine a constructor")]),
        ("type: STRING\nvalue: !!python/name:os.system\n", [("", "could not determine")]),
        ('type: STRING\nvalue: "\\ud800"\n', [("", "invalid Unicode character escape")]),
        ("type: STRING\nvalue: x\ncomment: y\n", [("comment", "unknown field; the fields are")]),
        ("type: STRING\nvalue: x\n1: y\n", [("1", "unknown field")]),
        ("value: x\n", [("type", "missing; one of STRING, NUMBER, BOOLEAN, JSON, SECRET")]),
        ("type: STRING\n", [("value", "missing")]),
        (
            "type: number\nvalue: 1\n",
            [("type", "must be one of STRING, NUMBER, BOOLEAN, JSON, SECRET (upper case: NUMBER)")],
        ),
        ("type: INTEGER\nvalue: 1\n", [("type", "must be one of STRING, NUMBER")]),
        ("type: [NUMBER]\nvalue: 1\n", [("type", "must be one of")]),
        (
            "type: NUMBER\nvalue: '250000'\n",
            [("value", "must be a number for type NUMBER, not a string")],
        ),
        (
            "type: NUMBER\nvalue: true\n",
            [("value", "must be a number for type NUMBER, not true/false")],
        ),
        ("type: NUMBER\nvalue: .inf\n", [("value", "must be a finite number")]),
        ("type: NUMBER\nvalue: .nan\n", [("value", "must be a finite number")]),
        (
            "type: NUMBER\nvalue: " + "9" * 400 + "\n",
            [("value", "is out of range (beyond ±1.8e308)")],
        ),
        (
            "type: NUMBER\nvalue: " + "9" * 5000 + "\n",
            [("", "not an integer of 4300 digits or fewer")],
        ),
        (
            "type: BOOLEAN\nvalue: 'true'\n",
            [("value", "must be true or false for type BOOLEAN, not a string")],
        ),
        ("type: BOOLEAN\nvalue: yes\n", [("value", "(yes, no, on and off are strings)")]),
        (
            "type: BOOLEAN\nvalue: 1\n",
            [("value", "must be true or false for type BOOLEAN, not a number")],
        ),
        (
            "type: STRING\nvalue: 12\n",
            [("value", "must be a string for type STRING, not a number (quote it)")],
        ),
        ("type: STRING\nvalue: null\n", [("value", "must be a string for type STRING, not null")]),
        ("type: STRING\nvalue: [a]\n", [("value", "not a list")]),
        ("type: JSON\nvalue: {200: ok}\n", [("value", "$: key 200 must be a string (quote it)")]),
        ("type: JSON\nvalue: {a: [.nan]}\n", [("value", "$.a[0]: nan is not a JSON number")]),
        ("type: SECRET\nvalue: hunter2\n", [("value", configfile.NOT_ENCRYPTED)]),
        (f"type: SECRET\nvalue: {ENC}\n", [("value", configfile.NOT_ENCRYPTED)]),
        (f"type: SECRET\nvalue: hunter2\n{SOPS}", [("value", configfile.NOT_ENCRYPTED)]),
        (
            f"type: SECRET\nvalue: {ENC}\nsops: [x]\n",
            [("sops", "must be a mapping"), ("value", configfile.NOT_ENCRYPTED)],
        ),
        (f"type: STRING\nvalue: x\n{SOPS}", [("sops", "only SECRET entries carry sops metadata")]),
        (
            "type: STRING\nvalue: x\ndescription: 5\n",
            [("description", "must be a string, not a number")],
        ),
        (
            "type: STRING\nvalue: x\ndescription: [a]\n",
            [("description", "must be a string, not a list")],
        ),
        ("type: STRING\nvalue: x\ntags: risk\n", [("tags", "must be a list of strings")]),
        ("type: STRING\nvalue: x\ntags: [risk, 5]\n", [("tags", "must be a list of strings")]),
        ("type: STRING\nvalue: x\ntags: [risk, '']\n", [("tags", "a tag must not be empty")]),
        (
            "type: STRING\nvalue: x\ntags: [" + "t" * 51 + "]\n",
            [("tags", "a tag has at most 50 characters")],
        ),
        ("type: STRING\nvalue: x\ntags: [b, a, b, a]\n", [("tags", "duplicate tags: a, b")]),
        (
            "type: STRING\nvalue: x\nschema: string\n",
            [("schema", "must be a mapping: an inline JSON Schema or {$ref: schemas/<name>.json}")],
        ),
        ("type: STRING\nvalue: x\nschema: [a]\n", [("schema", "must be a mapping")]),
        (
            "type: STRING\nvalue: x\nschema: {type: strin}\n",
            [("schema", "not a valid JSON Schema: $.type: 'strin' is not valid")],
        ),
        (
            "type: STRING\nvalue: x\nschema: {pattern: '('}\n",
            [("schema", "not a valid JSON Schema: $.pattern: '(' is not a 'regex'")],
        ),
        (
            "type: STRING\nvalue: x\nschema: {$ref: schemas/nope.json}\n",
            [("schema", "$ref 'schemas/nope.json': there is no shared schema schemas/nope.json")],
        ),
        (
            "type: NUMBER\nvalue: 0\nschema: {$ref: schemas/positive-number.json}\n",
            [("value", "$: 0 is less than or equal to the minimum of 0")],
        ),
        (
            "type: JSON\nvalue: {maxAttempts: 0, initialBackoffMs: -5}\n"
            "schema: {$ref: schemas/retry-policy.json}\n",
            [
                ("value", "$.initialBackoffMs: -5 is less than or equal to the minimum of 0"),
                ("value", "$.maxAttempts: 0 is less than the minimum of 1"),
            ],
        ),
        (
            "type: STRING\nvalue: x\nschema: {type: string, minLength: 2}\n",
            [("value", "$: 'x' is too short")],
        ),
    ],
)
def test_load_errors(text: str, expected: list[tuple[str, str]]) -> None:
    errors = load_errors(text)
    assert len(errors) == len(expected), errors
    for error, (field, message) in zip(errors, expected, strict=True):
        assert error.field == field
        assert message in error.message, error.message


def test_load_rejects_bytes_that_are_not_utf8() -> None:
    with pytest.raises(BadRequest) as caught:
        configfile.load(b"type: STRING\nvalue: \xff\xfe\n", {})
    [error] = caught.value.errors
    assert error.field == ""
    assert error.message.startswith("not UTF-8 text")


def test_load_reports_every_problem_at_once() -> None:
    errors = load_errors(
        "type: NUMBR\nvalue: 5\ndescription: 5\ntags: x\nschema: {type: 5}\nowner: me\n"
    )
    assert [error.field for error in errors] == ["owner", "type", "description", "tags", "schema"]


def test_value_failing_its_type_is_not_also_validated_against_its_schema() -> None:
    errors = load_errors(
        "type: NUMBER\nvalue: lots\nschema: {$ref: schemas/positive-number.json}\n"
    )
    assert errors == [FieldError("value", "must be a number for type NUMBER, not a string")]


def test_errors_never_echo_a_secret() -> None:
    errors = load_errors("type: SECRET\nvalue: hunter2-plaintext\nschema: {minLength: 50}\n")
    assert all("hunter2" not in error.message for error in errors)


# -- render --------------------------------------------------------------------------------------


def test_render_is_block_style_in_field_order() -> None:
    doc = ConfigDocument(
        ValueType.JSON,
        {"maxAttempts": 3, "retryOn": ["timeout", "throttled"], "hosts": [{"host": "a"}]},
        "Retries of order submissions",
        {"$ref": "schemas/retry-policy.json"},
        ("resilience", "orders"),
    )
    assert configfile.render(doc).decode() == (
        "type: JSON\n"
        "value:\n"
        "  maxAttempts: 3\n"
        "  retryOn: [timeout, throttled]\n"
        "  hosts:\n"
        "    - host: a\n"
        "description: Retries of order submissions\n"
        "schema: {$ref: schemas/retry-policy.json}\n"
        "tags: [resilience, orders]\n"
    )


def test_render_secret_keeps_sops_metadata_last() -> None:
    doc = load(f"{SOPS}tags: [db]\nvalue: {ENC}\ntype: SECRET\n")
    text = configfile.render(doc).decode()
    assert text.startswith(f"type: SECRET\nvalue: {ENC}\ntags: [db]\nsops:\n")
    assert load(text) == doc


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ("true", "value: 'true'"),
        ("false", "value: 'false'"),
        ("null", "value: 'null'"),
        ("~", "value: '~'"),
        ("", "value: ''"),
        ("1e3", "value: '1e3'"),  # a float in YAML 1.2
        ("0o17", "value: '0o17'"),
        ("0x1F", "value: '0x1F'"),
        ("250000", "value: '250000'"),
        ("-.5", "value: '-.5'"),
        (".inf", "value: '.inf'"),
        ("yes", "value: 'yes'"),  # a boolean in YAML 1.1: quoted for other tools
        ("off", "value: 'off'"),
        ("2024-01-01", "value: '2024-01-01'"),
        ("1_000", "value: '1_000'"),
        ("1:30", "value: '1:30'"),
        ("- a", "value: '- a'"),
        ("#x", "value: '#x'"),
        ("a: b", "value: 'a: b'"),
        (" padded ", "value: ' padded '"),
        ("it's", "value: it's"),
        ("price-time", "value: price-time"),
        ("two\nlines", "value: |-\n  two\n  lines"),
        ("tab\there", 'value: "tab\\there"'),
    ],
)
def test_render_quotes_strings_that_look_like_other_types(value: str, line: str) -> None:
    doc = ConfigDocument(ValueType.STRING, value)
    text = configfile.render(doc).decode()
    assert text == f"type: STRING\n{line}\n"
    assert load(text) == doc


def test_render_writes_no_anchors_for_shared_objects() -> None:
    shared = {"a": 1}
    doc = ConfigDocument(ValueType.JSON, {"x": shared, "y": shared})
    text = configfile.render(doc).decode()
    assert "&" not in text
    assert load(text) == doc


# -- round trips -----------------------------------------------------------------------------------

TEXT = st.text(max_size=30)
TAGS = st.lists(st.text(min_size=1, max_size=50), max_size=4, unique=True).map(tuple)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
NUMBERS = st.integers(min_value=-(10**308), max_value=10**308) | FLOATS
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | FLOATS | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)
DOCUMENTS = st.one_of(
    st.builds(ConfigDocument, st.just(ValueType.STRING), st.text()),
    st.builds(ConfigDocument, st.just(ValueType.NUMBER), NUMBERS),
    st.builds(ConfigDocument, st.just(ValueType.BOOLEAN), st.booleans()),
    st.builds(ConfigDocument, st.just(ValueType.JSON), JSON_VALUES),
)


@given(DOCUMENTS, st.none() | st.text(), TAGS)
def test_render_load_round_trip(doc: ConfigDocument, description: str | None, tags: Any) -> None:
    doc = ConfigDocument(doc.value_type, doc.value, description, None, tags)
    assert configfile.load(configfile.render(doc), {}) == doc


@given(DOCUMENTS)
def test_value_text_round_trips_through_requests(doc: ConfigDocument) -> None:
    text = configfile.value_text(doc)
    again = configfile.from_request(
        value_type=doc.value_type.value,
        value=text,
        description=None,
        schema=None,
        tags=None,
        schemas={},
    )
    assert configfile.value_text(again) == text
    if doc.value_type is ValueType.NUMBER:
        assert float(again.value) == float(doc.value)
    elif doc.value_type is ValueType.JSON:
        assert json.loads(text) == doc.value
    else:
        assert again.value == doc.value


@given(FLOATS)
def test_number_text_is_plain_decimal(number: float) -> None:
    text = configfile.value_text(ConfigDocument(ValueType.NUMBER, number))
    assert "e" not in text.lower()
    assert not text.endswith(".")
    assert not (text.endswith("0") and "." in text)
    assert float(text) == number


# -- value text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value_type", "value", "text"),
    [
        (ValueType.STRING, "price-time", "price-time"),
        (ValueType.STRING, "", ""),
        (ValueType.NUMBER, 250000, "250000"),
        (ValueType.NUMBER, 250000.0, "250000"),
        (ValueType.NUMBER, 0.5, "0.5"),
        (ValueType.NUMBER, -2, "-2"),
        (ValueType.NUMBER, 0.1 + 0.2, "0.30000000000000004"),
        (ValueType.NUMBER, 1e21, "1000000000000000000000"),
        (ValueType.NUMBER, 10**21, "1000000000000000000000"),
        (ValueType.NUMBER, 1.5e-7, "0.00000015"),
        (ValueType.NUMBER, -0.0, "0"),
        (ValueType.NUMBER, 12345678901234567890, "12345678901234567890"),
        (ValueType.BOOLEAN, True, "true"),
        (ValueType.BOOLEAN, False, "false"),
        (ValueType.JSON, {"b": 1, "a": [1.5, None, "é"]}, '{"b":1,"a":[1.5,null,"é"]}'),
        (ValueType.JSON, "text", '"text"'),
        (ValueType.JSON, None, "null"),
        (ValueType.SECRET, ENC, ENC),
    ],
)
def test_value_text(value_type: ValueType, value: Any, text: str) -> None:
    assert configfile.value_text(ConfigDocument(value_type, value)) == text


def test_schema_text() -> None:
    assert configfile.schema_text(ConfigDocument(ValueType.STRING, "x")) is None
    doc = ConfigDocument(ValueType.NUMBER, 1, schema={"type": "number", "minimum": 0})
    assert configfile.schema_text(doc) == '{"type":"number","minimum":0}'


# -- from_request ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value_type", "value", "expected"),
    [
        ("STRING", "  spaced  ", "  spaced  "),
        ("STRING", "", ""),
        ("NUMBER", "250000", 250000),
        ("NUMBER", "250000.0", 250000),
        ("NUMBER", "2.5e5", 250000),
        ("NUMBER", "1e21", 10**21),
        ("NUMBER", "0.5", 0.5),
        ("NUMBER", "-.5", -0.5),
        ("NUMBER", "+7", 7),
        ("NUMBER", "12345678901234567890", 12345678901234567890),
        ("BOOLEAN", "true", True),
        ("BOOLEAN", "FALSE", False),
        ("BOOLEAN", "True", True),
        (
            "JSON",
            '{"engine": "v2", "weights": [0.5, 0.5]}',
            {"engine": "v2", "weights": [0.5, 0.5]},
        ),
        ("JSON", "null", None),
        ("JSON", '"text"', "text"),
        ("JSON", " [1, 2] ", [1, 2]),
    ],
)
def test_from_request(value_type: str, value: str, expected: Any) -> None:
    doc = configfile.from_request(
        value_type=value_type,
        value=value,
        description="d",
        schema=None,
        tags=["a", "b"],
        schemas=SCHEMAS,
    )
    assert doc == ConfigDocument(ValueType(value_type), expected, "d", None, ("a", "b"))
    assert type(doc.value) is type(expected)


def test_from_request_with_schemas() -> None:
    doc = configfile.from_request(
        value_type="JSON",
        value='{"maxAttempts": 3, "initialBackoffMs": 100}',
        description=None,
        schema='{"$ref": "schemas/retry-policy.json"}',
        tags=None,
        schemas=SCHEMAS,
    )
    assert doc.schema == {"$ref": "schemas/retry-policy.json"}
    assert configfile.references(doc) == "schemas/retry-policy.json"
    blank = configfile.from_request(
        value_type="NUMBER", value="1", description=None, schema=" ", tags=None, schemas={}
    )
    assert blank.schema is None  # "" means no schema: how an update removes one


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"value_type": "SECRET", "value": ""},
            [("value", "a SECRET value must be non-empty text")],
        ),
        (
            {"value_type": "INTEGER"},
            [("valueType", "must be one of STRING, NUMBER, BOOLEAN, JSON, SECRET")],
        ),
        ({"value_type": "number", "value": "1"}, [("valueType", "must be one of")]),
        (
            {"value_type": "NUMBER", "value": ""},
            [("value", "must be a decimal number for type NUMBER")],
        ),
        ({"value_type": "NUMBER", "value": "abc"}, [("value", "must be a decimal number")]),
        ({"value_type": "NUMBER", "value": "NaN"}, [("value", "must be a decimal number")]),
        ({"value_type": "NUMBER", "value": "Infinity"}, [("value", "must be a decimal number")]),
        ({"value_type": "NUMBER", "value": "-inf"}, [("value", "must be a decimal number")]),
        ({"value_type": "NUMBER", "value": " 1"}, [("value", "must be a decimal number")]),
        ({"value_type": "NUMBER", "value": "1_000"}, [("value", "must be a decimal number")]),
        ({"value_type": "NUMBER", "value": "0x10"}, [("value", "must be a decimal number")]),
        (
            {"value_type": "NUMBER", "value": "1e400"},
            [("value", "is out of range (beyond ±1.8e308)")],
        ),
        ({"value_type": "NUMBER", "value": "1e-400"}, [("value", "is too close to zero")]),
        ({"value_type": "NUMBER", "value": "1e999999999999"}, [("value", "is out of range")]),
        (
            {"value_type": "BOOLEAN", "value": "yes"},
            [("value", "must be true or false for type BOOLEAN")],
        ),
        ({"value_type": "BOOLEAN", "value": "1"}, [("value", "must be true or false")]),
        ({"value_type": "JSON", "value": ""}, [("value", "not JSON: Expecting value")]),
        (
            {"value_type": "JSON", "value": "{a: 1}"},
            [("value", "not JSON: Expecting property name")],
        ),
        ({"value_type": "JSON", "value": "NaN"}, [("value", "not JSON: NaN is not JSON")]),
        (
            {"value_type": "JSON", "value": "[1e999]"},
            [("value", "not JSON: 1e999 is out of range")],
        ),
        (
            {"value_type": "JSON", "value": '{"a": 1, "a": 2}'},
            [("value", "not JSON: duplicate key 'a'")],
        ),
        ({"value_type": "JSON", "value": "[" * 100000}, [("value", "not JSON")]),
        ({"value_type": "JSON", "value": '"\\ud800"'}, [("value", "lone surrogate")]),
        ({"value": "\ud800"}, [("value", "lone surrogate")]),
        ({"description": "\udfff"}, [("description", "lone surrogate")]),
        ({"tags": ["risk", ""]}, [("tags", "a tag must not be empty")]),
        ({"tags": ["a", "a"]}, [("tags", "duplicate tags: a")]),
        ({"tags": ["t" * 51]}, [("tags", "a tag has at most 50 characters")]),
        ({"schema": "{"}, [("schema", "not JSON: Expecting property name")]),
        ({"schema": "[1]"}, [("schema", "must be a JSON object")]),
        ({"schema": '"string"'}, [("schema", "must be a JSON object")]),
        ({"schema": '{"type": "strin"}'}, [("schema", "not a valid JSON Schema: $.type:")]),
        (
            {"schema": '{"$ref": "schemas/nope.json"}'},
            [("schema", "there is no shared schema schemas/nope.json")],
        ),
        ({"schema": '{"type": "string", "minLength": 2}'}, [("value", "$: 'x' is too short")]),
        (
            {
                "value_type": "NUMBER",
                "value": "-5",
                "schema": '{"$ref": "schemas/positive-number.json"}',
            },
            [("value", "$: -5 is less than or equal to the minimum of 0")],
        ),
        (  # every problem at once
            {"value_type": "NUMBR", "tags": ["a", "a"], "schema": "{", "description": "\ud800"},
            [
                ("valueType", "must be one of"),
                ("description", "lone surrogate"),
                ("tags", "duplicate"),
                ("schema", "not JSON"),
            ],
        ),
        (  # a value that is not of its type is not validated against the schema
            {"value_type": "NUMBER", "value": "x", "schema": '{"minimum": 5}'},
            [("value", "must be a decimal number")],
        ),
    ],
)
def test_from_request_errors(fields: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    errors = request_errors(**fields)
    assert len(errors) == len(expected), errors
    for error, (field, message) in zip(errors, expected, strict=True):
        assert error.field == field
        assert message in error.message, error.message


def test_from_request_never_echoes_a_secret() -> None:
    schema = '{"type": "string", "minLength": 40, "pattern": "^x"}'
    errors = request_errors(value_type="SECRET", value="hunter2", schema=schema)
    assert [e.field for e in errors] == ["value", "value"]
    assert all("hunter2" not in e.message for e in errors)
    assert "minLength" in errors[0].message or "minLength" in errors[1].message


def test_a_secret_from_a_request_is_plaintext_until_encrypted_and_never_shown() -> None:
    doc = configfile.from_request(
        value_type="SECRET", value="hunter2", description=None, schema=None, tags=None, schemas={}
    )
    assert configfile.is_plaintext_secret(doc)
    assert doc.value == "hunter2"
    assert "hunter2" not in repr(doc)
    assert configfile.api_value_text(doc, reveal=False) == configfile.MASK


# -- shared schemas change ----------------------------------------------------------------------


def test_check_revalidates_against_changed_shared_schemas() -> None:
    doc = load("type: NUMBER\nvalue: 5\nschema: {$ref: schemas/positive-number.json}\n")
    assert configfile.check(doc, SCHEMAS) == []
    stricter = {**SCHEMAS, "schemas/positive-number.json": {"type": "number", "minimum": 10}}
    assert configfile.check(doc, stricter) == [
        FieldError("value", "$: 5 is less than the minimum of 10")
    ]
    assert configfile.check(doc, {}) == [
        FieldError(
            "schema",
            "$ref 'schemas/positive-number.json': "
            "there is no shared schema schemas/positive-number.json",
        )
    ]


def test_check_of_a_document_without_schema() -> None:
    assert configfile.check(ConfigDocument(ValueType.STRING, "x"), {}) == []


def test_check_skips_a_secret_value_but_not_its_schema() -> None:
    doc = ConfigDocument(ValueType.SECRET, ENC, schema={"$ref": "schemas/pin.json"}, sops={})
    assert configfile.check(doc, {"schemas/pin.json": {"type": "integer"}}) == []
    assert [e.field for e in configfile.check(doc, {})] == ["schema"]


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (None, None),
        ({"type": "number"}, None),
        ({"$ref": "schemas/positive-number.json"}, "schemas/positive-number.json"),
        ({"$ref": "/schemas/positive-number.json"}, "schemas/positive-number.json"),
        ({"items": {"$ref": "schemas/endpoint.json"}}, "schemas/endpoint.json"),
        ({"$defs": {"a": {}}, "$ref": "#/$defs/a"}, None),
    ],
)
def test_references(schema: dict[str, Any] | None, expected: str | None) -> None:
    assert configfile.references(ConfigDocument(ValueType.JSON, 1, schema=schema)) == expected


def test_remembered_tags_still_meet_the_depth_limit() -> None:
    """Tags of a valid file are remembered (``_TAG_SETS``) so that later files skip their
    checks; a request made under a depth limit that refuses any list must still be refused
    when a file with the same tags was read before, as it is when none was."""

    def request_errors() -> list[tuple[str, str]]:
        try:
            configfile.from_request(
                value_type="STRING",
                value="x",
                description=None,
                schema=None,
                tags=["depth-zero"],
                schemas={},
            )
        except BadRequest as exc:
            return [(e.field, e.message) for e in exc.errors]
        return []

    try:
        limits.configure(dataclasses.replace(limits.current(), depth=0))
        fresh = request_errors()
        limits.configure(None)
        configfile.load(b"type: STRING\nvalue: x\ntags: [depth-zero]\n", {})
        limits.configure(dataclasses.replace(limits.current(), depth=0))
        assert request_errors() == fresh != []
    finally:
        limits.configure(None)
