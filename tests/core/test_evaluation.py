"""The flag evaluator: operators, reasons, rule order, bucketing (golden vectors, properties)."""

from __future__ import annotations

import random
import string
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitconfig.core.evaluation import (
    Evaluation,
    Reason,
    bucket,
    compile_flag,
    evaluate,
)
from gitconfig.core.model import Condition, FlagDocument, FlagRule
from gitconfig.core.operands import parse_ordered
from gitconfig.core.operators import Operator

MISSING = None


def _flag(*rules: FlagRule, enabled: bool = True, value: Any = None) -> FlagDocument:
    return FlagDocument(description="test flag", enabled=enabled, value=value, rules=rules)


def _when(attribute: str, operator: str, *values: str) -> FlagRule:
    return FlagRule(conditions=(Condition(attribute, operator, values),))


# -- operators -----------------------------------------------------------------------------

OPERATOR_CASES = [
    # operator, values, attribute value (None: missing), matches
    ("EQUALS", ["EU"], "EU", True),
    ("EQUALS", ["EU"], "eu", False),  # case-sensitive
    ("EQUALS", ["EU"], "EUR", False),
    ("EQUALS", ["EU", "UK"], "UK", True),  # any of them
    ("EQUALS", [""], "", True),  # an empty string is a value, not a missing attribute
    ("EQUALS", ["EU"], MISSING, False),
    ("NOT_EQUALS", ["EU"], "US", True),
    ("NOT_EQUALS", ["EU"], "EU", False),
    ("NOT_EQUALS", ["EU", "UK"], "UK", False),  # none of them
    ("NOT_EQUALS", ["EU", "UK"], "US", True),
    ("NOT_EQUALS", ["EU"], MISSING, False),  # missing never matches, NOT_ included
    ("CONTAINS", ["desk"], "fx-desk-7", True),
    ("CONTAINS", ["desk"], "fx-DESK-7", False),
    ("CONTAINS", ["rates", "credit"], "credit-trading", True),
    ("CONTAINS", ["rates", "credit"], "equities", False),
    ("CONTAINS", ["desk"], MISSING, False),
    ("NOT_CONTAINS", ["test"], "prod-account", True),
    ("NOT_CONTAINS", ["test"], "test-account", False),
    ("NOT_CONTAINS", ["test", "demo"], "demo-account", False),
    ("NOT_CONTAINS", ["test", "demo"], "live-account", True),
    ("NOT_CONTAINS", ["test"], MISSING, False),
    ("STARTS_WITH", ["desk-7"], "desk-71", True),
    ("STARTS_WITH", ["desk-7"], "xdesk-7", False),
    ("STARTS_WITH", ["desk-1", "desk-7"], "desk-7a", True),
    ("STARTS_WITH", ["desk-7"], MISSING, False),
    ("ENDS_WITH", ["@bank.example"], "ann@bank.example", True),
    ("ENDS_WITH", ["@bank.example"], "ann@bank.example.org", False),
    ("ENDS_WITH", [".eu", ".uk"], "host.uk", True),
    ("ENDS_WITH", [".eu"], MISSING, False),
    ("MATCHES", ["^desk-[0-9]+$"], "desk-42", True),
    ("MATCHES", ["^desk-[0-9]+$"], "desk-42a", False),
    ("MATCHES", ["[0-9]{3}"], "acct-12345-x", True),  # search: anywhere in the value
    ("MATCHES", ["(?i)^eu"], "Europe", True),
    ("MATCHES", ["^a$", "^b$"], "b", True),
    ("MATCHES", ["^a$", "^b$"], "c", False),
    ("MATCHES", ["^é+$"], "éé", True),  # UTF-8 aware
    ("MATCHES", ["(a+)+$"], "a" * 5000 + "b", False),  # no catastrophic backtracking
    ("MATCHES", ["x"], MISSING, False),
    ("IN", ["EU", "UK"], "EU", True),
    ("IN", ["EU", "UK"], "US", False),
    ("IN", ["EU"], MISSING, False),
    ("NOT_IN", ["EU", "UK"], "US", True),
    ("NOT_IN", ["EU", "UK"], "UK", False),
    ("NOT_IN", ["EU"], MISSING, False),
    ("GREATER_THAN", ["100"], "101", True),
    ("GREATER_THAN", ["100"], "100", False),
    ("GREATER_THAN", ["100"], "99.5", False),
    ("GREATER_THAN", ["100"], "1e3", True),
    ("GREATER_THAN", ["-1.5"], "-1", True),
    ("GREATER_THAN", ["9"], "10", True),  # numerically, not as text
    ("GREATER_THAN", ["500", "100"], "200", True),  # any of them: above the smallest
    ("GREATER_THAN", ["100"], "abc", False),  # neither a number nor an instant
    ("GREATER_THAN", ["100"], "", False),
    ("GREATER_THAN", ["100"], " 200", False),  # strict: no surrounding blanks
    ("GREATER_THAN", ["100"], "nan", False),
    ("GREATER_THAN", ["100"], "inf", False),
    ("GREATER_THAN", ["100"], "2026-01-01", False),  # an instant is not compared to a number
    ("GREATER_THAN", ["100"], MISSING, False),
    ("GREATER_THAN", ["2026-01-01T00:00:00Z"], "2026-01-01T00:00:01Z", True),
    ("GREATER_THAN", ["2026-01-01T00:00:00Z"], "2026-01-01T00:00:00Z", False),
    ("GREATER_THAN", ["2026-01-01T00:00:00Z"], "2026-01-01T01:30:00+01:00", True),
    ("GREATER_THAN", ["2026-01-01T00:00:00Z"], "2026-01-01T00:30:00+01:00", False),
    ("GREATER_THAN", ["2026-01-01"], "2026-01-01T00:00:00.5Z", True),  # date: midnight UTC
    ("GREATER_THAN", ["2026-01-01"], "2026-01-01 12:00", True),  # no offset: UTC
    ("GREATER_THAN", ["2026-01-01"], "2026-13-01", False),  # not a real date
    ("GREATER_THAN", ["2026-01-01"], "100", False),
    ("GREATER_THAN", ["2026-01-01", "5"], "6", True),  # mixed kinds: each compares with its own
    ("LESS_THAN", ["100"], "99", True),
    ("LESS_THAN", ["100"], "100", False),
    ("LESS_THAN", ["100", "10"], "50", True),  # any of them: below the largest
    ("LESS_THAN", ["0"], "-0.1", True),
    ("LESS_THAN", ["100"], "x", False),
    ("LESS_THAN", ["100"], MISSING, False),
    ("LESS_THAN", ["2026-06-30T23:59:59Z"], "2026-06-30T12:00:00Z", True),
    ("LESS_THAN", ["2026-06-30T23:59:59Z"], "2026-07-01", False),
    ("LESS_THAN", ["2026-06-30"], "yesterday", False),
]


