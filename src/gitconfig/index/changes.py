"""The change hub: fans the index's change events out to stream subscribers, losslessly.

The index calls ``ChangeHub`` after every refresh that moved it, from the refreshing thread
(the ref watcher, or a request that wrote). The hub keeps the refreshes in chain order (two
refreshing threads may call it out of order), groups each refresh's events by commit, and
hands every subscriber the commits that match its ``Filter`` on the subscriber's own event
loop (one ``call_soon_threadsafe`` per loop and refresh). A refresh never waits for a
subscriber.

Each subscriber has a bounded queue (``queue_limit`` events). One that falls that far behind
is dropped at once (its queue freed) and its stream ends at the next commit boundary with
``SubscriberTooSlow``, naming the commit to resume after. ``close`` (shutdown) ends every
stream normally.

Resuming is lossless. A subscription is registered under the hub's lock at the commit ``start``
up to which events have been published: every later refresh reaches it live, and everything
after the resume commit up to ``start`` is replayed first — from the hub's in-memory log of
recent commits (exactly what live subscribers got) when it reaches back that far, else from
Git by ``Index.replay``, which runs the index's own builder over the chain, so replayed events
follow the same rules (fail-static files produce none) as live ones. No gap, no duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import Final

from gitconfig.core.errors import GitconfigError, NotReady
from gitconfig.index.refresher import Index, RefreshResult
from gitconfig.index.snapshot import ChangeEvent, Snapshot
from gitconfig.index.updates import (
    Batch,
    Filter,
    HistoryRewritten,
    SubscriberTooSlow,
    Update,
)
from gitconfig.readside import StreamUpdates

log = logging.getLogger(__name__)

QUEUE_LIMIT: Final = 4096  # events waiting per subscriber before it is dropped
LOG_LIMIT: Final = 20_000  # events of recent commits kept in memory for fast resumes
MAX_WAITING: Final = 100  # refreshes held back until the one before them is published


Commits = list[tuple[str, list[ChangeEvent]]]  # (commit sha, its events), in chain order


def by_commit(events: Iterable[ChangeEvent]) -> Commits:
    return [(sha, list(group)) for sha, group in itertools.groupby(events, lambda e: e.commit.sha)]


class Subscription:
    """One subscriber's stream: ``await prepare()`` (replays after the resume commit), then
    ``async for batch in subscription`` until shutdown; ``close()`` (or ``async with``)
    unsubscribes. Use it on the event loop it was created on.

    ``position`` is the commit after which a resume is lossless: the last batch consumed, or
    ``start`` once the replay is consumed, or the resume commit before that."""

    def __init__(
        self,
        hub: ChangeHub,
        filter: Filter,
        render: Callable[[ChangeEvent], Update],
        audience: Hashable,
        start: str | None,
        resume_after: str | None,
    ) -> None:
        self.hub = hub
        self.filter = filter
        self.audience = audience
        self.start = start
        self.resume_after = resume_after
        self.position = resume_after or start
        self.loop = asyncio.get_running_loop()
        self._render = render
        self._replay: deque[tuple[str, list[ChangeEvent]]] = deque()
        self._replay_ready = resume_after is None or resume_after == start
        self._replay_batches = 0
        self._queue: deque[tuple[str, list[ChangeEvent]]] = deque()
        self._queued = 0
        self._taken: str | None = None  # the commit of the batch last handed out
        self._wakeup = asyncio.Event()
        self._ended = False
        self._error: GitconfigError | None = None
        self._overflowed = False

    @property
    def replaying(self) -> bool:
        """True while batches of the replay remain (the live part has not begun)."""
        return self._replay_batches > 0 or not self._replay_ready

    def use_replay(self, commits: Commits) -> None:
        """Set the changes to replay (from the hub's log, or after ``prepare`` reads Git)."""
        for sha, events in commits:
            selected = [event for event in events if self.filter.matches(event.key)]
            self._replay.append((sha, selected))
            self._replay_batches += bool(selected)
        if self.start is not None:  # consumed, the position becomes ``start``
            self._replay.append((self.start, []))
        self._replay_ready = True

    async def prepare(self) -> None:
        """Replay from Git, when the hub's log does not reach back to the resume commit.
        Raises HistoryRewritten if that commit is not in the branch's first-parent history."""
        if self._replay_ready:
            return
        assert self.resume_after is not None
        assert self.start is not None
        commits = await asyncio.to_thread(self.hub.replay, self.resume_after, self.start)
        self.use_replay(commits)

    def end(self) -> None:
        """End the stream normally once what is queued has been consumed (shutdown)."""
        self._end(None)

    def close(self) -> None:
        self._ended = True
        self._queue.clear()
        self._wakeup.set()
        self.hub.remove(self)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.close()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Batch:
        if self._taken is not None:
            self.position = self._taken
        while True:
            if self._replay:
                sha, events = self._replay.popleft()
                self._taken = sha
                if not events:  # the end-of-replay marker, or a commit filtered out
                    self.position = sha
                    continue
                self._replay_batches -= 1
                return self._batch(sha, events)
            if self._overflowed:
                raise SubscriberTooSlow(self.position)
            if self._error is not None:
                raise self._error
            if self._queue:
                sha, events = self._queue.popleft()
                self._queued -= len(events)
                self._taken = sha
                return self._batch(sha, events)
            if self._ended:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    def _batch(self, sha: str, events: list[ChangeEvent]) -> Batch:
        rendered = self.hub.rendered
        self.hub.sent += len(events)
        return Batch(sha, tuple(rendered(event, self.audience, self._render) for event in events))

    # -- called by the hub, on this subscription's loop -----------------------------------

    def _deliver(self, commits: Commits) -> None:
        if self._ended:
            return
        for sha, events in commits:
            if self._queued and self._queued + len(events) > self.hub.queue_limit:
                log.warning("stream subscriber fell behind at %s: ending its stream", sha[:12])
                self._overflowed = True
                self.hub.dropped += self._queued + len(events)
                self.close()
                return
            self._queue.append((sha, events))
            self._queued += len(events)
        self._wakeup.set()

    def _end(self, error: GitconfigError | None) -> None:
        if self._ended:
            return
        self._error = error
        self._ended = True
        self._wakeup.set()


class ChangeHub:
    """Publishes the index's changes to subscriptions; see the module docstring."""

    def __init__(
        self, index: Index, *, queue_limit: int = QUEUE_LIMIT, log_limit: int = LOG_LIMIT
    ) -> None:
        self.index = index
        self.queue_limit = queue_limit
        self._lock = threading.Lock()
        self._subscriptions: set[Subscription] = set()
        self._started = index.ready
        self._head: str | None = index.current().commit if index.ready else None
        self._waiting: dict[str, RefreshResult] = {}  # out-of-order refreshes, by their old
        self._rendered = StreamUpdates[Update]()
        self._closed = False
        self.sent = 0  # events handed to subscribers (for metrics)
        self.dropped = 0  # events dropped with subscribers that fell behind
        self.recent = RecentCommits(self._head, log_limit)
        index.subscribe(self._on_refresh)

    @property
    def log_limit(self) -> int:
        return self.recent.limit

    @log_limit.setter
    def log_limit(self, limit: int) -> None:
        self.recent.limit = limit

    def __len__(self) -> int:
        return len(self._subscriptions)

    def subscribe(
        self,
        filter: Filter,
        render: Callable[[ChangeEvent], Update],
        resume_after: str | None = None,
        audience: Hashable = None,
    ) -> Subscription:
        """Register a subscriber at the current head (call on its event loop); then ``await
        subscription.prepare()``. ``resume_after`` must be a full commit sha. Subscribers of
        one ``audience`` share renderings: ``render`` must give them equal updates."""
        with self._lock:
            if self._closed:
                raise NotReady("the server is shutting down")
            if not self._started:
                raise NotReady("the index is not built yet; retry shortly")
            if resume_after is not None and self._head is None:
                raise HistoryRewritten(f"commit {resume_after} is not on the (empty) branch")
            subscription = Subscription(self, filter, render, audience, self._head, resume_after)
            self._subscriptions.add(subscription)
            if not subscription._replay_ready and resume_after is not None:
                logged = self.recent.after(resume_after)
                if logged is not None:
                    subscription.use_replay(logged)
        return subscription

    def rendered(
        self, event: ChangeEvent, audience: Hashable, render: Callable[[ChangeEvent], Update]
    ) -> Update:
        """``render(event)``, computed once per change and audience (``StreamUpdates``)."""
        return self._rendered.rendered(
            (event.commit.sha, event.key.path, audience), lambda: render(event)
        )

    def remove(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)

    def close(self) -> None:
        """Shutting down: end every stream normally and refuse new ones."""
        with self._lock:
            self._closed = True
            subscriptions = list(self._subscriptions)
            self._subscriptions.clear()
        for subscription in subscriptions:
            _call_soon(subscription.loop, subscription._end, None)

    def replay(self, after: str, upto: str) -> Commits:
        """The changes after ``after`` up to ``upto``, read from Git (blocking)."""
        events = self.index.replay(after, upto)
        if events is None:
            raise HistoryRewritten(
                f"commit {after} is not in the first-parent history of branch "
                f"{self.index.store.branch}; read the configuration again and subscribe "
                "without a resume commit"
            )
        return by_commit(events)

    # -- publishing (on the refreshing thread) --------------------------------------------

    def _on_refresh(self, _snapshot: Snapshot, result: RefreshResult) -> None:
        with self._lock:
            if not self._started:  # the first index: nobody can be subscribed yet
                self._started = True
                self.recent.append(by_commit(result.events), result.new)
                self._head = result.new
                return
            if result.old is None:  # rebuilt from scratch: the branch was rewritten
                self._rewritten(result)
                return
            if result.old != self._head:  # another thread's earlier refresh comes first
                self._waiting[result.old] = result
                if len(self._waiting) > MAX_WAITING:  # never expected: do not hoard them
                    log.error("refreshes do not chain up (at %s): resetting streams", self._head)
                    self._rewritten(result)
                return
            self._publish(result)
            while self._head is not None and self._head in self._waiting:
                self._publish(self._waiting.pop(self._head))

    def _publish(self, result: RefreshResult) -> None:
        self._head = result.new
        commits = by_commit(result.events)
        self.recent.append(commits, result.new)
        if not commits:
            return
        deliveries: dict[asyncio.AbstractEventLoop, list[tuple[Subscription, Commits]]] = {}
        for subscription in self._subscriptions:
            matched = [
                (sha, selected)
                for sha, events in commits
                if (selected := [e for e in events if subscription.filter.matches(e.key)])
            ]
            if matched:
                deliveries.setdefault(subscription.loop, []).append((subscription, matched))
        for loop, batch in deliveries.items():
            _call_soon(loop, _deliver_all, batch)

    def _rewritten(self, result: RefreshResult) -> None:
        log.warning("branch rewritten: ending %d change streams", len(self._subscriptions))
        error = HistoryRewritten(
            f"branch {self.index.store.branch} was rewritten (now at {result.new}); read the "
            "configuration again and subscribe without a resume commit"
        )
        for subscription in self._subscriptions:
            _call_soon(subscription.loop, subscription._end, error)
        self._subscriptions.clear()
        self._waiting.clear()
        self.recent = RecentCommits(None, self.recent.limit)
        self.recent.append(by_commit(result.events), result.new)
        self._head = result.new


class RecentCommits:
    """The last commits published, each with its events (maybe none), in chain order: a
    resume after ``base`` or after one of them is answered from memory. Holds at most
    ``limit`` events (and commits); the oldest commits go first."""

    def __init__(self, base: str | None, limit: int) -> None:
        self.base = base
        self.limit = limit
        self._commits: deque[tuple[int, str, list[ChangeEvent]]] = deque()
        self._seq: dict[str, int] = {}
        self._events = 0
        self._next = 0

    def append(self, commits: Commits, head: str | None) -> None:
        """Add a refresh's commits; ``head`` (its new commit) is kept even without events."""
        if head is not None and (not commits or commits[-1][0] != head):
            commits = [*commits, (head, [])]
        for sha, events in commits:
            self._commits.append((self._next, sha, events))
            self._seq[sha] = self._next
            self._next += 1
            self._events += len(events)
        while self._commits and (self._events > self.limit or len(self._commits) > self.limit):
            _, sha, events = self._commits.popleft()
            del self._seq[sha]
            self.base = sha
            self._events -= len(events)

    def after(self, sha: str) -> Commits | None:
        """The commits after ``sha``, or None if it is not ``base`` or a commit held."""
        if sha == self.base:
            skip = 0
        elif sha in self._seq:
            skip = self._seq[sha] - self._commits[0][0] + 1
        else:
            return None
        return [(c, events) for _, c, events in itertools.islice(self._commits, skip, None)]


def _deliver_all(batch: list[tuple[Subscription, Commits]]) -> None:
    for subscription, commits in batch:
        subscription._deliver(commits)


def _call_soon(
    loop: asyncio.AbstractEventLoop, callback: Callable[..., object], *args: object
) -> None:
    with contextlib.suppress(RuntimeError):  # a closed loop: its subscribers are gone
        loop.call_soon_threadsafe(callback, *args)
