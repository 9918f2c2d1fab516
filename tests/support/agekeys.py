"""Throwaway age keys (pyrage) and a ``.sops.yaml`` with one key for PROD and one for the
other environments, for tests that run the real ``sops`` binary.

    keys = AgeKeys.make(tmp_path)
    store.write(head, {".sops.yaml": keys.sops_yaml()}, author, "rules")
    Sops({"SOPS_AGE_KEY_FILE": str(keys.key_file("dev", "prod")), "HOME": ...})
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyrage

from gitconfig.core.model import Author
from gitconfig.index.refresher import Index
from gitconfig.service import Service, build_service
from gitconfig.store.gitstore import GitStore
from gitconfig.store.secrets import Sops


@dataclass(frozen=True)
class AgeKeys:
    folder: Path
    identities: dict[str, str]  # name -> AGE-SECRET-KEY-1...
    recipients: dict[str, str]  # name -> age1...

    @classmethod
    def make(cls, folder: Path, names: tuple[str, ...] = ("dev", "prod", "spare")) -> AgeKeys:
        folder.mkdir(parents=True, exist_ok=True)
        identities, recipients = {}, {}
        for name in names:
            identity = pyrage.x25519.Identity.generate()
            identities[name] = str(identity)
            recipients[name] = str(identity.to_public())
        return cls(folder, identities, recipients)

    def key_file(self, *names: str) -> Path:
        """A key file holding the identities ``names`` (as ``SOPS_AGE_KEY_FILE`` reads)."""
        path = self.folder / f"{'-'.join(names)}.txt"
        path.write_text("".join(f"{self.identities[n]}\n" for n in names))
        path.chmod(0o600)
        return path

    def sops_yaml(
        self, prod: tuple[str, ...] = ("prod",), other: tuple[str, ...] = ("dev",)
    ) -> bytes:
        """Creation rules: PROD files for ``prod``'s keys, the other environments for
        ``other``'s (empty: no rule for them)."""
        rules = [("PROD", prod), ("(DEV|TEST|STAGING)", other)]
        text = "creation_rules:\n"
        for environments, names in rules:
            if names:
                text += (
                    f"  - path_regex: ^configs/[^/]+/{environments}/[^/]+\\.yaml$\n"
                    "    encrypted_regex: ^value$\n"
                    "    mac_only_encrypted: true\n"
                    f"    age: {','.join(self.recipients[n] for n in names)}\n"
                )
        return text.encode()


def open_service(repo: Path, keys: AgeKeys, *names: str) -> Service:
    """A service over ``repo`` whose sops holds the identities ``names``; indexed, ready."""
    store = GitStore(repo)
    environ = {"HOME": str(keys.folder), "SOPS_AGE_KEY_FILE": str(keys.key_file(*names))}
    service = build_service(store, Index(store), Sops(environ))
    service.index.refresh()
    return service


def secret_service(repo: Path, home: Path) -> tuple[Service, AgeKeys]:
    """A service over ``repo`` whose ``.sops.yaml`` (committed) names throwaway keys: one for
    PROD, one for the other environments (made under ``home``); the service holds both."""
    keys = AgeKeys.make(home / "keys")
    store = GitStore(repo)
    store.write(store.head(), {".sops.yaml": keys.sops_yaml()}, Author("t", "t@x"), "rules")
    return open_service(repo, keys, "dev", "prod"), keys