@pytest.mark.parametrize(("operator", "values", "actual", "matches"), OPERATOR_CASES)
def test_operator(operator: str, values: list[str], actual: str | None, matches: bool) -> None:
    document = _flag(_when("attr", operator, *values))
    attributes = {} if actual is None else {"attr": actual}
    result = evaluate("flag", document, "user-1", attributes)
    expected = (
        Evaluation(True, None, "TARGETING_MATCH", 0)
        if matches
        else Evaluation(False, None, "DEFAULT", None)
    )
    assert result == expected


def test_every_operator_is_covered() -> None:
    from tests.support.operators import SEMVER_CASES  # the operators beyond the seed's

    covered = {case[0] for case in OPERATOR_CASES} | {case[0] for case in SEMVER_CASES}
    assert covered == set(Operator)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("42", (0, 42.0)),
        ("-3.5", (0, -3.5)),
        ("+.5e1", (0, 5.0)),
        ("20260101", (0, 20260101.0)),  # both readings: a number
        ("1e999", None),
        ("1_000", None),
        ("0x1f", None),
        ("1970-01-01T00:00:10Z", (1, 10.0)),
        ("1970-01-01t00:00:10z", (1, 10.0)),
        ("1970-01-01T01:00:10+01:00", (1, 10.0)),
        ("1970-01-01T00:00:10,5", (1, 10.5)),
        ("1970-01-02", (1, 86400.0)),
        ("1970-01-01X00:00", None),
        ("2026-02-30", None),
        ("next week", None),
        # one ASCII grammar shared with NUMBER values (issue 9)
        ("１０", None),  # full-width digits
        ("٣", None),  # Arabic-Indic digit
        ("5.", None),  # a trailing point is not a number
        ("5.0", (0, 5.0)),
        ("２０２６-01-01", None),
        ("1970-01-01T00:00:00.0000001Z", (1, Decimal("1E-7"))),  # beyond microseconds
        ("1970-01-01.5", None),  # a fraction needs a time
        ("9007199254740993", (0, Decimal(9007199254740993))),  # exact, not a double
    ],
)
def test_parse_ordered(text: str, parsed: tuple[int, Decimal] | None) -> None:
    assert parse_ordered(text) == parsed


