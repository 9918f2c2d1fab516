"""The flag file: every validation error with its field path, the schema, round trips."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitconfig.core import flagfile, yamltext
from gitconfig.core.errors import BadRequest, FieldError
from gitconfig.core.evaluation import compile_flag
from gitconfig.core.model import Condition, FlagDocument, FlagRule
from gitconfig.core.operators import ORDERED_OPERATORS, SEMVER_OPERATORS, Operator

SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "flag.schema.json").read_text("utf-8"))
SCHEMA_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

DESIGN_EXAMPLE = b"""\
description: Route orders through the v2 matching engine
enabled: true
value: {engine: v2}       # optional JSON value returned with the evaluation
rules:                    # ordered; the first rule whose condition matches decides
  - attribute: region
    operator: IN
    values: [EU, UK]
  - attribute: userId
    operator: STARTS_WITH
    values: [desk-7]
    percentage: 50
  - conditions:           # AND of several conditions
      - {attribute: region, operator: IN, values: [US]}
      - {attribute: plan, operator: EQUALS, values: [pro]}
    percentage: 50
    bucketBy: accountId     # bucket by this attribute instead of userId
  - percentage: 10        # no condition: matches everyone, 10% rollout
tags: [matching]
"""


def _errors(data: object, prefix: str = "") -> list[tuple[str, str]]:
    with pytest.raises(BadRequest) as caught:
        flagfile.parse_mapping(data, prefix)
    return [(error.field, error.message) for error in caught.value.errors]


def _fields(data: object, prefix: str = "") -> list[str]:
    return [field for field, _ in _errors(data, prefix)]


def test_design_example_loads() -> None:
    document = flagfile.load(DESIGN_EXAMPLE)
    assert document == FlagDocument(
        description="Route orders through the v2 matching engine",
        enabled=True,
        value={"engine": "v2"},
        rules=(
            FlagRule(conditions=(Condition("region", "IN", ("EU", "UK")),)),
            FlagRule(conditions=(Condition("userId", "STARTS_WITH", ("desk-7",)),), percentage=50),
            FlagRule(
                conditions=(
                    Condition("region", "IN", ("US",)),
                    Condition("plan", "EQUALS", ("pro",)),
                ),
                percentage=50,
                bucket_by="accountId",
            ),
            FlagRule(percentage=10),
        ),
        tags=("matching",),
    )


def test_minimal_flag_has_defaults() -> None:
    assert flagfile.parse_mapping({"description": "x"}) == FlagDocument(description="x")


def test_null_optional_fields_count_as_absent() -> None:
    data = {
        "description": "x",
        "enabled": None,
        "value": None,
        "rules": [{"attribute": None, "percentage": 5, "bucketBy": None, "conditions": None}],
        "tags": None,
    }
    assert flagfile.parse_mapping(data) == FlagDocument("x", rules=(FlagRule(percentage=5),))


def test_attribute_form_and_conditions_are_anded_in_order() -> None:
    rule = {
        "attribute": "region",
        "operator": "IN",
        "values": ["US"],
        "conditions": [{"attribute": "plan", "operator": "EQUALS", "values": ["pro"]}],
    }
    document = flagfile.parse_mapping({"description": "x", "rules": [rule]})
    assert document.rules[0].conditions == (
        Condition("region", "IN", ("US",)),
        Condition("plan", "EQUALS", ("pro",)),
    )


def test_yaml_is_the_repository_dialect() -> None:
    """YAML 1.2 core types (``yamltext``): NO, yes and dates are strings; numbers are numbers,
    accepted as text only where they are compared as numbers."""
    document = flagfile.load(
        b"description: x\n"
        b"rules:\n"
        b"  - {attribute: country, operator: IN, values: [NO, SE, yes]}\n"
        b"  - {attribute: notional, operator: GREATER_THAN, values: [250000, 1.5]}\n"
        b"  - {attribute: since, operator: LESS_THAN, values: [2026-01-31, 2026-01-31T09:30:00Z]}\n"
    )
    assert [rule.conditions[0].values for rule in document.rules] == [
        ("NO", "SE", "yes"),
        ("250000", "1.5"),
        ("2026-01-31", "2026-01-31T09:30:00Z"),
    ]


def test_python_dates_are_accepted_by_ordered_operators() -> None:
    rule = {"attribute": "since", "operator": "GREATER_THAN", "values": [date(2026, 1, 31)]}
    document = flagfile.parse_mapping({"description": "x", "rules": [rule]})
    assert document.rules[0].conditions[0].values == ("2026-01-31",)


VALID_RULE = {"attribute": "region", "operator": "IN", "values": ["EU"]}

ERROR_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    # name, flag (merged over a valid one), field, message fragment
    ("unknown field", {"owner": "me"}, "owner", "unknown field"),
    ("missing description", {"description": None}, "description", "is required"),
    ("empty description", {"description": "  "}, "description", "must not be empty"),
    ("description type", {"description": 5}, "description", "must be a string"),
    ("enabled type", {"enabled": "yes"}, "enabled", "must be true or false"),
    ("value scalar", {"value": "v2"}, "value", "JSON object"),
    ("value nan", {"value": {"limit": float("nan")}}, "value.limit", "finite number"),
    ("value key", {"value": {"a": {1: "x"}}}, "value.a.1", "keys must be strings"),
    ("value set", {"value": {"a": [{1, 2}]}}, "value.a.0", "JSON value"),
    ("rules type", {"rules": {"region": "EU"}}, "rules", "must be a list"),
    ("rule type", {"rules": [VALID_RULE, "EU"]}, "rules.1", "must be a mapping"),
    ("rule unknown field", {"rules": [{**VALID_RULE, "weight": 5}]}, "rules.0.weight", "unknown"),
    (
        "unknown operator",
        {"rules": [VALID_RULE, {**VALID_RULE, "operator": "LIKE"}]},
        "rules.1.operator",
        "unknown operator 'LIKE'",
    ),
    (
        "lower-case operator",
        {"rules": [{**VALID_RULE, "operator": "in"}]},
        "rules.0.operator",
        "upper case: IN",
    ),
    (
        "missing operator",
        {"rules": [{"attribute": "region", "values": ["EU"]}]},
        "rules.0.operator",
        "is required",
    ),
    (
        "missing attribute",
        {"rules": [{"operator": "IN", "values": ["EU"]}]},
        "rules.0.attribute",
        "is required",
    ),
    (
        "empty attribute",
        {"rules": [{**VALID_RULE, "attribute": ""}]},
        "rules.0.attribute",
        "non-empty string",
    ),
    (
        "long attribute",
        {"rules": [{**VALID_RULE, "attribute": "a" * 101}]},
        "rules.0.attribute",
        "at most 100",
    ),
    (
        "missing values",
        {"rules": [{"attribute": "region", "operator": "IN"}]},
        "rules.0.values",
        "is required",
    ),
    (
        "empty values",
        {"rules": [{**VALID_RULE, "values": []}]},
        "rules.0.values",
        "non-empty list",
    ),
    (
        "values not a list",
        {"rules": [{**VALID_RULE, "values": "EU"}]},
        "rules.0.values",
        "non-empty list",
    ),
    (
        "boolean value (YAML NO)",
        {"rules": [{**VALID_RULE, "values": ["SE", False]}]},
        "rules.0.values.1",
        "not a boolean; quote it",
    ),
    (
        "number in a string operator",
        {"rules": [{**VALID_RULE, "values": [7]}]},
        "rules.0.values.0",
        "not a number; quote it",
    ),
    (
        "long value",
        {"rules": [{**VALID_RULE, "values": ["x" * 256]}]},
        "rules.0.values.0",
        "at most 255",
    ),
    (
        "pattern that does not compile",
        {"rules": [{"attribute": "a", "operator": "MATCHES", "values": ["ok", "(unclosed"]}]},
        "rules.0.values.1",
        "not a valid RE2 pattern: missing )",
    ),
    (
        "backtracking-only pattern",
        {"rules": [{"attribute": "a", "operator": "MATCHES", "values": [r"(a)\1"]}]},
        "rules.0.values.0",
        "not a valid RE2 pattern",
    ),
    (
        "greater than a word",
        {"rules": [{"attribute": "a", "operator": "GREATER_THAN", "values": ["ten"]}]},
        "rules.0.values.0",
        "number or an ISO-8601 instant",
    ),
    (
        "less than a boolean",
        {"rules": [{"attribute": "a", "operator": "LESS_THAN", "values": [True]}]},
        "rules.0.values.0",
        "not a boolean",
    ),
    (
        "conditions not a list",
        {"rules": [{"conditions": VALID_RULE}]},
        "rules.0.conditions",
        "must be a list",
    ),
    (
        "condition not a mapping",
        {"rules": [{"conditions": [VALID_RULE, "x"]}]},
        "rules.0.conditions.1",
        "must be a mapping",
    ),
    (
        "condition unknown field",
        {"rules": [{"conditions": [{**VALID_RULE, "percentage": 5}]}]},
        "rules.0.conditions.0.percentage",
        "unknown field",
    ),
    (
        "condition values",
        {"rules": [{"conditions": [VALID_RULE, {**VALID_RULE, "values": []}]}]},
        "rules.0.conditions.1.values",
        "non-empty list",
    ),
    (
        "condition operator",
        {"rules": [{"conditions": [{**VALID_RULE, "operator": "BETWEEN"}]}]},
        "rules.0.conditions.0.operator",
        "unknown operator",
    ),
    ("percentage above 100", {"rules": [{"percentage": 101}]}, "rules.0.percentage", "0 to 100"),
    ("negative percentage", {"rules": [{"percentage": -1}]}, "rules.0.percentage", "0 to 100"),
    ("fractional percentage", {"rules": [{"percentage": 2.5}]}, "rules.0.percentage", "integer"),
    ("boolean percentage", {"rules": [{"percentage": True}]}, "rules.0.percentage", "integer"),
    ("text percentage", {"rules": [{"percentage": "10"}]}, "rules.0.percentage", "integer"),
    (
        "bucketBy type",
        {"rules": [{"percentage": 10, "bucketBy": 5}]},
        "rules.0.bucketBy",
        "non-empty string",
    ),
    (
        "bucketBy without percentage",
        {"rules": [{**VALID_RULE, "bucketBy": "accountId"}]},
        "rules.0.bucketBy",
        "only to a rule with a percentage",
    ),
    ("tags type", {"tags": "risk"}, "tags", "must be a list"),
    ("tag type", {"tags": ["risk", 5]}, "tags.1", "non-empty string"),
    ("empty tag", {"tags": [""]}, "tags.0", "non-empty string"),
    ("long tag", {"tags": ["t" * 51]}, "tags.0", "at most 50"),
    ("duplicate tag", {"tags": ["risk", "limits", "risk"]}, "tags.2", "duplicate tag"),
]


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_validation_error(changes: dict[str, Any], field: str, fragment: str) -> None:
    data = {"description": "A flag", "enabled": True, **changes}
    found = _errors(data)
    assert [error for error in found if error[0] == field and fragment in error[1]], found
    assert len(found) == 1, found


def test_every_problem_is_reported_at_once() -> None:
    data = {
        "description": "",
        "enabled": "on",
        "extra": 1,
        "rules": [
            {"attribute": "region", "operator": "in", "values": ["EU"]},
            {
                "conditions": [
                    {"attribute": "a", "operator": "MATCHES", "values": ["("]},
                    {"attribute": "b", "operator": "GREATER_THAN", "values": ["x"]},
                ],
                "percentage": 200,
            },
        ],
        "tags": ["a", "a"],
    }
    assert _fields(data) == [
        "extra",
        "description",
        "enabled",
        "rules.0.operator",
        "rules.1.conditions.0.values.0",
        "rules.1.conditions.1.values.0",
        "rules.1.percentage",
        "tags.1",
    ]


def test_wrong_types_anywhere_are_errors_not_crashes() -> None:
    data = {
        "description": ["a"],
        "enabled": [True],
        "value": {"a": object()},
        "rules": [
            {"attribute": ["a"], "operator": ["IN"], "values": [{"a": 1}, ["x"], None]},
            {"conditions": [{"attribute": {}, "operator": {}, "values": {}}], "percentage": []},
            {"percentage": 5, "bucketBy": ["a"]},
        ],
        "tags": [["a"], {"b": 1}, None],
    }
    assert _fields(data) == [
        "description",
        "enabled",
        "value.a",
        "rules.0.attribute",
        "rules.0.operator",
        "rules.0.values.0",
        "rules.0.values.1",
        "rules.0.values.2",
        "rules.1.conditions.0.attribute",
        "rules.1.conditions.0.operator",
        "rules.1.conditions.0.values",
        "rules.1.percentage",
        "rules.2.bucketBy",
        "tags.0",
        "tags.1",
        "tags.2",
    ]


def test_prefix_is_prepended() -> None:
    data = {"enabled": 1, "rules": [{"percentage": 101}]}
    assert _fields(data, "flag.") == ["flag.description", "flag.enabled", "flag.rules.0.percentage"]
    assert _fields([], "flag.") == ["flag"]
    assert _fields([]) == [""]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"description: [unclosed", "not valid YAML (line 2"),
        (b"description: a\ndescription: b\n", "duplicate key 'description'"),
        (b"description: &d a\nvalue: {x: *d}\n", "aliases (*name) are not allowed"),
        (b"description: a\n---\ndescription: b\n", "not valid YAML"),
        (b"description: \xff\n", "not UTF-8"),
        (b"- a list\n", "must be a mapping"),
        (b"", "must be a mapping"),
        (b"description: a\nvalue: {limit: .nan}\n", "finite number"),
        (b"description: a\nenabled: !!binary aGVsbG8=\n", "not valid YAML"),
    ],
)
def test_load_rejects_bad_files(data: bytes, fragment: str) -> None:
    with pytest.raises(BadRequest) as caught:
        flagfile.load(data)
    assert any(fragment in error.message for error in caught.value.errors), caught.value.errors


# -- rendering and round trips ----------------------------------------------------------------


def test_render_is_canonical() -> None:
    document = flagfile.load(DESIGN_EXAMPLE)
    assert flagfile.render(document).decode() == (
        "description: Route orders through the v2 matching engine\n"
        "enabled: true\n"
        "value:\n"
        "  engine: v2\n"
        "rules:\n"
        "  - attribute: region\n"
        "    operator: IN\n"
        "    values: [EU, UK]\n"
        "  - attribute: userId\n"
        "    operator: STARTS_WITH\n"
        "    values: [desk-7]\n"
        "    percentage: 50\n"
        "  - conditions:\n"
        "      - attribute: region\n"
        "        operator: IN\n"
        "        values: [US]\n"
        "      - attribute: plan\n"
        "        operator: EQUALS\n"
        "        values: [pro]\n"
        "    percentage: 50\n"
        "    bucketBy: accountId\n"
        "  - percentage: 10\n"
        "tags: [matching]\n"
    )


def test_to_mapping_uses_the_flat_form_for_one_condition() -> None:
    document = FlagDocument(
        "x",
        rules=(
            FlagRule(conditions=(Condition("desk", "IN", ("fx",)),), percentage=5, bucket_by="a"),
            FlagRule(),
        ),
    )
    assert flagfile.to_mapping(document) == {
        "description": "x",
        "enabled": False,
        "rules": [
            {
                "attribute": "desk",
                "operator": "IN",
                "values": ["fx"],
                "percentage": 5,
                "bucketBy": "a",
            },
            {},
        ],
    }


def test_tricky_strings_survive_a_round_trip() -> None:
    tricky = ("NO", "yes", "007", "1.10", "2026-01-01", "null", "~", "", " lead", "a: b", "#x", "é")
    document = FlagDocument(
        description="multi\nline: description #1",
        enabled=True,
        value={"nested": {"list": [1, 2.5, None, True, "NO"]}, "null": None},
        rules=(FlagRule(conditions=(Condition("desk", "IN", tricky),)),),
        tags=("on", "off"),
    )
    assert flagfile.load(flagfile.render(document)) == document


conditions = st.builds(
    Condition,
    attribute=st.text(min_size=1, max_size=20),
    operator=st.sampled_from(
        [
            op.value
            for op in Operator
            if op not in (Operator.MATCHES, *ORDERED_OPERATORS, *SEMVER_OPERATORS)
        ]
    ),
    values=st.lists(st.text(max_size=20), min_size=1, max_size=4).map(tuple),
)
ordered_conditions = st.builds(
    Condition,
    attribute=st.sampled_from(["notional", "since"]),
    operator=st.sampled_from(["GREATER_THAN", "LESS_THAN"]),
    values=st.lists(
        st.sampled_from(["0", "-1.5", "250000", "2026-01-31", "2026-01-31T09:30:00Z"]),
        min_size=1,
        max_size=3,
    ).map(tuple),
)
semver_conditions = st.builds(
    Condition,
    attribute=st.just("appVersion"),
    operator=st.sampled_from(sorted(op.value for op in SEMVER_OPERATORS)),
    values=st.lists(
        st.sampled_from(["5.2.0", "1.0.0-alpha.1", "1.0.0+build.7"]), min_size=1, max_size=3
    ).map(tuple),
)
rules = st.builds(
    FlagRule,
    conditions=st.lists(conditions | ordered_conditions | semver_conditions, max_size=3).map(tuple),
    percentage=st.none() | st.integers(0, 100),
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)  # beyond: refused, a double cannot hold them (gRPC Struct)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)
documents = st.builds(
    FlagDocument,
    description=st.text(min_size=1, max_size=40).filter(str.strip),
    enabled=st.booleans(),
    value=st.none() | st.dictionaries(st.text(max_size=8), json_values, min_size=1, max_size=3),
    rules=st.lists(rules, max_size=4).map(tuple),
    tags=st.lists(st.text(min_size=1, max_size=10), max_size=3, unique=True).map(tuple),
)


@given(documents)
def test_round_trip(document: FlagDocument) -> None:
    assert flagfile.parse_mapping(flagfile.to_mapping(document)) == document
    rendered = flagfile.render(document)
    assert flagfile.load(rendered) == document
    assert flagfile.render(flagfile.load(rendered)) == rendered
    # the JSON form (what a REST body carries) round-trips too, and the schema accepts it
    as_json = json.loads(json.dumps(flagfile.to_mapping(document)))
    assert flagfile.parse_mapping(as_json) == document
    assert list(SCHEMA_VALIDATOR.iter_errors(as_json)) == []


# -- the JSON Schema agrees with the validator ------------------------------------------------


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["additionalProperties"] is False


def test_schema_accepts_the_design_example() -> None:
    assert list(SCHEMA_VALIDATOR.iter_errors(yamltext.parse(DESIGN_EXAMPLE))) == []


SCHEMA_CHECKABLE = {
    "unknown field",
    "missing description",
    "enabled type",
    "value scalar",
    "rules type",
    "rule type",
    "rule unknown field",
    "unknown operator",
    "lower-case operator",
    "missing operator",
    "missing attribute",
    "empty attribute",
    "long attribute",
    "missing values",
    "empty values",
    "values not a list",
    "boolean value (YAML NO)",
    "number in a string operator",
    "long value",
    "less than a boolean",
    "conditions not a list",
    "condition not a mapping",
    "condition unknown field",
    "condition values",
    "condition operator",
    "percentage above 100",
    "negative percentage",
    "fractional percentage",
    "boolean percentage",
    "text percentage",
    "bucketBy type",
    "bucketBy without percentage",
    "tags type",
    "tag type",
    "empty tag",
    "long tag",
    "duplicate tag",
    "empty description",
}


@pytest.mark.parametrize(
    "changes",
    [case[1] for case in ERROR_CASES if case[0] in SCHEMA_CHECKABLE],
    ids=[case[0] for case in ERROR_CASES if case[0] in SCHEMA_CHECKABLE],
)
def test_schema_rejects_what_it_can_express(changes: dict[str, Any]) -> None:
    data = {"description": "A flag", "enabled": True, **changes}
    assert list(SCHEMA_VALIDATOR.iter_errors(data)) != []


# -- anything in, BadRequest or a compilable document out -----------------------------------

FIELD_NAMES = [*flagfile.FLAG_FIELDS, *flagfile.RULE_FIELDS, "x"]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 200)
    | st.floats(allow_nan=True)
    | st.sampled_from([*Operator, "in", "(", "2026-01-01", "10", "", "EU"])
    | st.text(max_size=5)
)
anything = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES), children, max_size=6)
    ),
    max_leaves=25,
)


@given(anything)
def test_any_input_is_a_document_or_a_bad_request(data: object) -> None:
    try:
        document = flagfile.parse_mapping(data)
    except BadRequest as exc:
        errors: list[FieldError] | None = exc.errors
    else:
        errors = None
    if errors is not None:
        assert errors  # a refusal names its fields
        return
    compiled = compile_flag("fuzz", document)
    compiled.evaluate("user", {"region": "EU", "x": "10"})
