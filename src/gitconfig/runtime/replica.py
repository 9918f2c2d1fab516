"""Composition of a replica: ``gitconfig serve --remote URL``.

Builds the mirror's ``RemoteStore`` (credentials into git's environment, never onto disk),
the service over it and the ``Replicator`` that keeps it on the remote's head. Also reads
the secrets the command line names: the remote's credentials and the webhook secret, each
from a file or an environment variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from gitconfig.core.errors import BadRequest, FieldError
from gitconfig.core.remoteurl import Credentials, parse_credentials, split_url
from gitconfig.core.text import scrub
from gitconfig.index.refresher import Index
from gitconfig.service import Service, build_service
from gitconfig.service.replica import Replicator
from gitconfig.store.remote import REMOTE_TIMEOUT, RemoteStore, git_environment

CREDENTIALS_VARIABLE = "GITCONFIG_REMOTE_CREDENTIALS"
WEBHOOK_SECRET_VARIABLE = "GITCONFIG_WEBHOOK_SECRET"


@dataclass(frozen=True)
class RemoteOptions:
    """A replica's remote. ``url`` may hold credentials (they are taken out of it);
    ``data_dir`` holds the bare mirror (cloned on first start, reused after);
    ``remote_timeout`` bounds each fetch and push, and a write's wait before its push."""

    url: str = field(repr=False)
    data_dir: Path
    fetch_interval: float = 30.0
    credentials: Credentials | None = None
    ssh_key: Path | None = None
    webhook_secret: bytes | None = field(default=None, repr=False)
    read_only: bool = False
    remote_timeout: float = REMOTE_TIMEOUT

    @property
    def display_url(self) -> str:
        return scrub(self.url)


def open_replica(options: RemoteOptions, branch: str) -> tuple[RemoteStore, Service, Replicator]:
    """The mirror's store, the service over it and its replicator (not started, nothing
    fetched yet)."""
    url, in_url = split_url(options.url)
    credentials = options.credentials or in_url
    env = git_environment(url, credentials, options.ssh_key, options.remote_timeout)
    store = RemoteStore.open_mirror(
        options.data_dir,
        branch,
        url,
        env,
        read_only=options.read_only,
        timeout=options.remote_timeout,
    )
    index = Index(store)
    replicator = Replicator(store, index, options.fetch_interval)
    service = build_service(store, index, replica=replicator, webhook_secret=options.webhook_secret)
    return store, service, replicator


def read_credentials(path: Path | None) -> Credentials | None:
    """Credentials from ``path``, else from $GITCONFIG_REMOTE_CREDENTIALS, else None."""
    text = _secret_text(path, CREDENTIALS_VARIABLE, "remote-credentials")
    return None if text is None else parse_credentials(text)


def read_webhook_secret(path: Path | None) -> bytes | None:
    """The webhook secret from ``path``, else from $GITCONFIG_WEBHOOK_SECRET, else None."""
    text = _secret_text(path, WEBHOOK_SECRET_VARIABLE, "webhook-secret")
    if text is not None and not text.strip():
        raise BadRequest("empty webhook secret", [FieldError("webhook-secret", "is empty")])
    return None if text is None else text.strip().encode()


def _secret_text(path: Path | None, variable: str, option: str) -> str | None:
    if path is not None:
        try:
            return path.read_text()
        except OSError as exc:
            raise BadRequest(
                f"cannot read --{option}", [FieldError(option, exc.strerror or "unreadable")]
            ) from None
    return os.environ.get(variable)