# -- reasons, order, conditions ---------------------------------------------------------------

VALUE = {"engine": "v2"}


def test_disabled_wins_over_everything() -> None:
    document = _flag(FlagRule(), enabled=False, value=VALUE)
    assert evaluate("f", document, "u") == Evaluation(False, None, Reason.DISABLED, None)


def test_enabled_without_rules_is_static() -> None:
    assert evaluate("f", _flag(value=VALUE), None) == Evaluation(True, VALUE, "STATIC", None)


def test_no_matching_rule_is_default() -> None:
    document = _flag(_when("region", "IN", "EU"), value=VALUE)
    assert evaluate("f", document, "u", {"region": "US"}) == Evaluation(
        False, None, "DEFAULT", None
    )


def test_rule_without_condition_matches_everyone() -> None:
    document = _flag(FlagRule(), value=VALUE)
    assert evaluate("f", document) == Evaluation(True, VALUE, "TARGETING_MATCH", 0)


def test_first_matching_rule_decides() -> None:
    document = _flag(
        _when("region", "IN", "EU"),
        FlagRule(conditions=(Condition("desk", "EQUALS", ("fx",)),), percentage=0),
        _when("desk", "EQUALS", "fx"),
        value=VALUE,
    )
    compiled = compile_flag("f", document)
    assert compiled.evaluate("u", {"region": "EU", "desk": "fx"}).rule_index == 0
    # rule 1 matches on its condition and decides, although the user is outside its 0 %:
    assert compiled.evaluate("u", {"region": "US", "desk": "fx"}) == Evaluation(
        False, None, "SPLIT", 1
    )
    assert compiled.evaluate("u", {"region": "US", "desk": "rates"}).reason == "DEFAULT"


def test_conditions_are_anded() -> None:
    rule = FlagRule(
        conditions=(
            Condition("region", "IN", ("US",)),
            Condition("plan", "EQUALS", ("pro",)),
        )
    )
    compiled = compile_flag("f", _flag(rule))
    assert compiled.evaluate(None, {"region": "US", "plan": "pro"}).enabled
    assert not compiled.evaluate(None, {"region": "US", "plan": "free"}).enabled
    assert not compiled.evaluate(None, {"region": "EU", "plan": "pro"}).enabled
    assert not compiled.evaluate(None, {"region": "US"}).enabled


def test_user_id_is_an_attribute() -> None:
    compiled = compile_flag("f", _flag(_when("userId", "STARTS_WITH", "desk-7")))
    assert compiled.evaluate("desk-71", {}).enabled
    assert not compiled.evaluate("desk-81", {}).enabled
    assert not compiled.evaluate(None, {}).enabled
    assert compiled.evaluate(None, {"userId": "desk-72"}).enabled  # attribute form
    assert not compiled.evaluate("desk-81", {"userId": "desk-72"}).enabled  # argument wins


def test_user_id_is_available_to_not_operators_only_when_given() -> None:
    compiled = compile_flag("f", _flag(_when("userId", "NOT_IN", "blocked")))
    assert compiled.evaluate("someone", {}).enabled
    assert not compiled.evaluate(None, {}).enabled


# -- percentage rollouts -------------------------------------------------------------------

