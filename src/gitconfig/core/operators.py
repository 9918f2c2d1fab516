"""The operators of a flag rule's conditions, in one table: what each matches, what its values
are (its operand), what several values mean, and an example condition. Pure.

Everything that names the operators reads ``OPERATORS``: the operand kinds the validator
(``flagfile``) and the evaluator (``evaluation``) act on, ``NAMES`` (their error messages, the
REST ``operator`` field's description) and ``markdown()``, the operator table of
docs/flags.md (``tests/test_docs.py`` fails when the page or ``schemas/flag.schema.json``
drifts from this table; print ``markdown()`` and paste it there)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Operator(StrEnum):
    EQUALS = "EQUALS"
    NOT_EQUALS = "NOT_EQUALS"
    CONTAINS = "CONTAINS"
    NOT_CONTAINS = "NOT_CONTAINS"
    STARTS_WITH = "STARTS_WITH"
    ENDS_WITH = "ENDS_WITH"
    MATCHES = "MATCHES"
    IN = "IN"
    NOT_IN = "NOT_IN"
    GREATER_THAN = "GREATER_THAN"
    LESS_THAN = "LESS_THAN"
    GREATER_THAN_OR_EQUALS = "GREATER_THAN_OR_EQUALS"
    LESS_THAN_OR_EQUALS = "LESS_THAN_OR_EQUALS"
    SEMVER_EQUALS = "SEMVER_EQUALS"
    SEMVER_GREATER_THAN = "SEMVER_GREATER_THAN"
    SEMVER_LESS_THAN = "SEMVER_LESS_THAN"


class Operand(StrEnum):
    """What a rule's values (and the attribute they are compared with) must be."""

    TEXT = "text"
    PATTERN = "RE2 pattern"
    ORDERED = "number or ISO-8601 instant"
    SEMVER = "semantic version"


@dataclass(frozen=True)
class OperatorSpec:
    """One operator: it ``matches`` when the attribute…; ``several`` values mean…;
    ``example`` is a condition as a flag file writes it."""

    operator: Operator
    operand: Operand
    matches: str
    several: str
    example: str


_NUMBER_OR_INSTANT = "is a number / instant"
_SEMVER = "is a semantic version"

# In Operator's order: NAMES (and so every message that lists them) keeps it.
OPERATORS: Final = (
    OperatorSpec(
        Operator.EQUALS,
        Operand.TEXT,
        "equals a value",
        "any",
        "{attribute: plan, operator: EQUALS, values: [pro]}",
    ),
    OperatorSpec(
        Operator.NOT_EQUALS,
        Operand.TEXT,
        "equals none of the values",
        "none",
        "{attribute: plan, operator: NOT_EQUALS, values: [free, trial]}",
    ),
    OperatorSpec(
        Operator.CONTAINS,
        Operand.TEXT,
        "contains a value as a substring",
        "any",
        "{attribute: desk, operator: CONTAINS, values: [emea]}",
    ),
    OperatorSpec(
        Operator.NOT_CONTAINS,
        Operand.TEXT,
        "contains none of the values",
        "none",
        "{attribute: userAgent, operator: NOT_CONTAINS, values: [bot, crawler]}",
    ),
    OperatorSpec(
        Operator.STARTS_WITH,
        Operand.TEXT,
        "starts with a value",
        "any",
        "{attribute: userId, operator: STARTS_WITH, values: [desk-7]}",
    ),
    OperatorSpec(
        Operator.ENDS_WITH,
        Operand.TEXT,
        "ends with a value",
        "any",
        "{attribute: email, operator: ENDS_WITH, values: [example.com]}",
    ),
    OperatorSpec(
        Operator.MATCHES,
        Operand.PATTERN,
        "has a match of an RE2 pattern **anywhere** (search)",
        "any",
        "{attribute: accountId, operator: MATCHES, values: ['^acct-[0-9]{4,}$']}",
    ),
    OperatorSpec(
        Operator.IN,
        Operand.TEXT,
        "is one of the values (same as `EQUALS`)",
        "any",
        "{attribute: region, operator: IN, values: [EU, UK]}",
    ),
    OperatorSpec(
        Operator.NOT_IN,
        Operand.TEXT,
        "is none of the values (same as `NOT_EQUALS`)",
        "none",
        "{attribute: region, operator: NOT_IN, values: [US, CA]}",
    ),
    OperatorSpec(
        Operator.GREATER_THAN,
        Operand.ORDERED,
        f"{_NUMBER_OR_INSTANT} greater than a value of the same kind",
        "any (above the smallest)",
        "{attribute: notional, operator: GREATER_THAN, values: [1000000]}",
    ),
    OperatorSpec(
        Operator.LESS_THAN,
        Operand.ORDERED,
        f"{_NUMBER_OR_INSTANT} less than a value of the same kind",
        "any (below the largest)",
        "{attribute: signedUpAt, operator: LESS_THAN, values: [2026-01-01]}",
    ),
    OperatorSpec(
        Operator.GREATER_THAN_OR_EQUALS,
        Operand.ORDERED,
        f"{_NUMBER_OR_INSTANT} greater than or equal to a value of the same kind",
        "any (from the smallest)",
        "{attribute: accountAgeDays, operator: GREATER_THAN_OR_EQUALS, values: [30]}",
    ),
    OperatorSpec(
        Operator.LESS_THAN_OR_EQUALS,
        Operand.ORDERED,
        f"{_NUMBER_OR_INSTANT} less than or equal to a value of the same kind",
        "any (up to the largest)",
        "{attribute: riskScore, operator: LESS_THAN_OR_EQUALS, values: [500]}",
    ),
    OperatorSpec(
        Operator.SEMVER_EQUALS,
        Operand.SEMVER,
        f"{_SEMVER} of the same precedence as a value (build metadata ignored)",
        "any",
        "{attribute: appVersion, operator: SEMVER_EQUALS, values: [5.2.0]}",
    ),
    OperatorSpec(
        Operator.SEMVER_GREATER_THAN,
        Operand.SEMVER,
        f"{_SEMVER} of higher precedence than a value",
        "any (above the smallest)",
        "{attribute: appVersion, operator: SEMVER_GREATER_THAN, values: [5.2.0]}",
    ),
    OperatorSpec(
        Operator.SEMVER_LESS_THAN,
        Operand.SEMVER,
        f"{_SEMVER} of lower precedence than a value",
        "any (below the largest)",
        "{attribute: appVersion, operator: SEMVER_LESS_THAN, values: [6.0.0-beta.1]}",
    ),
)

NAMES: Final = ", ".join(spec.operator for spec in OPERATORS)
ORDERED_OPERATORS: Final = frozenset(
    spec.operator for spec in OPERATORS if spec.operand is Operand.ORDERED
)
SEMVER_OPERATORS: Final = frozenset(
    spec.operator for spec in OPERATORS if spec.operand is Operand.SEMVER
)


def markdown() -> str:
    """The operator table of docs/flags.md, one row per operator, in table order."""
    lines = [
        "| operator | matches when the attribute… | several values | operand | example |",
        "|---|---|---|---|---|",
    ]
    lines.extend(
        f"| `{spec.operator}` | {spec.matches} | {spec.several} | {spec.operand} "
        f"| `{spec.example}` |"
        for spec in OPERATORS
    )
    return "\n".join(lines) + "\n"
