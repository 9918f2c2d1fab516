"""Bearer tokens and the principals they authenticate.

Tokens are kept only as SHA-256 hashes and compared in constant time. A principal has roles
(``read``, ``write``, ``admin``, ``reveal``); ``admin`` implies all others. Role scoping by
application pattern and environment arrives with the security issue; until then a role
applies everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass

from gitconfig.core.errors import PermissionDenied, Unauthenticated


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    roles: frozenset[str]
    email_address: str | None = None

    @property
    def email(self) -> str:
        """The commit author email of this principal's writes."""
        return self.email_address or f"{self.name}@gitconfig.invalid"

    def can(self, role: str) -> bool:
        return "admin" in self.roles or role in self.roles

    def require(self, role: str) -> None:
        if not self.can(role):
            raise PermissionDenied(f"{self.name} lacks the {role} role")


def authorize(principal: Principal, permission: str) -> None:
    """The one decision of who may do what: raises ``PermissionDenied`` unless
    ``principal`` holds ``permission`` (``read``, ``write``, ``reveal``; ``admin`` holds all).
    Every use-case and the REST fast path call it."""
    principal.require(permission)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class TokenRegistry:
    def __init__(self) -> None:
        self._tokens: list[tuple[bytes, Principal]] = []

    def add(self, token: str, name: str, roles: Iterable[str]) -> None:
        if not token:
            raise ValueError("empty token")
        self._tokens.append((_digest(token), Principal(name, frozenset(roles))))

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization: Bearer <token>`` value, else Unauthenticated."""
        if not authorization:
            raise Unauthenticated()
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated()
        presented = _digest(token.strip())
        found: Principal | None = None
        for digest, principal in self._tokens:  # no early exit: constant time per registry
            if hmac.compare_digest(digest, presented):
                found = principal
        if found is None:
            raise Unauthenticated()
        return found

    def __len__(self) -> int:
        return len(self._tokens)


def from_environment(environ: dict[str, str] | None = None) -> TokenRegistry:
    """Tokens from the environment: ``GITCONFIG_ADMIN_TOKEN`` is an admin token."""
    env = os.environ if environ is None else environ
    registry = TokenRegistry()
    admin = env.get("GITCONFIG_ADMIN_TOKEN")
    if admin:
        registry.add(admin, "admin", ["admin"])
    return registry
