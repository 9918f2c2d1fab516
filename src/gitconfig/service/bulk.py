"""The bulk read an embedded client starts from: every entry of one application and
environment at one commit, in the change stream's shape.

``read_scope`` returns the snapshot's commit and one ``Update`` (type CREATED) per entry, so
that a client builds its local copy with the same code that later applies the stream, and
follows it by streaming with ``resume_after_commit`` set to that commit: no gap, no
duplicate.
"""

from __future__ import annotations

from gitconfig.access.principals import Principal, authorize
from gitconfig.core.errors import BadRequest
from gitconfig.core.model import ChangeType, Environment, Kind
from gitconfig.core.paths import application_error, environment_error
from gitconfig.index.snapshot import ChangeEvent, Entry
from gitconfig.index.updates import Update, render_update
from gitconfig.service.base import ServiceBase


class BulkUseCases(ServiceBase):
    def read_scope(
        self,
        principal: Principal,
        application: str,
        environment: str,
        include_flags: bool,
    ) -> tuple[str, list[Update]]:
        """``(commit, updates)``: the configurations (and flags when ``include_flags``) of
        ``application``/``environment`` read from one snapshot, configurations first, each kind
        sorted by key. ``commit`` is the snapshot's full sha, ``""`` for an empty repository.
        SECRET values are plaintext where ``principal`` may reveal them (a service that
        uses them), else masked. Raises ``BadRequest`` for an
        invalid name, ``PermissionDenied`` without the read role, ``NotReady`` before the first
        index."""
        errors = [
            error
            for error in (application_error(application), environment_error(environment))
            if error is not None
        ]
        if errors:
            raise BadRequest("invalid snapshot request", errors)
        authorize(principal, "read", application, environment)
        snapshot, env = self.snapshot(), Environment(environment)
        kinds = (Kind.CONFIG, Kind.FLAG) if include_flags else (Kind.CONFIG,)

        def render(entry: Entry) -> Update:
            updated = entry.updated
            event = ChangeEvent(
                updated.commit, ChangeType.CREATED, entry.key, updated.blob, entry.version,
                entry.document,
            )  # fmt: skip
            return render_update(
                event,
                lambda document: self.served_text(principal, document, entry.key, updated.blob),
            )

        entries = [entry for kind in kinds for entry in snapshot.entries(kind, application, env)]
        return snapshot.commit or "", [render(entry) for entry in entries]
