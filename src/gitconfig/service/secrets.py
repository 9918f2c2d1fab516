"""Secret use-cases: what the operator sees of the SECRET entries, and their rotation.

Nothing here decrypts at start-up or for a report: ``check_secrets`` and ``secret_problems``
read the sops metadata (recipients, ``lastmodified``) of the files as they are, and compare
the recipients with the public keys of the identities this process holds. A decryption that
failed (a MAC mismatch after a hand-edit) is reported once it was tried. ``rotate_secrets``
re-encrypts the matching secrets for the current ``.sops.yaml`` recipients in one commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gitconfig.access.principals import Principal, authorize
from gitconfig.core.errors import BadRequest
from gitconfig.core.model import ConfigDocument, EntryKey, Environment, Kind, ValueType
from gitconfig.core.paths import filter_errors
from gitconfig.index.refresher import Index
from gitconfig.index.snapshot import Entry, Snapshot
from gitconfig.service.base import SOPS_YAML, ServiceBase
from gitconfig.store.ports import Store
from gitconfig.store.secrets import Sops

NO_KEY = "no key of this server can decrypt it (no matching age identity)"


@dataclass(frozen=True)
class SecretInfo:
    """One SECRET as sops left it: ``recipients`` (age public keys), ``last_modified`` (sops'
    ``lastmodified``; None if absent) and the commit of its content."""

    path: str
    environment: Environment
    recipients: tuple[str, ...]
    last_modified: datetime | None
    commit: str

    def age_seconds(self, now: datetime) -> float | None:
        return None if self.last_modified is None else (now - self.last_modified).total_seconds()


@dataclass(frozen=True)
class SecretProblem:
    """A SECRET this server cannot decrypt: its path, the commit of its content, and why."""

    path: str
    commit: str
    reason: str


@dataclass(frozen=True)
class Rotation:
    """What ``rotate_secrets`` re-encrypted (paths, sorted) and its commit (None: none)."""

    paths: list[str]
    commit: str | None


def secret_entries(
    snapshot: Snapshot, application: str | None = None, environment: Environment | None = None
) -> list[Entry]:
    return [
        entry
        for entry in snapshot.entries(Kind.CONFIG, application, environment)
        if isinstance(entry.document, ConfigDocument)
        and entry.document.value_type is ValueType.SECRET
    ]


def secret_info(entry: Entry) -> SecretInfo:
    assert isinstance(entry.document, ConfigDocument)
    sops = entry.document.sops or {}
    recipients = tuple(
        str(item.get("recipient"))
        for item in sops.get("age") or ()
        if isinstance(item, dict) and item.get("recipient")
    )
    return SecretInfo(
        entry.key.path,
        entry.key.environment,
        recipients,
        _instant(sops.get("lastmodified")),
        entry.served.commit.sha,
    )


def _instant(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def secret_problems(snapshot: Snapshot, sops: Sops) -> list[SecretProblem]:
    """The served SECRETs this server cannot decrypt, sorted by path: those whose recipients
    include none of its identities (known without decrypting), and those whose decryption
    failed."""
    failures = sops.failures()
    own = sops.recipients()
    problems = []
    for entry in secret_entries(snapshot):
        info = secret_info(entry)
        reason = failures.get(entry.served.blob)
        if reason is None and own is not None and not own.intersection(info.recipients):
            reason = NO_KEY
        if reason is not None:
            problems.append(SecretProblem(info.path, info.commit, reason))
    return problems


def oldest_ages(snapshot: Snapshot, now: datetime) -> dict[Environment, float]:
    """Per environment, the age in seconds of its oldest secret (by sops' lastmodified)."""
    oldest: dict[Environment, float] = {}
    for entry in secret_entries(snapshot):
        info = secret_info(entry)
        age = info.age_seconds(now)
        if age is not None and age > oldest.get(info.environment, -1.0):
            oldest[info.environment] = age
    return oldest


class SecretMetrics(Collector):
    """``gitconfig_secret_undecryptable{path, commit}`` (1 per SECRET this server cannot
    decrypt, served masked) and ``gitconfig_secret_oldest_age_seconds{environment}``, read
    from the served snapshot at scrape time."""

    def __init__(self, service: ServiceBase) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        if not self.service.index.ready:
            return
        snapshot = self.service.snapshot()
        undecryptable = GaugeMetricFamily(
            "gitconfig_secret_undecryptable",
            "1 per SECRET this server cannot decrypt (served masked), by path and commit",
            labels=["path", "commit"],
        )
        for problem in secret_problems(snapshot, self.service.secrets):
            undecryptable.add_metric([problem.path, problem.commit], 1)
        yield undecryptable
        oldest = GaugeMetricFamily(
            "gitconfig_secret_oldest_age_seconds",
            "Age of the oldest SECRET per environment (sops lastmodified)",
            labels=["environment"],
        )
        for environment, age in sorted(oldest_ages(snapshot, datetime.now(UTC)).items()):
            oldest.add_metric([environment.value], age)
        yield oldest


class SecretUseCases(ServiceBase):
    def __init__(self, store: Store, index: Index, secrets: Sops | None = None) -> None:
        super().__init__(store, index, secrets)
        self.metrics.add(SecretMetrics(self))

    def check_secrets(
        self, principal: Principal, application: str | None = None, environment: str | None = None
    ) -> list[SecretInfo]:
        """Every SECRET (optionally of one application and/or environment) with its
        recipients and last modification, sorted by path: those the principal may read."""
        if not principal.anywhere("read"):
            authorize(principal, "read")
        env = _scope(application, environment)
        return [
            secret_info(e)
            for e in secret_entries(self.snapshot(), application, env)
            if principal.may_key("read", e.key)
        ]

    def secret_problems(self, principal: Principal) -> list[SecretProblem]:
        """The SECRETs this server cannot decrypt (see ``secret_problems``). Needs ``read``."""
        authorize(principal, "read")
        return secret_problems(self.snapshot(), self.secrets)

    def rotate_secrets(
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
        keys = tuple(e.key for e in secret_entries(self.snapshot(), application, env))
        if not keys:
            authorize(principal, "write", application, env)
        for key in keys:  # every secret rotated needs write in its scope
            authorize(principal, "write", key.application, key.environment)
        if not keys:
            return Rotation([], None)

        def prepare(snapshot: Snapshot) -> dict[str, bytes | None]:
            sops_yaml = (
                None
                if snapshot.commit is None
                else self.store.read_file(snapshot.commit, SOPS_YAML)
            )
            changes: dict[str, bytes | None] = {}
            for key in _present(snapshot, keys):
                entry = snapshot.get_key(key)
                assert entry is not None
                data = self.store.read_blob(entry.updated.blob)
                changes[key.path] = self.secrets.reencrypt(key.path, data, sops_yaml)
            return changes

        scope = "/".join(part for part in (application, environment) if part) or "all"
        text = message or f"Rotate {len(keys)} secret(s) ({scope}) for the current recipients"
        snapshot = self.commit(principal, keys, prepare, text)
        return Rotation(sorted(k.path for k in keys), snapshot.commit)


def _present(snapshot: Snapshot, keys: Iterable[EntryKey]) -> list[EntryKey]:
    return [key for key in keys if snapshot.get_key(key) is not None]


def _scope(application: str | None, environment: str | None) -> Environment | None:
    errors = filter_errors(application, environment)
    if errors:
        raise BadRequest("invalid scope", errors)
    return Environment(environment) if environment is not None else None
