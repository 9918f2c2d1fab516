"""example-repo/ is a valid configuration repository, and schemas/config.schema.json agrees
with the server's validator about what a configuration file is."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from gitconfig.core import configfile, jsonschemas, yamltext
from gitconfig.core.errors import BadRequest
from gitconfig.core.model import EntryKey, Environment, Kind, ValueType
from gitconfig.core.paths import is_schema_path, parse_entry_path

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE = PROJECT / "example-repo"
CONFIG_FILE_SCHEMA = json.loads((PROJECT / "schemas" / "config.schema.json").read_text())
CONFIG_FILES = sorted(p.relative_to(EXAMPLE).as_posix() for p in EXAMPLE.glob("configs/**/*.yaml"))
SHARED = {
    p.relative_to(EXAMPLE).as_posix(): json.loads(p.read_text())
    for p in sorted(EXAMPLE.glob("schemas/*.json"))
}


def test_config_file_schema_is_a_valid_json_schema() -> None:
    assert jsonschemas.schema_errors(CONFIG_FILE_SCHEMA) == []


@pytest.mark.parametrize("path", sorted(SHARED))
def test_shared_schemas_are_valid(path: str) -> None:
    assert is_schema_path(path)
    assert jsonschemas.schema_errors(SHARED[path]) == []


@pytest.mark.parametrize("path", CONFIG_FILES)
def test_every_config_file_is_valid(path: str) -> None:
    assert isinstance(parse_entry_path(path), EntryKey)
    data = (EXAMPLE / path).read_bytes()
    document = configfile.load(data, SHARED)
    assert document.value_type is not ValueType.SECRET
    assert document.description
    assert jsonschemas.validate(yamltext.parse(data), CONFIG_FILE_SCHEMA, {}) == []


def test_layout() -> None:
    keys = [parse_entry_path(path) for path in CONFIG_FILES]
    assert all(isinstance(key, EntryKey) and key.kind is Kind.CONFIG for key in keys)
    environments: dict[tuple[str, str], set[Environment]] = defaultdict(set)
    for key in keys:
        assert isinstance(key, EntryKey)
        environments[key.application, key.key].add(key.environment)
    assert 40 <= len(CONFIG_FILES) <= 70
    assert len({application for application, _ in environments}) >= 5
    assert all(envs == set(Environment) for envs in environments.values())
    assert (EXAMPLE / "README.md").is_file()
    assert not list(EXAMPLE.glob("configs/**/*.yml"))


def test_every_value_type_schema_kind_and_reference_is_shown() -> None:
    documents = [configfile.load((EXAMPLE / p).read_bytes(), SHARED) for p in CONFIG_FILES]
    assert {d.value_type for d in documents} == set(ValueType) - {ValueType.SECRET}
    referenced = {configfile.references(d) for d in documents} - {None}
    assert referenced == set(SHARED)
    assert any(d.schema and "$ref" not in d.schema for d in documents)  # inline schemas
    assert all(d.tags for d in documents)


def test_values_differ_per_environment() -> None:
    values: dict[str, set[str]] = defaultdict(set)
    for path in CONFIG_FILES:
        document = configfile.load((EXAMPLE / path).read_bytes(), SHARED)
        application, _, key = path.removeprefix("configs/").split("/")
        values[f"{application}/{key}"].add(configfile.value_text(document))
    assert sum(len(texts) > 1 for texts in values.values()) >= len(values) // 2


def test_sops_configuration() -> None:
    sops = yamltext.parse((EXAMPLE / ".sops.yaml").read_bytes())
    [rule] = sops["creation_rules"]
    assert re.search(rule["path_regex"], "configs/trading-engine/PROD/max-order-size.yaml")
    assert not re.search(rule["path_regex"], "flags/trading-engine/PROD/new-matching.yaml")
    assert rule["encrypted_regex"] == "^value$"
    assert rule["mac_only_encrypted"] is True
    assert re.fullmatch(r"age1[02-9ac-hj-np-z]{58}", rule["age"])


ENC = "ENC[AES256_GCM,data:eA==,iv:AAAA,tag:BBBB,type:str]"


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("type: STRING\nvalue: x\n", True),
        ("type: NUMBER\nvalue: 1.5\ndescription: d\ntags: [a]\nschema: {minimum: 0}\n", True),
        ("type: BOOLEAN\nvalue: false\n", True),
        ("type: JSON\nvalue: {a: [1, null]}\n", True),
        ("type: JSON\nvalue: null\n", True),
        ("type: STRING\nvalue: x\ndescription: null\ntags: null\nschema: null\n", True),
        (f"type: SECRET\nvalue: {ENC}\nsops: {{mac: x}}\n", True),
        ("value: x\n", False),
        ("type: STRING\n", False),
        ("type: TEXT\nvalue: x\n", False),
        ("type: STRING\nvalue: x\nowner: me\n", False),
        ("type: STRING\nvalue: 5\n", False),
        ("type: NUMBER\nvalue: '5'\n", False),
        ("type: NUMBER\nvalue: true\n", False),
        ("type: BOOLEAN\nvalue: yes\n", False),
        ("type: STRING\nvalue: x\ndescription: 5\n", False),
        ("type: STRING\nvalue: x\ntags: a\n", False),
        ("type: STRING\nvalue: x\ntags: [a, a]\n", False),
        ("type: STRING\nvalue: x\ntags: ['']\n", False),
        ("type: STRING\nvalue: x\nschema: number\n", False),
        ("type: STRING\nvalue: x\nschema: {type: strin}\n", False),
        ("type: STRING\nvalue: x\nsops: {mac: x}\n", False),
        ("type: SECRET\nvalue: plain\nsops: {mac: x}\n", False),
        (f"type: SECRET\nvalue: {ENC}\n", False),
    ],
)
def test_config_file_schema_agrees_with_load(text: str, valid: bool) -> None:
    data = yamltext.parse(text.encode())
    assert (jsonschemas.validate(data, CONFIG_FILE_SCHEMA, {}) == []) is valid
    try:
        configfile.load(text.encode(), {})
    except BadRequest:
        loaded = False
    else:
        loaded = True
    assert loaded is valid
