"""SECRET values through the command line and git hooks, with the real sops binary."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gitconfig.core.configfile import MASK
from gitconfig.store.secrets import PLACEHOLDER_RECIPIENT
from tests.support.agekeys import AgeKeys
from tests.support.clirun import gitconfig, ok, served_and_clone
from tests.support.gitrepo import commit_files, git, rev_parse
from tests.support.refusal import unchanged

PLAIN = "s3cret-Value-for-the-db"
WHERE = ("-a", "billing", "-e", "PROD")


@pytest.fixture
def keys(tmp_path: Path) -> AgeKeys:
    return AgeKeys.make(tmp_path / "keys")


@pytest.fixture
def repos(tmp_path: Path, keys: AgeKeys, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    bare, work = served_and_clone(tmp_path)
    commit_files(work, {".sops.yaml": keys.sops_yaml().decode()}, "sops rules")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(keys.key_file("dev", "prod")))
    return bare, work


def everything_in_git(work: Path) -> str:
    return git(work, "log", "-p", "--all")


def test_set_reads_a_secret_from_stdin_never_the_command_line(repos: tuple[Path, Path]) -> None:
    _, work = repos
    kept = unchanged(work)
    refused = gitconfig("set", "db-password", PLAIN, *WHERE, "--type", "SECRET", repo=work)
    assert refused.exit_code == 1
    assert "not taken from the command line" in refused.stderr
    kept.check()
    ok("set", "db-password", *WHERE, "--type", "SECRET", input=PLAIN + "\n", repo=work)
    text = (work / "configs/billing/PROD/db-password.yaml").read_text()
    assert "value: ENC[AES256_GCM," in text
    assert PLAIN not in text
    assert PLAIN not in everything_in_git(work)
    assert ok("get", "db-password", *WHERE, "--raw", repo=work).strip() == MASK
    assert ok("get", "db-password", *WHERE, "--raw", "--reveal", repo=work).strip() == PLAIN
    # an existing SECRET stays one: its new value also comes from stdin
    ok("set", "db-password", *WHERE, input="second-secret-value", repo=work)
    history = json.loads(ok("history", "db-password", *WHERE, "-o", "json", repo=work))
    assert [v["value"] for v in history] == [MASK, MASK]
    shown = json.loads(ok("history", "db-password", *WHERE, "--reveal", "-o", "json", repo=work))
    assert [v["value"] for v in shown] == [PLAIN, "second-secret-value"]
    assert json.loads(ok("show", "db-password", *WHERE, "-o", "json", repo=work))["value"] == MASK
    diff = ok("diff", repo=work)
    assert "value" in diff
    assert MASK in diff
    assert PLAIN not in diff
    assert "second-secret-value" not in diff
    assert "second-secret-value" not in everything_in_git(work)


def test_import_encrypts_secrets_and_refuses_plaintext_credentials(
    repos: tuple[Path, Path], tmp_path: Path
) -> None:
    _, work = repos
    source = tmp_path / "app.properties"
    source.write_text(f"db.url=jdbc:postgresql://db/app\ndb.password={PLAIN}\npool.size=10\n")
    kept = unchanged(work)
    refused = gitconfig("import", str(source), *WHERE, repo=work)
    assert refused.exit_code == 1
    assert "db.password: looks like a plaintext credential" in refused.stderr
    assert PLAIN not in refused.output
    kept.check()
    ok("import", str(source), *WHERE, "--type", "db.password=SECRET", repo=work)
    text = (work / "configs/billing/PROD/db.password.yaml").read_text()
    assert "type: SECRET" in text
    assert "ENC[AES256_GCM," in text
    assert PLAIN not in everything_in_git(work)
    assert ok("get", "db.password", *WHERE, "--raw", "--reveal", repo=work).strip() == PLAIN
    exported = json.loads(ok("export", *WHERE, repo=work))
    assert exported["db.password"] == MASK
    assert exported["pool.size"] == 10
    source.write_text("api.token=abc123def456\n")
    ok("import", str(source), *WHERE, "--allow-plaintext", repo=work)  # the user's choice


def test_validate_warns_of_plaintext_credentials_without_failing(tmp_path: Path) -> None:
    folder = tmp_path / "configs/a/DEV"
    folder.mkdir(parents=True)
    (folder / "db-password.yaml").write_text("type: STRING\nvalue: hunter2hunter2\n")
    (folder / "aws.yaml").write_text("type: STRING\nvalue: AKIAIOSFODNN7EXAMPLE\n")
    (folder / "size.yaml").write_text("type: NUMBER\nvalue: 5\n")
    result = gitconfig("validate", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "warning: configs/a/DEV/aws.yaml:2: value: looks like a plaintext credential" in (
        result.stdout
    )
    assert "AWS Access Key" in result.stdout
    assert "Secret Keyword" in result.stdout
    assert "hunter2hunter2" not in result.output
    assert "2 warning(s)" in result.stderr


def test_rotation_removes_a_recipient(
    repos: tuple[Path, Path], keys: AgeKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, work = repos
    ok("set", "db-password", *WHERE, "--type", "SECRET", input=PLAIN, repo=work)
    ok(
        "set",
        "api-key",
        "-a",
        "billing",
        "-e",
        "DEV",
        "--type",
        "SECRET",
        input="dev-only-key",
        repo=work,
    )
    checked = json.loads(ok("secrets", "check", "-o", "json", repo=work))
    assert [(c["path"], c["recipients"]) for c in checked] == [
        ("configs/billing/DEV/api-key.yaml", [keys.recipients["dev"]]),
        ("configs/billing/PROD/db-password.yaml", [keys.recipients["prod"]]),
    ]
    assert all(c["ageDays"] is not None and c["ageDays"] < 1 for c in checked)
    # PROD moves from the "prod" key to the "spare" key
    commit_files(work, {".sops.yaml": keys.sops_yaml(prod=("spare",)).decode()}, "new PROD key")
    before = rev_parse(work, "HEAD")
    rotated = json.loads(ok("secrets", "rotate", "-e", "PROD", "-o", "json", repo=work))
    assert rotated["rotated"] == ["configs/billing/PROD/db-password.yaml"]
    assert git(work, "rev-list", "--count", f"{before}..HEAD") == "1"  # one commit
    text = (work / "configs/billing/PROD/db-password.yaml").read_text()
    assert keys.recipients["spare"] in text
    assert keys.recipients["prod"] not in text
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(keys.key_file("prod")))
    lost = gitconfig("get", "db-password", *WHERE, "--reveal", repo=work)
    assert lost.exit_code == 1
    assert "no key of this server can decrypt it" in lost.stderr
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(keys.key_file("spare")))
    assert ok("get", "db-password", *WHERE, "--raw", "--reveal", repo=work).strip() == PLAIN
    assert PLAIN not in everything_in_git(work)


@pytest.mark.slow
def test_pre_receive_refuses_a_pushed_plaintext_secret(tmp_path: Path) -> None:
    bare, work = served_and_clone(tmp_path)
    ok("hooks", "install", repo=bare)
    kept = unchanged(bare)
    commit_files(work, {"configs/a/PROD/k.yaml": f"type: SECRET\nvalue: {PLAIN}\n"}, "oops")
    pushed = subprocess.run(
        ["git", "push", "origin", "main"], cwd=work, capture_output=True, text=True, check=False
    )
    assert pushed.returncode != 0
    assert "configs/a/PROD/k.yaml:2: value: SECRET value is not sops-encrypted" in pushed.stderr
    assert PLAIN not in pushed.stderr
    kept.check()


def test_rotate_push_pushes_the_rotation(repos: tuple[Path, Path]) -> None:
    """``secrets rotate --push`` pushes its commit (it used to commit locally and only say
    "pushed")."""
    bare, work = repos
    ok("set", "db-password", *WHERE, "--type", "SECRET", input=PLAIN, repo=work)
    git(work, "push", "--quiet", "origin", "main")
    result = gitconfig("secrets", "rotate", "-e", "PROD", "--push", repo=work)
    assert result.exit_code == 0, result.output
    assert "pushed main to origin" in result.stderr
    assert rev_parse(bare, "main") == rev_parse(work, "HEAD")
    assert git(bare, "log", "-1", "--format=%s", "main").startswith("Rotate 1 secret(s)")


def test_a_secret_in_a_new_repository_says_to_replace_the_placeholder(tmp_path: Path) -> None:
    """``gitconfig init`` writes a .sops.yaml whose all-zero recipient sops refuses: a first
    SECRET says what to do (it used to print sops' "low order point" error)."""
    _, work = served_and_clone(tmp_path)
    assert PLACEHOLDER_RECIPIENT in (work / ".sops.yaml").read_text()
    kept = unchanged(work)
    refused = gitconfig("set", "db-password", *WHERE, "--type", "SECRET", input=PLAIN, repo=work)
    assert refused.exit_code == 1, refused.output
    assert "placeholder recipient" in refused.stderr
    assert "docs/secrets.md" in refused.stderr
    assert "low order" not in refused.stderr
    kept.check()
