"""The repository's YAML dialect: YAML 1.2 core types, no aliases, no duplicate keys."""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml

from gitconfig.core import yamltext


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("null", None),
        ("~", None),
        ("", None),
        ("42", 42),
        ("-7", -7),
        ("007", 7),
        ("0o17", 15),
        ("0x1F", 31),
        ("0.5", 0.5),
        ("-.5", -0.5),
        ("1e3", 1000.0),
        ("1.5E-3", 0.0015),
        ("1.0e+21", 1e21),
        ("-.inf", -math.inf),
        # YAML 1.1 types that YAML 1.2 reads as strings
        ("yes", "yes"),
        ("No", "No"),
        ("on", "on"),
        ("y", "y"),
        ("2024-01-01", "2024-01-01"),
        ("2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z"),
        ("1_000", "1_000"),
        ("1:30", "1:30"),
        ("017_", "017_"),
        ("0b101", "0b101"),
        ("=", "="),
        ("<<", "<<"),
        # explicit core tags
        ("!!str 42", "42"),
        ("!!int '42'", 42),
        ("!!float '1'", 1.0),
    ],
)
def test_scalars_follow_yaml_1_2_core(text: str, expected: Any) -> None:
    assert yamltext.parse(f"v: {text}\n".encode()) == {"v": expected}


def test_nan() -> None:
    assert math.isnan(yamltext.parse(b"v: .nan\n")["v"])


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a: 1\na: 2\n", "not valid YAML (line 2, column 1): duplicate key 'a'"),
        (b"a:\n  b: 1\n  b: 1\n", "duplicate key 'b'"),
        (
            b"a: &x [1]\nb: *x\n",
            "not valid YAML (line 2, column 4): aliases (*name) are not allowed",
        ),
        (b"a: !!timestamp 2024-01-01\n", "could not determine a constructor for the tag"),
        (b"a: !!set {x}\n", "could not determine a constructor"),
        (b"a: !!python/object/apply:os.system [ls]\n", "could not determine a constructor"),
        (b"a: !custom x\n", "could not determine a constructor"),
        (b"a: !!int x\n", "not an integer"),
        (b"a: !!float x\n", "not a float: 'x'"),
        (b"? [a]\n: 1\n", "found unhashable key"),
        (b"a: [1\n", "not valid YAML (line 2, column 1)"),
        (b"a: 1\n---\nb: 2\n", "expected a single document"),
        (b"a: 1\n\tb: 2\n", "not valid YAML"),
        (b"\xff", "not UTF-8 text"),
        (
            b'a: "\\udc00"\n',
            "invalid Unicode character escape",
        ),  # libyaml refuses it while scanning
        (b"[" * 5000 + b"]" * 5000, "not valid YAML"),
    ],
)
def test_parse_errors(data: bytes, expected: str) -> None:
    with pytest.raises(yamltext.YamlError) as caught:
        yamltext.parse(data)
    assert expected in str(caught.value)


def test_dump_style() -> None:
    text = yamltext.dump(
        {
            "type": "JSON",
            "value": {"hosts": [{"host": "a", "port": 1}], "ids": [1, 2], "empty": {}, "none": []},
            "description": "first line\nsecond line\n",
            "schema": {"$ref": "schemas/x.json"},
            "tags": ["yes", "a b"],
        }
    ).decode()
    assert text == (
        "type: JSON\n"
        "value:\n"
        "  hosts:\n"
        "    - host: a\n"
        "      port: 1\n"
        "  ids: [1, 2]\n"
        "  empty: {}\n"
        "  none: []\n"
        "description: |\n"
        "  first line\n"
        "  second line\n"
        "schema: {$ref: schemas/x.json}\n"
        "tags: ['yes', a b]\n"
    )


@pytest.mark.parametrize(
    "value",
    ["a\rb", "a\x85b", "a\u2028b", "line\n\x85", "\ufeffbom", "trailing \n", "\n", " \n x"],
)
def test_dump_round_trips_line_breaks(value: str) -> None:
    assert yamltext.parse(yamltext.dump({"v": value})) == {"v": value}


def test_dump_never_folds_long_lines() -> None:
    long = " ".join(["word"] * 100)
    assert yamltext.dump({"v": long}).decode() == f"v: {long}\n"


# Every plain scalar that YAML 1.1 (https://yaml.org/type/) or 1.2 types as something other
# than a string: the writer must quote each when it is a string value (issue 9).
YAML11_NOT_STRINGS = [
    # bool
    *["y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO"],
    *["true", "True", "TRUE", "false", "False", "FALSE"],
    *["on", "On", "ON", "off", "Off", "OFF"],
    # null
    "~",
    "null",
    "Null",
    "NULL",
    "",
    # int: decimal, binary, octal, hex, sexagesimal, underscores, signs
    "0",
    "-19",
    "+12",
    "0b1010",
    "-0b1_0",
    "012",
    "0o14",
    "0x1F",
    "0xC_A",
    "190:20:30",
    "1_000",
    "+685_230",
    # float
    "1.5",
    "-.5",
    "6.8523015e+5",
    "685.230_15e+03",
    "685_230.15",
    "190:20:30.15",
    ".inf",
    "-.Inf",
    "+.INF",
    ".nan",
    ".NaN",
    ".NAN",
    "1e3",
    "1.",
    "1E-5",
    # timestamp
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "2001-12-14 21:59:43.10 -5",
    "2001-12-15T02:59:43.1Z",
    "2002-1-1 1:02:03",
    # merge and value keys
    "<<",
    "=",
]


@pytest.mark.parametrize("text", YAML11_NOT_STRINGS)
def test_strings_another_yaml_reader_could_retype_are_quoted(text: str) -> None:
    rendered = yamltext.dump({"value": text}).decode()
    scalar = rendered.removeprefix("value: ").rstrip("\n")
    assert scalar[:1] in ("'", '"'), rendered
    assert yamltext.parse(rendered.encode()) == {"value": text}
    # PyYAML's YAML 1.1 loader reads it back as the same string, too.
    assert yaml.safe_load(rendered) == {"value": text}


@pytest.mark.parametrize("text", ["yes-man", "y2k", "nope", "Norway", "x", "1.2.3", "a:b"])
def test_plain_strings_stay_plain(text: str) -> None:
    assert yamltext.dump({"value": text}).decode() == f"value: {text}\n"
