"""gitconfig's REST app for granian, to measure the HTTP read path on another ASGI server next
to uvicorn (issue 16, item 5). A factory for granian's command line::

    GITCONFIG_BENCH_REPO=/path/to/configs.git GITCONFIG_ADMIN_TOKEN=... \\
        granian --interface asginl --factory bench.granian_app:app

It serves what ``gitconfig serve`` serves over REST (the same ``create_app``, the same
service and index, the first index built before the first request) without gRPC, the ref
watcher or the graceful drain: a measurement of the HTTP path, not a way to run gitconfig.
"""

from __future__ import annotations

import os
from pathlib import Path

from gitconfig.rest.app import RestApp, create_app
from gitconfig.runtime.bootstrap import open_service
from gitconfig.runtime.security import SecurityOptions, build_tokens

REPO_ENV = "GITCONFIG_BENCH_REPO"


def app() -> RestApp:
    """The REST app over ``$GITCONFIG_BENCH_REPO``, indexed."""
    service = open_service(Path(os.environ[REPO_ENV]))
    service.index.refresh()
    return create_app(service, build_tokens(SecurityOptions()))
