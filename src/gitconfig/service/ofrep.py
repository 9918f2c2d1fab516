"""OFREP use-cases: evaluate one flag or every flag of one application and environment for
an OpenFeature evaluation context (the protocol's shapes are ``core.ofrep``)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from gitconfig.access.principals import Principal, authorize
from gitconfig.core import ofrep
from gitconfig.core.errors import NotFound
from gitconfig.core.evaluation import Evaluation
from gitconfig.core.model import Kind
from gitconfig.core.paths import application_error
from gitconfig.core.profiles import environment_of
from gitconfig.index.snapshot import Entry
from gitconfig.service.reads import Reads


@dataclass(frozen=True)
class OfrepBulk:
    """Every flag's answer (successes and per-flag failures) and the ETag of the answer:
    the snapshot's commit and a digest of the scope and context."""

    etag: str
    flags: list[dict[str, Any]]
    commit: str | None


class Ofrep:
    """OFREP evaluations of the flags ``reads`` serves."""

    def __init__(self, reads: Reads) -> None:
        self.reads = reads

    def evaluate(
        self,
        principal: Principal,
        application: str,
        environment: str,
        key: str,
        context: ofrep.Context,
    ) -> tuple[Entry, Evaluation]:
        """One flag for one context. ``environment`` is DEV/TEST/STAGING/PROD in any case or
        a common Spring profile name (``core.profiles``). Raises NotFound (no such flag, or
        an unknown application or environment), OfrepError TARGETING_KEY_MISSING (a
        percentage rule needed the targeting key), PermissionDenied."""
        env = environment_of(environment)
        if env is not None:
            authorize(principal, "read", application, env)
        entry = None
        if env is not None:  # an invalid application name is simply not in the index
            entry = self.reads.snapshot().get(Kind.FLAG, application, env, key)
        if entry is None or entry.flag is None:
            raise NotFound(f"Flag '{key}' was not found in {application}/{environment}")
        evaluation = entry.flag.evaluate(context.targeting_key, context.attributes)
        assert entry.flag.document is not None
        if ofrep.needs_targeting_key(entry.flag.document, evaluation, context):
            raise ofrep.OfrepError(
                ofrep.TARGETING_KEY_MISSING,
                f"flag '{key}' splits by user: the context needs a targetingKey",
            )
        return entry, evaluation

    def evaluate_all(
        self,
        principal: Principal,
        application: str,
        environment: str,
        context: ofrep.Context,
    ) -> OfrepBulk:
        """Every flag of one application and environment, from one snapshot. A flag that
        needs the missing targeting key is a TARGETING_KEY_MISSING item; an unknown
        application or environment has no flags."""
        env = environment_of(environment)
        if env is not None:
            authorize(principal, "read", application, env)
        snapshot = self.reads.snapshot()
        entries: list[Entry] = []
        if env is not None and application_error(application) is None:
            entries = self.reads.entries(Kind.FLAG, application, env, snapshot)
        flags: list[dict[str, Any]] = []
        for entry in entries:
            if entry.flag is None:
                continue
            document = entry.flag.document
            evaluation = entry.flag.evaluate(context.targeting_key, context.attributes)
            if ofrep.needs_targeting_key(document, evaluation, context):
                flags.append(
                    ofrep.failure(
                        entry.key.key,
                        ofrep.TARGETING_KEY_MISSING,
                        "this flag splits by user: the context needs a targetingKey",
                    )
                )
                continue
            served = entry.served
            flags.append(
                ofrep.answer(entry.key.key, document, evaluation, served.commit.sha, entry.version)
            )
        digest = hashlib.sha256(
            json.dumps(
                [
                    application,
                    environment,
                    context.targeting_key,
                    sorted(context.attributes.items()),
                ]
            ).encode()
        ).hexdigest()[:16]
        etag = f'"{(snapshot.commit or "empty")[:40]}.{digest}"'
        return OfrepBulk(etag, flags, snapshot.commit)
