"""Operating the server: readiness, the index status, metrics, a Git host's push webhook and
the replica's status, each with the permission it needs.

A server started with ``--remote`` is given its ``Replicator``; a server on a local
repository has none, and then ``webhook`` answers NotFound and ``replica_status`` None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gitconfig.access.principals import Principal, authorize
from gitconfig.core import webhooks
from gitconfig.core.errors import FieldError, NotFound
from gitconfig.core.model import Problem
from gitconfig.core.paths import parse_entry_path
from gitconfig.index.refresher import Index
from gitconfig.service.metrics import Metrics
from gitconfig.service.reads import Reads
from gitconfig.service.replica import ReplicaStatus, Replicator
from gitconfig.service.secretbox import SecretBox
from gitconfig.service.sopsfiles import SecretProblem, secret_problems
from gitconfig.store.ports import Store


@dataclass(frozen=True)
class IndexStatus:
    """What ``GET /status`` shows: the served commit, the branch, the number of entries and
    the files at HEAD that do not validate (served fail-static), sorted by path, and the
    SECRETs this server cannot decrypt (served masked)."""

    commit: str | None
    branch: str
    entries: int
    problems: list[Problem]
    secrets: list[SecretProblem] = field(default_factory=list)


@dataclass(frozen=True)
class WebhookOutcome:
    """``fetch``: a fetch was scheduled; otherwise why the webhook was acknowledged and
    ignored (``reason``)."""

    provider: str
    fetch: bool
    reason: str


class Operations:
    """Status from ``reads``, ``index`` and ``store`` (the branch), SECRET problems from
    ``box``, metrics from ``metrics``; ``replica`` and ``webhook_secret`` for a replica."""

    def __init__(
        self,
        reads: Reads,
        index: Index,
        store: Store,
        metrics: Metrics,
        box: SecretBox,
        replica: Replicator | None = None,
        webhook_secret: bytes | None = None,
    ) -> None:
        self.reads = reads
        self.index = index
        self.store = store
        self.metrics = metrics
        self.box = box
        self.replica = replica
        self._webhook_secret = webhook_secret

    @property
    def ready(self) -> bool:
        """True once the first complete index is built (probes need no token)."""
        return self.index.ready and not self.metrics.draining

    def status(self, principal: Principal) -> IndexStatus:
        """The index status; needs ``read`` somewhere, and lists only the problems in the
        caller's read scope. Raises ``NotReady`` before the first index."""
        if not principal.anywhere("read"):
            authorize(principal, "read")
        snapshot = self.reads.snapshot()
        problems = sorted(
            (p for p in snapshot.problems.values() if _readable(principal, p.path)),
            key=lambda p: p.path,
        )
        found = secret_problems(snapshot, self.box.sops, self.box.rules(snapshot))
        secrets = [s for s in found if _readable(principal, s.path)]
        return IndexStatus(snapshot.commit, self.store.branch, len(snapshot), problems, secrets)

    def metrics_text(self, principal: Principal) -> bytes:
        """The Prometheus text exposition (``metrics.CONTENT_TYPE``); needs ``read`` on
        every application and environment (it names every file)."""
        authorize(principal, "read")
        return self.metrics.render()

    def webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookOutcome:
        """Verify a push webhook (``headers`` with lower-case names) and schedule a fetch.
        Raises NotFound when this server takes no webhooks, Unauthenticated for a missing or
        bad signature (nothing is triggered). A push to another branch is ignored."""
        if self.replica is None or not self._webhook_secret:
            raise NotFound("this server takes no webhooks (start it with --remote and a secret)")
        event = webhooks.verify(headers, body, self._webhook_secret)
        branch_ref = f"refs/heads/{self.store.branch}"
        if not event.is_push:
            return WebhookOutcome(event.provider, False, f"{event.event} event")
        if event.ref is not None and event.ref != branch_ref:
            return WebhookOutcome(event.provider, False, f"{event.ref} is not {branch_ref}")
        self.replica.trigger()
        return WebhookOutcome(event.provider, True, "fetch scheduled")

    def replica_status(self, principal: Principal) -> ReplicaStatus | None:
        """The remote's state as this replica sees it (needs ``read`` somewhere, as
        ``status``); None if no remote."""
        if not principal.anywhere("read"):
            authorize(principal, "read")
        return None if self.replica is None else self.replica.status()


def _readable(principal: Principal, path: str) -> bool:
    """Whether a problem file is in the caller's read scope (shared schemas: global readers)."""
    if principal.may("read"):
        return True
    key = parse_entry_path(path)
    return not isinstance(key, FieldError) and principal.may_key("read", key)
