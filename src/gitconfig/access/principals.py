"""Principals, their grants, and the one ``authorize()`` every use-case asks.

A principal holds unscoped ``roles`` (the bootstrap admin token, the CLI acting as the local
user) and scoped ``grants`` (from the access file): a role (``reader`` < ``writer``;
``admin`` is global) over application glob patterns (``fnmatch``) and environments, plus
``reveal_secrets`` in that scope. Permissions asked for are ``read``, ``write``, ``reveal``
and ``admin``.

A decision is computed once per (permission, application, environment) and kept in the
principal's own table, so authorizing a request is one dictionary lookup, however many
grants or subjects exist. ``application``/``environment`` None asks for the permission
*everywhere* (e.g. ``/metrics``); ``Principal.anywhere`` asks whether it holds it *somewhere*
(a list then shows only what ``Principal.may`` allows).

``TokenRegistry`` authenticates a bearer value: a token (kept only as its SHA-256) or, with
a JWT verifier, a JWT whose ``sub`` names a subject; then the rate limiter, if any, counts the
request. See ``accessfile`` (subjects and reload), ``jwtauth`` and ``ratelimit``.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import itertools
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol

from gitconfig.core.errors import PermissionDenied, Unauthenticated
from gitconfig.core.model import EntryKey, Environment

PERMISSIONS: Final = ("read", "write", "reveal", "admin")
ROLES: Final = ("reader", "writer", "admin")
_DECISIONS_LIMIT: Final = 50_000  # cached decisions per principal before the table is reset
ALL_ENVIRONMENTS: Final = frozenset(e.value for e in Environment)
_SERIALS: Final = itertools.count(1)


@functools.lru_cache(maxsize=65536)
def _glob(pattern: str) -> Callable[[str], object]:
    """A matcher of one fnmatch pattern: equality for a plain name, else a compiled regex
    (compiled on first use, so loading thousands of grants stays cheap)."""
    if not any(c in pattern for c in "*?["):
        return pattern.__eq__
    return re.compile(fnmatch.translate(pattern)).match


def _glob_matches(pattern: str, name: str) -> bool:
    return bool(_glob(pattern)(name))


@dataclass(frozen=True, slots=True)
class Grant:
    """``role`` (``reader``/``writer``; ``admin``: everything in the scope) over
    ``applications`` (fnmatch globs) and ``environments``; ``reveal_secrets``: may see SECRET
    values in that scope. (The access file turns an ``admin`` grant into the global
    ``admin`` role.)"""

    role: str
    applications: tuple[str, ...] = ("*",)
    environments: frozenset[str] = ALL_ENVIRONMENTS
    reveal_secrets: bool = False

    def covers(self, application: str, environment: str) -> bool:
        return environment in self.environments and any(
            _glob_matches(pattern, application) for pattern in self.applications
        )

    def covers_everything(self, environment: str) -> bool:
        return environment in self.environments and "*" in self.applications

    def allows(self, permission: str) -> bool:
        if permission == "read" or self.role == "admin":
            return True
        if permission == "write":
            return self.role == "writer"
        return permission == "reveal" and self.reveal_secrets


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    roles: frozenset[str] = frozenset()
    email_address: str | None = None
    grants: tuple[Grant, ...] = ()
    _decisions: dict[tuple[str, str | None, str | None], bool] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )
    # This principal object's number, never reused: a key for caches of what it was allowed
    # (the flag check's), which a new access file, making new principals, never reaches.
    serial: int = field(
        default_factory=_SERIALS.__next__, init=False, compare=False, hash=False, repr=False
    )

    @property
    def email(self) -> str:
        """The commit author email of this principal's writes."""
        return self.email_address or f"{self.name}@gitconfig.invalid"

    @property
    def admin(self) -> bool:
        return "admin" in self.roles

    def may(
        self, permission: str, application: str | None = None, environment: str | None = None
    ) -> bool:
        """Whether the principal holds ``permission`` on (application, environment); None
        for either means every application / every environment. One dict lookup once known."""
        decisions = self._decisions
        decision = decisions.get((permission, application, environment))
        if decision is None:
            decision = self._decide(permission, application, environment)
            if len(decisions) > _DECISIONS_LIMIT:
                decisions.clear()
            decisions[(permission, application, environment)] = decision
        return decision

    def may_key(self, permission: str, key: EntryKey) -> bool:
        return self.may(permission, key.application, key.environment.value)

    def anywhere(self, permission: str) -> bool:
        """Whether the principal holds ``permission`` in at least one scope."""
        return self.may(permission, "", "")

    def can(self, permission: str) -> bool:
        """Holds ``permission`` everywhere (unscoped)."""
        return self.may(permission)

    def _decide(self, permission: str, application: str | None, environment: str | None) -> bool:
        if "admin" in self.roles or permission in self.roles:
            return True
        if permission == "read" and "write" in self.roles:
            return True
        if permission == "admin":
            return False
        grants = [g for g in self.grants if g.allows(permission)]
        if application == "" and environment == "":  # somewhere
            return bool(grants)
        envs = ALL_ENVIRONMENTS if environment is None else (environment,)
        for env in envs:
            if application is None:
                ok = any(g.covers_everything(env) for g in grants)
            else:
                ok = any(g.covers(application, env) for g in grants)
            if not ok:
                return False
        return True

    @property
    def reveal_audience(self) -> object:
        """Equal for principals whose SECRET renderings are equal (stream render caches)."""
        if self.may("reveal"):
            return True
        return self.name if self.anywhere("reveal") else False


