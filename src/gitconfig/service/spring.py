"""Spring Cloud Config use-cases: an application's configuration as Spring's ``Environment``.

``profiles`` (a comma list, Spring's overlay order: a later profile wins) map to
environments (``core.profiles``); each environment contributes the application's own
configuration set and, with lower precedence, the shared ``application`` set
(``configs/application/<ENV>/``), as Spring's ``application.yml`` applies to every
application. ``label`` names a branch, tag or commit (``(_)`` stands for ``/``), answered
from that commit; no label, or the tracked branch, is the served snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from gitconfig.access.principals import Principal, authorize
from gitconfig.access.reveal import may_reveal
from gitconfig.core import spring
from gitconfig.core.errors import BadRequest, NotFound
from gitconfig.core.model import ConfigDocument, EntryKey, Environment, Kind
from gitconfig.core.paths import application_error, is_schema_path, parse_entry_path
from gitconfig.core.profiles import environments_of
from gitconfig.core.validator import load_schemas
from gitconfig.index.refresher import Index
from gitconfig.index.snapshot import Snapshot
from gitconfig.readside import SpringAnswers
from gitconfig.service.reads import Reads
from gitconfig.service.secretbox import SecretBox
from gitconfig.store.ports import Store

SHARED: Final = "application"

Documents = list[tuple[EntryKey, str, ConfigDocument]]  # (key, blob, document), by key
Reader = Callable[[str, Environment], Documents]
Known = Callable[[str], bool]  # has this application any configuration?


@dataclass(frozen=True)
class PropertySource:
    name: str
    source: dict[str, Any]


@dataclass(frozen=True)
class SpringEnvironment:
    """Spring's ``Environment``: ``property_sources`` highest precedence first; ``version``
    is the commit SHA the values were read at. Answers are kept and shared
    (``readside.SpringAnswers``): read-only."""

    name: str
    profiles: list[str]
    label: str | None
    version: str | None
    property_sources: list[PropertySource]

    def merged(self) -> dict[str, Any]:
        """One flat map: a property of a higher-precedence source wins."""
        flat: dict[str, Any] = {}
        for source in reversed(self.property_sources):
            flat.update(source.source)
        return flat


class Spring:
    """Spring ``Environment`` answers read from ``reads`` (the served snapshot) or, for a
    label, from ``store``'s commit parsed through ``index``'s cache; SECRET values through
    ``box``."""

    def __init__(self, reads: Reads, box: SecretBox, store: Store, index: Index) -> None:
        self.reads = reads
        self.box = box
        self.store = store
        self.index = index
        self._answers = SpringAnswers[SpringEnvironment]()

    def environment(
        self, principal: Principal, application: str, profiles: str, label: str | None = None
    ) -> SpringEnvironment:
        """The ``Environment`` of ``application`` for ``profiles`` at ``label``. SECRET
        values are masked unless the caller may reveal them.

        Raises BadRequest (an invalid application name), NotFound (no profile names an
        environment, an unknown label, or an application with no configuration in any
        environment at that commit), PermissionDenied."""
        if error := application_error(application):
            raise BadRequest("invalid application", [error])
        environments = environments_of(profiles)
        if not environments:
            raise NotFound(
                f"no profile of {profiles!r} names an environment"
                " (DEV, TEST, STAGING, PROD, development, dev, test, staging, production, prod)"
            )
        for env in environments:
            authorize(principal, "read", application, env)
        # The shared ``application`` set comes with the app's own only where the principal
        # may read it, as /configs/lookup and /spring/application/... decide.
        shared = tuple(env for env in environments if principal.may("read", SHARED, env.value))
        snapshot = self.reads.snapshot()
        sha = snapshot.commit
        if label is not None and label != self.store.branch:
            sha = self.store.resolve_ref(label.replace("(_)", "/"))
            if sha is None:
                raise NotFound(f"no branch, tag or commit {label!r}")
        # A SECRET shows its plaintext where the principal may reveal it (a Spring client is
        # a service that uses its values, as over gRPC), else the mask.
        reveal = tuple(
            may_reveal(principal, app, env.value)
            for app in (application, SHARED)
            for env in environments
        )
        # Answers are a function of these (a commit is immutable); a resolved label is part
        # of the key, so a moved branch or tag can never be answered from what is kept.
        answer_key = (sha, sha == snapshot.commit, application, profiles, label, reveal, shared)
        cached = self._answers.get(answer_key)
        if cached is not None:
            return cached
        read, known = self._spring_reader(snapshot, sha)
        if not known(application):
            raise NotFound(f"no configuration for application {application!r} at {sha}")
        sources: list[PropertySource] = []
        for app in (application, SHARED) if application != SHARED else (application,):
            for env in reversed(environments):
                if app == SHARED and app != application and env not in shared:
                    continue
                documents = read(app, env)
                if documents:
                    sources.append(
                        PropertySource(
                            f"configs/{app}/{env.value}",
                            {
                                name: value
                                for key, blob, document in documents
                                for name, value in spring.flatten(
                                    key.key,
                                    document,
                                    self.box.served_text(principal, document, key, blob),
                                )
                            },
                        )
                    )
        answer = SpringEnvironment(
            application,
            profiles.split(","),
            label if label is not None else self.store.branch,
            sha,
            sources,
        )
        return self._answers.put(answer_key, answer)

    def _spring_reader(self, snapshot: Snapshot, sha: str | None) -> tuple[Reader, Known]:
        """A reader of the configuration sets at ``sha`` (the snapshot's own when it is the
        snapshot's commit) and whether an application has configuration there."""
        if sha == snapshot.commit:

            def from_snapshot(application: str, env: Environment) -> Documents:
                return [
                    (entry.key, entry.served.blob, entry.document)
                    for entry in self.reads.entries(Kind.CONFIG, application, env, snapshot)
                    if isinstance(entry.document, ConfigDocument)
                ]

            def known(application: str) -> bool:
                return any(
                    snapshot.groups.get((Kind.CONFIG, application, env)) for env in Environment
                )

            return from_snapshot, known
        assert sha is not None
        return self._commit_reader(sha)

    def _commit_reader(self, sha: str) -> tuple[Reader, Known]:
        """Configuration sets at an older (or other) commit, parsed from its tree (the parse
        cache is by blob id, so unchanged files cost nothing). A file that does not
        validate at that commit is left out."""
        files = dict(self.store.files(sha))
        schemas, _problems = load_schemas(
            {
                path: self.store.read_blob(blob)
                for path, blob in files.items()
                if is_schema_path(path)
            }
        )
        groups: dict[tuple[str, Environment], list[tuple[EntryKey, str]]] = {}
        for path, blob in files.items():
            key = parse_entry_path(path)
            if isinstance(key, EntryKey) and key.kind is Kind.CONFIG:
                groups.setdefault((key.application, key.environment), []).append((key, blob))

        def from_commit(application: str, env: Environment) -> Documents:
            return list(_documents(self.index, groups.get((application, env), []), schemas))

        applications = {application for application, _env in groups}
        return from_commit, applications.__contains__


def _documents(
    index: Index, keys: Iterable[tuple[EntryKey, str]], schemas: dict[str, Any]
) -> Iterable[tuple[EntryKey, str, ConfigDocument]]:
    for key, blob in sorted(keys, key=lambda pair: pair[0].key):
        try:
            document = index.document(key.path, Kind.CONFIG, blob, schemas)
        except BadRequest:
            continue
        if isinstance(document, ConfigDocument):
            yield key, blob, document
