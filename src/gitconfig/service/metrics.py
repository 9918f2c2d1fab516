"""The service's metrics (``GET /metrics``), kept with ``prometheus-client``.

One ``Metrics`` per service. Transports record what they see (``http``, ``grpc``); the write
path records outcomes; the index's state (readiness, entries, files served fail-static, the
served commit and its time, seconds since the last refresh) is read at scrape time.

Several worker processes (``gitconfig serve --workers N``) share one view through
prometheus-client's multiprocess mode: the server sets ``PROMETHEUS_MULTIPROC_DIR`` before it
forks, every worker writes its counters and histograms to memory-mapped files there, and a
scrape of any worker sums them (``multiprocess_mode="livesum"`` for the subscriber gauge).
The index state is that of the worker that answers: every worker follows the same branch.
Process metrics (``process_*``) are then the answering worker's.

Labels are bounded: a route template (never the path), an HTTP method, a status, a gRPC
method and code, an outcome. Never a token, a key or a user. The one exception kept from
before is ``gitconfig_invalid_file{path, commit}``: one series per file that does not
validate, which are few and which an operator must see by name.
"""

from __future__ import annotations

import bisect
import os
import platform
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    values,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from gitconfig import __version__
from gitconfig.core.model import Kind

if TYPE_CHECKING:
    from gitconfig.index.changes import ChangeHub
    from gitconfig.index.refresher import Index, RefreshResult
    from gitconfig.index.snapshot import Snapshot
    from gitconfig.store.ports import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
disable_created_metrics()  # no ``*_created`` series: they double the output for nothing

# Reads answer in ~100 µs; writes and refreshes take milliseconds to seconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
REFRESH_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
WRITE_OUTCOMES = ("committed", "conflict", "precondition_failed", "invalid")


def multiprocess() -> bool:
    """True when metrics are shared between worker processes (see the module docstring)."""
    return bool(os.environ.get(MULTIPROCESS_ENV))


