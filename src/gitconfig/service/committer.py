"""Group commit: concurrent writes share one durability barrier and one ref update.

Every write is still its own commit, with its own author and message. The calling threads
queue; whichever takes the lock writes the queued changes (on distinct files, oldest first)
as consecutive commits with one ``Store.write_chain`` — one pair of flushes, one
compare-and-swap of the branch — refreshes the index once, and hands each caller its own
outcome. A refused write (its ``prepare`` raised) does not affect the others. If another
writer moved the branch first, the batch is prepared again on the new head.

One bad write never harms another: the service validates everything that can fail (texts,
messages, limits) before a write is queued; if writing a batch still fails, each of its
writes is tried alone, so only the write that fails gets the error. A commit that landed is
acknowledged even if the index refresh after it fails (the refresh is retried, and the ref
watcher's poll retries it again later). Every queued caller is woken, whatever is raised.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from gitconfig.core.errors import Conflict, NotReady, StaleParent
from gitconfig.core.model import Author, EntryKey, PendingCommit
from gitconfig.index.refresher import Index
from gitconfig.index.snapshot import Snapshot
from gitconfig.store.ports import Store

log = logging.getLogger(__name__)

Prepare = Callable[[Snapshot], Mapping[str, bytes | None]]
REFRESH_ATTEMPTS = 3  # index refreshes tried after a commit
WRITE_ATTEMPTS = 5  # batches prepared again when the branch moved meanwhile
BATCH_LIMIT = 64  # writes per group commit


class GroupCommitter:
    def __init__(self, store: Store, index: Index) -> None:
        self.store = store
        self.index = index
        self._write_lock = threading.Lock()  # held by the thread writing a batch
        self._queue_lock = threading.Lock()
        self._queue: list[_PendingWrite] = []

    def commit(
        self, keys: tuple[EntryKey, ...], prepare: Prepare, author: Author, message: str
    ) -> Snapshot:
        """Commit what ``prepare(snapshot)`` returns (path -> content, None deletes; empty:
        nothing to write) and return the snapshot that shows it: the one made right after its
        own batch, never a later one (a write of the same file in the next batch must not be
        described as this one's outcome). ``prepare`` validates against the snapshot it is
        given and raises to refuse; it may be called again on a newer snapshot if another
        writer moved the branch. Its error is raised here."""
        # A store that pushes bounds how long a write may wait before it is pushed.
        budget: float | None = getattr(self.store, "write_budget", None)
        deadline = None if budget is None else time.monotonic() + budget
        write = _PendingWrite(keys, prepare, author, message, deadline)
        with self._queue_lock:
            self._queue.append(write)
        while not write.done.is_set():
            with self._write_lock:
                if not write.done.is_set():
                    batch = self._take_batch()
                    try:
                        self._write_batch(batch)
                    finally:  # no waiter is left behind, whatever was raised
                        for pending in batch:
                            if not pending.done.is_set():
                                pending.finish(error=Conflict("the write was interrupted; retry"))
        if write.error is not None:
            raise write.error
        if write.sha is None or write.refreshed:
            return _done(write.snapshot)
        if not self._refresh():
            raise NotReady(
                f"the change was committed ({write.sha[:12]}) but the index has not caught up "
                "yet: read it again shortly (do not repeat the write)"
            )
        return self.index.current()

    def _take_batch(self) -> list[_PendingWrite]:
        """The queued writes that touch distinct files, oldest first (the rest wait)."""
        batch: list[_PendingWrite] = []
        paths: set[str] = set()
        with self._queue_lock:
            waiting = []
            for write in self._queue:
                folded = {key.path.casefold() for key in write.keys}
                if len(batch) < BATCH_LIMIT and not folded & paths:
                    batch.append(write)
                    paths |= folded
                else:
                    waiting.append(write)
            self._queue = waiting
        return batch

    def _write_batch(self, batch: list[_PendingWrite]) -> None:
        # A store may ask for more attempts (a remote that several replicas push to).
        for _attempt in range(getattr(self.store, "write_attempts", WRITE_ATTEMPTS)):
            snapshot = self.index.current()
            ready: list[tuple[_PendingWrite, Mapping[str, bytes | None]]] = []
            for write in batch:
                try:
                    changes = write.prepare(snapshot)
                except Exception as exc:  # noqa: BLE001 - refused (or a bug): that caller gets it
                    write.finish(error=exc)
                    continue
                if changes:
                    ready.append((write, changes))
                else:
                    write.finish(snapshot=snapshot)
            if not ready:
                return
            commits = [
                PendingCommit(changes, w.author, w.message, w.deadline) for w, changes in ready
            ]
            try:
                shas = self.store.write_chain(snapshot.commit, commits)
            except StaleParent:
                log.info("branch moved during a write of %d change(s); re-reading", len(ready))
                self._refresh()
                batch = [write for write, _changes in ready]
                continue
            except Exception as exc:
                if len(ready) > 1:  # isolate: each write alone, so only the culprit fails
                    log.warning(
                        "a batch of %d writes failed (%s); writing each alone", len(ready), exc
                    )
                    for write, _changes in ready:
                        self._write_batch([write])
                    return
                log.error("write failed: %s", exc, exc_info=exc)
                ready[0][0].finish(error=exc)
                return
            for (write, _changes), sha in zip(ready, shas, strict=True):
                log.info("%s committed %s: %s", write.author.name, sha[:12], write.message)
            refreshed = self._refresh()
            for (write, _changes), sha in zip(ready, shas, strict=True):
                write.refreshed = refreshed
                write.finish(snapshot=self.index.current(), sha=sha)
            return
        for write in batch:
            write.finish(error=Conflict("the branch kept moving; nothing was written, retry"))

    def _refresh(self) -> bool:
        """Refresh the index, retried; False (logged) when it keeps failing: the commits are
        in Git all the same, and the ref watcher's poll refreshes again later."""
        for attempt in range(REFRESH_ATTEMPTS):
            try:
                self.index.refresh()
                return True
            except Exception:
                log.exception("index refresh after a commit failed (attempt %d)", attempt + 1)
                time.sleep(0.05 * (attempt + 1))
        return False


class _PendingWrite:
    """One caller's write, queued for the next group commit."""

    def __init__(
        self,
        keys: tuple[EntryKey, ...],
        prepare: Prepare,
        author: Author,
        message: str,
        deadline: float | None = None,
    ) -> None:
        self.keys = keys
        self.deadline = deadline
        self.prepare = prepare
        self.author = author
        self.message = message
        self.done = threading.Event()
        self.snapshot: Snapshot | None = None
        self.error: BaseException | None = None
        self.sha: str | None = None  # the commit made, when one was
        self.refreshed = False  # the index was refreshed after that commit

    def finish(
        self,
        snapshot: Snapshot | None = None,
        error: BaseException | None = None,
        sha: str | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.error = error
        self.sha = sha
        self.done.set()


def _done(snapshot: Snapshot | None) -> Snapshot:
    assert snapshot is not None
    return snapshot
