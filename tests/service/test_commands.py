"""The use-cases in a command's words (``service/commands.py``): the decisions the CLI and
REST used to make themselves, now one call each."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitconfig.access.principals import Principal
from gitconfig.core.errors import BadRequest, NotFound, PermissionDenied
from gitconfig.core.formats import Format
from gitconfig.core.importing import ImportRequest
from gitconfig.core.model import ConfigDocument, Kind, ValueType
from gitconfig.service import FlagChanges, NewConfig, NewFlag, Service, flag_action
from tests.support.agekeys import secret_service
from tests.support.gitrepo import git
from tests.support.refusal import unchanged

ADMIN = Principal("admin", frozenset({"admin"}))
READER = Principal("reader", frozenset({"read"}))


def _head_subject(repo: Path) -> str:
    return git(repo, "log", "-1", "--format=%s", "main")


def _flag(service: Service) -> None:
    service.flags.create(ADMIN, NewFlag("beta", "shop", "PROD", "a flag"))


@pytest.mark.parametrize(
    ("changes", "action"),
    [
        (FlagChanges(enabled=True), "Enable"),
        (FlagChanges(enabled=False), "Disable"),
        (FlagChanges(rules=[]), "Set the rules of"),
        (FlagChanges(enabled=True, rules=[]), "Update"),
        (FlagChanges(description="d"), "Update"),
    ],
)
def test_a_flag_change_names_itself(changes: FlagChanges, action: str) -> None:
    assert flag_action(changes) == action


def test_change_flag_commits_with_the_default_message_and_reports_the_outcome(
    service: Service, bare_repo: Path
) -> None:
    _flag(service)
    entry, outcome = service.flags.change(ADMIN, "shop", "PROD", "beta", FlagChanges(enabled=True))
    assert (outcome, entry.version) == ("updated", 2)
    assert _head_subject(bare_repo) == "Enable feature flag shop/PROD/beta"
    head = git(bare_repo, "rev-parse", "main")
    again, outcome = service.flags.change(ADMIN, "shop", "PROD", "beta", FlagChanges(enabled=True))
    assert (outcome, again.version) == ("unchanged", 2)
    assert git(bare_repo, "rev-parse", "main") == head  # no empty commit
    given = FlagChanges(enabled=False, change_description="off for the night")
    service.flags.change(ADMIN, "shop", "PROD", "beta", given)
    assert _head_subject(bare_repo) == "off for the night"


def test_change_flag_of_a_missing_key_is_not_found(service: Service) -> None:
    with pytest.raises(NotFound):
        service.flags.change(ADMIN, "shop", "PROD", "nope", FlagChanges(enabled=True))


def test_rollback_key_reports_rolled_back_then_unchanged(service: Service) -> None:
    service.configs.create(ADMIN, NewConfig("limit", "shop", "DEV", "NUMBER", "1"))
    service.configs.set(ADMIN, NewConfig("limit", "shop", "DEV", "", "2"))
    entry, outcome = service.writer.rollback_key(ADMIN, Kind.CONFIG, "shop", "DEV", "limit", "1")
    assert isinstance(entry.document, ConfigDocument)
    assert (outcome, entry.version, entry.document.value) == ("rolled back", 3, 1)
    entry, outcome = service.writer.rollback_key(ADMIN, Kind.CONFIG, "shop", "DEV", "limit", "1")
    assert (outcome, entry.version) == ("unchanged", 3)


def _import(environment: str) -> ImportRequest:
    return ImportRequest("shop", environment, Format.JSON, '{"a": 1}', {}, None, False, False)


def test_import_to_one_environment_or_several(service: Service) -> None:
    one = service.transfer.import_to(ADMIN, _import("DEV"))
    assert one.created == ["a"]
    several = service.transfer.import_to(ADMIN, _import("STAGING"), ["PROD"])
    assert several.created == ["STAGING/a", "PROD/a"]
    only_list = service.transfer.import_to(ADMIN, _import(""), ["DEV"])
    assert only_list.unchanged == ["DEV/a"]
    kept = unchanged(service)
    with pytest.raises(BadRequest):
        service.transfer.import_to(ADMIN, _import(""))
    kept.check()


def test_takes_secret_follows_the_given_type_or_the_existing_value(service: Service) -> None:
    service.configs.create(ADMIN, NewConfig("limit", "shop", "DEV", "NUMBER", "1"))
    assert service.configs.takes_secret(ADMIN, "shop", "DEV", "limit", ValueType.SECRET)
    assert not service.configs.takes_secret(ADMIN, "shop", "DEV", "limit", None)
    assert not service.configs.takes_secret(ADMIN, "shop", "DEV", "new-key", None)
    with pytest.raises(PermissionDenied):
        service.configs.takes_secret(READER, "shop", "DEV", "limit", None)


def test_takes_secret_of_an_existing_secret_without_a_type(bare_repo: Path, tmp_path: Path) -> None:
    service, _ = secret_service(bare_repo, tmp_path)
    service.configs.create(ADMIN, NewConfig("db-password", "shop", "PROD", "SECRET", "s3cret-X"))
    assert service.configs.takes_secret(ADMIN, "shop", "PROD", "db-password", None)
    assert not service.configs.takes_secret(ADMIN, "shop", "PROD", "db-password", ValueType.STRING)
