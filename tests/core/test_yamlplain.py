"""The plain-document reader (core/yamlplain.py) against libyaml: wherever the fast reader
gives a result, libyaml (with the dialect's resolvers) gives the same data; what it does not
take, it leaves to libyaml (None). Documents are generated from tokens chosen to sit on the
subset's edges: indicators, quotes, comments, colons, tabs, non-ASCII, nesting."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitconfig.core import limits, yamlplain, yamltext


def typed(value: Any) -> Any:
    """``value`` with every scalar's type made part of it (1 != 1.0 != True; NaN == NaN)."""
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(item) for item in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def full(text: str) -> Any:
    """libyaml's reading with the dialect's resolvers and constructors, or the error."""
    try:
        return typed(yamltext._load(text))
    except Exception as exc:  # noqa: BLE001 - any failure is an answer to compare
        return ("error", type(exc).__name__)


def fast(text: str) -> Any:
    found = yamlplain.read(text, yamltext._resolve_plain)
    return None if found is None else typed(found[0])


KEYS = [
    "type",
    "value",
    "description",
    "tags",
    "a-b",
    "a_b",
    "_x",
    "true",
    "True",
    "null",
    "NULL",
    "yes",
    "on",
    "n",
    "x" * 130,
    "k1",
    "key with space",
    "-k",
    "1k",
    "é",
]
SCALARS = [
    "42",
    "-5",
    "+7",
    "0o17",
    "0x1F",
    "0x",
    "1_000",
    "012",
    "1e3",
    "1E+3",
    ".5",
    "-.5",
    "1.",
    ".inf",
    "-.Inf",
    ".NaN",
    ".nan",
    "nan",
    "inf",
    "true",
    "False",
    "TRUE",
    "tRUE",
    "yes",
    "no",
    "on",
    "y",
    "N",
    "null",
    "Null",
    "~",
    "~x",
    "2024-01-01",
    "12:30",
    "http://example.com/a?b=c",
    "a: b",
    "a:",
    "a #c",
    "a#c",
    "a ,b",
    "a[0]",
    "it's",
    "-",
    "--",
    "---",
    "...",
    "- x",
    "-x",
    "?x",
    "? x",
    ":x",
    "&a",
    "*a",
    "!!str x",
    "!x",
    "|",
    ">",
    "%x",
    "@x",
    "`x",
    '"q"',
    "'q'",
    "'it''s'",
    "''",
    "'a",
    "a'",
    "[a, b]",
    "[a,b]",
    "[]",
    "[ ]",
    "[a,]",
    "[,]",
    "[a, [b]]",
    "[a: b]",
    "[a b, c]",
    "[1, 2.5, true, null, ~]",
    "['a']",
    "[a #c]",
    "[-1, -x, - y]",
    "{a: b}",
    "{}",
    "a\tb",
    "café",
    "a  ",
    " a",
    "(x)",
    "x)",
    "/p",
    "a=b",
    "<<",
    "=",
    "9" * 5000,
    "a b  c",
    "a\\b",
    '"a\\u00e9"',
]
SEPARATORS = [": ", ":  ", ":", " : ", ":\t"]
COMMENTS = ["", " # c", "  #c", "#c", " #", "\t# c"]
LINES = st.one_of(
    st.tuples(
        st.sampled_from(KEYS),
        st.sampled_from(SEPARATORS),
        st.sampled_from(SCALARS),
        st.sampled_from(COMMENTS),
    ).map("".join),
    st.sampled_from(
        [
            "",
            "# a comment",
            "  # indented",
            "---",
            "...",
            "%YAML 1.2",
            "  - x",
            "  nested: 1",
            "- item",
            "key:",
            "\ufeff",
            " ",
            "\r",
        ]
    ),
    st.text(alphabet="ab: #-[]'\"\t,~1.\\{}", max_size=12),
)
DOCUMENTS = st.lists(LINES, min_size=0, max_size=6).map("\n".join)


def test_every_single_line_agrees_with_libyaml() -> None:
    """Every key, separator, value and comment of the lists above, one line at a time."""
    taken = 0
    for key in ("value", "true", "a-b", "x" * 130, "x" * 1100, "key with space"):
        for separator in SEPARATORS:
            for scalar in SCALARS:
                for comment in COMMENTS:
                    for end in ("", "\n"):
                        text = f"{key}{separator}{scalar}{comment}{end}"
                        mine = fast(text)
                        if mine is not None:
                            taken += 1
                            assert mine == full(text), text
    assert taken > 1000  # the fast reader took a good share of them


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENTS, st.booleans())
def test_the_fast_reader_agrees_with_libyaml(text: str, final_newline: bool) -> None:
    text = text + "\n" if final_newline else text
    mine = fast(text)
    if mine is not None:
        assert mine == full(text), text


@pytest.mark.parametrize(
    "document",
    [
        {
            "type": "NUMBER",
            "value": 42,
            "description": "Benchmark configuration 7",
            "tags": ["bench"],
        },
        {"type": "STRING", "value": "yes", "description": "a flag: quoted"},
        {"type": "STRING", "value": "1e3", "tags": ["risk", "limits"]},
        {"type": "NUMBER", "value": -0.25},
        {"type": "BOOLEAN", "value": False, "tags": []},
        {"type": "STRING", "value": "it's 12:30 - http://x/y"},
    ],
)
def test_the_writers_plain_files_take_the_fast_path(document: dict[str, Any]) -> None:
    text = yamltext.dump(document).decode()
    assert fast(text) == typed(document), text  # not None: the fast path took it
    assert yamltext.parse(text.encode()) == document


@pytest.mark.parametrize(
    "text",
    [
        "value:\n  nested: 1\n",  # nesting
        "value: |\n  block\n",  # a block scalar
        'value: "double"\n',  # double quotes (escapes)
        "value: a\nvalue: b\n",  # a duplicate key: libyaml reports where
        "true: 1\n",  # a key that is not a string
        "value: café\n",  # non-ASCII
        "value: 9" + "9" * 5000 + "\n",  # more digits than int() converts
        "# only a comment\n",  # no data
    ],
)
def test_what_the_fast_reader_leaves_to_libyaml(text: str) -> None:
    assert yamlplain.read(text, yamltext._resolve_plain) is None


def test_depth_limit_applies_to_fast_documents() -> None:
    limits.configure(dataclasses.replace(limits.current(), depth=0))
    try:
        with pytest.raises(yamltext.YamlError, match="nests more than 0 levels"):
            yamltext.parse(b"tags: [a]\n")
        assert yamltext.parse(b"value: 1\n") == {"value": 1}
    finally:
        limits.configure(None)
