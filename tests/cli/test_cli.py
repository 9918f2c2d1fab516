"""The entry commands (get, set, delete, list, history, show, diff, rollback) on real
repositories: a clone whose files follow every write, and a bare repository."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.clirun import as_json, gitconfig, ok, served_and_clone
from tests.support.gitrepo import commit_files, git, rev_parse
from tests.support.refusal import unchanged

PATH = "configs/pricing/DEV/max-spread.yaml"


@pytest.fixture
def repos(tmp_path: Path) -> tuple[Path, Path]:
    return served_and_clone(tmp_path)


@pytest.fixture
def work(repos: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("GIT_AUTHOR_NAME")  # so the identity comes from git config
    monkeypatch.delenv("GIT_AUTHOR_EMAIL")
    return repos[1]


def test_set_creates_one_commit_authored_by_the_user_and_the_clone_follows(work: Path) -> None:
    before = rev_parse(work, "HEAD")
    out = ok("set", "max-spread", "15", "-a", "pricing", "-e", "DEV", "--type", "NUMBER", repo=work)
    assert out.startswith("created pricing/DEV/max-spread: version 1")
    assert rev_parse(work, "HEAD~1") == before
    log = git(work, "log", "-1", "--format=%an|%ae|%s")
    assert log == "Ada Lovelace|ada@example.com|Create configuration pricing/DEV/max-spread"
    assert git(work, "status", "--porcelain") == ""
    assert (work / PATH).read_text() == "type: NUMBER\nvalue: 15\n"

    ok("set", "max-spread", "16", "-a", "pricing", "-e", "dev", "-m", "Widen", repo=work)
    assert git(work, "log", "-1", "--format=%s") == "Widen"
    assert (work / PATH).read_text() == "type: NUMBER\nvalue: 16\n"
    assert git(work, "status", "--porcelain") == ""
    assert git(work, "diff", "HEAD") == ""


def test_set_infers_the_type_of_a_new_value_and_keeps_an_existing_one(work: Path) -> None:
    cases = {"n": ("15", "NUMBER"), "b": ("true", "BOOLEAN"), "j": ('{"a": 1}', "JSON")}
    cases |= {"s": ("hello", "STRING"), "z": ("007", "STRING")}
    for key, (value, _) in cases.items():
        ok("set", key, value, "-a", "app", "-e", "TEST", repo=work)
    listed = as_json("list", "-a", "app", repo=work)
    assert {d["key"]: d["valueType"] for d in listed} == {k: t for k, (_, t) in cases.items()}
    ok("set", "z", "8", "-a", "app", "-e", "TEST", repo=work)  # stays a STRING
    assert as_json("get", "z", "-a", "app", "-e", "TEST", repo=work)["valueType"] == "STRING"
    kept = unchanged(work)
    changed = gitconfig("set", "z", "9", "-a", "app", "-e", "TEST", "--type", "NUMBER", repo=work)
    assert changed.exit_code == 1
    assert "type of an existing value cannot change" in changed.stderr
    kept.check()


def test_set_with_description_schema_and_tags(work: Path, tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text('{"type": "number", "maximum": 100}')
    ok(
        "set",
        "max-spread",
        "15",
        "-a",
        "pricing",
        "-e",
        "DEV",
        "--description",
        "Spread in bps",
        "--schema",
        f"@{schema}",
        "--tag",
        "risk",
        "--tag",
        "fx",
        repo=work,
    )
    got = as_json("get", "max-spread", "-a", "pricing", "-e", "DEV", repo=work)
    assert got["description"] == "Spread in bps"
    assert json.loads(got["schema"]) == {"type": "number", "maximum": 100}
    assert got["tags"] == ["risk", "fx"]
    kept = unchanged(work)
    refused = gitconfig("set", "max-spread", "150", "-a", "pricing", "-e", "DEV", repo=work)
    assert refused.exit_code == 1
    assert "value: $: 150 is greater than the maximum of 100" in refused.stderr
    kept.check()
    assert git(work, "log", "-1", "--format=%s") == "Create configuration pricing/DEV/max-spread"


def test_get_prints_a_table_json_or_the_raw_value(work: Path) -> None:
    ok("set", "max-spread", "15", "-a", "pricing", "-e", "DEV", repo=work)
    table = ok("get", "max-spread", "-a", "pricing", "-e", "DEV", repo=work)
    assert "valueType:   NUMBER" in table
    assert "value:       15" in table
    assert "createdBy:   Ada Lovelace" in table
    assert ok("get", "max-spread", "-a", "pricing", "-e", "DEV", "--raw", repo=work) == "15\n"
    data = as_json("get", "max-spread", "-a", "pricing", "-e", "DEV", repo=work)
    assert data["version"] == 1
    assert data["commit"] == rev_parse(work, "HEAD")


def test_exit_codes_user_error_usage_and_not_found(work: Path) -> None:
    missing = gitconfig("get", "nope", "-a", "pricing", "-e", "DEV", repo=work)
    assert missing.exit_code == 1
    assert missing.stderr == "error: no config pricing/DEV/nope\n"
    bad_env = gitconfig("get", "nope", "-a", "pricing", "-e", "QA", repo=work)
    assert bad_env.exit_code == 2
    kept = unchanged(work)
    bad_name = gitconfig("set", "k", "1", "-a", "bad app", "-e", "DEV", repo=work)
    assert bad_name.exit_code == 1
    assert "application: must match" in bad_name.stderr
    kept.check()
    assert gitconfig("frobnicate").exit_code == 2
    nowhere = gitconfig("list", repo=work.parent / "nowhere")
    assert nowhere.exit_code == 1
    assert "no git repository" in nowhere.stderr


def test_a_write_needs_a_git_identity(work: Path) -> None:
    git(work, "config", "--unset", "user.name")
    kept = unchanged(work)
    result = gitconfig("set", "k", "1", "-a", "app", "-e", "DEV", repo=work)
    assert result.exit_code == 1
    assert "git config --global user.name" in result.stderr
    kept.check()


def test_a_file_with_local_changes_is_not_overwritten(work: Path) -> None:
    ok("set", "max-spread", "15", "-a", "pricing", "-e", "DEV", repo=work)
    (work / PATH).write_text("type: NUMBER\nvalue: 99\n")  # edited, not committed
    kept = unchanged(work)
    result = gitconfig("set", "max-spread", "16", "-a", "pricing", "-e", "DEV", repo=work)
    assert result.exit_code == 1
    assert f"{PATH}: has uncommitted changes" in result.stderr
    kept.check()
    assert (work / PATH).read_text() == "type: NUMBER\nvalue: 99\n"
    # other files' local changes are no obstacle, and stay as they were
    git(work, "checkout", "--", PATH)
    (work / "notes.txt").write_text("mine")
    ok("set", "max-spread", "16", "-a", "pricing", "-e", "DEV", repo=work)
    assert git(work, "status", "--porcelain") == "?? notes.txt"


def test_delete_and_rollback_are_commits_and_the_clone_follows(work: Path) -> None:
    for value in ("15", "16", "17"):
        ok("set", "max-spread", value, "-a", "pricing", "-e", "DEV", repo=work)
    out = ok("rollback", "max-spread", "-a", "pricing", "-e", "DEV", "--to", "1", repo=work)
    assert out.startswith("rolled back to 1 pricing/DEV/max-spread: version 4")
    assert (work / PATH).read_text() == "type: NUMBER\nvalue: 15\n"
    assert git(work, "log", "-1", "--format=%s").startswith(
        "Roll back configuration pricing/DEV/max-spread to version 1"
    )
    ok("delete", "max-spread", "-a", "pricing", "-e", "DEV", repo=work)
    assert not (work / "configs").exists()  # empty folders go too
    assert git(work, "status", "--porcelain") == ""
    assert git(work, "log", "-1", "--format=%s") == "Delete configuration pricing/DEV/max-spread"


def test_history_and_show(work: Path) -> None:
    ok("set", "max-spread", "15", "-a", "pricing", "-e", "DEV", repo=work)
    ok("set", "max-spread", "16", "-a", "pricing", "-e", "DEV", "-m", "Widen", repo=work)
    history = as_json("history", "max-spread", "-a", "pricing", "-e", "DEV", repo=work)
    assert [(v["version"], v["value"], v["message"]) for v in history] == [
        (1, "15", "Create configuration pricing/DEV/max-spread"),
        (2, "16", "Widen"),
    ]
    assert history[1]["author"] == "Ada Lovelace"
    table = ok("history", "max-spread", "-a", "pricing", "-e", "DEV", repo=work)
    assert table.splitlines()[0].split() == [
        "VERSION",
        "COMMIT",
        "AUTHOR",
        "DATE",
        "MESSAGE",
        "VALUE",
    ]
    shown = as_json("show", "max-spread", "-a", "pricing", "-e", "DEV", "--version", "1", repo=work)
    assert (shown["version"], shown["value"]) == (1, "15")
    by_sha = as_json(
        "show",
        "max-spread",
        "-a",
        "pricing",
        "-e",
        "DEV",
        "-v",
        history[1]["commit"][:10],
        repo=work,
    )
    assert by_sha["value"] == "16"
    latest = as_json("show", "max-spread", "-a", "pricing", "-e", "DEV", repo=work)
    assert latest["version"] == 2


def test_list_filters_and_tables(work: Path) -> None:
    ok("set", "b", "2", "-a", "app", "-e", "DEV", repo=work)
    ok("set", "a", "1", "-a", "app", "-e", "PROD", repo=work)
    ok("set", "c", "x", "-a", "other", "-e", "DEV", repo=work)
    lines = ok("list", repo=work).splitlines()
    assert lines[0].split() == ["APPLICATION", "ENV", "KEY", "TYPE", "VALUE", "VERSION", "UPDATED"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["app", "DEV", "b"],
        ["app", "PROD", "a"],
        ["other", "DEV", "c"],
    ]
    assert [d["key"] for d in as_json("list", "-e", "dev", repo=work)] == ["b", "c"]
    assert [d["key"] for d in as_json("list", "-a", "app", "-e", "PROD", repo=work)] == ["a"]
    assert ok("list", "-a", "none", repo=work) == "no entries\n"


def test_diff_between_commits_by_value(work: Path) -> None:
    base = rev_parse(work, "HEAD")
    ok("set", "spread", "10", "-a", "pricing", "-e", "DEV", repo=work)
    ok("set", "gone", "x", "-a", "pricing", "-e", "DEV", repo=work)
    middle = rev_parse(work, "HEAD")
    commit_files(
        work,
        {
            "configs/pricing/DEV/spread.yaml": "# tuned\ntype: NUMBER\nvalue: 15\n",
            "configs/pricing/DEV/gone.yaml": None,
            "flags/pricing/DEV/f.yaml": "description: d\nenabled: true\n",
            "README.md": "not an entry\n",
        },
        "by hand",
    )
    data = as_json("diff", middle, "HEAD", repo=work)
    assert [(d["change"], d["kind"], d["key"]) for d in data] == [
        ("removed", "config", "gone"),
        ("changed", "config", "spread"),
        ("added", "flag", "f"),
    ]
    assert data[1]["fields"] == [{"field": "value", "old": "10", "new": "15"}]
    table = ok("diff", f"{middle}..HEAD", repo=work)
    assert table.splitlines()[0].split() == ["CHANGE", "KIND", "ENTRY", "FIELD", "OLD", "NEW"]
    assert ["changed", "config", "pricing/DEV/spread", "value", "10", "15"] in [
        line.split() for line in table.splitlines()
    ]
    # formatting only: no change; the default compares the branch with its parent
    commit_files(work, {"configs/pricing/DEV/spread.yaml": "type: NUMBER\nvalue: 15\n"}, "fmt")
    assert ok("diff", repo=work) == "no changes\n"
    assert len(as_json("diff", f"{base}...HEAD", repo=work)) == 2


def test_diff_never_shows_a_secret(work: Path) -> None:
    secret = "type: SECRET\nvalue: ENC[AES256_GCM,data:{},iv:aa==,tag:bb==,type:str]\nsops: {{}}\n"
    commit_files(work, {"configs/a/DEV/k.yaml": secret.format("AAAA")}, "one")
    commit_files(work, {"configs/a/DEV/k.yaml": secret.format("BBBB")}, "two")
    data = as_json("diff", "HEAD~1", "HEAD", repo=work)
    assert data[0]["fields"] == [{"field": "value", "old": "********", "new": "********"}]
    assert "AAAA" not in ok("diff", "HEAD~2", "HEAD", repo=work)


def test_commands_on_a_bare_repository(repos: tuple[Path, Path]) -> None:
    bare, _ = repos
    ok("set", "k", "1", "-a", "app", "-e", "DEV", repo=bare)
    assert git(bare, "log", "-1", "--format=%an", "main") == "Test Author"  # GIT_AUTHOR_NAME
    assert as_json("get", "k", "-a", "app", "-e", "DEV", repo=bare)["value"] == "1"
    assert ok("get", "k", "-a", "app", "-e", "DEV", "--raw", repo=bare / "refs") == "1\n"


def test_push_sends_the_commit_to_the_remote(repos: tuple[Path, Path]) -> None:
    bare, work = repos
    result = gitconfig("set", "k", "1", "-a", "app", "-e", "DEV", "--push", repo=work)
    assert result.exit_code == 0, result.output
    assert "pushed main to origin" in result.stderr
    assert rev_parse(bare, "main") == rev_parse(work, "HEAD")
    kept = unchanged(work, bare)
    failed = gitconfig(
        "set", "k", "2", "-a", "app", "-e", "DEV", "--push", "--remote", "nope", repo=work
    )
    assert failed.exit_code == 3  # the remote cannot be fetched: nothing is written
    assert "fetch from nope failed" in failed.stderr
    kept.check()


def test_a_detached_head_needs_a_branch(work: Path) -> None:
    git(work, "checkout", "--quiet", "--detach")
    kept = unchanged(work)
    result = gitconfig("set", "k", "1", "-a", "app", "-e", "DEV", repo=work)
    assert result.exit_code == 1
    assert "--branch" in result.stderr
    kept.check()
    ok("set", "k", "1", "-a", "app", "-e", "DEV", "--branch", "main", repo=work)
    assert git(work, "status", "--porcelain") == ""  # the checkout is not on main: untouched


def test_shell_completion(monkeypatch: pytest.MonkeyPatch) -> None:
    # With shellingham installed (this typer requires it) --show-completion detects the
    # shell from the process tree, which a test run without a parent shell has not (CI);
    # typer's own switch makes the option take the shell's name instead.
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    script = ok("--show-completion", "bash")
    assert "complete " in script
    assert "_GITCONFIG_COMPLETE=complete_bash" in script
    from gitconfig_cli.main import app
    from typer.testing import CliRunner

    env = {"_GITCONFIG_COMPLETE": "complete_bash", "COMP_WORDS": "gitconfig fl", "COMP_CWORD": "1"}
    completed = CliRunner().invoke(app, [], env=env, prog_name="gitconfig")
    assert completed.stdout.split() == ["flag"]
    env |= {"COMP_WORDS": "gitconfig get k -e ", "COMP_CWORD": "4"}
    completed = CliRunner().invoke(app, [], env=env, prog_name="gitconfig")
    assert completed.stdout.split() == ["DEV", "TEST", "STAGING", "PROD"]


def test_init_makes_a_config_repository(tmp_path: Path) -> None:
    out = ok("init", str(tmp_path / "config.git"), "--bare")
    assert out.startswith(f"Initialized bare config repository in {tmp_path / 'config.git'}")
    assert git(tmp_path / "config.git", "log", "--format=%s", "main") == (
        "Initialize configuration repository"
    )
    ok("init", str(tmp_path / "work"))
    assert (tmp_path / "work" / ".sops.yaml").is_file()
    # the one file checked is the placeholder .sops.yaml; no configuration yet
    assert ok("validate", str(tmp_path / "work"), "--allow-empty") == "ok: 1 file(s) valid\n"
    refused = gitconfig("init", str(tmp_path / "work"))
    assert refused.exit_code == 1
    assert "exists and is not empty" in refused.stderr


def test_serve_refuses_a_path_without_a_repository(tmp_path: Path) -> None:
    result = gitconfig("serve", "--http-port", "0", "--grpc-port", "-1", repo=tmp_path / "none")
    assert result.exit_code == 1
    assert "no git repository" in result.output
