"""What the served snapshot's SECRET files say, without decrypting them: their sops metadata
(recipients, ``lastmodified``), the SECRETs this server cannot decrypt, and the metrics of
both. Shared by the ``secrets`` use-cases (reports) and ``operations`` (``/status``).

Nothing here decrypts: the recipients are compared with the public keys of the identities
this process holds, and a decryption that failed (a MAC mismatch after a hand-edit) is
reported once it was tried (``Sops.failures``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gitconfig.core import sopsrules
from gitconfig.core.model import ConfigDocument, Environment, Kind, ValueType
from gitconfig.core.sopsrules import Rule
from gitconfig.index.refresher import Index
from gitconfig.index.snapshot import Entry, Snapshot
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


def secret_entries(
    snapshot: Snapshot, application: str | None = None, environment: Environment | None = None
) -> list[Entry]:
    """The served SECRETs, sorted (only they are sorted: no listing of every entry)."""
    return snapshot.entries(Kind.CONFIG, application, environment, where=_is_secret)


def _is_secret(entry: Entry) -> bool:
    document = entry.document
    return isinstance(document, ConfigDocument) and document.value_type is ValueType.SECRET


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


def secret_problems(
    snapshot: Snapshot, sops: Sops, rules: list[sopsrules.Rule]
) -> list[SecretProblem]:
    """The served SECRETs this server will not or cannot decrypt, sorted by path: those not
    encrypted for the creation rule of their path in ``rules`` (the snapshot's
    ``.sops.yaml``: never revealed), those whose recipients include none of its identities
    (known without decrypting), and those whose decryption failed."""
    failures = sops.failures()
    own = sops.recipients()
    problems = []
    for entry in secret_entries(snapshot):
        info = secret_info(entry)
        document = entry.document
        assert isinstance(document, ConfigDocument)
        reason = sopsrules.binding_problem(info.path, document.sops, rules)
        reason = reason or failures.get(entry.served.blob)
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

    def __init__(self, index: Index, sops: Sops, rules: Callable[[Snapshot], list[Rule]]) -> None:
        self.index = index
        self.sops = sops
        self.rules = rules  # the creation rules of a snapshot's .sops.yaml

    def collect(self) -> Iterator[Metric]:
        if not self.index.ready:
            return
        snapshot = self.index.current()
        undecryptable = GaugeMetricFamily(
            "gitconfig_secret_undecryptable",
            "1 per SECRET this server cannot decrypt (served masked), by path and commit",
            labels=["path", "commit"],
        )
        for problem in secret_problems(snapshot, self.sops, self.rules(snapshot)):
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
