"""Secret use-cases: what the operator sees of the SECRET entries, and their rotation.

Nothing here decrypts for a report: ``check`` and ``problems`` read the sops metadata of the
files as they are (``sopsfiles``). ``rotate`` re-encrypts the matching secrets for the
current ``.sops.yaml`` recipients in one commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gitconfig.access.principals import Principal, authorize
from gitconfig.core.errors import BadRequest, FieldError
from gitconfig.core.model import EntryKey, Environment
from gitconfig.core.paths import filter_errors
from gitconfig.index.snapshot import Snapshot
from gitconfig.service.reads import Reads
from gitconfig.service.secretbox import SecretBox
from gitconfig.service.sopsfiles import (
    SecretInfo,
    SecretProblem,
    secret_entries,
    secret_info,
    secret_problems,
)
from gitconfig.service.writer import Writer


@dataclass(frozen=True)
class Rotation:
    """What ``rotate`` re-encrypted (paths, sorted) and its commit (None: none)."""

    paths: list[str]
    commit: str | None


class Secrets:
    """What the operator sees of the SECRET entries, and their rotation: reads through
    ``reads``, writes through ``writer``, sops through ``box``."""

    def __init__(self, reads: Reads, writer: Writer, box: SecretBox) -> None:
        self.reads = reads
        self.writer = writer
        self.box = box

    def check(
        self, principal: Principal, application: str | None = None, environment: str | None = None
    ) -> list[SecretInfo]:
        """Every SECRET (optionally of one application and/or environment) with its
        recipients and last modification, sorted by path: those the principal may read."""
        if not principal.anywhere("read"):
            authorize(principal, "read")
        env = _scope(application, environment)
        return [
            secret_info(e)
            for e in secret_entries(self.reads.snapshot(), application, env)
            if principal.may_key("read", e.key)
        ]

    def problems(self, principal: Principal) -> list[SecretProblem]:
        """The SECRETs this server cannot decrypt (see ``secret_problems``). Needs ``read``."""
        authorize(principal, "read")
        snapshot = self.reads.snapshot()
        return secret_problems(snapshot, self.box.sops, self.box.rules(snapshot))

    def rotate(
        self,
        principal: Principal,
        application: str | None = None,
        environment: str | None = None,
        message: str | None = None,
    ) -> Rotation:
        """Re-encrypt the matching SECRETs with a new data key for the recipients of the
        current ``.sops.yaml``, in one commit: a recipient removed from it can no longer
        decrypt them. Needs ``write``; raises ``SecretUnavailable`` (nothing written) when
        this process cannot decrypt one of them, ``BadRequest`` when no rule matches one."""
        env = _scope(application, environment)
        keys = tuple(e.key for e in secret_entries(self.reads.snapshot(), application, env))
        if not keys:
            authorize(principal, "write", application, env)
        self.writer.writable()
        for key in keys:  # every secret rotated needs write in its scope
            authorize(principal, "write", key.application, key.environment)
        if not keys:
            return Rotation([], None)
        snapshot = self.reads.snapshot()
        unbound = [
            FieldError(key.path, problem)
            for key in keys
            if (entry := snapshot.get_key(key)) is not None
            and (problem := self.box.unbound(key.path, entry.document)) is not None
        ]
        if unbound:  # re-encrypting one for its path would hand its plaintext to that path
            raise BadRequest(
                f"{len(unbound)} secret(s) not encrypted for their path's rule: nothing rotated",
                unbound,
            )

        def prepare(snapshot: Snapshot) -> dict[str, bytes | None]:
            sops_yaml = self.box.sops_yaml(snapshot)
            changes: dict[str, bytes | None] = {}
            for key in _present(snapshot, keys):
                entry = snapshot.get_key(key)
                assert entry is not None
                data = self.reads.blob(entry.updated.blob)
                changes[key.path] = self.box.sops.reencrypt(key.path, data, sops_yaml)
            return changes

        scope = "/".join(part for part in (application, environment) if part) or "all"
        text = message or f"Rotate {len(keys)} secret(s) ({scope}) for the current recipients"
        snapshot = self.writer.commit(principal, keys, prepare, text)
        return Rotation(sorted(k.path for k in keys), snapshot.commit)


def _present(snapshot: Snapshot, keys: Iterable[EntryKey]) -> list[EntryKey]:
    return [key for key in keys if snapshot.get_key(key) is not None]


def _scope(application: str | None, environment: str | None) -> Environment | None:
    errors = filter_errors(application, environment)
    if errors:
        raise BadRequest("invalid scope", errors)
    return Environment(environment) if environment is not None else None
