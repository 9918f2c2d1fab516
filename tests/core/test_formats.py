"""Import and export: the four formats, type inference, all-or-nothing imports, round trips
through ``gitconfig import`` and ``gitconfig export``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from gitconfig.access.principals import Principal
from gitconfig.core import formats as transfer
from gitconfig.core import importing
from gitconfig.core.errors import BadRequest, Conflict
from gitconfig.core.formats import Format, Item, Row
from gitconfig.core.importing import ImportRequest
from gitconfig.core.model import Author, PendingCommit, ValueType
from gitconfig.index.refresher import Index
from gitconfig.service import Service, build_service
from gitconfig.store.gitstore import GitStore
from tests.support.clirun import as_json, gitconfig, ok, served_and_clone
from tests.support.gitrepo import commit_files, git, rev_parse
from tests.support.refusal import unchanged

WHERE = ("-a", "pricing", "-e", "DEV")
SECRET = (
    "type: SECRET\nvalue: ENC[AES256_GCM,data:AAAA,iv:aa==,tag:bb==,type:str]\n"
    "description: API key\nsops: {version: 3.9.0}\n"
)


# -- reading ---------------------------------------------------------------------------------


def test_env_syntax() -> None:
    content = (
        "# a comment\n\n"
        "export A=1\n"
        "B = two words # a comment\n"
        "C='single #quoted $HOME'\n"
        'D="tab\\tnew\\nline \\"q\\" \\$X"\n'
        'E="spans\ntwo lines"\n'
        "F=\n"
        "G=a#b\n"
    )
    items = transfer.parse(Format.ENV, content)
    assert [(i.key, i.value, i.line) for i in items] == [
        ("A", "1", 3),
        ("B", "two words", 4),
        ("C", "single #quoted $HOME", 5),
        ("D", 'tab\tnew\nline "q" $X', 6),
        ("E", "spans\ntwo lines", 7),
        ("F", "", 9),
        ("G", "a#b", 10),
    ]


def test_properties_syntax() -> None:
    content = (
        "# comment\n! also a comment\n"
        "a=1\n"
        "b : two\n"
        "c three four\n"
        "d = long \\\n    continued\n"
        "e\\ key = \\u00e9t\\u00e9 \\n \\\\ \\:\n"
        "f\n"
        "   g=  leading spaces trimmed\n"
    )
    items = transfer.parse(Format.PROPERTIES, content)
    assert [(i.key, i.value) for i in items] == [
        ("a", "1"),
        ("b", "two"),
        ("c", "three four"),
        ("d", "long continued"),
        ("e key", "été \n \\ :"),
        ("f", ""),
        ("g", "leading spaces trimmed"),
    ]


def test_properties_cr_only_line_ends_are_lines() -> None:
    items = transfer.parse(Format.PROPERTIES, "a=1\rb=2\r\nc=3\r")
    assert [(i.key, i.value, i.line) for i in items] == [
        ("a", "1", 1),
        ("b", "2", 2),
        ("c", "3", 3),
    ]


@pytest.mark.parametrize("text", ["\U0001f600 grin", "caf\u00e9", "tab\there", " lead", "a=b:c#d!"])
def test_properties_export_reads_back(text: str) -> None:
    rendered = transfer.render(Format.PROPERTIES, [transfer.Row("k ey", ValueType.STRING, text)])
    assert rendered.isascii()
    items = transfer.parse(Format.PROPERTIES, rendered)
    assert [(i.key, i.value) for i in items] == [("k ey", text)]


def test_properties_malformed_escape_names_the_line() -> None:
    with pytest.raises(BadRequest) as caught:
        transfer.parse(Format.PROPERTIES, "a=1\nb=\\uzz\n")
    assert [e.field for e in caught.value.errors] == ["line 2"]


@pytest.mark.parametrize(
    ("fmt", "content", "fields"),
    [
        (Format.JSON, '{"a": 1, "a": 2}', ["content"]),
        (Format.JSON, "[1, 2]", ["content"]),
        (Format.JSON, "{nope", ["content"]),
        (Format.YAML, "a: 1\na: 2\n", ["content"]),
        (Format.YAML, "1: x\n", ["1"]),
        (Format.ENV, "A=1\nA=2\n", ["A"]),
        (Format.ENV, "just words\nB='open\n", ["line 1", "line 2"]),
        (Format.ENV, "a=1\nA=2\n", ["A"]),
        (Format.PROPERTIES, "a=\\u12\n", ["line 1"]),
        (Format.PROPERTIES, "", ["content"]),
    ],
)
def test_bad_files_report_every_problem(fmt: Format, content: str, fields: list[str]) -> None:
    with pytest.raises(BadRequest) as caught:
        transfer.parse(fmt, content)
    assert [error.field for error in caught.value.errors] == fields


@pytest.mark.parametrize(
    ("value", "native", "expected"),
    [
        (True, True, ValueType.BOOLEAN),
        (15, True, ValueType.NUMBER),
        (1.5, True, ValueType.NUMBER),
        ({"a": 1}, True, ValueType.JSON),
        ([1], True, ValueType.JSON),
        ("15", True, ValueType.STRING),
        (None, True, None),
        ("true", False, ValueType.BOOLEAN),
        ("True", False, ValueType.STRING),
        ("15", False, ValueType.NUMBER),
        ("-0.5", False, ValueType.NUMBER),
        ("007", False, ValueType.STRING),
        ("1.50", False, ValueType.STRING),
        ("1e3", False, ValueType.STRING),
        ('{"a": 1}', False, ValueType.JSON),
        ("[1, 2]", False, ValueType.JSON),
        ("{not json", False, ValueType.STRING),
        ('"quoted"', False, ValueType.STRING),
        ("", False, ValueType.STRING),
    ],
)
def test_type_inference(value: object, native: bool, expected: ValueType | None) -> None:
    assert importing.infer_type(Item("k", value, native)) is expected


def test_format_of_file_names() -> None:
    assert transfer.format_of("a/b/app.JSON") is Format.JSON
    assert transfer.format_of("x.yml") is Format.YAML
    assert transfer.format_of(".env") is Format.ENV
    assert transfer.format_of(".env.production") is Format.ENV
    assert transfer.format_of("prod.env") is Format.ENV
    assert transfer.format_of("application.properties") is Format.PROPERTIES
    assert transfer.format_of("notes.txt") is None


def test_plan_collects_every_problem() -> None:
    items = transfer.parse(Format.JSON, '{"n": "x", "ok": 1, "bad key": 2, "gone": null}')
    types = {"n": ValueType.NUMBER, "ghost": ValueType.STRING}
    with pytest.raises(BadRequest) as caught:
        importing.plan(items, types, {}, {})
    assert [(e.field, e.message.split(" ")[0]) for e in caught.value.errors] == [
        ("types.ghost", "is"),
        ("n", "must"),
        ("bad key", "invalid"),
        ("gone", "is"),
    ]


def test_render_escapes() -> None:
    rows = [
        Row("plain", ValueType.STRING, "a-b_c.d/e:f@g"),
        Row("spaces", ValueType.STRING, "two words"),
        Row("quote", ValueType.STRING, "it's\nhere $HOME"),
        Row("json", ValueType.JSON, {"a": [1, "é"]}),
    ]
    assert transfer.render(Format.ENV, rows) == (
        "plain=a-b_c.d/e:f@g\nspaces='two words'\n"
        'quote="it\'s\nhere \\$HOME"\njson=\'{"a":[1,"é"]}\'\n'
    )  # a line break stays a line break: sh does not undo \n in double quotes
    assert transfer.render(Format.PROPERTIES, rows, "top") == (
        "# top\nplain=a-b_c.d/e\\:f@g\nspaces=two words\n"
        'quote=it\'s\\nhere $HOME\njson={"a"\\:[1,"\\u00e9"]}\n'
    )
    for fmt in Format:
        parsed = transfer.parse(fmt, transfer.render(fmt, rows))
        assert [item.key for item in parsed] == [row.key for row in rows]


# -- the commands ----------------------------------------------------------------------------

VALUES = {
    "max-spread": 15,
    "ratio": 0.25,
    "enabled": True,
    "name": "two words, 'quoted' and \"double\"",
    "code": "007",
    "multi": "line one\nline two",
    "hosts": ["a.example.com", "b.example.com"],
    "policy": {"retries": 3, "backoff": {"ms": 100}},
    "unicode": "été ✓",
}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    _, work = served_and_clone(tmp_path)
    return work


@pytest.mark.parametrize("fmt", list(Format))
def test_round_trip(work: Path, tmp_path: Path, fmt: Format) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(VALUES))
    ok("import", str(seed), "-a", "seed", "-e", "TEST", repo=work)
    source = tmp_path / f"in.{fmt.value}"
    source.write_text(ok("export", "-a", "seed", "-e", "TEST", "-f", fmt.value, repo=work))
    before = rev_parse(work, "HEAD")
    out = ok("import", str(source), *WHERE, repo=work)
    assert out.splitlines()[-1].startswith(f"{len(VALUES)} created, 0 updated, 0 unchanged in")
    assert rev_parse(work, "HEAD~1") == before  # one commit for all
    assert git(work, "status", "--porcelain") == ""  # the clone has the files
    assert len(list((work / "configs/pricing/DEV").iterdir())) == len(VALUES)
    exported = ok("export", *WHERE, "-f", fmt.value, repo=work)
    again = tmp_path / f"again.{fmt.value}"
    again.write_text(exported)
    assert ok("import", str(again), *WHERE, repo=work).splitlines()[-1] == (
        f"0 created, 0 updated, {len(VALUES)} unchanged"
    )
    if fmt in (Format.JSON, Format.YAML):  # typed formats: values and types round-trip
        assert {item.key: item.value for item in transfer.parse(fmt, exported)} == VALUES
        listed = {d["key"]: d["valueType"] for d in as_json("list", *WHERE, repo=work)}
        assert listed["code"] == "STRING"
        assert listed["policy"] == "JSON"
        assert listed["max-spread"] == "NUMBER"
        assert listed["enabled"] == "BOOLEAN"
    else:  # text formats: the text round-trips; types are inferred
        texts = {i.key: i.value for i in transfer.parse(fmt, exported)}
        assert texts["multi"] == "line one\nline two"
        assert texts["policy"] == '{"retries":3,"backoff":{"ms":100}}'
        assert texts["code"] == "007"


def test_import_is_all_or_nothing(work: Path, tmp_path: Path) -> None:
    ok("set", "max-spread", "10", *WHERE, "--schema", '{"maximum": 100}', repo=work)
    kept = unchanged(work)
    bad = tmp_path / "bad.env"
    bad.write_text("max-spread=500\nnew-key=ok\nflag=true\nbad!key=1\n")
    result = gitconfig("import", str(bad), *WHERE, "--type", "flag=NUMBER", repo=work)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: import rejected: 3 problem(s), nothing changed",
        "  max-spread: $: 500 is greater than the maximum of 100",
        "  flag: must be a decimal number for type NUMBER, such as 42, -0.5 or 2.5e-3",
        "  bad!key: invalid key: must match [A-Za-z0-9][A-Za-z0-9._-]{0,249}"
        " (with .yaml, a file name of at most 255 bytes)",
    ]
    kept.check()
    assert not (work / "configs/pricing/DEV/new-key.yaml").exists()


def test_import_updates_keep_type_and_metadata_and_types_override(
    work: Path, tmp_path: Path
) -> None:
    ok("set", "name", "old", *WHERE, "--description", "kept", "--tag", "t", repo=work)
    source = tmp_path / "values.properties"
    source.write_text("name=42\ncount=42\nlabel=42\n")
    data = as_json("import", str(source), *WHERE, "--type", "label=STRING", repo=work)
    assert (data["created"], data["updated"], data["unchanged"]) == (
        ["count", "label"],
        ["name"],
        [],
    )
    assert data["commit"] == rev_parse(work, "HEAD")
    got = {d["key"]: d for d in as_json("list", *WHERE, repo=work)}
    assert (got["name"]["valueType"], got["name"]["value"]) == ("STRING", "42")
    assert (got["name"]["description"], got["name"]["tags"]) == ("kept", ["t"])
    assert got["count"]["valueType"] == "NUMBER"
    assert got["label"]["valueType"] == "STRING"
    every = as_json("import", str(source), *WHERE, "--type", "JSON", "--dry-run", repo=work)
    assert every == {
        "created": [],
        "updated": ["name", "count", "label"],
        "unchanged": [],
        "commit": None,
        "dryRun": True,
    }
    message = git(work, "log", "-1", "--format=%s")
    assert message == "Import 3 configuration(s) into pricing/DEV (2 created, 1 updated)"


def test_import_from_stdin_needs_a_format(work: Path) -> None:
    kept = unchanged(work)
    assert gitconfig("import", "-", *WHERE, repo=work, input="A=1\n").exit_code == 1
    kept.check()
    out = ok("import", "-", *WHERE, "-f", "env", "-m", "From CI", repo=work, input="A=1\n")
    assert "1 created" in out
    assert git(work, "log", "-1", "--format=%s") == "From CI"


def test_export_masks_secrets_unless_revealed(work: Path, tmp_path: Path) -> None:
    commit_files(work, {"configs/pricing/DEV/api-key.yaml": SECRET}, "secret")
    ok("set", "max-spread", "15", *WHERE, repo=work)
    exported = ok("export", *WHERE, repo=work)
    assert json.loads(exported) == {"api-key": "********", "max-spread": 15}
    revealed = gitconfig("export", *WHERE, "--reveal", repo=work)
    assert revealed.exit_code == 1  # not real sops data: a clear error
    assert "cannot reveal configs/pricing/DEV/api-key.yaml" in revealed.stderr
    env = ok("export", *WHERE, "-f", "env", repo=work)
    assert env.splitlines()[0].startswith("# gitconfig export of pricing/DEV at ")
    back = tmp_path / "back.json"
    back.write_text(exported)  # the mask leaves the secret as it is
    assert ok("import", str(back), *WHERE, repo=work).splitlines()[-1] == (
        "0 created, 0 updated, 2 unchanged"
    )
    back.write_text('{"api-key": "plain"}')
    refused = gitconfig("import", str(back), *WHERE, repo=work)
    assert refused.exit_code == 1
    assert "api-key: cannot encrypt" in refused.stderr  # the placeholder recipient
    assert "names the placeholder recipient" in refused.stderr
    assert "plain" not in refused.stderr
    out_file = tmp_path / "out.yaml"
    ok("export", *WHERE, "-f", "yaml", "--file", str(out_file), repo=work)
    assert "max-spread: 15\n" in out_file.read_text()
    assert json.loads(ok("export", "-a", "none", "-e", "DEV", repo=work)) == {}


# -- concurrency: one compare-and-swap for the whole import ------------------------------------


class RacingStore(GitStore):
    """Another writer commits ``race`` (path -> content) just before this store's next write."""

    def __init__(self, path: Path, race: dict[str, bytes | None]) -> None:
        super().__init__(path)
        self.race: dict[str, bytes | None] | None = race

    def write_chain(self, parent: str | None, commits: Sequence[PendingCommit]) -> list[str]:
        if self.race is not None:
            race, self.race = self.race, None
            self.write(parent, race, Author("Other", "other@example.com"), "concurrent")
        return super().write_chain(parent, commits)


