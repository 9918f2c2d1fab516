"""Parsing a cold build's blobs on two cores: a forked worker parses every other blob of
the head tree while this process parses the rest; the worker sends its results back as
MessagePack over a pipe and they join the index's parse cache (``Index._parsed``), so the
build that follows finds every cacheable document parsed. The index is the same as a build
on one core: only results the cache would keep anyway (flags, and configurations that
reference no shared schema) are sent, and the builder itself parses everything else.

If the worker fails (it cannot fork, dies, or sends something unreadable) the build simply
parses its blobs itself; a line is logged.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import msgpack

from gitconfig.core import configfile, validator
from gitconfig.core.errors import BadRequest
from gitconfig.core.model import ConfigDocument, Document, Kind
from gitconfig.core.paths import is_schema_path
from gitconfig.index import persist

log = logging.getLogger(__name__)

MINIMUM_FILES = 20_000
"""Below this many files a worker costs more than it saves (forking, sending results)."""

Parsed = dict[Kind, dict[str, Document | list[str]]]
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
    if len(todo) < minimum or not hasattr(os, "fork"):
        return 0
    started = time.perf_counter()
    theirs, mine = todo[0::2], todo[1::2]
    reader, writer = os.pipe()
    try:
        pid = os.fork()
    except OSError as exc:
        os.close(reader)
        os.close(writer)
        log.warning("cannot fork a parsing worker (%s): parsing on one core", exc)
        return 0
    if pid == 0:  # the worker: parse, send, leave without running any cleanup
        code = 1
        try:
            os.close(reader)
            gc.disable()
            with os.fdopen(writer, "wb") as out:
                out.write(msgpack.packb(_parse_all(theirs, read), use_bin_type=True))
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    for path, kind, blob in mine:
        parse_here(path, kind, blob)
    with os.fdopen(reader, "rb") as incoming:
        data = incoming.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        log.warning("the parsing worker failed (status %d): parsing its half here", status)
        return 0
    try:
        results = msgpack.unpackb(data, raw=False, strict_map_key=False)
        tags: dict[tuple[str, ...], tuple[str, ...]] = {}
        for kind_value, blob, row, errors in results:
            target = parsed[Kind(kind_value)]
            target[blob] = errors if row is None else persist.document(row, tags)
    except Exception as exc:  # an unreadable answer: the builder parses what is missing
        log.warning("the parsing worker's results are unreadable (%s): parsing here", exc)
        return 0
    log.info(
        "parsed %d blobs on two processes in %.1f s",
        len(todo),
        time.perf_counter() - started,
    )
    return len(results)


def _parse_all(todo: list[tuple[str, Kind, str]], read: Callable[[str], bytes]) -> list[Any]:
    """[kind, blob, document row or None, errors or None] for each result worth caching."""
    out: list[Any] = []
    for _path, kind, blob in todo:
        try:
            document = validator.load_document(kind, read(blob), {})
        except BadRequest as exc:
            if kind is Kind.FLAG:  # a flag's errors are cached too (they need no schema)
                errors = [_describe(e.field, e.message) for e in exc.errors] or [exc.message]
                out.append([kind.value, blob, None, errors])
            continue
        if kind is Kind.FLAG or (
            isinstance(document, ConfigDocument) and not configfile.references(document)
        ):
            out.append([kind.value, blob, persist.document_row(document), None])
    return out


def _describe(field: str, message: str) -> str:
    return f"{field}: {message}" if field else message
