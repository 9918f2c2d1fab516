"""The command line across environments: set in several environments as one commit, diff
--env, promote (to the branch or to a new branch for a pull request), get --why."""

from __future__ import annotations

from pathlib import Path

from tests.support.clirun import as_json, gitconfig, ok, served_and_clone
from tests.support.gitrepo import clone, commit_files, git, push, rev_parse
from tests.support.refusal import unchanged

ALL = ("-e", "DEV", "-e", "TEST", "-e", "STAGING", "-e", "PROD")


def _count(work: Path) -> int:
    return int(git(work, "rev-list", "--count", "HEAD"))


def test_set_in_four_environments_is_one_commit(tmp_path: Path) -> None:
    _bare, work = served_and_clone(tmp_path)
    before = _count(work)
    out = ok("set", "timeout", "30", "-a", "shop", *ALL, repo=work)
    assert "created shop/PROD/timeout" in out
    assert "one commit" in out
    assert _count(work) == before + 1
    files = git(work, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert sorted(files) == sorted(
        f"configs/shop/{env}/timeout.yaml" for env in ("DEV", "TEST", "STAGING", "PROD")
    )
    assert (work / "configs/shop/PROD/timeout.yaml").read_text().startswith("type: NUMBER")
    again = as_json("set", "timeout", "45", "-a", "shop", "-e", "DEV", "-e", "PROD", repo=work)
    assert again["result"] == {"DEV": "updated", "PROD": "updated"}
    assert again["commit"] == rev_parse(work, "HEAD")
    assert _count(work) == before + 2


def test_set_in_several_environments_is_all_or_nothing(tmp_path: Path) -> None:
    _bare, work = served_and_clone(tmp_path)
    ok("set", "mode", "fast", "-a", "shop", "-e", "PROD", repo=work)
    kept = unchanged(work)
    result = gitconfig("set", "mode", "7", "-a", "shop", "-t", "NUMBER", *ALL, repo=work)
    assert result.exit_code == 1, result.output
    assert "PROD.valueType" in result.output
    kept.check()
    assert not (work / "configs/shop/DEV/mode.yaml").exists()


def _two_environments(work: Path) -> None:
    ok("set", "limit", "200", "-a", "shop", "-e", "STAGING", repo=work)
    ok("set", "limit", "100", "-a", "shop", "-e", "PROD", repo=work)
    ok("set", "banner", "hello", "-a", "shop", "-e", "STAGING", repo=work)


def test_diff_env_compares_two_environments(tmp_path: Path) -> None:
    _bare, work = served_and_clone(tmp_path)
    _two_environments(work)
    data = as_json("diff", "-a", "shop", "--env", "STAGING..PROD", repo=work)
    assert [(d["kind"], d["key"], d["change"]) for d in data["differences"]] == [
        ("config", "banner", "removed"),
        ("config", "limit", "changed"),
    ]
    (limit_field,) = data["differences"][1]["fields"]
    assert limit_field == {"field": "value", "old": "200", "new": "100"}
    table = ok("diff", "-a", "shop", "--env", "STAGING..PROD", repo=work)
    assert table.splitlines()[0].split() == ["CHANGE", "KIND", "KEY", "FIELD", "OLD", "NEW"]
    assert "limit" in table
    assert "200" in table
    assert "no differences" in ok("diff", "-a", "shop", "--env", "PROD..PROD", repo=work)
    bad = gitconfig("diff", "--env", "STAGING", "-a", "shop", repo=work)
    assert bad.exit_code == 1
    assert "FROM..TO" in bad.output


def test_promote_commits_once_and_dry_run_writes_nothing(tmp_path: Path) -> None:
    _bare, work = served_and_clone(tmp_path)
    _two_environments(work)
    before = _count(work)
    dry = ok("promote", "-a", "shop", "--from", "STAGING", "--to", "PROD", "--dry-run", repo=work)
    assert "dry run" in dry
    assert _count(work) == before
    out = ok("promote", "-a", "shop", "--from", "STAGING", "--to", "PROD", repo=work)
    assert "promoted in commit" in out
    assert _count(work) == before + 1
    assert "value: 200" in (work / "configs/shop/PROD/limit.yaml").read_text()
    assert (work / "configs/shop/PROD/banner.yaml").exists()
    message = git(work, "log", "-1", "--format=%B")
    assert "Promote shop STAGING -> PROD: 2 change(s)" in message
    assert git(work, "log", "-1", "--format=%an") == git(
        work, "log", "-1", "--format=%an", "HEAD~1"
    )
    again = ok("promote", "-a", "shop", "--from", "STAGING", "--to", "PROD", repo=work)
    assert "nothing to promote" in again


def test_promote_to_a_new_branch_for_a_pull_request(tmp_path: Path) -> None:
    _bare, work = served_and_clone(tmp_path)
    _two_environments(work)
    main = rev_parse(work, "main")
    data = as_json(
        "promote",
        "-a",
        "shop",
        "--from",
        "STAGING",
        "--to",
        "PROD",
        "--keys",
        "limit",
        "--branch",
        "promote-limit",
        repo=work,
    )
    assert data["branch"] == "promote-limit"
    assert rev_parse(work, "main") == main  # the tracked branch did not move
    assert data["commit"] == rev_parse(work, "promote-limit")
    assert git(work, "rev-parse", "promote-limit^") == main
    files = git(work, "show", "--name-only", "--format=", "promote-limit").splitlines()
    assert files == ["configs/shop/PROD/limit.yaml"]
    kept, branch_kept = unchanged(work), unchanged(work, branch="promote-limit")
    taken = gitconfig(
        "promote",
        "-a",
        "shop",
        "--from",
        "STAGING",
        "--to",
        "PROD",
        "--branch",
        "promote-limit",
        repo=work,
    )
    assert taken.exit_code != 0
    assert "already exists" in taken.output
    kept.check()
    branch_kept.check()


def test_get_why_shows_the_merged_commit(tmp_path: Path) -> None:
    _bare, work = served_and_clone(tmp_path)
    ok("set", "limit", "100", "-a", "shop", "-e", "PROD", repo=work)
    git(work, "checkout", "--quiet", "-b", "raise")
    merged = commit_files(
        work,
        {"configs/shop/PROD/limit.yaml": "type: NUMBER\nvalue: 120\n"},
        "Raise the limit",
        author="Grace Hopper <grace@example.com>",
    )
    git(work, "checkout", "--quiet", "main")
    git(work, "merge", "--quiet", "--no-ff", "-m", "Merge pull request #3 from raise", "raise")
    merge = rev_parse(work, "HEAD")
    data = as_json("get", "limit", "-a", "shop", "-e", "PROD", "--why", repo=work)
    assert data["value"] == "120"
    assert data["provenance"]["commit"] == merge
    assert data["provenance"]["mergedCommit"]["commit"] == merged
    assert data["provenance"]["mergedCommit"]["author"] == "Grace Hopper"
    text = ok("get", "limit", "-a", "shop", "-e", "PROD", "--why", repo=work)
    assert "Merge pull request #3 from raise" in text
    assert f"merged from: commit {merged[:12]}" in text
    assert "Grace Hopper <grace@example.com>" in text


def test_promote_push_fetches_first_and_pushes(tmp_path: Path) -> None:
    """``promote --push`` is a write like ``set --push``: the remote's news first, then the
    commit, pushed (it used to commit locally and only say "pushed")."""
    bare, work = served_and_clone(tmp_path)
    _two_environments(work)
    git(work, "push", "--quiet", "origin", "main")
    other = clone(bare, tmp_path / "other")
    commit_files(other, {"configs/shop/DEV/other.yaml": "type: NUMBER\nvalue: 1\n"}, "theirs")
    push(other)
    result = gitconfig(
        "promote", "-a", "shop", "--from", "STAGING", "--to", "PROD", "--push", repo=work
    )
    assert result.exit_code == 0, result.output
    assert "pushed main to origin" in result.stderr
    assert rev_parse(bare, "main") == rev_parse(work, "HEAD")
    assert git(bare, "log", "-1", "--format=%s", "main").startswith("Promote shop STAGING -> PROD")
    assert git(bare, "log", "-1", "--format=%s", "main^") == "theirs"


def test_promote_to_a_new_branch_pushes_that_branch(tmp_path: Path) -> None:
    bare, work = served_and_clone(tmp_path)
    _two_environments(work)
    git(work, "push", "--quiet", "origin", "main")
    other = clone(bare, tmp_path / "other")
    commit_files(other, {"configs/shop/DEV/other.yaml": "type: NUMBER\nvalue: 1\n"}, "theirs")
    push(other)
    main = rev_parse(bare, "main")
    data = as_json(
        "promote",
        "-a",
        "shop",
        "--from",
        "STAGING",
        "--to",
        "PROD",
        "--branch",
        "promote-shop",
        "--push",
        repo=work,
    )
    assert data["branch"] == "promote-shop"
    assert rev_parse(bare, "promote-shop") == data["commit"] == rev_parse(work, "promote-shop")
    assert rev_parse(bare, "main") == main  # the pull request's base did not move
    assert git(bare, "rev-parse", "promote-shop^") == main  # started at the remote's head