def racing_service(bare: Path, race: dict[str, bytes | None]) -> Service:
    store = RacingStore(bare, race)
    service = build_service(store, Index(store))
    service.index.refresh()
    return service


REQUEST = ImportRequest("pricing", "DEV", Format.ENV, "a=1\nb=2\n")
ADMIN = Principal("admin", frozenset({"admin"}))


def test_an_import_retries_on_top_of_an_unrelated_concurrent_commit(bare_repo: Path) -> None:
    service = racing_service(bare_repo, {"configs/other/DEV/x.yaml": b"type: NUMBER\nvalue: 1\n"})
    result = service.transfer.import_configs(ADMIN, REQUEST)
    assert result.created == ["a", "b"]
    assert git(bare_repo, "log", "--format=%s", "-2", "main").splitlines() == [
        "Import 2 configuration(s) into pricing/DEV (2 created, 0 updated)",
        "concurrent",
    ]
    assert result.commit == rev_parse(bare_repo, "main")


def test_an_import_conflicts_with_a_concurrent_change_to_one_of_its_keys(bare_repo: Path) -> None:
    service = racing_service(bare_repo, {"configs/pricing/DEV/b.yaml": b"type: NUMBER\nvalue: 9\n"})
    with pytest.raises(Conflict, match="pricing/DEV/b was changed concurrently"):
        service.transfer.import_configs(ADMIN, REQUEST)
    assert git(bare_repo, "log", "-1", "--format=%s", "main") == "concurrent"
    assert git(bare_repo, "ls-tree", "-r", "--name-only", "main", "configs/pricing") == (
        "configs/pricing/DEV/b.yaml"
    )


