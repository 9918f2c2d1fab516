"""A refused write changed nothing: the branch head (read from the Git repository with
``git``), the served entries and the audit trail are the same after it as before.

    kept = unchanged(service)           # in-process: the service behind the client or stub
    answer = client.post("/configs/promote", json=body, headers=reader)
    assert answer.status_code == 403
    kept.check()

    with unchanged(server.http, repo):  # a ``gitconfig serve`` process, read over HTTP
        assert server.http.put(f"/configs/{config_id}", json=stale).status_code == 412

    kept = unchanged(work)              # a repository the command line writes to: read
    assert gitconfig("set", "k", "x", "-a", "a", "-e", "PROD", repo=work).exit_code == 1
    kept.check()                        # through a service opened on it, as the CLI does

A status code alone does not prove a refusal: a write that committed and then answered 403
passes it. ``check()`` (or leaving the ``with`` block) fails when the branch moved, when what
the service serves changed, or when the audit trail grew.

The served entries are every configuration and flag the service lists to an admin, with
their version, content and served value; the audit trail is every event the admin sees. An
HTTP client reads with its own headers (an admin's token) unless ``auth`` is given; a
``Service`` is read directly, as an admin. Every repository in ``repos`` is checked too (the
remote of a replica, say).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from gitconfig.access.principals import Principal
from gitconfig.core import configfile
from gitconfig.core.model import ConfigDocument, Kind
from gitconfig.runtime.bootstrap import open_service
from gitconfig.service import MAX_PAGE_SIZE, Service
from tests.support.gitrepo import GitFailed, git

ADMIN = Principal("refusal-witness", frozenset({"admin"}))


@dataclass(frozen=True)
class State:
    heads: dict[str, str | None]  # repository -> its branch's commit (None: no commit yet)
    served: dict[str, Any]  # entry id -> what is served for it
    audit: list[Any]  # the audit trail, newest first


def branch_head(repo: Path, branch: str = "main") -> str | None:
    """The commit of ``refs/heads/<branch>`` in ``repo`` (bare or not), by ``git``."""
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
    except GitFailed:
        return None


def _service_state(service: Service) -> tuple[dict[str, Any], list[Any]]:
    # The module's only two calls into the service's API (list_entries, audit): keep them in
    # step when that API is regrouped.
    served: dict[str, Any] = {}
    for kind in Kind:
        page = 0
        while True:
            listed = service.reads.list_entries(ADMIN, kind, None, None, page, MAX_PAGE_SIZE)
            for entry in listed.content:
                document = entry.document
                value = (
                    configfile.api_value_text(document, reveal=False)
                    if isinstance(document, ConfigDocument)
                    else None
                )
                served[entry.id] = (entry.version, entry.served.blob, value)
            if (page := page + 1) >= listed.total_pages:
                break
    audit = service.audit.events(ADMIN, size=MAX_PAGE_SIZE)
    events = [event.fields() for event in audit.content]
    return served, [audit.total_elements, *events]


def _opened(repo: Path, branch: str) -> Service:
    service = open_service(repo, branch)
    service.index.refresh()
    return service


def _pages(http: Any, path: str, auth: dict[str, str]) -> list[Any]:
    found: list[Any] = []
    page = 0
    while True:
        answer = http.get(path, params={"page": page, "size": MAX_PAGE_SIZE}, headers=auth)
        assert answer.status_code == 200, f"GET {path}: {answer.status_code} {answer.text}"
        body = answer.json()
        found += body["content"]
        if (page := page + 1) >= body["totalPages"]:
            return [body["totalElements"], *found] if path == "/audit" else found


def _http_state(http: Any, auth: dict[str, str]) -> tuple[dict[str, Any], list[Any]]:
    served = {
        item["id"]: item
        for path in ("/configs", "/feature-flags")
        for item in _pages(http, path, auth)
    }
    return served, _pages(http, "/audit", auth)


class Unchanged:
    """What ``unchanged`` returns: the state before, and ``check()`` against it."""

    def __init__(
        self,
        read: Callable[[], tuple[dict[str, Any], list[Any]]],
        repos: dict[str, tuple[Path, str]],
    ) -> None:
        self._read = read
        self._repos = repos
        self.before = self.state()

    def state(self) -> State:
        served, audit = self._read()
        heads = {name: branch_head(path, branch) for name, (path, branch) in self._repos.items()}
        return State(heads, served, audit)

    def check(self) -> None:
        """Fail unless the heads, the served entries and the audit trail are as before."""
        after = self.state()
        assert after.heads == self.before.heads, (
            f"a branch moved: {self.before.heads} -> {after.heads}"
        )
        changed = sorted(
            key
            for key in self.before.served.keys() | after.served.keys()
            if self.before.served.get(key) != after.served.get(key)
        )
        assert not changed, f"the served entries changed: {changed}"
        assert after.audit == self.before.audit, "the audit trail changed"

    def __enter__(self) -> Unchanged:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.check()


def unchanged(
    where: Service | httpx.Client | Path | Any,
    *repos: Path,
    branch: str = "main",
    auth: dict[str, str] | None = None,
) -> Unchanged:
    """The state of ``where`` (a ``Service``; an HTTP client of a server, whose repository
    ``repos`` must name; or a repository's path) and of ``repos``, to ``check()`` after a
    refused write."""
    heads = {str(repo): (repo, branch) for repo in repos}
    if isinstance(where, Path):
        repo = where
        heads.setdefault(str(repo), (repo, branch))
        return Unchanged(lambda: _service_state(_opened(repo, branch)), heads)
    if isinstance(where, Service):
        store = where.store
        own = Path(store.git_dir)  # type: ignore[attr-defined]
        heads.setdefault(str(own), (own, getattr(store, "branch", branch)))
        return Unchanged(lambda: _service_state(where), heads)
    assert repos, "name the served repository: the head is read from it with git"
    return Unchanged(lambda: _http_state(where, auth or {}), heads)
