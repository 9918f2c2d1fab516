"""What a forked worker of ``gitconfig serve --workers N`` does first: it dies with its parent.

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
import signal
import sys

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
