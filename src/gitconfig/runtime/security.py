"""Builds the server's authenticator from its options: the bootstrap admin token from the
environment, the access file, JWT verification and rate limits; and keeps a revealed secret
out of core dumps (``no_core_dumps``)."""

from __future__ import annotations

import ctypes
import logging
import os
import resource
import sys
from dataclasses import dataclass
from pathlib import Path

from gitconfig.access import principals as access
from gitconfig.access.accessfile import AccessFile
from gitconfig.access.jwtauth import JwtVerifier
from gitconfig.access.ratelimit import RateLimiter, parse_rate
from gitconfig.core.errors import BadRequest, FieldError

log = logging.getLogger(__name__)

PR_SET_DUMPABLE = 4  # <linux/prctl.h>


def no_core_dumps() -> None:
    """No core dump of this process or its forked workers: a core would hold every SECRET
    revealed so far in plaintext. Sets ``RLIMIT_CORE`` to 0, soft and hard (so that nothing in
    the process raises it again), and on Linux ``prctl(PR_SET_DUMPABLE, 0)``: the kernel
    ignores ``RLIMIT_CORE`` when ``core_pattern`` pipes cores to a program
    (systemd-coredump, apport), but dumps no process that is not dumpable (core(5),
    prctl(2)); this also keeps other processes of the same user from ptrace-attaching."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            log.warning("cannot mark the process not dumpable: %s", os.strerror(ctypes.get_errno()))


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
