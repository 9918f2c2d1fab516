"""What makes a start fast and visible: the warm-restart cache kept next to the index
(``CacheKeeper``, over ``persist``) and the progress of a long build (``BuildProgress``).
``Index`` (``refresher``) owns one of each."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gitconfig.index import persist
from gitconfig.index.snapshot import Snapshot
from gitconfig.store.ports import Store

log = logging.getLogger("gitconfig.index.refresher")  # one logger for the index's own lines

PROGRESS_LOG_SECONDS = 2.0  # a long build logs its progress this often


@dataclass(frozen=True)
class Progress:
    """How far the build under way is: files done in its ``phase`` ("parsing": the head's
    blobs, on two processes; "indexing": entry files applied), seconds since it started."""

    files: int
    seconds: float
    phase: str = "indexing"


class BuildProgress:
    """Counts the parses of the build under way; ``current`` is None when none runs."""

    def __init__(self) -> None:
        self.current: Progress | None = None
        self._building: tuple[str, float, int] | None = None  # head, start, last log (s)
        self._count = 0
        self._phase = "indexing"

    @contextmanager
    def building(self, head: str) -> Iterator[None]:
        """Count the parses of a build of ``head`` while the block runs."""
        self._building, self._count, self._phase = (head, time.perf_counter(), 0), 0, "indexing"
        try:
            yield
        finally:
            self._building = None
            self.current = None

    def phase(self, phase: str) -> None:
        self._phase, self._count = phase, 0

    def count(self) -> None:
        """One file parsed: ``current`` is updated every 1,000; a log line every
        ``PROGRESS_LOG_SECONDS``."""
        building = self._building
        if building is None:
            return
        self._count += 1
        if self._count % 1000:
            return
        head, started, logged = building
        now = time.perf_counter()
        # While parsing on two processes, this one does every other file.
        files = self._count * 2 if self._phase == "parsing" else self._count
        self.current = Progress(files, now - started, self._phase)
        if now - started - logged >= PROGRESS_LOG_SECONDS:
            self._building = (head, started, int(now - started))
            log.info("%s %s: %d files in %.1f s", self._phase, head[:12], files, now - started)


class CacheKeeper:
    """The index's cache file: ``base`` reads it at start, ``schedule`` rewrites it on a
    background thread at most once per ``interval`` seconds, ``save`` writes it now."""

    def __init__(
        self, path: Path, current: Callable[[], Snapshot | None], interval: float = 30.0
    ) -> None:
        self.path = path
        self.interval = interval
        self._current = current
        self._wanted = threading.Condition()
        self._dirty = False
        self._thread: threading.Thread | None = None
        self.loaded: str | None = None  # the commit of the cache the index started from

    def base(self, store: Store, head: str) -> Snapshot | None:
        """The cached snapshot if it describes ``head`` or an ancestor of it, else None."""
        started = time.perf_counter()
        cached = persist.load(self.path)
        if cached is None or cached.commit is None:
            return None
        if cached.commit != head and not (
            store.resolve(cached.commit) is not None and store.is_ancestor(cached.commit, head)
        ):
            log.info("index cache at %s is not on the branch: ignored", cached.commit[:12])
            return None
        log.info(
            "index cache at %s loaded: %d entries in %.1f ms%s",
            cached.commit[:12],
            len(cached),
            (time.perf_counter() - started) * 1000,
            "" if cached.commit == head else f"; refreshing to {head[:12]}",
        )
        self.loaded = cached.commit
        return cached

    def save(self) -> bool:
        """Write the current snapshot now (atomically). False, logged, when there is no
        snapshot or it cannot be written."""
        snapshot = self._current()
        if snapshot is None or snapshot.commit is None:
            return False
        started = time.perf_counter()
        try:
            size = persist.save(self.path, snapshot)
        except (OSError, persist.CacheError) as exc:
            log.warning("index cache not written to %s: %s", self.path, exc)
            return False
        log.info(
            "index cache written at %s: %d entries, %d KiB in %.1f ms",
            snapshot.commit[:12],
            len(snapshot),
            size // 1024,
            (time.perf_counter() - started) * 1000,
        )
        return True

    def schedule(self) -> None:
        with self._wanted:
            self._dirty = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="index-cache", daemon=True)
                self._thread.start()
            self._wanted.notify()

    def _loop(self) -> None:
        while True:
            with self._wanted:
                while not self._dirty:
                    self._wanted.wait()
                self._dirty = False
            self.save()
            time.sleep(self.interval)  # refreshes meanwhile: one write after it
