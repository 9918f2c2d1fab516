"""The replica use-cases: a Git host's push webhook, and the replica's status.

A server started with ``--remote`` has a ``Replicator`` attached (``attach_replica``); a
server on a local repository has none, and then ``webhook`` answers NotFound and
``replica_status`` None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gitconfig.access.principals import Principal, authorize
from gitconfig.core import webhooks
from gitconfig.core.errors import NotFound
from gitconfig.service.base import ServiceBase
from gitconfig.service.replica import ReplicaStatus, Replicator


@dataclass(frozen=True)
class WebhookOutcome:
    """``fetch``: a fetch was scheduled; otherwise why the webhook was acknowledged and
    ignored (``reason``)."""

    provider: str
    fetch: bool
    reason: str


class ReplicationUseCases(ServiceBase):
    replica: Replicator | None = None
    _webhook_secret: bytes | None = None

    def attach_replica(self, replica: Replicator, webhook_secret: bytes | None) -> None:
        """Make this service a replica: ``replica`` keeps its store on the remote's head."""
        self.replica = replica
        self.metrics.add(replica)
        self._webhook_secret = webhook_secret

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