def authorize(
    principal: Principal,
    permission: str,
    application: str | None = None,
    environment: str | Environment | None = None,
) -> None:
    """The one decision of who may do what: raises ``PermissionDenied`` unless ``principal``
    holds ``permission`` (``read``, ``write``, ``reveal``, ``admin``) on ``application`` in
    ``environment`` (None: every application / environment). A dictionary lookup per call
    once the decision is known."""
    env = environment.value if isinstance(environment, Environment) else environment
    if not principal.may(permission, application, env):
        if application is None and env is None:
            where = "everywhere"
        else:
            where = f"on {application or '*'}/{env or '*'}"
        raise PermissionDenied(f"{principal.name} may not {permission} {where}")


def token_digest(token: str) -> bytes:
    """SHA-256 of a bearer token: the only form in which tokens are kept."""
    return hashlib.sha256(token.encode("utf-8")).digest()


class Subjects(Protocol):
    """A source of principals by token digest and by name (``accessfile.AccessFile``)."""

    def by_digest(self) -> Mapping[bytes, Principal]: ...

    def by_name(self) -> Mapping[str, Principal]: ...


class Limiter(Protocol):
    def hit(self, principal: Principal, write: bool) -> None: ...


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated()
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated()
    return token


def looks_like_jwt(token: str) -> bool:
    return token.startswith("eyJ") and token.count(".") == 2


class TokenRegistry:
    """Authenticates bearer values: tokens added here, the subjects of an access file, and
    JWTs (``jwt`` verifies one and returns its ``sub``); then ``limiter`` counts the call."""

    def __init__(
        self,
        subjects: Subjects | None = None,
        jwt: Callable[[str], str] | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        self._tokens: dict[bytes, Principal] = {}
        self.generation = 0  # moves on with every ``add`` (``tokencache`` drops what it kept)
        self.subjects = subjects
        self.jwt = jwt
        self.limiter = limiter

    def add(
        self,
        token: str,
        name: str,
        roles: Iterable[str] = (),
        grants: Iterable[Grant] = (),
        email: str | None = None,
    ) -> None:
        if not token:
            raise ValueError("empty token")
        principal = Principal(name, frozenset(roles), email, tuple(grants))
        self._tokens[token_digest(token)] = principal
        self.generation += 1

    def authenticate(self, authorization: str | None, write: bool = False) -> Principal:
        """The principal of an ``Authorization: Bearer <token>`` value, else Unauthenticated;
        RateLimited when the principal is over its limit (``write``: a write request)."""
        principal = self.identify(bearer_token(authorization))
        if self.limiter is not None:
            self.limiter.hit(principal, write)
        return principal

    def identify(self, token: str) -> Principal:
        found: Principal | None = None
        if self.jwt is not None and looks_like_jwt(token):
            subject = self.jwt(token)  # raises Unauthenticated
            if self.subjects is not None:
                found = self.subjects.by_name().get(subject)
            if found is None:
                raise Unauthenticated(f"the JWT subject {subject!r} is not a known subject")
            return found
        # A dict lookup by the token's SHA-256: what is compared is a digest of the secret,
        # so the lookup's timing reveals nothing usable about the token itself.
        digest = token_digest(token)
        found = self._tokens.get(digest)
        if found is None and self.subjects is not None:
            found = self.subjects.by_digest().get(digest)
        if found is None:
            raise Unauthenticated()
        return found

    def __len__(self) -> int:
        return len(self._tokens) + (len(self.subjects.by_digest()) if self.subjects else 0)


def from_environment(environ: dict[str, str] | None = None) -> TokenRegistry:
    """Tokens from the environment: ``GITCONFIG_ADMIN_TOKEN`` is an admin token."""
    env = os.environ if environ is None else environ
    registry = TokenRegistry()
    admin = env.get("GITCONFIG_ADMIN_TOKEN")
    if admin:
        registry.add(admin, "admin", ["admin"])
    return registry
