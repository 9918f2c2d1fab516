"""A SECRET is bound to its path: a PROD secret file copied to a DEV path (a push the hook
let through before) is refused by the validator, reported in ``/status`` and never revealed,
to anyone; ``.sops.yaml`` rules gitconfig cannot use are refused by name; a file whose MAC
covers every field takes no description change that would break it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gitconfig.access.principals import Grant, Principal, TokenRegistry
from gitconfig.core import validator
from gitconfig.core.configfile import MASK
from gitconfig.core.errors import BadRequest, SecretUnavailable
from gitconfig.core.model import ConfigDocument, Environment, Kind
from gitconfig.rest.app import create_app
from gitconfig.service import ConfigChanges, NewConfig, Service
from gitconfig.store.secrets import Sops
from tests.support.agekeys import secret_service
from tests.support.clirun import ok
from tests.support.gitrepo import clone, commit_files, push, rev_parse
from tests.support.refusal import unchanged
from tests.support.tokens import ADMIN_TOKEN

ADMIN = Principal("admin", frozenset({"admin"}))
DEV_REVEALER = Principal(
    "dev-revealer",
    frozenset(),
    grants=(Grant("reader", ("*",), frozenset({"DEV"}), reveal_secrets=True),),
)
PLAIN = "prod-db-s3cret"


def _pushed(repo: Path, tmp_path: Path, files: dict[str, str | bytes], message: str) -> None:
    work = clone(repo, tmp_path / f"work-{len(list(tmp_path.iterdir()))}")
    commit_files(
        work,
        {p: c.decode() if isinstance(c, bytes) else c for p, c in files.items()},
        message,
    )
    push(work)


def _document(service: Service, environment: str, key: str) -> tuple[ConfigDocument, str]:
    entry = service.reads.snapshot().get(Kind.CONFIG, "shop", Environment(environment), key)
    assert entry is not None
    assert isinstance(entry.document, ConfigDocument)
    return entry.document, entry.served.blob


def test_a_prod_secret_copied_to_dev_is_refused_reported_and_never_revealed(
    bare_repo: Path, tmp_path: Path
) -> None:
    service, keys = secret_service(bare_repo, tmp_path)
    service.configs.create(ADMIN, NewConfig("db", "shop", "PROD", "SECRET", PLAIN))
    data = service.store.read_blob(_document(service, "PROD", "db")[1])
    _pushed(bare_repo, tmp_path, {"configs/shop/DEV/stolen.yaml": data}, "copy a secret")
    service.index.refresh()

    findings = validator.validate_files(
        {
            ".sops.yaml": keys.sops_yaml(),
            "configs/shop/PROD/db.yaml": data,
            "configs/shop/DEV/stolen.yaml": data,
        }
    )
    assert [(f.path, f.field) for f in findings] == [("configs/shop/DEV/stolen.yaml", "sops")]
    assert "copied from another environment" in findings[0].message

    stolen, blob = _document(service, "DEV", "stolen")
    key = service.reads.lookup(ADMIN, Kind.CONFIG, "shop", "DEV", "stolen").key
    for principal in (DEV_REVEALER, ADMIN):
        with pytest.raises(SecretUnavailable):
            service.box.value_text(principal, stolen, key, blob, reveal=True)
        assert service.box.served_text(principal, stolen, key, blob) == MASK  # gRPC, streams
    problems = {p.path: p.reason for p in service.operations.status(ADMIN).secrets}
    assert "copied from another environment" in problems["configs/shop/DEV/stolen.yaml"]
    assert "configs/shop/PROD/db.yaml" not in problems

    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with TestClient(create_app(service, tokens), headers=headers) as client:
        params = {"application": "shop", "environment": "DEV", "key": "stolen", "reveal": "true"}
        answer = client.get("/configs/lookup", params=params)
        assert answer.status_code == 422
        assert PLAIN not in answer.text
        kept = unchanged(service)
        with pytest.raises(BadRequest, match="not encrypted for their path"):
            service.secrets.rotate(ADMIN, "shop", "DEV")  # would hand PROD's plaintext to DEV
        kept.check()
        prod = dict(params, environment="PROD", key="db")
        assert client.get("/configs/lookup", params=prod).json()["value"] == PLAIN


def test_recipients_removed_from_a_rule_leave_its_secrets_readable(
    bare_repo: Path, tmp_path: Path
) -> None:
    """The rotation case: PROD's rule now names another key (the leaked one removed); the
    secret still carries the removed key, which no rule names: it is not another path's, and
    stays readable until ``gitconfig secrets rotate``."""
    service, keys = secret_service(bare_repo, tmp_path)
    service.configs.create(ADMIN, NewConfig("db", "shop", "PROD", "SECRET", PLAIN))
    rotated = keys.sops_yaml(prod=("spare",))
    _pushed(bare_repo, tmp_path, {".sops.yaml": rotated}, "rotate PROD's key")
    service.index.refresh()
    document, blob = _document(service, "PROD", "db")
    key = service.reads.lookup(ADMIN, Kind.CONFIG, "shop", "PROD", "db").key
    assert service.box.value_text(ADMIN, document, key, blob, reveal=True) == PLAIN
    data = service.store.read_blob(blob)
    files = {".sops.yaml": rotated, "configs/shop/PROD/db.yaml": data}
    assert validator.validate_files(files) == []


@pytest.mark.parametrize(
    ("missing", "field"),
    [
        ("    mac_only_encrypted: true\n", "creation_rules.0.mac_only_encrypted"),
        ("    encrypted_regex: ^value$\n", "creation_rules.0.encrypted_regex"),
    ],
)
def test_rules_gitconfig_cannot_use_are_refused_by_name(
    bare_repo: Path, tmp_path: Path, missing: str, field: str
) -> None:
    service, keys = secret_service(bare_repo, tmp_path)
    bad = keys.sops_yaml().decode().replace(missing, "", 1).encode()
    findings = validator.validate_files({".sops.yaml": bad})
    assert [(f.path, f.field) for f in findings] == [(".sops.yaml", field)]
    assert "creation_rules[0]" in findings[0].message
    _pushed(bare_repo, tmp_path, {".sops.yaml": bad}, "a rule gitconfig cannot use")
    service.index.refresh()
    kept = unchanged(service)
    with pytest.raises(BadRequest, match=r"creation_rules\[0\]"):
        service.configs.create(ADMIN, NewConfig("db", "shop", "PROD", "SECRET", PLAIN))
    kept.check()


def test_a_secret_whose_mac_covers_every_field_keeps_its_description(
    bare_repo: Path, tmp_path: Path
) -> None:
    """Encrypted without mac_only_encrypted (by hand, with another .sops.yaml), changing its
    description alone would make it undecryptable: refused with the reason, nothing written."""
    service, keys = secret_service(bare_repo, tmp_path)
    whole = keys.sops_yaml().decode().replace("    mac_only_encrypted: true\n", "").encode()
    sops = Sops({"HOME": str(tmp_path), "SOPS_AGE_KEY_FILE": str(keys.key_file("prod"))})
    path = "configs/shop/PROD/db.yaml"
    data = sops.encrypt(path, f"type: SECRET\nvalue: {PLAIN}\n".encode(), whole)
    _pushed(bare_repo, tmp_path, {path: data}, "a secret sealed whole")
    service.index.refresh()
    entry = service.reads.lookup(ADMIN, Kind.CONFIG, "shop", "PROD", "db")
    kept = unchanged(service)
    with pytest.raises(BadRequest, match="mac_only_encrypted"):
        service.configs.update(ADMIN, entry.id, ConfigChanges(description="new words"))
    kept.check()
    document, blob = _document(service, "PROD", "db")
    assert service.box.value_text(ADMIN, document, entry.key, blob, reveal=True) == PLAIN


def test_the_pre_receive_hook_refuses_the_copy(bare_repo: Path, tmp_path: Path) -> None:
    """The push that copies the file is refused by the hook git runs, naming the file."""
    service, _keys = secret_service(bare_repo, tmp_path)
    service.configs.create(ADMIN, NewConfig("db", "shop", "PROD", "SECRET", PLAIN))
    data = service.store.read_blob(_document(service, "PROD", "db")[1])
    ok("hooks", "install", repo=bare_repo)
    work = clone(bare_repo, tmp_path / "work")
    head = rev_parse(bare_repo, "main")
    commit_files(work, {"configs/shop/DEV/stolen.yaml": data.decode()}, "copy a secret")
    pushed = subprocess.run(
        ["git", "push", "origin", "main"], cwd=work, capture_output=True, text=True, check=False
    )
    assert pushed.returncode != 0
    assert "configs/shop/DEV/stolen.yaml" in pushed.stderr
    assert "copied from another environment" in pushed.stderr
    assert rev_parse(bare_repo, "main") == head