class _IndexState(Collector):
    """The index as it is now, read at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        metrics = self.metrics
        index = metrics.index
        ready = GaugeMetricFamily(
            "gitconfig_ready", "1 once the first complete index is built and not draining"
        )
        ready.add_metric([], int(index.ready and not metrics.draining))
        yield ready
        if index.ready:
            yield from _snapshot_state(index.current(), metrics.store.branch, metrics)
        refreshes = CounterMetricFamily(
            "gitconfig_index_refreshes", "Refreshes that moved the index, in this process"
        )
        refreshes.add_metric([], index.refreshes)
        yield refreshes
        if metrics.checked_at is not None:
            age = GaugeMetricFamily(
                "gitconfig_index_last_refresh_age_seconds",
                "Seconds since the index last checked the branch successfully",
            )
            age.add_metric([], time.time() - metrics.checked_at)
            yield age


def _snapshot_state(snapshot: Snapshot, branch: str, metrics: Metrics) -> Iterator[Metric]:
    info = GaugeMetricFamily(
        "gitconfig_index_info", "The indexed commit of the branch", labels=["branch", "commit"]
    )
    info.add_metric([branch, snapshot.commit or ""], 1)
    yield info
    entries = GaugeMetricFamily(
        "gitconfig_index_entries", "Entries served, by kind", labels=["kind"]
    )
    for kind in Kind:
        count = sum(len(g) for (k, _a, _e), g in snapshot.groups.items() if k is kind)
        entries.add_metric([kind.value], count)
    yield entries
    problems = GaugeMetricFamily("gitconfig_index_problems", "Files at HEAD that do not validate")
    problems.add_metric([], len(snapshot.problems))
    yield problems
    invalid = GaugeMetricFamily(
        "gitconfig_invalid_file",
        "1 per file at HEAD that does not validate (served fail-static)",
        labels=["path", "commit"],
    )
    for problem in sorted(snapshot.problems.values(), key=lambda p: p.path):
        invalid.add_metric([problem.path, problem.commit], 1)
    yield invalid
    if metrics.commit_time is not None:
        stamp = GaugeMetricFamily(
            "gitconfig_index_commit_timestamp_seconds",
            "Author time of the served commit (Unix seconds)",
        )
        stamp.add_metric([], metrics.commit_time)
        yield stamp


class Tally:
    """Observations of one labelled histogram series kept as plain numbers and added to the
    histogram by ``flush``: the read fast path's recorder (about 0.2 µs an observation, where
    ``Histogram.observe`` takes a lock per value it updates). Not thread-safe: observe and
    flush from one thread (the event loop). ``flush`` uses prometheus-client's histogram
    internals (``_buckets``, ``_sum``, ``_upper_bounds``); ``tests/service/test_metrics.py`` checks
    that a flushed tally renders exactly like the same observations made one by one."""

    __slots__ = ("_bounds", "_child", "_counts", "_sum")

    def __init__(self, child: Any) -> None:
        self._child = child
        self._bounds = tuple(child._upper_bounds)
        self._counts = [0] * len(self._bounds)
        self._sum = 0.0

    def observe(self, seconds: float) -> None:
        self._counts[bisect.bisect_left(self._bounds, seconds)] += 1
        self._sum += seconds

    def flush(self) -> None:
        if not any(self._counts):
            return
        counts, self._counts = self._counts, [0] * len(self._bounds)
        total, self._sum = self._sum, 0.0
        self._child._sum.inc(total)
        for bucket, count in zip(self._child._buckets, counts, strict=True):
            if count:
                bucket.inc(count)


class Metrics:
    """The metrics of one service: see the module docstring."""

    def __init__(self, index: Index, store: Store, changes: ChangeHub) -> None:
        self.index = index
        self.store = store
        self.changes = changes
        self.draining = False  # set by the server on SIGTERM
        self.checked_at: float | None = None  # wall-clock time of the last good refresh
        self.commit_time: float | None = None
        self._lock = threading.Lock()
        self._seen_sent = self._seen_dropped = 0
        if multiprocess():
            # Made before the variable was set (at import), the value class must be renewed.
            values.ValueClass = values.get_value_class()
        self.registry = CollectorRegistry(auto_describe=True)
        registry = None if multiprocess() else self.registry
        # One histogram, not a counter besides: its _count is the request count, and the
        # hot path pays one observation (see docs/performance.md, "Per-request metrics").
        self.http_requests = Histogram(
            "gitconfig_http_request_duration_seconds",
            "HTTP requests and their latency (to the end of the response body), by route "
            "template, method and status; _count counts the requests",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.grpc_calls = Counter(
            "gitconfig_grpc_calls",
            "gRPC calls handled, by method and status code",
            ["method", "code"],
            registry=registry,
        )
        self.grpc_latency = Histogram(
            "gitconfig_grpc_call_duration_seconds",
            "gRPC call latency (streams: their whole life), by method",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.subscribers = Gauge(
            "gitconfig_stream_subscribers",
            "Open change-stream subscriptions (gRPC and SSE)",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.events_sent = Counter(
            "gitconfig_stream_events_sent", "Change events handed to subscribers", registry=registry
        )
        self.events_dropped = Counter(
            "gitconfig_stream_events_dropped",
            "Change events dropped with a subscriber that fell behind (it must resume)",
            registry=registry,
        )
        self.refresh_seconds = Histogram(
            "gitconfig_index_refresh_duration_seconds",
            "Duration of index refreshes that moved the index",
            buckets=REFRESH_BUCKETS,
            registry=registry,
        )
        self.refresh_failures = Counter(
            "gitconfig_index_refresh_failures", "Index refreshes that raised", registry=registry
        )
        self.writes = Counter(
            "gitconfig_writes",
            "Write outcomes: committed, conflict, precondition_failed, invalid",
            ["outcome"],
            registry=registry,
        )
        for outcome in WRITE_OUTCOMES:
            self.writes.labels(outcome)
        self.build_info = Gauge(
            "gitconfig_build_info",
            "1, labelled with the version of gitconfig and of Python",
            ["version", "python"],
            registry=registry,
            multiprocess_mode="max",
        )
        self.build_info.labels(__version__, platform.python_version()).set(1)
        self._state = _IndexState(self)
        if registry is not None:
            self.registry.register(self._state)
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
        index.subscribe(self._on_refresh)
        self._http_children: dict[tuple[str, str, int], Callable[[float], None]] = {}
        self._tallies: list[Tally] = []
        self._collectors: list[Collector] = []  # state read at scrape time (``add``)

    def add(self, collector: Collector) -> None:
        """Expose ``collector``'s series too (state read at scrape time, e.g. the secrets
        this server cannot decrypt, a replica's fetches): the answering worker's own."""
        self._collectors.append(collector)
        if not multiprocess():
            self.registry.register(collector)

    # -- recording ------------------------------------------------------------------------

    def http_recorder(self, route: str, method: str, status: int) -> Callable[[float], None]:
        """A function recording one request of that route, method and status, given its
        seconds. Cached: the hot path pays a dictionary lookup and one observation."""
        key = (route, method, status)
        recorder = self._http_children.get(key)
        if recorder is None:
            recorder = self.http_requests.labels(route, method, str(status)).observe
            self._http_children[key] = recorder
        return recorder

    def http_tally(self, route: str, method: str, status: int) -> Tally:
        """A ``Tally`` of that route, method and status, flushed by ``flush_tallies`` (at
        each scrape, and by its owner at least every second)."""
        tally = Tally(self.http_requests.labels(route, method, str(status)))
        self._tallies.append(tally)
        return tally

    def flush_tallies(self) -> None:
        """Add the tallies' observations to their histograms (on the event loop's thread)."""
        for tally in self._tallies:
            tally.flush()

    def write_outcome(self, outcome: str) -> None:
        self.writes.labels(outcome).inc()

    def checked(self, refresh: Callable[[], object]) -> Callable[[], None]:
        """``refresh`` counted: failures, and the time of the last good one. The runtime
        wraps the watcher's refresh with it; it also brings stream figures up to date."""

        def check() -> None:
            try:
                refresh()
            except Exception:
                self.refresh_failures.inc()
                raise
            else:
                self.checked_at = time.time()
            finally:
                self.sync()

        return check

    def sync(self) -> None:
        """Copy the change hub's counts into the metrics (each tick of the watcher, and at
        each scrape), so that every worker's files stay current."""
        with self._lock:
            self.subscribers.set(len(self.changes))
            sent, dropped = self.changes.sent, self.changes.dropped
            if sent > self._seen_sent:
                self.events_sent.inc(sent - self._seen_sent)
            if dropped > self._seen_dropped:
                self.events_dropped.inc(dropped - self._seen_dropped)
            self._seen_sent, self._seen_dropped = sent, dropped

    def _on_refresh(self, _snapshot: Snapshot, result: RefreshResult) -> None:
        self.refresh_seconds.observe(result.seconds)
        self.checked_at = time.time()
        self.commit_time = self.store.commit(result.new).time.timestamp() if result.new else None

    # -- exposition -----------------------------------------------------------------------

    def render(self) -> bytes:
        """The Prometheus text exposition (``CONTENT_TYPE``) of every process's metrics. Call
        it on the event loop's thread (it flushes the tallies)."""
        self.flush_tallies()
        self.sync()
        if not multiprocess():
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        registry.register(self._state)
        for collector in self._collectors:
            registry.register(collector)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        return generate_latest(registry)
