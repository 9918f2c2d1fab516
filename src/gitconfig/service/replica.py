"""A replica's fetch loop: keeps the local mirror and the index on the remote's head.

``Replicator`` fetches on a timer (``interval`` seconds, ±20 % jitter so that replicas do
not fetch in step) and whenever ``trigger()`` is called (a verified webhook). Triggers are
coalesced: at most one fetch runs and at most one more is queued, however many webhooks
arrive meanwhile. After every fetch the index is refreshed, so readers and stream
subscribers see the new commits at once.

When the remote cannot be reached the replica keeps serving what it last fetched
(fail-static) and records the failure: ``status()`` and its metrics (``collect``) say which remote,
which commit is served, the remote's last known head, when the last fetch succeeded and the
last error (without credentials).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gitconfig.core.errors import GitconfigError
from gitconfig.core.text import scrub
from gitconfig.index.refresher import Index

log = logging.getLogger(__name__)

JITTER = 0.2  # the poll interval varies by up to ±20 %


class Mirror(Protocol):
    """What the replicator needs of ``store.remote.RemoteStore``."""

    branch: str
    read_only: bool
    pushes: Counter[str]
    last_push_error: str | None

    @property
    def display_url(self) -> str: ...

    def fetch(self) -> object: ...

    def head(self) -> str | None: ...

    def remote_head(self) -> str | None: ...

    def is_ancestor(self, ancestor: str, descendant: str) -> bool: ...

    def first_parent_chain(self, new: str, stop: str | None) -> Sequence[object]: ...


@dataclass(frozen=True)
class ReplicaStatus:
    """``/status``'s ``remote`` section. Times are Unix seconds (None: never)."""

    remote: str
    branch: str
    read_only: bool
    served_commit: str | None
    remote_head: str | None
    commits_behind: int | None  # None: the served commit is not on the remote's history
    last_fetch_at: float | None
    last_fetch_ok: bool | None  # None: no fetch yet
    last_error: str | None
    poll_interval: float


class Replicator(Collector):
    def __init__(
        self,
        mirror: Mirror,
        index: Index,
        interval: float = 30.0,
        *,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.mirror = mirror
        self.index = index
        self.interval = interval
        self.fetches: Counter[str] = Counter()  # by outcome: ok, error
        self.last_fetch_seconds: float | None = None
        self.last_success: float | None = None  # time.time()
        self.last_attempt_ok: bool | None = None
        self.last_error: str | None = None
        self._rng = rng
        self._fetch_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the loop -------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="replica-fetch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def fetching(self) -> bool:
        """Whether a fetch is running now."""
        return self._fetch_lock.locked()

    def trigger(self) -> None:
        """Ask for a fetch soon (coalesced with any already queued)."""
        self._wake.set()

    def next_delay(self) -> float:
        """Seconds until the next timed fetch: the interval ±20 %."""
        return self.interval * (1 + JITTER * (2 * self._rng() - 1))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.next_delay())
            if self._stop.is_set():
                return
            self._wake.clear()  # triggers from now on queue one more fetch
            self.fetch_now()

    # -- one fetch ------------------------------------------------------------------------

    def fetch_now(self, *, raise_errors: bool = False) -> bool:
        """Fetch, then refresh the index; True on success. Failures are recorded (and raised
        with ``raise_errors``); the index keeps serving what it has."""
        with self._fetch_lock:
            started = time.perf_counter()
            try:
                self.mirror.fetch()
                self.index.refresh()
            except Exception as exc:
                self.fetches["error"] += 1
                self.last_attempt_ok = False
                message = exc.message if isinstance(exc, GitconfigError) else repr(exc)
                self.last_error = scrub(message)
                log.warning("fetch failed, serving the last fetched state: %s", self.last_error)
                if raise_errors:
                    raise
                return False
            finally:
                self.last_fetch_seconds = time.perf_counter() - started
            self.fetches["ok"] += 1
            self.last_attempt_ok = True
            self.last_success = time.time()
            return True

    # -- what operators see ---------------------------------------------------------------

    def commits_behind(self, served: str | None) -> int | None:
        remote = self.mirror.remote_head()
        if remote is None or served == remote:
            return 0
        if served is None:
            return len(self.mirror.first_parent_chain(remote, None))
        if not self.mirror.is_ancestor(served, remote):
            return None
        return len(self.mirror.first_parent_chain(remote, served))

    def status(self) -> ReplicaStatus:
        served = self.index.current().commit if self.index.ready else None
        error = self.last_error if not self.last_attempt_ok else None
        return ReplicaStatus(
            remote=self.mirror.display_url,
            branch=self.mirror.branch,
            read_only=self.mirror.read_only,
            served_commit=served,
            remote_head=self.mirror.remote_head(),
            commits_behind=self.commits_behind(served),
            last_fetch_at=self.last_success,
            last_fetch_ok=self.last_attempt_ok,
            last_error=error or self.mirror.last_push_error,
            poll_interval=self.interval,
        )

    def collect(self) -> Iterator[Metric]:
        """The replica's series (a prometheus-client collector): fetches and pushes by
        outcome, the last fetch's duration, seconds since the last good fetch, commits
        behind the remote."""
        fetches = CounterMetricFamily(
            "gitconfig_remote_fetches", "Fetches from the remote, by outcome", labels=["outcome"]
        )
        for outcome in ("ok", "error"):
            fetches.add_metric([outcome], self.fetches[outcome])
        yield fetches
        pushes = CounterMetricFamily(
            "gitconfig_remote_pushes", "Pushes to the remote, by outcome", labels=["outcome"]
        )
        for outcome in ("accepted", "stale", "refused", "error", "abandoned"):
            pushes.add_metric([outcome], self.mirror.pushes[outcome])
        yield pushes
        if self.last_fetch_seconds is not None:
            yield GaugeMetricFamily(
                "gitconfig_remote_fetch_seconds",
                "Duration of the last fetch",
                value=self.last_fetch_seconds,
            )
        if self.last_success is not None:
            yield GaugeMetricFamily(
                "gitconfig_remote_last_fetch_age_seconds",
                "Seconds since the last successful fetch",
                value=time.time() - self.last_success,
            )
        served = self.index.current().commit if self.index.ready else None
        behind = self.commits_behind(served)
        if behind is not None:
            yield GaugeMetricFamily(
                "gitconfig_remote_commits_behind",
                "Commits on the remote's branch not served yet",
                value=behind,
            )
