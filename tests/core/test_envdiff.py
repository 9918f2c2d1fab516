"""The pure difference of two environments (``core.envdiff``): table-driven."""

from __future__ import annotations

import pytest

from gitconfig.core import envdiff
from gitconfig.core.model import (
    Condition,
    ConfigDocument,
    Document,
    FlagDocument,
    FlagRule,
    Kind,
    ValueType,
)

ENC_A = "ENC[AES256_GCM,data:QUFB,iv:aaaa,tag:bbbb,type:str]"
ENC_B = "ENC[AES256_GCM,data:QkJC,iv:cccc,tag:dddd,type:str]"


def _number(value: int, **extra: object) -> ConfigDocument:
    return ConfigDocument(ValueType.NUMBER, value, **extra)  # type: ignore[arg-type]


def _secret(value: str) -> ConfigDocument:
    return ConfigDocument(ValueType.SECRET, value, sops={"mac": "x"})


def _flag(*regions: str) -> FlagDocument:
    rules = tuple(
        FlagRule(conditions=(Condition("region", "IN", (region,)),)) for region in regions
    )
    return FlagDocument("a flag", enabled=True, rules=rules)


def _never(old: ConfigDocument, new: ConfigDocument) -> str:
    raise AssertionError("only SECRET values are judged by the secret comparer")


def _by_ciphertext(old: ConfigDocument, new: ConfigDocument) -> str:
    return envdiff.SAME if old.value == new.value else envdiff.DIFFERS


CASES: list[
    tuple[Document | None, Document | None, str | None, list[tuple[str, str | None, str | None]]]
] = [
    (_number(1), _number(1), None, []),
    (_number(1), _number(2), "changed", [("value", "1", "2")]),
    (None, _number(2), "added", [("type", None, "NUMBER"), ("value", None, "2")]),
    (
        _number(1, tags=("a", "b")),
        None,
        "removed",
        [("type", "NUMBER", None), ("value", "1", None), ("tags", "a,b", None)],
    ),
    (
        _number(1, schema={"type": "number"}),
        _number(1, description="d"),
        "changed",
        [("description", None, "d"), ("schema", '{"type":"number"}', None)],
    ),
    (
        _number(1),
        ConfigDocument(ValueType.STRING, "1"),
        "changed",
        [("type", "NUMBER", "STRING")],
    ),
    (
        _flag("EU", "UK"),
        _flag("EU", "US"),
        "changed",
        [
            (
                "rules.1",
                '{"attribute":"region","operator":"IN","values":["UK"]}',
                '{"attribute":"region","operator":"IN","values":["US"]}',
            )
        ],
    ),
    (
        _flag("EU"),
        _flag("EU", "US"),
        "changed",
        [("rules.1", None, '{"attribute":"region","operator":"IN","values":["US"]}')],
    ),
    (_flag("EU"), _flag("EU"), None, []),
]


@pytest.mark.parametrize(("old", "new", "change", "fields"), CASES)
def test_compare_pair(
    old: Document | None,
    new: Document | None,
    change: str | None,
    fields: list[tuple[str, str | None, str | None]],
) -> None:
    kind = Kind.FLAG if isinstance(old or new, FlagDocument) else Kind.CONFIG
    found = envdiff.compare_pair(kind, "k", old, new, _never)
    if change is None:
        assert found is None
        return
    assert found is not None
    assert found.change == change
    assert [(f.field, f.old, f.new) for f in found.fields] == fields


@pytest.mark.parametrize(
    ("old", "new", "comparer", "change", "verdict"),
    [
        (ENC_A, ENC_A, _by_ciphertext, None, None),
        (ENC_A, ENC_B, _by_ciphertext, "changed", "differs"),
        (ENC_A, ENC_A, lambda o, n: envdiff.NOT_COMPARABLE, "not comparable", "not comparable"),
        (ENC_A, ENC_B, lambda o, n: envdiff.NOT_COMPARABLE, "not comparable", "not comparable"),
    ],
)
def test_a_secret_value_is_judged_never_shown(
    old: str, new: str, comparer: envdiff.SecretCompare, change: str | None, verdict: str | None
) -> None:
    found = envdiff.compare_pair(Kind.CONFIG, "k", _secret(old), _secret(new), comparer)
    if change is None:
        assert found is None
        return
    assert found is not None
    assert (found.change, found.secret, found.fields) == (change, verdict, ())


def test_an_added_secret_shows_no_value() -> None:
    found = envdiff.compare_pair(Kind.CONFIG, "k", None, _secret(ENC_A), _never)
    assert found is not None
    assert found.change == "added"
    assert [(f.field, f.new) for f in found.fields] == [("type", "SECRET")]


def test_compare_sorts_configurations_before_flags() -> None:
    old: dict[envdiff.SideKey, Document] = {
        (Kind.FLAG, "a"): _flag("EU"),
        (Kind.CONFIG, "z"): _number(1),
    }
    new: dict[envdiff.SideKey, Document] = {(Kind.CONFIG, "b"): _number(1)}
    found = envdiff.compare(old, new, _never)
    assert [(d.kind, d.key, d.change) for d in found] == [
        (Kind.CONFIG, "b", "added"),
        (Kind.CONFIG, "z", "removed"),
        (Kind.FLAG, "a", "removed"),
    ]
