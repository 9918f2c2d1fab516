"""The operators beyond the seed's: GREATER_THAN_OR_EQUALS, LESS_THAN_OR_EQUALS and the SemVer
2.0.0 operators (golden precedence table from the specification, write-time validation); the
operator table (``core.operators``) and its examples."""

from __future__ import annotations

import itertools

import pytest

from gitconfig.core import flagfile, yamltext
from gitconfig.core.errors import BadRequest
from gitconfig.core.evaluation import evaluate
from gitconfig.core.model import Condition, FlagDocument, FlagRule
from gitconfig.core.operands import semver_key
from gitconfig.core.operators import (
    NAMES,
    OPERATORS,
    ORDERED_OPERATORS,
    SEMVER_OPERATORS,
    Operand,
    Operator,
    OperatorSpec,
)
from tests.support.operators import SEMVER_CASES

# Semantic Versioning 2.0.0, section 11, in order of precedence (the spec's own example).
SPEC_PRECEDENCE = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
]
# Section 11.2: 1.0.0 < 2.0.0 < 2.1.0 < 2.1.1 (numerically, not as text).
SPEC_RELEASES = ["1.0.0", "2.0.0", "2.1.0", "2.1.1", "2.10.0", "10.0.0"]


def _matches(operator: str, values: list[str], actual: str | None) -> bool:
    rule = FlagRule(conditions=(Condition("attr", operator, tuple(values)),))
    document = FlagDocument(description="test", enabled=True, rules=(rule,))
    attributes = {} if actual is None else {"attr": actual}
    return evaluate("flag", document, "user-1", attributes).enabled


@pytest.mark.parametrize("table", [SPEC_PRECEDENCE, SPEC_RELEASES])
def test_semver_key_orders_the_specification_table(table: list[str]) -> None:
    keys = [semver_key(version) for version in table]
    assert all(key is not None for key in keys)
    for (low, low_key), (high, high_key) in itertools.combinations(
        zip(table, keys, strict=True), 2
    ):
        assert low_key < high_key, f"{low} < {high}"  # type: ignore[operator]


@pytest.mark.parametrize(("low", "high"), list(itertools.combinations(SPEC_PRECEDENCE, 2)))
def test_semver_operators_follow_the_specification_table(low: str, high: str) -> None:
    assert _matches("SEMVER_GREATER_THAN", [low], high)
    assert not _matches("SEMVER_GREATER_THAN", [high], low)
    assert _matches("SEMVER_LESS_THAN", [high], low)
    assert not _matches("SEMVER_LESS_THAN", [low], high)
    assert not _matches("SEMVER_EQUALS", [low], high)


@pytest.mark.parametrize(("operator", "values", "actual", "matches"), SEMVER_CASES)
def test_new_operators(operator: str, values: list[str], actual: str | None, matches: bool) -> None:
    assert _matches(operator, values, actual) is matches


@pytest.mark.parametrize(
    ("operator", "value"),
    [
        ("SEMVER_GREATER_THAN", "5.2"),
        ("SEMVER_EQUALS", "v5.2.0"),
        ("SEMVER_LESS_THAN", "1.0.0-01"),  # numeric identifiers have no leading zero
        ("SEMVER_EQUALS", "1.0.0-"),
        ("GREATER_THAN_OR_EQUALS", "ten"),
        ("LESS_THAN_OR_EQUALS", "5.2.0"),
    ],
)
def test_a_rule_value_of_the_wrong_kind_is_refused_at_write_time(operator: str, value: str) -> None:
    with pytest.raises(BadRequest) as caught:
        flagfile.parse_mapping(
            {
                "description": "d",
                "rules": [{"attribute": "a", "operator": operator, "values": [value]}],
            }
        )
    (error,) = caught.value.errors
    assert error.field == "rules.0.values.0"
    assert operator in error.message


def test_semver_rule_round_trips_through_the_file() -> None:
    text = (
        b"description: Mobile rollout\n"
        b"enabled: true\n"
        b"rules:\n"
        b"  - {attribute: appVersion, operator: SEMVER_GREATER_THAN, values: [5.2.0-rc.1]}\n"
        b"  - {attribute: apiLevel, operator: GREATER_THAN_OR_EQUALS, values: [33]}\n"
    )
    document = flagfile.load(text)
    assert flagfile.load(flagfile.render(document)) == document
    assert evaluate("f", document, "u", {"appVersion": "5.2.0"}).reason == "TARGETING_MATCH"
    assert evaluate("f", document, "u", {"apiLevel": "33"}).rule_index == 1
    assert not evaluate("f", document, "u", {"appVersion": "5.2.0-beta"}).enabled


# -- the operator table (core.operators) ----------------------------------------------------------


def test_the_table_has_every_operator_once_in_the_enum_order() -> None:
    assert [spec.operator for spec in OPERATORS] == list(Operator)
    assert ", ".join(Operator) == NAMES


@pytest.mark.parametrize("spec", OPERATORS, ids=lambda spec: spec.operator.value)
def test_each_example_is_a_valid_condition_of_its_operator(spec: OperatorSpec) -> None:
    condition = yamltext.parse(spec.example.encode())
    document = flagfile.parse_mapping({"description": "example", "rules": [condition]})
    (rule,) = document.rules
    (parsed,) = rule.conditions
    assert parsed.operator == spec.operator


def test_the_operand_kinds_are_the_ones_the_validator_checks() -> None:
    assert {
        Operator.GREATER_THAN,
        Operator.LESS_THAN,
        Operator.GREATER_THAN_OR_EQUALS,
        Operator.LESS_THAN_OR_EQUALS,
    } == ORDERED_OPERATORS
    assert {
        Operator.SEMVER_EQUALS,
        Operator.SEMVER_GREATER_THAN,
        Operator.SEMVER_LESS_THAN,
    } == SEMVER_OPERATORS
    (matches,) = [spec for spec in OPERATORS if spec.operand is Operand.PATTERN]
    assert matches.operator is Operator.MATCHES