GOLDEN = [
    # flag key, userId or bucketBy value, unsigned murmur3_32 of "<key>:<value>", bucket
    ("AB12A", "122", 1062108722, 22),
    ("AB12A", "155", 3268232399, 99),
    ("AB12A", "user-1", 3964294926, 26),
    ("new-matching-engine", "trader-42", 3926830086, 86),
    ("new-matching-engine", "trader-43", 856184227, 27),
    ("fx-desk-beta", "acct-9001", 3623941873, 73),
    ("kill-switch", "", 3219700350, 50),
    ("ünïcode", "用户-7", 960493078, 78),  # any UTF-8 text hashes (not a valid flag key)
    ("unicode-rollout", "用户-7", 1904199694, 94),  # the docs' vector: a key the API takes
]


def _murmur3_32(data: bytes, seed: int = 0) -> int:
    """An independent reference implementation (Austin Appleby's MurmurHash3_x86_32)."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed
    rounded = len(data) - len(data) % 4
    for i in range(0, rounded, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    k = 0
    tail = data[rounded:]
    for shift, byte in reversed(list(enumerate(tail))):
        k |= byte << (8 * shift)
    if tail:
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h


@pytest.mark.parametrize(("flag_key", "value", "hashed", "expected"), GOLDEN)
def test_golden_bucketing_vectors(flag_key: str, value: str, hashed: int, expected: int) -> None:
    assert _murmur3_32(f"{flag_key}:{value}".encode()) == hashed
    assert hashed % 100 == expected
    assert bucket(flag_key, value) == expected


@pytest.mark.parametrize(("user", "bucket_of_user"), [("122", 22), ("155", 99)])
@pytest.mark.parametrize("percentage", [0, 22, 23, 99, 100])
def test_rollout_uses_the_bucket(user: str, bucket_of_user: int, percentage: int) -> None:
    document = _flag(FlagRule(percentage=percentage), value=VALUE)
    inside = bucket_of_user < percentage
    assert evaluate("AB12A", document, user) == Evaluation(
        inside, VALUE if inside else None, "SPLIT", 0
    )


def test_rollout_without_user_id_does_not_match() -> None:
    document = _flag(FlagRule(percentage=100), _when("region", "IN", "EU"))
    compiled = compile_flag("AB12A", document)
    assert compiled.evaluate(None, {"region": "US"}).reason == "DEFAULT"
    assert compiled.evaluate(None, {"region": "EU"}) == Evaluation(True, None, "TARGETING_MATCH", 1)
    assert compiled.evaluate(None, {"userId": "122"}).reason == "SPLIT"


def test_bucket_by_attribute() -> None:
    rule = FlagRule(
        conditions=(Condition("region", "IN", ("US",)),), percentage=23, bucket_by="accountId"
    )
    compiled = compile_flag("AB12A", _flag(rule))
    # the account's bucket decides, whoever the user is: "AB12A:122" is bucket 22
    for user in ("alice", "bob", None):
        assert compiled.evaluate(user, {"region": "US", "accountId": "122"}) == Evaluation(
            True, None, "SPLIT", 0
        )
        assert compiled.evaluate(user, {"region": "US", "accountId": "155"}) == Evaluation(
            False, None, "SPLIT", 0
        )
    # a missing bucketing attribute does not match, even with a userId
    assert compiled.evaluate("122", {"region": "US"}).reason == "DEFAULT"


users = st.text(alphabet=string.ascii_letters + string.digits + "-_@.é", min_size=0, max_size=30)
flag_keys = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,30}", fullmatch=True)


@given(flag_key=flag_keys, user=users, percentage=st.integers(0, 100))
def test_rollout_is_sticky(flag_key: str, user: str, percentage: int) -> None:
    compiled = compile_flag(flag_key, _flag(FlagRule(percentage=percentage)))
    again = compile_flag(flag_key, _flag(FlagRule(percentage=percentage)))
    assert compiled.evaluate(user, {}) == again.evaluate(user, {})
    assert compiled.evaluate(user, {}).enabled == (bucket(flag_key, user) < percentage)


@given(flag_key=flag_keys, user=users, low=st.integers(0, 100), high=st.integers(0, 100))
def test_raising_the_percentage_only_adds_users(
    flag_key: str, user: str, low: int, high: int
) -> None:
    low, high = min(low, high), max(low, high)
    before = evaluate(flag_key, _flag(FlagRule(percentage=low)), user)
    after = evaluate(flag_key, _flag(FlagRule(percentage=high)), user)
    assert after.enabled or not before.enabled


@given(flag_key=flag_keys, user=users)
def test_zero_percent_is_nobody_and_hundred_is_everybody(flag_key: str, user: str) -> None:
    assert not evaluate(flag_key, _flag(FlagRule(percentage=0)), user).enabled
    assert evaluate(flag_key, _flag(FlagRule(percentage=100)), user).enabled


USERS_PER_SAMPLE = 10_000


@settings(max_examples=25, deadline=None)
@given(flag_key=flag_keys, percentage=st.integers(0, 100), seed=st.integers(0, 2**32))
def test_about_p_percent_of_users_are_in(flag_key: str, percentage: int, seed: int) -> None:
    """The count of 10,000 random users inside is Binomial(n, p/100): its standard deviation is
    at most sqrt(10,000 * 0.25) = 50 users (0.5 %). A tolerance of 3 % is six standard
    deviations, so a correct hash fails it about once in 10^9 runs, while a biased one (a
    bucket off by a few percent) still fails."""
    rng = random.Random(seed)
    compiled = compile_flag(flag_key, _flag(FlagRule(percentage=percentage)))
    inside = sum(
        compiled.evaluate(f"user-{rng.getrandbits(64):x}", {}).enabled
        for _ in range(USERS_PER_SAMPLE)
    )
    assert abs(inside / USERS_PER_SAMPLE - percentage / 100) <= 0.03


def test_evaluations_are_shared_constants() -> None:
    """The hot path allocates no Evaluation: every answer is precreated when compiling."""
    compiled = compile_flag("AB12A", _flag(_when("region", "IN", "EU"), FlagRule(percentage=50)))
    assert compiled.evaluate("122", {"region": "US"}) is compiled.evaluate("122", {})
    assert compiled.evaluate("a", {"region": "EU"}) is compiled.evaluate("b", {"region": "EU"})


def test_compile_refuses_what_validation_refuses() -> None:
    with pytest.raises(ValueError, match="unknown operator"):
        compile_flag("f", _flag(_when("a", "LIKE", "x")))
    with pytest.raises(ValueError, match="neither a number nor an instant"):
        compile_flag("f", _flag(_when("a", "GREATER_THAN", "soon")))


@pytest.mark.parametrize(
    ("operator", "value", "attribute", "matches"),
    [
        ("GREATER_THAN", "9", "１０", False),  # full-width digits are not a number
        ("GREATER_THAN", "9", "10", True),
        ("LESS_THAN", "10", "5.", False),
        (
            "GREATER_THAN",
            "2026-01-01T00:00:00.0000001Z",
            "2026-01-01T00:00:00.0000002Z",
            True,
        ),
        ("GREATER_THAN", "2026-01-01T00:00:00.0000001Z", "2026-01-01T00:00:00.0000001Z", False),
        ("GREATER_THAN", "9007199254740992", "9007199254740993", True),
    ],
)
def test_ordered_operators_use_the_one_grammar(
    operator: str, value: str, attribute: str, matches: bool
) -> None:
    result = evaluate("flag", _flag(_when("n", operator, value)), "user-1", {"n": attribute})
    assert (result.reason == "TARGETING_MATCH") is matches


@pytest.mark.parametrize("value", ["１０", "5.", "٣"])
def test_rule_values_outside_the_grammar_are_refused(value: str) -> None:
    from gitconfig.core import flagfile, valuetext
    from gitconfig.core.errors import BadRequest
    from gitconfig.core.model import ValueType

    rule = {"attribute": "n", "operator": "GREATER_THAN", "values": [value]}
    with pytest.raises(BadRequest) as raised:
        flagfile.parse_mapping({"description": "d", "rules": [rule]})
    assert raised.value.errors[0].field == "rules.0.values.0"
    with pytest.raises(ValueError, match="must be a decimal number"):
        valuetext.parse(ValueType.NUMBER, value)
