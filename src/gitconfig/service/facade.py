"""``Service``: every use-case, the one API that REST, gRPC and the CLI call.

Transports parse their input, call one method here, and render the result. The use-cases
are grouped by resource, one module each; see ``base`` for the write path and its
concurrency rules.
"""

from __future__ import annotations

from gitconfig.service.audit import AuditEvent, AuditPage, AuditUseCases
from gitconfig.service.base import MAX_PAGE_SIZE, Page, VersionView, find_version
from gitconfig.service.bulk import BulkUseCases
from gitconfig.service.commands import CommandUseCases
from gitconfig.service.compare import CompareUseCases
from gitconfig.service.configs import ConfigChanges, ConfigUseCases, NewConfig
from gitconfig.service.flags import Evaluations, FlagChanges, FlagUseCases, NewFlag
from gitconfig.service.multienv import MultiEnvUseCases
from gitconfig.service.ofrep import OfrepUseCases
from gitconfig.service.promote import PromoteUseCases
from gitconfig.service.provenance import ProvenanceUseCases
from gitconfig.service.replication import ReplicationUseCases
from gitconfig.service.secrets import SecretUseCases
from gitconfig.service.serving import ServingUseCases
from gitconfig.service.spring import SpringUseCases
from gitconfig.service.status import IndexStatus, StatusUseCases
from gitconfig.service.streams import StreamUseCases
from gitconfig.service.transfer import TransferUseCases

__all__ = [
    "MAX_PAGE_SIZE",
    "AuditEvent",
    "AuditPage",
    "ConfigChanges",
    "Evaluations",
    "FlagChanges",
    "IndexStatus",
    "NewConfig",
    "NewFlag",
    "Page",
    "Service",
    "VersionView",
    "find_version",
]


class Service(
    CommandUseCases,
    ConfigUseCases,
    FlagUseCases,
    TransferUseCases,
    StreamUseCases,
    StatusUseCases,
    CompareUseCases,
    PromoteUseCases,
    ProvenanceUseCases,
    MultiEnvUseCases,
    BulkUseCases,
    AuditUseCases,
    SecretUseCases,
    OfrepUseCases,
    SpringUseCases,
    ReplicationUseCases,
    ServingUseCases,
):
    """The use-cases over one store and its index (see the modules of each group)."""
