"""Building blocks the CLI and the server share: open a repository's service, create one."""

from __future__ import annotations

from pathlib import Path

from gitconfig.core.model import Author
from gitconfig.index.refresher import Index
from gitconfig.service import Service, build_service
from gitconfig.store.gitstore import GitStore
from gitconfig.store.worktree import WorktreeStore

README = """# Configuration repository

Managed by gitconfig. Every configuration value and feature flag is a YAML file:

    configs/<application>/<ENV>/<key>.yaml
    flags/<application>/<ENV>/<key>.yaml
    schemas/<name>.json          shared JSON Schemas, referenced with {$ref: schemas/<name>.json}

ENV is one of DEV, TEST, STAGING, PROD. Validate before you push: `gitconfig validate .`
"""

SOPS_PLACEHOLDER = """# sops creation rules for SECRET values.
# PLACEHOLDER RECIPIENT: the all-zero age key below is accepted by sops' parser but refused
# for encryption, so nothing is encrypted by mistake. Replace it with your team's age public
# key(s) before adding SECRET entries.
creation_rules:
  - path_regex: configs/[^/]+/[^/]+/[^/]+\\.yaml$
    encrypted_regex: ^value$
    mac_only_encrypted: true
    age: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z
"""


def sops_rules(recipient: str, note: str) -> str:
    """A ``.sops.yaml`` that encrypts every configuration file's ``value`` for one age
    ``recipient`` (``note`` says whose key it is)."""
    return (
        f"# sops creation rules for SECRET values: {note}.\n"
        "# One rule per environment (a key per environment) is the production layout: see\n"
        "# docs/secrets.md.\n"
        "creation_rules:\n"
        "  - path_regex: ^configs/[^/]+/[^/]+/[^/]+\\.yaml$\n"
        "    encrypted_regex: ^value$\n"
        "    mac_only_encrypted: true\n"
        f"    age: {recipient}\n"
    )


def open_service(repo: Path, branch: str = "main") -> Service:
    store = GitStore(repo, branch)
    return build_service(store, Index(store))


def init_repository(path: Path, bare: bool = False, branch: str = "main") -> str:
    """Create a config repository with an initial commit; returns that commit's sha."""
    store = WorktreeStore.init(path, bare=bare, branch=branch)  # a clone gets the files
    files = {"README.md": README.encode(), ".sops.yaml": SOPS_PLACEHOLDER.encode()}
    author = Author("gitconfig", "gitconfig@localhost")
    sha = store.write(None, files, author, "Initialize configuration repository")
    return sha
