"""Parsing a cold build's blobs on two cores: a forked worker parses every other blob of
the head tree while this process parses the rest; the worker writes its results as a stream
of MessagePack rows into an anonymous in-memory file, which this process reads one row at a
time into the index's parse cache (``Index._parsed``), so the build that follows finds every
cacheable document parsed. The index is the same as a build on one core: only results the
cache would keep anyway (flags, and configurations that reference no shared schema) are
sent, and the builder itself parses everything else.

A row names its blob by its position in the worker's share of the list both processes hold
(the worker is a fork), so the cache keys are this process's own strings and nothing but the
documents crosses over. If the worker fails (it cannot fork, dies, or writes something
unreadable) the build simply parses what is missing itself; a line is logged.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import IO

import msgpack

from gitconfig.core.model import Document, Kind
from gitconfig.core.paths import is_schema_path
from gitconfig.index import persist
from gitconfig.index.builder import cacheable, parse_result

log = logging.getLogger(__name__)

MINIMUM_FILES = 4_000
"""Below this many files a worker costs more than it saves (a fork, reading its rows): a
cold build of 4,000 plain files takes about 0.15 s on one core."""

WORKER_PATIENCE = 30.0
"""Seconds the worker is waited for at least (and four times what this process took for its
own half) before it is killed and its half parsed here: a worker stuck for good (a fork of
a process whose other thread held a lock the child then needs) must not hold the build, and
the index's lock with it, for ever."""

Parsed = Mapping[Kind, MutableMapping[str, Document | list[str]]]  # ``readside.ParsedBlobs``
_KINDS = {"configs/": Kind.CONFIG, "flags/": Kind.FLAG}


def prefetch(
    files: Iterable[tuple[str, str]],
    read: Callable[[str], bytes],
    parsed: Parsed,
    parse_here: Callable[[str, Kind, str], None],
    minimum: int = MINIMUM_FILES,
) -> int:
    """Parse the blobs of ``files`` ((path, blob) of the head tree) into ``parsed``, half in
    a forked worker (``read`` reads a blob there), half here with ``parse_here(path, kind,
    blob)``, which caches as ``Index._parse`` does. Returns the number of results the worker
    contributed (0: no worker, fewer than ``minimum`` files or it failed)."""
    todo: list[tuple[str, Kind, str]] = []
    seen: set[str] = set()
    for path, blob in files:
        kind = _KINDS.get(path[: path.find("/") + 1])
        if kind is None or is_schema_path(path) or blob in seen or blob in parsed[kind]:
            continue
        seen.add(blob)
        todo.append((path, kind, blob))
    del seen
    if len(todo) < minimum or not hasattr(os, "fork"):
        return 0
    started = time.perf_counter()
    theirs, mine = todo[0::2], todo[1::2]
    with _scratch_file() as results:
        try:
            pid = os.fork()
        except OSError as exc:
            log.warning("cannot fork a parsing worker (%s): parsing on one core", exc)
            return 0
        if pid == 0:  # the worker: parse, write, leave without running any cleanup
            code = 1
            try:
                gc.disable()
                _parse_all(theirs, read, results)
                code = 0
            finally:
                os._exit(code)
        try:
            for path, kind, blob in mine:
                parse_here(path, kind, blob)
        except BaseException:
            _stop(pid)  # the build fails here: no worker left behind
            raise
        patience = max(WORKER_PATIENCE, 4 * (time.perf_counter() - started))
        ended = _exit_code(pid, patience)
        if ended is None:
            message = "the parsing worker took over %.0f s: killed, parsing its half here"
            log.warning(message, patience)
            return 0
        if ended != 0:
            log.warning("the parsing worker failed (status %d): parsing its half here", ended)
            return 0
        results.seek(0)
        count = _take(results, theirs, parsed)
    log.info("parsed %d blobs on two processes in %.1f s", len(todo), time.perf_counter() - started)
    return count


def _exit_code(pid: int, patience: float) -> int | None:
    """The worker's exit code (negative: the signal that ended it), or None when it has not
    ended within ``patience`` seconds: it is then killed (and reaped)."""
    deadline = time.monotonic() + patience
    delay = 0.001
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            _stop(pid)
            return None
        time.sleep(delay)
        delay = min(2 * delay, 0.005)  # a few ms at most after the worker ends


def _stop(pid: int) -> None:
    """Kill the worker and reap it."""
    with contextlib.suppress(ProcessLookupError):  # ended meanwhile: reaped just below
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def _scratch_file() -> IO[bytes]:
    """An anonymous file in memory (Linux's memfd; elsewhere a temporary file)."""
    if hasattr(os, "memfd_create"):
        return open(os.memfd_create("gitconfig-prefetch"), "w+b")
    return tempfile.TemporaryFile()


def _parse_all(
    todo: list[tuple[str, Kind, str]], read: Callable[[str], bytes], out: IO[bytes]
) -> None:
    """Write [position, document row, None] or [position, None, errors] to ``out`` for each
    result worth caching (``position`` in ``todo``)."""
    pack = msgpack.Packer(use_bin_type=True).pack
    for position, (_path, kind, blob) in enumerate(todo):
        result = parse_result(kind, read(blob), {})
        if not cacheable(kind, result):
            continue
        if isinstance(result, list):
            out.write(pack([position, None, result]))
        else:
            out.write(pack([position, persist.document_row(result), None]))
    out.flush()  # the worker leaves with os._exit, which flushes nothing


def _take(results: IO[bytes], theirs: list[tuple[str, Kind, str]], parsed: Parsed) -> int:
    """Read the worker's rows into ``parsed``, one at a time; the number taken."""
    tags: dict[tuple[str, ...], tuple[str, ...]] = {}
    count = 0
    try:
        for position, row, errors in msgpack.Unpacker(results, raw=False, strict_map_key=False):
            _path, kind, blob = theirs[position]
            parsed[kind][blob] = errors if row is None else persist.document(row, tags)
            count += 1
    except Exception as exc:  # noqa: BLE001 - an unreadable row: the builder parses the rest
        log.warning("the parsing worker's results are unreadable (%s): parsing here", exc)
    return count
