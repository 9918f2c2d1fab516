"""Readiness, the index status and metrics, with the permission each needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from gitconfig.access.principals import Principal, authorize
from gitconfig.core.errors import FieldError
from gitconfig.core.model import Problem
from gitconfig.core.paths import parse_entry_path
from gitconfig.service.base import ServiceBase
from gitconfig.service.secrets import SecretProblem, secret_problems


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


class StatusUseCases(ServiceBase):
    @property
    def ready(self) -> bool:
        """True once the first complete index is built (probes need no token)."""
        return self.index.ready and not self.metrics.draining

    def status(self, principal: Principal) -> IndexStatus:
        """The index status; needs ``read`` somewhere, and lists only the problems in the
        caller's read scope. Raises ``NotReady`` before the first index."""
        if not principal.anywhere("read"):
            authorize(principal, "read")
        snapshot = self.snapshot()
        problems = sorted(
            (p for p in snapshot.problems.values() if _readable(principal, p.path)),
            key=lambda p: p.path,
        )
        secrets = [
            s for s in secret_problems(snapshot, self.secrets) if _readable(principal, s.path)
        ]
        return IndexStatus(snapshot.commit, self.store.branch, len(snapshot), problems, secrets)

    def metrics_text(self, principal: Principal) -> bytes:
        """The Prometheus text exposition (``metrics.CONTENT_TYPE``); needs ``read`` on
        every application and environment (it names every file)."""
        authorize(principal, "read")
        return self.metrics.render()


def _readable(principal: Principal, path: str) -> bool:
    """Whether a problem file is in the caller's read scope (shared schemas: global readers)."""
    if principal.may("read"):
        return True
    key = parse_entry_path(path)
    return not isinstance(key, FieldError) and principal.may_key("read", key)
