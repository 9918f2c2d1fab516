"""Readiness, the index status and metrics, with the permission each needs."""

from __future__ import annotations

from dataclasses import dataclass

from gitconfig.core.model import Problem
from gitconfig.service.access import Principal, authorize
from gitconfig.service.base import ServiceBase


@dataclass(frozen=True)
class IndexStatus:
    """What ``GET /status`` shows: the served commit, the branch, the number of entries and
    the files at HEAD that do not validate (served fail-static), sorted by path."""

    commit: str | None
    branch: str
    entries: int
    problems: list[Problem]


class StatusUseCases(ServiceBase):
    @property
    def ready(self) -> bool:
        """True once the first complete index is built (probes need no token)."""
        return self.index.ready and not self.metrics.draining

    def status(self, principal: Principal) -> IndexStatus:
        """The index status; needs ``read`` (it names files and commits). Raises
        ``NotReady`` before the first index."""
        authorize(principal, "read")
        snapshot = self.snapshot()
        problems = sorted(snapshot.problems.values(), key=lambda p: p.path)
        return IndexStatus(snapshot.commit, self.store.branch, len(snapshot), problems)

    def metrics_text(self, principal: Principal) -> bytes:
        """The Prometheus text exposition (``metrics.CONTENT_TYPE``); needs ``read``."""
        authorize(principal, "read")
        return self.metrics.render()
