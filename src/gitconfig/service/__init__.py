"""The service: every use-case, the one API that REST, gRPC, the CLI and the runtime call.

This package's public face is what this module exports: ``Service`` (the use-case groups,
``service.configs.create(...)``), ``build_service`` (the one function that composes them),
and the values their methods take and return (including the index's ``Entry``,
``Snapshot`` and stream values, so that a door needs no module below the service).
Transports import from here, not from the modules behind it (import-linter contracts); see
``facade`` for the composition and ``docs/architecture.md`` for what each group uses.
"""

from __future__ import annotations

from gitconfig.index.changes import Subscription
from gitconfig.index.snapshot import Entry, Snapshot
from gitconfig.index.updates import Batch, HistoryRewritten, SubscriberTooSlow, Update
from gitconfig.service.audit import AuditEvent, AuditPage
from gitconfig.service.base import (
    MAX_PAGE_SIZE,
    UNCHANGED,
    ConfigChanges,
    NewConfig,
    Page,
    VersionView,
    find_version,
)
from gitconfig.service.environments import (
    Comparison,
    MultiSet,
    PromoteResult,
    Promotion,
    Provenance,
    Side,
    commit_fields,
)
from gitconfig.service.facade import Service, build_service
from gitconfig.service.flags import Evaluations, FlagChanges, NewFlag, flag_action
from gitconfig.service.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from gitconfig.service.metrics import Metrics
from gitconfig.service.ofrep import OfrepBulk
from gitconfig.service.operations import IndexStatus, WebhookOutcome
from gitconfig.service.replica import ReplicaStatus, Replicator
from gitconfig.service.secrets import Rotation
from gitconfig.service.sopsfiles import SecretInfo, SecretProblem
from gitconfig.service.spring import PropertySource, SpringEnvironment

__all__ = [
    "MAX_PAGE_SIZE",
    "METRICS_CONTENT_TYPE",
    "UNCHANGED",
    "AuditEvent",
    "AuditPage",
    "Batch",
    "Comparison",
    "ConfigChanges",
    "Entry",
    "Evaluations",
    "FlagChanges",
    "HistoryRewritten",
    "IndexStatus",
    "Metrics",
    "MultiSet",
    "NewConfig",
    "NewFlag",
    "OfrepBulk",
    "Page",
    "PromoteResult",
    "Promotion",
    "PropertySource",
    "Provenance",
    "ReplicaStatus",
    "Replicator",
    "Rotation",
    "SecretInfo",
    "SecretProblem",
    "Service",
    "Side",
    "Snapshot",
    "SpringEnvironment",
    "SubscriberTooSlow",
    "Subscription",
    "Update",
    "VersionView",
    "WebhookOutcome",
    "build_service",
    "commit_fields",
    "find_version",
    "flag_action",
]
