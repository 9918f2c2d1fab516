"""The workers of ``gitconfig serve --workers N``: their listening sockets, and what a forked
worker does first (it dies with its parent).

``listen_each`` opens one HTTP listening socket per worker on the same port
(``SO_REUSEPORT``): the kernel then spreads new connections over the workers by a hash of
each connection's addresses. With one socket shared by all, whichever worker woke first took
a burst of connections: 64 connections from one client split from 19/45 to 39/25 between
two workers, and the busier worker set the latency tail. A worker that exits takes its
socket with it (the parent keeps no copy), so no connection waits on a dead worker's queue.

The parent forwards SIGTERM and SIGINT to its workers and waits for them; a parent killed
with SIGKILL (the OOM killer, ``kill -9``, a test harness) forwards nothing, and its workers
used to serve on as orphans, holding the ports. ``die_with_parent`` asks Linux to send the
worker SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``, prctl(2)), so the worker
drains and exits as on a normal stop. Elsewhere it does nothing.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from prometheus_client.multiprocess import mark_process_dead

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent: int) -> None:
    """In a worker just forked by ``parent`` (its pid): SIGTERM to this process when the
    parent dies, and at once if it died already (before the request took effect)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        log.warning("worker cannot follow its parent's death: %s", os.strerror(errno))
        return
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listener(host: str, port: int, reuse_port: bool = False, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket on ``host`` and ``port`` (0: a free one), inheritable by forked
    workers; ``reuse_port``: with ``SO_REUSEPORT`` (see ``listen_each``). IPPROTO_TCP
    explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the protocol says TCP;
    without it every response waits for the peer's delayed ACK (40 ms). Raises ``OSError``."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def free_port(host: str, port: int) -> int:
    """``port`` (0: a free one), after a plain bind to it: that bind fails against any socket
    already there (``SO_REUSEPORT`` or not), so the sockets bound next with ``SO_REUSEPORT``
    are the only ones on the port, and no other server ever joins them. Raises ``OSError``
    (``EADDRINUSE`` when the port is taken)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        bound: int = probe.getsockname()[1]
    return bound


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound (not listening) to ``port`` with ``SO_REUSEPORT``, so that this
    server's workers can all bind it (the gRPC port: grpcio binds it again in each worker),
    and ``SO_REUSEADDR``, so that a restarted server binds it at once although connections of
    the stopped one are still in TIME_WAIT there. Raises ``OSError``."""
    port = free_port(host, port)
    sock = socket.socket(_family(host))
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def listen_each(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening sockets (``listener``) bound to one ``host`` and ``port`` (0: a
    free one) with ``SO_REUSEPORT``, one per worker (see the module). Raises ``OSError``
    (``EADDRINUSE`` when the port is taken: ``free_port``)."""
    port = free_port(host, port)
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(listener(host, port, reuse_port=True))
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


METRICS_DIR_PREFIX = "gitconfig-metrics-"
REPLACE_LIMIT = 5  # dead workers replaced within REPLACE_WINDOW seconds; then no more
REPLACE_WINDOW = 60.0


def metrics_folder() -> str:
    """A new folder for the workers' multiprocess metrics (``gitconfig-metrics-<pid>-*``),
    after removing those of servers that are gone (``remove_stale_metrics_dirs``)."""
    remove_stale_metrics_dirs()
    return tempfile.mkdtemp(prefix=f"{METRICS_DIR_PREFIX}{os.getpid()}-")


def remove_stale_metrics_dirs() -> None:
    """Remove the multiprocess metrics folders of servers that are gone: a parent killed
    with SIGKILL cannot remove its own. Linux only (a live server is told by /proc/<pid>)."""
    if not sys.platform.startswith("linux"):
        return
    for folder in Path(tempfile.gettempdir()).glob(f"{METRICS_DIR_PREFIX}*"):
        pid = folder.name.removeprefix(METRICS_DIR_PREFIX).partition("-")[0]
        if not pid.isdigit() or not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def supervise(
    children: set[int], stopping: list[int], metrics_dir: str, restart: Callable[[], int]
) -> int:
    """Wait for the workers ``children`` until all are gone and return the first non-zero
    exit status. A worker that dies while the server is not ``stopping`` (a signal noted
    there) is replaced by ``restart()`` with a log line, unless it could not listen (status
    1) or ``REPLACE_LIMIT`` were replaced in the last ``REPLACE_WINDOW`` seconds (a crash
    loop). A dead worker's live gauges (stream subscribers) leave the metrics at once."""
    status = 0
    replaced: list[float] = []
    while children:
        pid, code = os.wait()
        children.discard(pid)
        mark_process_dead(pid, metrics_dir)
        exit_code = os.waitstatus_to_exitcode(code)
        now = time.monotonic()
        replaced[:] = [when for when in replaced if now - when < REPLACE_WINDOW]
        if stopping or exit_code == 1 or len(replaced) >= REPLACE_LIMIT:
            if not stopping:
                log.error("worker %d exited (status %d): not replaced", pid, exit_code)
            status = status or exit_code
            continue
        log.warning("worker %d exited (status %d): starting another one", pid, exit_code)
        replaced.append(now)
        try:
            children.add(restart())
        except OSError as exc:
            log.error("cannot listen again for the replaced worker: %s", exc)
            status = status or 3
    return status
