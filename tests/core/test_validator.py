"""The one validator: its checks (table-driven), the changed-files mode, and ``gitconfig
validate`` on a working tree, a commit, a range and the staged files, in three formats."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from gitconfig.core import validator
from gitconfig.core.configfile import NOT_ENCRYPTED
from gitconfig.core.validator import check_tree, validate_files
from gitconfig.runtime.bootstrap import open_service
from tests.support.clirun import gitconfig, ok, served_and_clone
from tests.support.gitrepo import commit_files, git, rev_parse

EXAMPLE = Path(__file__).resolve().parents[2] / "example-repo"
GOOD = b"type: NUMBER\nvalue: 1\n"
POSITIVE = b'{"type": "number", "exclusiveMinimum": 0}'

CASES = [
    # (path, content, field, message fragment, line)
    (
        "configs/a/DEV/k.yaml",
        b"type: NUMBER\nvalue: 1\ncolour: red\n",
        "colour",
        "unknown field",
        3,
    ),
    ("configs/a/QA/k.yaml", GOOD, "", "environment must be one of DEV, TEST, STAGING, PROD", 0),
    ("configs/a b/DEV/k.yaml", GOOD, "", "application must match", 0),
    ("configs/a/DEV/-k.yaml", GOOD, "", "key must match", 0),
    ("configs/a/DEV/k.yml", GOOD, "", "entry files must end in .yaml", 0),
    ("configs/a/DEV/extra/k.yaml", GOOD, "", "expected <configs|flags>/<application>", 0),
    ("configs/a/DEV/k.yaml", b"type: NUMBER\nvalue: abc\n", "value", "must be a number", 2),
    ("configs/a/DEV/k.yaml", b"type: number\nvalue: 1\n", "type", "upper case: NUMBER", 1),
    ("configs/a/DEV/k.yaml", b"type: BOOLEAN\nvalue: yes\n", "value", "yes, no, on and off", 2),
    ("configs/a/DEV/k.yaml", b"value: 1\n", "type", "missing", 0),
    ("configs/a/DEV/k.yaml", b"type: NUMBER\nvalue: [1\n", "", "not valid YAML", 3),
    (
        "configs/a/DEV/k.yaml",
        b"type: NUMBER\nvalue: -5\nschema: {$ref: schemas/positive.json}\n",
        "value",
        "$: -5 is less than or equal to the minimum of 0",
        2,
    ),
    (
        "configs/a/DEV/k.yaml",
        b"type: NUMBER\nvalue: 5\nschema: {$ref: schemas/nope.json}\n",
        "schema",
        "there is no shared schema schemas/nope.json",
        3,
    ),
    (
        "configs/a/DEV/k.yaml",
        b"type: STRING\nvalue: x\nschema:\n  type: string\n  minLength: 3\n",
        "value",
        "'x' is too short",
        2,
    ),
    ("configs/a/DEV/k.yaml", b"type: SECRET\nvalue: hunter2\n", "value", NOT_ENCRYPTED, 2),
    (
        "flags/a/DEV/f.yaml",
        b"description: d\nrules:\n  - {attribute: r, operator: LIKE, values: [x]}\n",
        "rules.0.operator",
        "unknown operator 'LIKE'",
        2,
    ),
    (
        "flags/a/DEV/f.yaml",
        b"description: d\nrules:\n  - percentage: 150\n",
        "rules.0.percentage",
        "from 0 to 100",
        2,
    ),
    (
        "flags/a/DEV/f.yaml",
        b"description: d\nrules:\n  - {attribute: u, operator: MATCHES, values: ['(']}\n",
        "rules.0.values.0",
        "not a valid RE2 pattern",
        2,
    ),
    ("flags/a/DEV/f.yaml", b"enabled: true\n", "description", "is required", 0),
    ("flags/a/DEV/f.yaml", b"description: d\nenabled: true\nwho: me\n", "who", "unknown field", 3),
]


@pytest.mark.parametrize(("path", "content", "field", "fragment", "line"), CASES)
def test_each_check(path: str, content: bytes, field: str, fragment: str, line: int) -> None:
    files = {path: content, "schemas/positive.json": POSITIVE}
    findings = validate_files(files)
    assert [(f.path, f.field) for f in findings] == [(path, field)], findings
    assert fragment in findings[0].message
    assert findings[0].line == line


def test_a_secret_is_never_echoed() -> None:
    findings = validate_files({"configs/a/DEV/k.yaml": b"type: SECRET\nvalue: hunter2\n"})
    assert findings
    assert all("hunter2" not in str(finding) for finding in findings)


def test_a_ref_is_never_fetched_over_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the validator tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    content = b"type: NUMBER\nvalue: 1\nschema: {$ref: 'https://example.com/s.json'}\n"
    findings = validate_files({"configs/a/DEV/k.yaml": content})
    assert [f.field for f in findings] == ["schema"]
    assert "only shared schemas of this repository" in findings[0].message


def test_names_differing_only_in_case_and_bad_shared_schemas() -> None:
    files = {
        "configs/a/DEV/Key.yaml": GOOD,
        "configs/a/DEV/key.yaml": GOOD,
        "schemas/broken.json": b"{not json",
        "schemas/invalid.json": b'{"type": 12}',
        "README.md": b"ignored",
    }
    found = [(f.path, f.message.split(":")[0]) for f in validate_files(files)]
    assert found == [
        ("configs/a/DEV/key.yaml", "differs only in case from configs/a/DEV/Key.yaml"),
        ("schemas/broken.json", "not valid JSON"),
        ("schemas/invalid.json", "$.type"),
    ]


def test_check_tree_validates_only_changed_files_within_the_whole_tree() -> None:
    blobs = {
        "b1": b"type: NUMBER\nvalue: nope\n",  # invalid, but unchanged
        "b2": b"type: NUMBER\nvalue: -1\nschema: {$ref: schemas/positive.json}\n",
        "b3": POSITIVE,
        "b4": GOOD,
    }
    read_count: list[str] = []

    def read(blob: str) -> bytes:
        read_count.append(blob)
        return blobs[blob]

    tree = {
        "configs/a/DEV/old.yaml": "b1",
        "configs/a/DEV/new.yaml": "b2",
        "schemas/positive.json": "b3",
        "configs/a/DEV/Old.yaml": "b4",
    }
    report = check_tree(tree, read, changed=["configs/a/DEV/new.yaml", "configs/a/DEV/Old.yaml"])
    assert [(f.path, f.field) for f in report.findings] == [
        ("configs/a/DEV/new.yaml", "value"),  # checked against the unchanged shared schema
        ("configs/a/DEV/old.yaml", ""),  # the collision names the changed file's twin
    ]
    assert sorted(read_count) == ["b2", "b3", "b4"]  # the unchanged entry was never read
    assert report.checked == 2
    everything = check_tree(tree, read, changed=["schemas/positive.json"])  # all re-checked
    assert {f.path for f in everything.findings} == {
        "configs/a/DEV/old.yaml",
        "configs/a/DEV/new.yaml",
    }


def test_the_index_reports_the_validators_findings(bare_repo: Path) -> None:
    work = bare_repo.parent / "w"
    git(bare_repo.parent, "clone", "--quiet", str(bare_repo), str(work))
    bad = b"type: NUMBER\nvalue: abc\ncolour: red\n"
    commit_files(work, {"configs/a/DEV/k.yaml": bad}, "bad")
    git(work, "push", "--quiet", "origin", "main")
    service = open_service(bare_repo)
    service.index.refresh()
    problem = service.reads.snapshot().problems["configs/a/DEV/k.yaml"]
    expected = validator.validate_entry("configs/a/DEV/k.yaml", bad, {})
    path = "configs/a/DEV/k.yaml"
    assert sorted(problem.errors) == sorted(f"{path}: {f.field}: {f.message}" for f in expected)


# -- the command ----------------------------------------------------------------------------


def test_the_example_repository_is_valid() -> None:
    out = ok("validate", str(EXAMPLE))
    assert out.startswith("ok: ")
    assert out.endswith(" file(s) valid\n")


def test_formats(tmp_path: Path) -> None:
    (tmp_path / "configs/a/DEV").mkdir(parents=True)
    (tmp_path / "configs/a/DEV/k.yaml").write_bytes(b"type: NUMBER\nvalue: abc\n")
    (tmp_path / "configs/a/DEV/ok.yaml").write_bytes(GOOD)
    text = gitconfig("validate", str(tmp_path))
    assert text.exit_code == 1
    line = "configs/a/DEV/k.yaml:2: value: must be a number for type NUMBER, not a string"
    assert text.stdout == line + "\n"
    assert text.stderr == "1 problem(s) in 1 of 2 file(s)\n"
    github = gitconfig("validate", str(tmp_path), "--format", "github")
    assert github.stdout.splitlines()[0] == (
        f"::error file={tmp_path}/configs/a/DEV/k.yaml,line=2,title=gitconfig%3A value"
        "::value: must be a number for type NUMBER, not a string"
    )
    data = json.loads(gitconfig("validate", str(tmp_path), "-f", "json").stdout)
    assert data == [
        {
            "path": "configs/a/DEV/k.yaml",
            "line": 2,
            "field": "value",
            "message": "must be a number for type NUMBER, not a string",
            "severity": "error",
        }
    ]
    assert json.loads(ok("validate", str(EXAMPLE), "--format", "json")) == []


def test_a_commit_a_range_and_a_bare_repository(tmp_path: Path) -> None:
    bare, work = served_and_clone(tmp_path)
    broken = commit_files(work, {"configs/a/DEV/old.yaml": b"type: NUMBER\nvalue: x\n"}, "old")
    base = commit_files(work, {"configs/a/DEV/ok.yaml": GOOD}, "ok")
    commit_files(work, {"configs/a/DEV/new.yaml": b"type: BOOLEAN\nvalue: 1\n"}, "new")
    assert "old.yaml" in gitconfig("validate", str(work), "--rev", broken).stdout
    changed = gitconfig("validate", str(work), "--changed", f"{base}..HEAD")
    assert changed.exit_code == 1
    assert [line.split(":")[0] for line in changed.stdout.splitlines()] == [
        "configs/a/DEV/new.yaml"
    ]
    assert changed.stderr == "1 problem(s) in 1 of 1 file(s)\n"
    assert gitconfig("validate", str(work), "--changed", f"{broken}..{base}").exit_code == 0
    assert gitconfig("validate", str(work), "--changed", "HEAD~1...HEAD").exit_code == 1
    assert gitconfig("validate", str(work), "--changed", "nope..HEAD").exit_code == 1
    assert gitconfig("validate", str(work), "--changed", "HEAD").exit_code == 1
    assert gitconfig("validate", str(work), "--rev", "x", "--staged").exit_code == 2
    git(work, "push", "--quiet", "origin", "main")
    from_bare = gitconfig("validate", str(bare))
    assert from_bare.exit_code == 1
    assert {line.split(":")[0] for line in from_bare.stdout.splitlines()} == {
        "configs/a/DEV/old.yaml",
        "configs/a/DEV/new.yaml",
    }
    empty = tmp_path / "empty.git"
    git(tmp_path, "init", "--quiet", "--bare", str(empty))
    assert ok("validate", str(empty), "--allow-empty") == "ok: 0 file(s) valid\n"


def test_staged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, work = served_and_clone(tmp_path)
    commit_files(work, {"configs/a/DEV/old.yaml": b"type: NUMBER\nvalue: x\n"}, "old")
    (work / "configs/a/DEV/new.yaml").write_bytes(b"type: NUMBER\nvalue: y\n")
    assert ok("validate", str(work), "--staged") == "ok: 0 file(s) valid\n"  # nothing staged
    git(work, "add", "configs/a/DEV/new.yaml")
    (work / "configs/a/DEV/new.yaml").write_bytes(GOOD)  # the disk differs from the index
    staged = gitconfig("validate", str(work), "--staged")
    assert staged.stdout.startswith("configs/a/DEV/new.yaml:2: value:")  # old.yaml not checked
    git(work, "add", "configs/a/DEV/new.yaml")
    assert gitconfig("validate", str(work), "--staged").exit_code == 0
    # a hook gets the index to check in GIT_INDEX_FILE
    other = tmp_path / "other-index"
    monkeypatch.setenv("GIT_INDEX_FILE", str(other))
    git(work, "read-tree", "HEAD")  # writes GIT_INDEX_FILE, not .git/index
    git(
        work,
        "update-index",
        "--add",
        "--cacheinfo",
        f"100644,{git(work, 'hash-object', '-w', '--stdin', input='value: 1')},"
        "configs/a/DEV/z.yaml",
    )
    hooked = gitconfig("validate", str(work / "configs"), "--staged")  # from a subfolder
    assert hooked.stdout.splitlines() == [
        "configs/a/DEV/z.yaml: type: missing; one of STRING, NUMBER, BOOLEAN, JSON, SECRET"
    ]
    assert rev_parse(work, "HEAD")
