"""Entry identity: ids are RFC 4122 UUIDv5 of the kind and path."""

from __future__ import annotations

import uuid

import pytest

from gitconfig.core.model import ID_NAMESPACE, EntryKey, Environment, Kind, uuid5_text


@pytest.mark.parametrize("name", ["config:a/PROD/k", "flag:ünï/DEV/x", "", "config:" + "k" * 300])
def test_uuid5_text_is_rfc4122_uuid5(name: str) -> None:
    assert uuid5_text(name) == str(uuid.uuid5(ID_NAMESPACE, name))


def test_an_entry_id_is_the_uuid5_of_its_kind_and_path() -> None:
    key = EntryKey(Kind.CONFIG, "trading-engine", Environment.PROD, "max-order-size")
    expected = uuid.uuid5(ID_NAMESPACE, "config:trading-engine/PROD/max-order-size")
    assert key.id == str(expected)
