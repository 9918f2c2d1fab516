"""Feature flag evaluation: a pure evaluator, compiled once per flag version (no I/O).

``compile_flag(key, document)`` turns a validated ``FlagDocument`` into a ``CompiledFlag``
whose ``evaluate(user_id, attributes)`` answers an ``Evaluation``. Compiling does all the work
that does not depend on the caller (value sets, RE2 sets, parsed thresholds, the bucketing
prefix, every possible ``Evaluation``), so an evaluation allocates nothing but what the
attribute lookups and one bucketing key need. Semantics (docs/flags.md, DESIGN.md):

    disabled                          -> enabled=False, DISABLED
    enabled, no rules                 -> enabled=True,  STATIC
    first rule whose condition holds  -> no percentage: True, TARGETING_MATCH
                                         percentage:    bucket < percentage, SPLIT
    no rule holds                     -> enabled=False, DEFAULT

A missing attribute never matches (the NOT_ operators included); a percentage rule whose
bucketing attribute (``userId`` or ``bucketBy``) is missing does not match either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, TypeVar

import mmh3

from gitconfig.core.model import Condition, FlagDocument, FlagRule
from gitconfig.core.operands import (
    parse_ordered,
    pattern_set,
    semver_key,
)
from gitconfig.core.operators import ORDERED_OPERATORS, SEMVER_OPERATORS, Operator

USER_ID: Final = "userId"
BUCKETS: Final = 100


class Reason(StrEnum):
    """OpenFeature's resolution reasons, the subset a gitconfig flag can answer."""

    STATIC = "STATIC"
    TARGETING_MATCH = "TARGETING_MATCH"
    SPLIT = "SPLIT"
    DEFAULT = "DEFAULT"
    DISABLED = "DISABLED"


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The answer for one flag and one context. ``value`` is the flag's value when enabled,
    else None; it is shared between evaluations, so treat it as read-only. ``rule_index`` is
    the deciding rule (0-based), None for STATIC, DEFAULT and DISABLED."""

    enabled: bool
    value: Any
    reason: str
    rule_index: int | None


Attributes = Mapping[str, str]
Evaluate = Callable[[str | None, Attributes], Evaluation]
_Test = Callable[[str], bool]
_Predicate = Callable[[str | None, Attributes], bool]
_Rule = Callable[[str | None, Attributes], Any]  # an answer, or None: the next rule decides
R = TypeVar("R")


def bucket(flag_key: str, value: str) -> int:
    """The sticky bucket 0..99 of ``value`` (a userId or bucketBy value) for ``flag_key``:
    unsigned murmur3_32 (seed 0) of the UTF-8 bytes of ``"<flagKey>:<value>"``, mod 100."""
    return int(mmh3.hash(_hashable(f"{flag_key}:{value}"), 0, False)) % BUCKETS


def _hashable(text: str) -> str | bytes:
    """``text`` as mmh3 may hash it: mmh3 (5.x) crashes the process on a str holding a lone
    surrogate, which no door should let through but which must never kill the server; such a
    text is hashed as its ``surrogatepass`` bytes (a valid text's UTF-8 bytes hash alike)."""
    return text if text.isascii() else text.encode("utf-8", "surrogatepass")


# -- compiling conditions ----------------------------------------------------------------------


def _ordered_test(operator: str, values: tuple[str, ...]) -> _Test:
    """GREATER_THAN any of the values is greater than the smallest of each kind (and LESS_THAN
    the largest), so one threshold per kind decides; the OR_EQUALS forms likewise."""
    greater = operator in (Operator.GREATER_THAN, Operator.GREATER_THAN_OR_EQUALS)
    inclusive = operator in (Operator.GREATER_THAN_OR_EQUALS, Operator.LESS_THAN_OR_EQUALS)
    pick = min if greater else max
    by_kind: dict[int, list[Decimal]] = {}
    for value in values:
        parsed = parse_ordered(value)
        if parsed is None:
            raise ValueError(f"{operator} value {value!r} is neither a number nor an instant")
        by_kind.setdefault(parsed[0], []).append(parsed[1])
    thresholds = {kind: pick(found) for kind, found in by_kind.items()}

    def test(text: str) -> bool:
        parsed = parse_ordered(text)
        if parsed is None:
            return False
        threshold = thresholds.get(parsed[0])
        if threshold is None:
            return False
        value = parsed[1]
        if value == threshold:
            return inclusive
        return value > threshold if greater else value < threshold

    return test


def _semver_test(operator: str, values: tuple[str, ...]) -> _Test:
    """SEMVER_EQUALS any of the versions (same precedence: build metadata ignored);
    SEMVER_GREATER_THAN the smallest, SEMVER_LESS_THAN the largest. An attribute that is not
    a version does not match."""
    keys = []
    for value in values:
        key = semver_key(value)
        if key is None:
            raise ValueError(f"{operator} value {value!r} is not a semantic version")
        keys.append(key)
    if operator == Operator.SEMVER_EQUALS:
        wanted = frozenset(keys)

        def equals(text: str) -> bool:
            return semver_key(text) in wanted

        return equals
    if operator == Operator.SEMVER_GREATER_THAN:
        low = min(keys)

        def above(text: str) -> bool:
            key = semver_key(text)
            return key is not None and key > low

        return above
    high = max(keys)

    def below(text: str) -> bool:
        key = semver_key(text)
        return key is not None and key < high

    return below


def _test(operator: str, values: tuple[str, ...]) -> _Test:
    """The test of an attribute value that is present."""
    if operator in (Operator.EQUALS, Operator.IN):
        return frozenset(values).__contains__
    if operator in (Operator.NOT_EQUALS, Operator.NOT_IN):
        excluded = frozenset(values)
        return lambda text: text not in excluded
    if operator == Operator.STARTS_WITH:
        return lambda text: text.startswith(values)
    if operator == Operator.ENDS_WITH:
        return lambda text: text.endswith(values)
    if operator in (Operator.CONTAINS, Operator.NOT_CONTAINS):
        wanted = operator == Operator.CONTAINS
        if len(values) == 1:
            (needle,) = values
            return (lambda text: needle in text) if wanted else (lambda text: needle not in text)
        return lambda text: any(needle in text for needle in values) is wanted
    if operator == Operator.MATCHES:
        search = pattern_set(values).Match
        return lambda text: search(text) is not None
    if operator in ORDERED_OPERATORS:
        return _ordered_test(operator, values)
    if operator in SEMVER_OPERATORS:
        return _semver_test(operator, values)
    raise ValueError(f"unknown operator {operator!r}")


def _predicate(condition: Condition) -> _Predicate:
    test = _test(condition.operator, condition.values)
    attribute = condition.attribute
    if attribute == USER_ID:

        def user_predicate(user_id: str | None, attributes: Attributes) -> bool:
            text = user_id if user_id is not None else attributes.get(USER_ID)
            return text is not None and test(text)

        return user_predicate

    def predicate(user_id: str | None, attributes: Attributes) -> bool:
        text = attributes.get(attribute)
        return text is not None and test(text)

    return predicate


def _all_of(predicates: tuple[_Predicate, ...]) -> _Predicate | None:
    if not predicates:
        return None
    if len(predicates) == 1:
        return predicates[0]

    def every(user_id: str | None, attributes: Attributes) -> bool:
        for predicate in predicates:  # noqa: SIM110 - a loop beats all(generator) here
            if not predicate(user_id, attributes):
                return False
        return True

    return every


# -- compiling rules ---------------------------------------------------------------------------


def _rule(
    flag_key: str, index: int, rule: FlagRule, value: Any, answer: Callable[[Evaluation], Any]
) -> _Rule:
    matches = _all_of(tuple(_predicate(condition) for condition in rule.conditions))
    hit = answer(Evaluation(True, value, Reason.TARGETING_MATCH.value, index))
    percentage = rule.percentage
    if percentage is None:
        if matches is None:
            return lambda user_id, attributes: hit

        def targeted(user_id: str | None, attributes: Attributes) -> Any:
            return hit if matches(user_id, attributes) else None

        return targeted

    limit: int = percentage
    inside = answer(Evaluation(True, value, Reason.SPLIT.value, index))
    outside = answer(Evaluation(False, None, Reason.SPLIT.value, index))
    prefix = f"{flag_key}:"
    by = rule.bucket_by or USER_ID
    by_user = by == USER_ID
    murmur = mmh3.hash
    as_bytes = _hashable

    def split(user_id: str | None, attributes: Attributes) -> Any:
        if matches is not None and not matches(user_id, attributes):
            return None
        key = user_id if by_user and user_id is not None else attributes.get(by)
        if key is None:
            return None
        text = prefix + key  # a str only when ASCII: see _hashable
        hashed = murmur(text if text.isascii() else as_bytes(text), 0, False)
        return inside if hashed % 100 < limit else outside

    return split


class CompiledFlag:
    """One flag, ready to evaluate. ``evaluate(user_id, attributes)`` is a plain closure
    (no bound-method call); ``user_id`` also serves as the ``userId`` attribute and wins over
    ``attributes["userId"]``. Attribute values must be strings. Plain immutable data: a check
    that answers ``(entry, evaluation)`` pairs is compiled and kept by the read side
    (``readside.EntryChecks``)."""

    __slots__ = ("document", "evaluate", "key")

    def __init__(self, key: str, document: FlagDocument, evaluate: Evaluate) -> None:
        self.key = key
        self.document = document
        self.evaluate: Evaluate = evaluate

    def __repr__(self) -> str:
        return f"CompiledFlag({self.key!r}, rules={len(self.document.rules)})"


def compile_flag(flag_key: str, document: FlagDocument) -> CompiledFlag:
    """Compile a validated document; raises ValueError on an operator or operand that
    validation (``flagfile``) would have refused."""
    return CompiledFlag(flag_key, document, compile_answers(flag_key, document, _itself))


def _itself(evaluation: Evaluation) -> Evaluation:
    return evaluation


def compile_answers(
    flag_key: str, document: FlagDocument, answer: Callable[[Evaluation], R]
) -> Callable[[str | None, Attributes], R]:
    """An evaluate function like ``compile_flag``'s whose results are ``answer(evaluation)``,
    each made once here, at compile time (e.g. ``(entry, evaluation)`` pairs: what a caller
    returns then costs nothing per call); ``answer`` must not return None. Raises ValueError
    like ``compile_flag``."""
    if not document.enabled:
        disabled = answer(Evaluation(False, None, Reason.DISABLED.value, None))
        return lambda user_id, attributes: disabled
    if not document.rules:
        static = answer(Evaluation(True, document.value, Reason.STATIC.value, None))
        return lambda user_id, attributes: static

    default = answer(Evaluation(False, None, Reason.DEFAULT.value, None))
    rules = tuple(
        _rule(flag_key, index, rule, document.value, answer)
        for index, rule in enumerate(document.rules)
    )
    if len(rules) == 1:
        (only,) = rules

        def evaluate_one(user_id: str | None, attributes: Attributes) -> R:
            decided: R | None = only(user_id, attributes)
            return default if decided is None else decided

        return evaluate_one

    def evaluate_rules(user_id: str | None, attributes: Attributes) -> R:
        for rule in rules:
            decided: R | None = rule(user_id, attributes)
            if decided is not None:
                return decided
        return default

    return evaluate_rules


def evaluate(
    flag_key: str,
    document: FlagDocument,
    user_id: str | None = None,
    attributes: Attributes | None = None,
) -> Evaluation:
    """Compile and evaluate once: for tests and one-off calls. Hold a ``CompiledFlag`` (the
    index does) to evaluate the same flag many times."""
    return compile_flag(flag_key, document).evaluate(user_id, attributes or {})
