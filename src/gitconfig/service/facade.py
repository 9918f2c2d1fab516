"""``Service``: the use-case groups, composed once by ``build_service``.

Each group is a plain class whose constructor names what it uses; they share only ``Reads``
(the read side), ``Writer`` (the write path) and ``SecretBox`` (SECRET values). Transports
parse their input, call one group's method (``service.configs.create(...)``) and render
the result. ``build_service`` is the one place that wires them.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitconfig.index.audit import AuditIndex
from gitconfig.index.changes import ChangeHub
from gitconfig.index.refresher import Index
from gitconfig.service.audit import Audit
from gitconfig.service.configs import Configs
from gitconfig.service.environments import Environments
from gitconfig.service.flags import Flags
from gitconfig.service.metrics import Metrics
from gitconfig.service.ofrep import Ofrep
from gitconfig.service.operations import Operations
from gitconfig.service.reads import Reads
from gitconfig.service.replica import Replicator
from gitconfig.service.secretbox import SecretBox
from gitconfig.service.secrets import Secrets
from gitconfig.service.sopsfiles import SecretMetrics
from gitconfig.service.spring import Spring
from gitconfig.service.streams import Streams
from gitconfig.service.transfer import Transfer
from gitconfig.service.writer import Writer
from gitconfig.store.ports import Store
from gitconfig.store.secrets import Sops


@dataclass(frozen=True)
class Service:
    """The use-case groups over one store and its index, and the plumbing the transports
    and the composition root hold: ``store`` (the Git repository), ``index`` (the served
    snapshot, for the read fast path), ``changes`` (the change hub, ended on shutdown) and
    ``metrics``."""

    reads: Reads
    writer: Writer
    box: SecretBox
    configs: Configs
    flags: Flags
    transfer: Transfer
    environments: Environments
    streams: Streams
    audit: Audit
    secrets: Secrets
    ofrep: Ofrep
    spring: Spring
    operations: Operations
    store: Store
    index: Index
    changes: ChangeHub
    metrics: Metrics


def build_service(
    store: Store,
    index: Index,
    sops: Sops | None = None,
    replica: Replicator | None = None,
    webhook_secret: bytes | None = None,
) -> Service:
    """The service over ``store`` and its ``index``: SECRETs through ``sops`` (default: a
    ``Sops`` with this process's environment); a replica's ``Replicator`` and webhook secret
    when the store mirrors a remote."""
    sops = sops if sops is not None else Sops()
    changes = ChangeHub(index)
    metrics = Metrics(index, store, changes)
    if replica is not None:
        metrics.add(replica)
    audit_index = AuditIndex(store)
    audit_index.attach(index)
    reads = Reads(index, store)
    writer = Writer(store, index, reads, metrics)
    box = SecretBox(reads, store, sops)
    metrics.add(SecretMetrics(index, sops, box.rules))
    return Service(
        reads=reads,
        writer=writer,
        box=box,
        configs=Configs(reads, writer, box),
        flags=Flags(reads, writer),
        transfer=Transfer(reads, writer, box),
        environments=Environments(reads, writer, box, store, index),
        streams=Streams(reads, box, changes, store, replica),
        audit=Audit(reads, audit_index),
        secrets=Secrets(reads, writer, box),
        ofrep=Ofrep(reads),
        spring=Spring(reads, box, store, index),
        operations=Operations(reads, index, store, metrics, box, replica, webhook_secret),
        store=store,
        index=index,
        changes=changes,
        metrics=metrics,
    )
