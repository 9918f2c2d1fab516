"""An access file of four subjects and a repository they are tested against.

payments-service    reader of payments in PROD, may reveal secrets there
trading-dev-writer  writer of trading-* in DEV and TEST
release             writer of every application in PROD
root                admin
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from gitconfig.access.accessfile import AccessFile
from gitconfig.access.principals import Principal, TokenRegistry
from gitconfig.service import NewConfig, NewFlag, Service

TOKENS = {
    "payments-service": "tok-payments",
    "trading-dev-writer": "tok-trading-dev",
    "release": "tok-release",
    "root": "tok-root",
}
ADMIN = Principal("seed", frozenset({"admin"}))


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


ACCESS_FILE = f"""\
subjects:
  - name: payments-service
    email: payments@example.com
    token_sha256: {sha(TOKENS["payments-service"])}
    grants:
      - role: reader
        applications: ["payments"]
        environments: [PROD]
        reveal_secrets: true
  - name: trading-dev-writer
    token_sha256: {sha(TOKENS["trading-dev-writer"])}
    grants:
      - role: writer
        applications: ["trading-*"]
        environments: [DEV, TEST]
  - name: release
    email: release@example.com
    token_sha256: {sha(TOKENS["release"])}
    grants:
      - role: writer
        environments: [PROD]
  - name: root
    token_sha256: {sha(TOKENS["root"])}
    grants:
      - role: admin
"""


def registry(tmp_path: Path, text: str = ACCESS_FILE) -> TokenRegistry:
    path = tmp_path / "access.yaml"
    path.write_text(text)
    return TokenRegistry(AccessFile(path, interval=0.0))


def auth(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


def seed(service: Service) -> dict[str, str]:
    """Configurations and flags in payments and trading-engine, DEV and PROD; their ids by
    ``application/ENV/key``."""
    ids = {}
    for app in ("payments", "trading-engine"):
        for env in ("DEV", "PROD"):
            entry = service.configs.create(ADMIN, NewConfig("limit", app, env, "NUMBER", "5"))
            ids[f"{app}/{env}/limit"] = entry.id
            flag = service.flags.create(ADMIN, NewFlag("fast", app, env, "fast path", True))
            ids[f"{app}/{env}/fast"] = flag.id
    return ids
