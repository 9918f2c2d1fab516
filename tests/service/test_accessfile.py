"""The access file's format (errors name the line), grant decisions, and ``gitconfig token
create``."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from gitconfig.access.accessfile import AccessFile, parse
from gitconfig.access.principals import Grant, Principal, authorize
from gitconfig.core.errors import BadRequest, PermissionDenied
from gitconfig.runtime.bootstrap import init_repository
from tests.support.accessdata import ACCESS_FILE, TOKENS, sha
from tests.support.clirun import gitconfig

GOOD = "a" * 64
READER_GRANT = "subjects:\n  - name: x\n    grants:\n      - role: reader\n"
ADMIN_GRANT = "subjects:\n  - name: x\n    grants:\n      - role: admin\n"
TWO_SAME = (
    f"subjects:\n  - name: x\n    token_sha256: {GOOD}\n  - name: y\n    token_sha256: {GOOD}\n"
)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            f"subjects:\n  - name: x\n    token_sha256: {GOOD}\n    colour: red\n",
            4,
            "unknown field",
        ),
        ("subjects:\n  - name: x\n    token_sha256: 3f1c\n", 3, "64 hex digits"),
        ("subjects:\n  - name: x\n    grants:\n      - role: owner\n", 4, "role must be"),
        (
            READER_GRANT + "        environments: [PRD]\n",
            5,
            "unknown environment 'PRD'",
        ),
        (
            READER_GRANT + "        applications: ['a b']\n",
            5,
            "not a valid glob",
        ),
        (
            READER_GRANT + "        applications: ['pay[']\n",
            5,
            "not a valid glob",
        ),
        (
            ADMIN_GRANT + "        environments: [DEV]\n",
            5,
            "admin is global",
        ),
        ("subjects:\n  - name: x\n  - name: x\n", 3, "duplicate subject"),
        (
            TWO_SAME,
            5,
            "the same token as 'x'",
        ),
        (
            READER_GRANT + "        reveal_secrets: maybe\n",
            5,
            "true or false",
        ),
        ("people: []\n", 1, "unknown field"),
        ("subjects: [\n", 2, ""),
        # Scalars no safe constructor reads (were a ConstructorError, ValueError or KeyError
        # out of parse: a traceback at start, a 500 on every request after a reload).
        ("subjects:\n  - name: !!python/name:os.system x\n", 2, "python/name"),
        ("subjects:\n  - name: !custom x\n", 2, "could not determine a constructor"),
        ("subjects:\n  - name: !!int abc\n", 2, "invalid literal"),
        ("subjects:\n  - name: !!float abc\n", 2, "could not convert"),
        ("subjects:\n  - name: !!timestamp 2020-99-99\n", 2, "month"),
        (READER_GRANT + "        reveal_secrets: !!bool maybe\n", 5, "'maybe'"),
    ],
)
def test_errors_name_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(BadRequest) as raised:
        parse(text)
    messages = [e.message for e in raised.value.errors]
    assert any(m.startswith(f"line {line}:") and words in m for m in messages), messages


def test_the_example_file_parses() -> None:
    table = parse(ACCESS_FILE)
    assert set(table.by_name) == set(TOKENS)
    payments = table.by_digest[bytes.fromhex(sha(TOKENS["payments-service"]))]
    assert payments.name == "payments-service"
    assert payments.email == "payments@example.com"
    assert table.by_name["root"].admin


WRITER = Principal("w", grants=(Grant("writer", ("trading-*",), frozenset({"DEV", "TEST"})),))
READER = Principal(
    "r", grants=(Grant("reader", ("payments",), frozenset({"PROD"}), reveal_secrets=True),)
)


@pytest.mark.parametrize(
    ("principal", "permission", "application", "environment", "allowed"),
    [
        (WRITER, "write", "trading-engine", "DEV", True),
        (WRITER, "read", "trading-engine", "TEST", True),  # writer implies reader
        (WRITER, "write", "trading-engine", "PROD", False),
        (WRITER, "write", "trading", "DEV", False),  # the glob needs the dash
        (WRITER, "reveal", "trading-engine", "DEV", False),
        (WRITER, "read", None, None, False),  # everywhere
        (READER, "read", "payments", "PROD", True),
        (READER, "reveal", "payments", "PROD", True),
        (READER, "write", "payments", "PROD", False),
        (READER, "read", "payments-v2", "PROD", False),
        (READER, "admin", "payments", "PROD", False),
        (Principal("a", frozenset({"admin"})), "reveal", None, None, True),
    ],
)
def test_decisions(
    principal: Principal,
    permission: str,
    application: str | None,
    environment: str | None,
    allowed: bool,
) -> None:
    for _ in range(2):  # computed, then from the principal's table
        assert principal.may(permission, application, environment) is allowed
    if not allowed:
        with pytest.raises(PermissionDenied):
            authorize(principal, permission, application, environment)


def test_token_create_prints_a_token_once_and_its_hash() -> None:
    result = gitconfig("token", "create", "payments-service", "--email", "p@example.com")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("gc_")
    assert len(token) > 40
    assert f"token_sha256: {hashlib.sha256(token.encode()).hexdigest()}" in result.stderr
    assert "name: payments-service" in result.stderr
    entry = result.stderr.split("add grants):\n", 1)[1]
    assert "payments-service" in parse("subjects:\n" + entry).by_name
    again = gitconfig("token", "create", "payments-service").stdout.strip()
    assert again != token


def test_a_bad_new_file_is_refused_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "access.yaml"
    path.write_text(ACCESS_FILE)
    subjects = AccessFile(path, interval=0.0)
    path.write_text(
        ACCESS_FILE + "  - name: late\n    grants: [{role: reader, environments: [QA]}]\n"
    )
    with caplog.at_level(logging.ERROR, logger="gitconfig.access.accessfile"):
        assert not subjects.reload()
    assert "refused" in caplog.text
    assert "unknown environment 'QA'" in caplog.text
    assert "line 27" in caplog.text
    assert "late" not in subjects.by_name()
    assert "root" in subjects.by_name()


def test_an_unreadable_scalar_in_a_new_file_keeps_the_last_good_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "access.yaml"
    path.write_text(ACCESS_FILE)
    subjects = AccessFile(path, interval=0.0)
    path.write_text(ACCESS_FILE + "  - name: !!python/object:os.system late\n")
    with caplog.at_level(logging.ERROR, logger="gitconfig.access.accessfile"):
        assert "root" in subjects.by_name()  # the reload on use: refused, not raised
    assert "refused" in caplog.text
    assert "late" not in subjects.by_name()


def test_serve_refuses_to_start_with_a_bad_access_file(tmp_path: Path) -> None:
    path = tmp_path / "access.yaml"
    path.write_text("subjects:\n  - name: x\n    grants: [{role: superuser}]\n")
    served = tmp_path / "served.git"
    init_repository(served, bare=True)
    result = gitconfig("serve", "--repo", str(served), "--access-file", str(path))
    assert result.exit_code == 1, result.output
    assert "line 3" in result.output
