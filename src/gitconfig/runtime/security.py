"""Builds the server's authenticator from its options: the bootstrap admin token from the
environment, the access file, JWT verification and rate limits."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gitconfig.access import principals as access
from gitconfig.access.accessfile import AccessFile
from gitconfig.access.jwtauth import JwtVerifier
from gitconfig.access.ratelimit import RateLimiter, parse_rate
from gitconfig.core.errors import BadRequest, FieldError


@dataclass(frozen=True)
class SecurityOptions:
    access_file: Path | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_keys: Path | None = None
    rate_limit: str | None = None  # e.g. "100/second"
    rate_burst: int | None = None
    write_rate_limit: str | None = None


def build_tokens(
    options: SecurityOptions, environ: dict[str, str] | None = None
) -> access.TokenRegistry:
    """The registry every transport authenticates with. Raises ``BadRequest`` for a bad
    access file, JWT settings or rate (the server refuses to start)."""
    env = os.environ if environ is None else environ
    subjects = AccessFile(options.access_file) if options.access_file is not None else None
    jwt_settings = (options.jwt_issuer, options.jwt_audience, options.jwt_keys)
    verifier = None
    if any(s is not None for s in jwt_settings):
        issuer, audience, keys = jwt_settings
        if issuer is None or audience is None or keys is None:
            message = "--jwt-issuer, --jwt-audience and --jwt-keys go together"
            raise BadRequest("incomplete JWT settings", [FieldError("jwt", message)])
        if subjects is None:
            message = "a JWT's subject is looked up in the access file: give --access-file"
            raise BadRequest("JWT without an access file", [FieldError("jwt", message)])
        verifier = JwtVerifier(keys, issuer, audience)
    limiter = None
    if options.rate_limit is not None or options.write_rate_limit is not None:
        reads = parse_rate(options.rate_limit or "1000000/second", options.rate_burst)
        writes = (
            parse_rate(options.write_rate_limit, None, "write-rate-limit")
            if options.write_rate_limit is not None
            else None
        )
        limiter = RateLimiter(reads, writes)
    registry = access.TokenRegistry(subjects, verifier, limiter)
    admin = env.get("GITCONFIG_ADMIN_TOKEN")
    if admin:
        registry.add(admin, "admin", ["admin"])
    return registry
