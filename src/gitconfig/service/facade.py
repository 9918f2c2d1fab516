"""``Service``: every use-case, the one API that REST, gRPC and the CLI call.

Transports parse their input, call one method here, and render the result. The use-cases
are grouped by resource, one module each; see ``base`` for the write path and its
concurrency rules.
"""

from __future__ import annotations

from gitconfig.service.base import MAX_PAGE_SIZE, Page, VersionView, find_version
from gitconfig.service.configs import ConfigChanges, ConfigUseCases, NewConfig
from gitconfig.service.flags import Evaluations, FlagChanges, FlagUseCases, NewFlag
from gitconfig.service.replication import ReplicationUseCases
from gitconfig.service.status import IndexStatus, StatusUseCases
from gitconfig.service.streams import StreamUseCases
from gitconfig.service.transfer import TransferUseCases

__all__ = [
    "MAX_PAGE_SIZE",
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
    ConfigUseCases,
    FlagUseCases,
    TransferUseCases,
    StreamUseCases,
    StatusUseCases,
    ReplicationUseCases,
):
    """The use-cases over one store and its index (see the modules of each group)."""
