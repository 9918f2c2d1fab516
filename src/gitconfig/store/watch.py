"""Watches the tracked branch's ref and triggers index refreshes.

New commits arrive through the API, the CLI, a ``git push`` into the served repository, or a
fetch. All of them move a file under the git directory: ``refs/heads/<branch>``, or
``packed-refs`` after a ``git gc``. watchfiles (inotify) wakes us within milliseconds; its
default filter ignores ``.git``, so we pass our own. Every ``interval`` seconds we check
anyway — a safety net for missed events (network filesystems, overflowed queues).
A check is cheap: ``Index.refresh`` reads one ref and returns when it has not moved.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import watchfiles

log = logging.getLogger(__name__)
logging.getLogger("watchfiles").setLevel(logging.WARNING)  # it logs every change at INFO


def _relevant(_change: watchfiles.Change, path: str) -> bool:
    name = Path(path).name
    return (
        "/refs/" in path or name in ("packed-refs", "HEAD", "FETCH_HEAD")
    ) and not name.endswith(".lock")


class RefWatcher:
    def __init__(
        self, gitdir: Path, on_change: Callable[[], object], interval: float = 1.0
    ) -> None:
        self.gitdir = gitdir
        self.on_change = on_change
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ref-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _check(self) -> None:
        try:
            self.on_change()
        except Exception:  # keep watching: the next tick retries
            log.exception("refresh after a ref change failed")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for _changes in watchfiles.watch(
                    self.gitdir,
                    watch_filter=_relevant,
                    debounce=10,
                    step=10,
                    rust_timeout=int(self.interval * 1000),
                    yield_on_timeout=True,
                    stop_event=self._stop,
                    raise_interrupt=False,
                ):
                    self._check()  # a change, or the periodic safety-net tick
            except Exception:
                log.exception("file watching failed; polling every %.1fs", self.interval)
                while not self._stop.wait(self.interval):
                    self._check()