SHELL_KEYS = {
    "max-order-size": "250000",
    "2fa.timeout": "30",
    "a_b": "under",
    "a-b": "dash",  # the same shell name as a_b: kept apart
    "PLAIN": 'it\'s $HOME "quoted"',
    "multi": "line one\nline two",
    "both": 'it\'s\n`cmd` \\ $X\t"q"',
}


def test_env_export_can_be_sourced_and_imported_back(work: Path, tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(SHELL_KEYS))
    ok("import", str(seed), *WHERE, "--type", "*=STRING", repo=work)
    target = tmp_path / "exported.env"
    ok("export", *WHERE, "--file", str(target), repo=work)  # the format from the extension
    text = target.read_text()
    assert "max_order_size=250000" in text
    assert "# gitconfig key: max-order-size" in text
    script = f"set -a; . {target}; env -0"
    shell = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    variables = dict(line.split("=", 1) for line in shell.stdout.split("\0") if "=" in line)
    assert variables["max_order_size"] == "250000"
    assert variables["_2fa_timeout"] == "30"
    assert {variables["a_b"], variables["a_b_2"]} == {"under", "dash"}
    assert variables["PLAIN"] == SHELL_KEYS["PLAIN"]
    assert variables["multi"] == SHELL_KEYS["multi"]
    assert variables["both"] == SHELL_KEYS["both"]
    items = {item.key: item.value for item in transfer.parse(Format.ENV, text)}
    assert items == SHELL_KEYS  # the mapping reversed
    assert ok("import", str(target), *WHERE, repo=work).splitlines()[-1] == (
        f"0 created, 0 updated, {len(SHELL_KEYS)} unchanged"
    )


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("x.env", "env"), ("x.yaml", "yaml"), ("x.yml", "yaml"), ("x.properties", "properties")],
)
def test_export_takes_the_format_from_the_file_name(
    work: Path, tmp_path: Path, name: str, fmt: str
) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"k": 1}))
    ok("import", str(seed), *WHERE, repo=work)
    target = tmp_path / name
    ok("export", *WHERE, "--file", str(target), repo=work)
    assert transfer.parse(Format(fmt), target.read_text())[0].key == "k"
    assert not target.read_text().lstrip().startswith("{")
