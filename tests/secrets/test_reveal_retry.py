"""A failed decryption is not remembered until restart: sops runs again once the key file
changes (an operator fixed it), or after ``FAILURE_RETRY_SECONDS``; meanwhile the failure is
answered from memory and reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitconfig.access.principals import Principal
from gitconfig.core.errors import SecretUnavailable
from gitconfig.core.model import Kind
from gitconfig.service import NewConfig
from gitconfig.store import secrets
from gitconfig.store.secrets import Sops
from tests.support.agekeys import secret_service

ADMIN = Principal("admin", frozenset({"admin"}))


def test_a_fixed_key_file_is_used_without_a_restart(bare_repo: Path, tmp_path: Path) -> None:
    service, keys = secret_service(bare_repo, tmp_path)
    service.configs.create(ADMIN, NewConfig("token", "shop", "PROD", "SECRET", "s3cret"))
    entry = service.reads.lookup(ADMIN, Kind.CONFIG, "shop", "PROD", "token")
    blob, data = entry.served.blob, service.store.read_blob(entry.served.blob)
    key_file = tmp_path / "server-keys.txt"
    key_file.write_text(keys.identities["dev"] + "\n")  # the wrong key: DEV's
    sops = Sops({"HOME": str(tmp_path), "SOPS_AGE_KEY_FILE": str(key_file)})
    with pytest.raises(SecretUnavailable, match="no key"):
        sops.reveal(entry.key.path, blob, data)
    assert sops.known(blob)  # remembered: the next reveal runs no sops
    assert blob in sops.failures()
    key_file.write_text(keys.identities["prod"] + "\n")  # the operator fixes the file
    assert not sops.known(blob)
    assert sops.reveal(entry.key.path, blob, data) == "s3cret"
    assert sops.failures() == {}


def test_a_failure_is_tried_again_after_a_while(
    bare_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, keys = secret_service(bare_repo, tmp_path)
    service.configs.create(ADMIN, NewConfig("token", "shop", "PROD", "SECRET", "s3cret"))
    entry = service.reads.lookup(ADMIN, Kind.CONFIG, "shop", "PROD", "token")
    blob, data = entry.served.blob, service.store.read_blob(entry.served.blob)
    sops = Sops({"HOME": str(tmp_path), "SOPS_AGE_KEY_FILE": str(keys.key_file("dev"))})
    with pytest.raises(SecretUnavailable):
        sops.reveal(entry.key.path, blob, data)
    assert sops.known(blob)
    monkeypatch.setattr(secrets, "FAILURE_RETRY_SECONDS", 0.0)
    assert not sops.known(blob)  # expired: the next reveal runs sops again
    assert blob not in sops.failures()
