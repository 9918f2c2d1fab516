"""Reading ``GET /configs/watch`` (server-sent events) in tests: ``Watcher`` holds one open
stream and reads it in a thread."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.servers import Reader


@dataclass
class Event:
    event: str | None = None
    id: str | None = None
    data: Any = None
    comment: str | None = None


def events(response: httpx.Response) -> Iterator[Event]:
    """Parse a text/event-stream body into events (a comment line is an event of its own)."""
    current = Event()
    for line in response.iter_lines():
        if line.startswith(":"):
            yield Event(comment=line[1:].strip())
        elif line == "":
            if current.event or current.data is not None:
                yield current
            current = Event()
        else:
            field, _, value = line.partition(": ")
            if field == "data":
                current.data = json.loads(value)
            elif field in ("event", "id"):
                setattr(current, field, value)


class Watcher:
    """One open /configs/watch response, read in a thread; comments and retry are skipped."""

    def __init__(self, client: httpx.Client, **params: Any) -> None:
        headers = params.pop("headers", {})
        self._context = client.stream("GET", "/configs/watch", params=params, headers=headers)
        self.response = self._context.__enter__()
        assert self.response.status_code == 200, self.response.read()
        assert self.response.headers["content-type"].startswith("text/event-stream")
        self.reader: Reader[Event] = Reader(events(self.response))
        # The replay (when resuming) comes first, then ``ready``, whose id is where the live
        # part starts: a client that reconnects after it misses nothing.
        self.replayed: list[Event] = []
        while (event := self.take(1)[0]).event != "ready":
            self.replayed.append(event)
        self.ready = event

    def take(self, n: int) -> list[Event]:
        found: list[Event] = []
        while len(found) < n:
            found += [e for e in self.reader.take(1) if e.comment is None]
        return found

    def quiet(self, wait: float = 0.5) -> bool:
        """True if no event but heartbeats arrives within ``wait`` seconds."""
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            if self.reader.nothing_more(left):
                return True
            if self.reader.take(1)[0].comment is None:
                return False
        return True

    def close(self) -> None:
        self._context.__exit__(None, None, None)
