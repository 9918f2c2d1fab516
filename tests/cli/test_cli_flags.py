"""``gitconfig flag create|enable|disable|set-rules|eval`` and the --flag entry commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.clirun import as_json, gitconfig, ok, served_and_clone
from tests.support.gitrepo import git
from tests.support.refusal import unchanged

WHERE = ("-a", "trading", "-e", "PROD")
PATH = "flags/trading/PROD/new-engine.yaml"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    _, work = served_and_clone(tmp_path)
    return work


def test_create_enable_disable_set_rules(work: Path) -> None:
    rules = "[{attribute: region, operator: IN, values: [EU]}, {percentage: 10}]"
    out = ok(
        "flag",
        "create",
        "new-engine",
        *WHERE,
        "--description",
        "Route to v2",
        "--rules",
        rules,
        "--value",
        "{engine: v2}",
        "--tag",
        "matching",
        repo=work,
    )
    assert out.startswith("created flag trading/PROD/new-engine: version 1")
    assert (work / PATH).read_text() == (
        "description: Route to v2\nenabled: false\nvalue:\n  engine: v2\nrules:\n"
        "  - attribute: region\n    operator: IN\n    values: [EU]\n  - percentage: 10\n"
        "tags: [matching]\n"
    )
    ok("flag", "enable", "new-engine", *WHERE, repo=work)
    assert git(work, "log", "-1", "--format=%s") == "Enable feature flag trading/PROD/new-engine"
    assert as_json("get", "new-engine", *WHERE, "--flag", repo=work)["enabled"] is True
    assert ok("flag", "enable", "new-engine", *WHERE, repo=work).startswith("unchanged")
    ok("flag", "disable", "new-engine", *WHERE, "-m", "Incident 42", repo=work)
    assert git(work, "log", "-1", "--format=%s") == "Incident 42"
    ok("flag", "set-rules", "new-engine", "[]", *WHERE, repo=work)
    got = as_json("get", "new-engine", *WHERE, "--flag", repo=work)
    assert (got["enabled"], got["rules"], got["version"]) == (False, [], 4)
    assert git(work, "status", "--porcelain") == ""


def test_rules_from_a_file_and_bad_rules(work: Path, tmp_path: Path) -> None:
    ok("flag", "create", "f", *WHERE, "--description", "d", "--enabled", repo=work)
    rules = tmp_path / "rules.yaml"
    rules.write_text("- attribute: plan\n  operator: EQUALS\n  values: [pro]\n")
    ok("flag", "set-rules", "f", f"@{rules}", *WHERE, repo=work)
    assert as_json("get", "f", *WHERE, "--flag", repo=work)["rules"] == [
        {"attribute": "plan", "operator": "EQUALS", "values": ["pro"]}
    ]
    kept = unchanged(work)
    bad = gitconfig(
        "flag", "set-rules", "f", "[{attribute: a, operator: LIKE, values: [x]}]", *WHERE, repo=work
    )
    assert bad.exit_code == 1
    assert "rules.0.operator: unknown operator 'LIKE'" in bad.stderr
    not_a_list = gitconfig("flag", "set-rules", "f", "{a: 1}", *WHERE, repo=work)
    assert not_a_list.exit_code == 1
    exists = gitconfig("flag", "create", "f", *WHERE, "--description", "d", repo=work)
    assert exists.exit_code == 1
    assert "already exists" in exists.stderr
    kept.check()


def test_eval_is_the_servers_evaluation(work: Path) -> None:
    rules = "[{attribute: region, operator: IN, values: [EU]}, {percentage: 50}]"
    ok(
        "flag",
        "create",
        "AB12A",
        *WHERE,
        "--description",
        "d",
        "--enabled",
        "--rules",
        rules,
        repo=work,
    )
    eu = as_json("flag", "eval", "AB12A", *WHERE, "--attr", "region=EU", repo=work)
    assert (eu["enabled"], eu["reason"], eu["rule"]) == (True, "TARGETING_MATCH", 0)
    # bucket("AB12A", "122") is 22 and ("AB12A", "155") is 99 (the design's golden vectors)
    inside = as_json("flag", "eval", "AB12A", *WHERE, "--user", "122", repo=work)
    outside = as_json("flag", "eval", "AB12A", *WHERE, "-u", "155", repo=work)
    assert (inside["enabled"], inside["reason"]) == (True, "SPLIT")
    assert (outside["enabled"], outside["reason"]) == (False, "SPLIT")
    table = ok("flag", "eval", "AB12A", *WHERE, "-u", "122", repo=work)
    assert "reason:  SPLIT" in table
    bad = gitconfig("flag", "eval", "AB12A", *WHERE, "--attr", "region", repo=work)
    assert bad.exit_code == 1


def test_flag_history_rollback_list_and_delete(work: Path) -> None:
    ok("flag", "create", "f", *WHERE, "--description", "d", repo=work)
    ok("flag", "enable", "f", *WHERE, repo=work)
    history = as_json("history", "f", *WHERE, "--flag", repo=work)
    assert [v["value"]["enabled"] for v in history] == [False, True]
    ok("rollback", "f", *WHERE, "--flag", "--to", "1", repo=work)
    assert as_json("get", "f", *WHERE, "--flag", repo=work)["enabled"] is False
    listed = ok("list", "--flags", repo=work).splitlines()
    assert listed[0].split()[:5] == ["APPLICATION", "ENV", "KEY", "ENABLED", "RULES"]
    assert listed[1].split()[:5] == ["trading", "PROD", "f", "false", "0"]
    ok("delete", "f", *WHERE, "--flag", repo=work)
    assert not (work / "flags").exists()
    assert gitconfig("get", "f", *WHERE, "--flag", repo=work).exit_code == 1
