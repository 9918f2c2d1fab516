"""``Service.evaluate_flag``, the path of every flag check: its answers and errors, and the
table it reads first (``readside.FlagChecks``: checks already allowed, by snapshot commit
and principal serial), which must never outlive a commit or an access-file change."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from gitconfig.access.accessfile import AccessFile
from gitconfig.access.principals import Principal, TokenRegistry
from gitconfig.core.errors import BadRequest, NotFound, PermissionDenied
from gitconfig.core.evaluation import bucket
from gitconfig.core.model import Environment, Kind
from gitconfig.service import FlagChanges, NewFlag, Service

ADMIN = Principal("seed", frozenset({"admin"}))
READER = Principal("reader", frozenset({"read"}))
EU_THEN_HALF: list[dict[str, Any]] = [
    {"attribute": "region", "operator": "IN", "values": ["EU"]},
    {"percentage": 50},
]


@pytest.fixture
def flags(service: Service) -> Service:
    service.flags.create(
        ADMIN, NewFlag("rollout", "shop", "PROD", "EU, then half", True, EU_THEN_HALF)
    )
    service.flags.create(ADMIN, NewFlag("static", "shop", "PROD", "on", True, value={"n": 7}))
    service.flags.create(
        ADMIN,
        NewFlag(
            "tier",
            "shop",
            "PROD",
            "gold",
            True,
            [{"attribute": "tier", "operator": "EQUALS", "values": ["2"]}],
        ),
    )
    return service


def test_answers_equal_the_compiled_evaluator_and_are_precreated(flags: Service) -> None:
    entry = flags.reads.snapshot().get(Kind.FLAG, "shop", Environment.PROD, "rollout")
    assert entry is not None
    assert entry.flag is not None
    for user in ("u-1", "u-2", "u-3", "u-4", "u-5", "u-6"):
        for region in ("EU", "US"):
            first = flags.flags.evaluate(
                READER, "shop", "PROD", "rollout", user, {"region": region}
            )
            again = flags.flags.evaluate(
                READER, "shop", "PROD", "rollout", user, {"region": region}
            )
            assert again is first  # a precreated pair, from the snapshot's table the 2nd time
            found, result = first
            assert found is entry
            assert result == entry.flag.evaluate(user, {"region": region})
            in_rollout = bucket("rollout", user) < 50
            assert result.enabled is (region == "EU" or in_rollout)
    _, static = flags.flags.evaluate(READER, "shop", "PROD", "static", None, {})
    assert (static.enabled, static.value, static.reason) == (True, {"n": 7}, "STATIC")


@pytest.mark.parametrize(
    ("value", "enabled"),
    [("2", True), (2, True), (2.0, True), ("3", False), (True, False), (None, False)],
)
def test_typed_attributes_are_converted_on_every_call(
    flags: Service, value: object, enabled: bool
) -> None:
    for _ in range(2):
        _, result = flags.flags.evaluate(READER, "shop", "PROD", "tier", "u", {"tier": value})
        assert result.enabled is enabled


def test_a_bad_attribute_is_refused_even_for_a_flag_already_found(flags: Service) -> None:
    flags.flags.evaluate(READER, "shop", "PROD", "static", "u", {"a": "b"})  # found: in the table
    for key in ("static", "missing"):
        with pytest.raises(BadRequest) as caught:
            # a list is a missing attribute now (issue 23, item 21); NaN is still no value
            flags.flags.evaluate(READER, "shop", "PROD", key, "u", {"a": "b", "bad": float("nan")})
        assert [e.field for e in caught.value.errors] == ["attributes.bad"]


@pytest.mark.parametrize(
    ("application", "environment", "key", "fields"),
    [
        ("shop", "prod", "static", ["environment"]),
        ("sh op", "PROD", "static", ["application"]),
        ("shop", "PROD", "no/such", ["key"]),
    ],
)
def test_bad_names_are_field_errors(
    flags: Service, application: str, environment: str, key: str, fields: list[str]
) -> None:
    flags.flags.evaluate(READER, "shop", "PROD", "static", None, {})
    with pytest.raises(BadRequest) as caught:
        flags.flags.evaluate(READER, application, environment, key, None, {})
    assert [e.field for e in caught.value.errors] == fields


def test_a_flag_or_a_config_of_that_name_that_is_not_a_flag_is_not_found(
    flags: Service,
) -> None:
    with pytest.raises(NotFound):
        flags.flags.evaluate(READER, "shop", "PROD", "missing", None, {})
    with pytest.raises(NotFound):
        flags.flags.evaluate(READER, "shop", "DEV", "static", None, {})


def test_a_principal_without_the_grant_is_refused_after_another_filled_the_table(
    flags: Service,
) -> None:
    stranger = Principal("stranger")
    for who in (READER, stranger, READER, stranger):
        if who is READER:
            flags.flags.evaluate(who, "shop", "PROD", "static", None, {})
        else:
            with pytest.raises(PermissionDenied):
                flags.flags.evaluate(who, "shop", "PROD", "static", None, {})
    commit = flags.reads.snapshot().commit
    held = {key[1] for key in flags.flags.checks if key[0] == commit}
    assert READER.serial in held
    assert stranger.serial not in held


def test_a_new_commit_changes_the_flag_seen_through_the_service(flags: Service) -> None:
    before = flags.reads.snapshot()
    _, result = flags.flags.evaluate(READER, "shop", "PROD", "static", None, {})
    assert result.value == {"n": 7}
    kept = (before.commit, READER.serial, "shop", "PROD", "static")
    assert kept in flags.flags.checks
    entry = before.get_key(flags.reads.lookup(READER, Kind.FLAG, "shop", "PROD", "static").key)
    assert entry is not None
    flags.flags.update(ADMIN, entry.id, FlagChanges(value={"n": 8}, value_set=True))
    found, result = flags.flags.evaluate(READER, "shop", "PROD", "static", None, {})
    assert result.value == {"n": 8}
    assert found.version == entry.version + 1
    flags.flags.update(ADMIN, entry.id, FlagChanges(enabled=False))
    _, result = flags.flags.evaluate(READER, "shop", "PROD", "static", None, {})
    assert (result.enabled, result.reason) == (False, "DISABLED")
    flags.writer.delete(ADMIN, Kind.FLAG, entry.id)
    with pytest.raises(NotFound):
        flags.flags.evaluate(READER, "shop", "PROD", "static", None, {})
    # The table was emptied when the index moved: nothing of the old snapshot is held.
    assert kept not in flags.flags.checks
    assert all(key[0] != before.commit for key in flags.flags.checks)


def _subject(name: str, token: str, applications: list[str]) -> str:
    digest = hashlib.sha256(token.encode()).hexdigest()
    return (
        f"subjects:\n  - name: {name}\n    token_sha256: {digest}\n    grants:\n"
        f"      - role: reader\n        applications: {applications}\n"
        "        environments: [PROD]\n"
    )


def test_an_access_file_change_revokes_a_decision_already_taken(
    flags: Service, tmp_path: Path
) -> None:
    path = tmp_path / "access.yaml"
    path.write_text(_subject("svc", "tok-svc", ["shop"]))
    subjects = AccessFile(path, interval=0.0)
    tokens = TokenRegistry(subjects)
    granted = tokens.authenticate("Bearer tok-svc")
    for _ in range(2):
        flags.flags.evaluate(granted, "shop", "PROD", "static", None, {})
    served = flags.reads.snapshot()
    assert (served.commit, granted.serial, "shop", "PROD", "static") in flags.flags.checks

    path.write_text(_subject("svc", "tok-svc", ["other", "more"]))  # a different size: a change
    assert subjects.reload()
    revoked = tokens.authenticate("Bearer tok-svc")
    assert revoked is not granted
    assert revoked.serial != granted.serial
    with pytest.raises(PermissionDenied):
        flags.flags.evaluate(revoked, "shop", "PROD", "static", None, {})


def test_an_unchanged_flag_keeps_its_check_across_commits(flags: Service) -> None:
    first = flags.flags.evaluate(READER, "shop", "PROD", "rollout", "u-1", {"region": "EU"})
    flags.flags.create(ADMIN, NewFlag("other", "shop", "PROD", "unrelated", True))
    assert not flags.flags.checks  # a new snapshot: the table was emptied
    again = flags.flags.evaluate(READER, "shop", "PROD", "rollout", "u-1", {"region": "EU"})
    assert again is first  # the same entry, its pairs made once (not compiled per snapshot)


def test_the_table_of_allowed_checks_is_bounded(
    flags: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flags.flags.checks, "limit", 2)
    readers = [Principal(f"reader-{n}", frozenset({"read"})) for n in range(5)]
    for reader in readers * 2:
        _, result = flags.flags.evaluate(reader, "shop", "PROD", "static", None, {})
        assert result.enabled
    assert 1 <= len(flags.flags.checks) <= 2


def test_listings_are_kept_for_the_served_snapshot_only(flags: Service) -> None:
    listed = flags.reads.entries(Kind.FLAG, "shop", Environment.PROD)
    assert [entry.key.key for entry in listed] == ["rollout", "static", "tier"]
    assert flags.reads.entries(Kind.FLAG, "shop", Environment.PROD) is listed  # sorted once
    flags.flags.create(ADMIN, NewFlag("other", "shop", "PROD", "one more", True))
    assert not flags.reads.sorted  # the index moved: the old listings went
    again = flags.reads.entries(Kind.FLAG, "shop", Environment.PROD)
    assert [entry.key.key for entry in again] == ["other", "rollout", "static", "tier"]
