"""The change stream use-cases: subscribe, with a lossless resume by commit, and the bulk read
an embedded client starts from.

``read_scope`` returns the snapshot's commit and one ``Update`` (type CREATED) per entry, so
that a client builds its local copy with the same code that later applies the stream, and
follows it by streaming with ``resume_after_commit`` set to that commit: no gap, no
duplicate.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence

from gitconfig.access.principals import Principal, authorize
from gitconfig.access.reveal import authorize_reveal
from gitconfig.core.errors import BadRequest, FieldError, RemoteUnavailable
from gitconfig.core.model import ChangeType, ConfigDocument, Environment, Kind
from gitconfig.core.paths import application_error, environment_error, filter_errors, key_error
from gitconfig.index.changes import ChangeHub, Subscription
from gitconfig.index.snapshot import ChangeEvent, Entry
from gitconfig.index.updates import Filter, Update, render_update
from gitconfig.readside import Bounded
from gitconfig.service.reads import Reads
from gitconfig.service.replica import Replicator
from gitconfig.service.secretbox import SecretBox
from gitconfig.store.ports import Store

_ASKED_KEPT = 1024  # resume commits a replica was asked for and is fetching
_FULL_SHA = re.compile(r"[0-9a-f]{40}")


class Streams:
    """Change streams from ``changes`` (the index's change hub), with a resume commit resolved
    in ``store``; the bulk read a client starts from, from ``reads``; SECRET values through
    ``box``."""

    def __init__(
        self,
        reads: Reads,
        box: SecretBox,
        changes: ChangeHub,
        store: Store,
        replica: Replicator | None = None,
    ) -> None:
        self.reads = reads
        self.box = box
        self.changes = changes
        self.store = store
        self.replica = replica  # a replica fetches a resume commit it lacks
        self._asked: Bounded[str, float] = Bounded(_ASKED_KEPT)  # sha -> when first asked

    def watch(
        self,
        principal: Principal,
        application: str | None,
        environment: str | None,
        keys: Sequence[str],
        include_flags: bool,
        resume_after: str | None,
        reveal: bool | None = None,
    ) -> Subscription:
        """Subscribe to changes, live from the current commit, after replaying every change
        after ``resume_after`` (a commit sha, full or a unique 7+ prefix) when given. Call on
        the subscriber's event loop, then ``await subscription.prepare()``.

        SECRET values: ``reveal`` None (gRPC, services that use the values) shows the
        plaintext wherever the principal may reveal it; False always the mask; True asks to
        reveal (``PermissionDenied`` unless the principal may, in the scope asked for)."""
        if reveal:
            if application is not None and environment is not None:
                authorize_reveal(principal, application, environment)
            elif not principal.anywhere("reveal"):
                authorize(principal, "reveal")
        errors = filter_errors(application, environment)
        errors += [
            error
            for error in (key_error(key, f"keys.{i}") for i, key in enumerate(keys))
            if error is not None
        ]
        commit = None
        if resume_after is not None:
            # Any commit: one a force push dropped ends the stream as a rewritten history
            # (the client starts over), where an unknown one is a bad request.
            commit = self.store.resolve(resume_after.strip().lower(), served=False)
            if commit is None:
                self._not_fetched_yet(resume_after.strip().lower())
                message = "not a commit of this repository (a full sha, or a unique 7+ prefix)"
                errors.append(FieldError("resumeAfterCommit", message))
        if errors:
            raise BadRequest("invalid subscription", errors)
        if application is not None and environment is not None:
            authorize(principal, "read", application, environment)
        elif not principal.anywhere("read"):
            authorize(principal, "read")
        self.reads.snapshot()  # NotReady before the first index
        wanted = Filter(
            application,
            Environment(environment) if environment is not None else None,
            frozenset(keys),
            include_flags,
            # Only what the principal may read; None (no check) for a global reader.
            None if principal.may("read") else lambda key: principal.may_key("read", key),
        )

        shown = principal if reveal is not False else None  # None: every SECRET masked

        def render(event: ChangeEvent) -> Update:
            def value(document: ConfigDocument) -> str:
                if shown is None:
                    return self.box.value_text(principal, document)
                return self.box.served_text(shown, document, event.key, event.blob)

            return render_update(event, value)

        # Renderings differ between principals only where a SECRET is revealed: principals
        # with the same reveal grants share them, and every masked rendering is shared.
        audience = principal.reveal_audience if shown is not None else False
        return self.changes.subscribe(wanted, render, commit, audience=audience)

    async def read_scope_async(
        self,
        principal: Principal,
        application: str,
        environment: str,
        include_flags: bool,
    ) -> tuple[str, list[Update]]:
        """``read_scope`` for a caller on an event loop: run in a worker thread, since a
        snapshot may decrypt many SECRETs (a sops run each), which would otherwise stall every
        other call and stream of the server meanwhile."""
        return await asyncio.to_thread(
            self.read_scope, principal, application, environment, include_flags
        )

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
        snapshot, env = self.reads.snapshot(), Environment(environment)
        kinds = (Kind.CONFIG, Kind.FLAG) if include_flags else (Kind.CONFIG,)

        def render(entry: Entry) -> Update:
            updated = entry.updated
            event = ChangeEvent(
                updated.commit,
                ChangeType.CREATED,
                entry.key,
                updated.blob,
                entry.version,
                entry.document,
            )
            return render_update(
                event,
                lambda document: self.box.served_text(principal, document, entry.key, updated.blob),
            )

        listed = self.reads.entries
        entries = [entry for kind in kinds for entry in listed(kind, application, env, snapshot)]
        return snapshot.commit or "", [render(entry) for entry in entries]

    def _not_fetched_yet(self, sha: str) -> None:
        """On a replica, a full commit sha it lacks may be one another replica served (a
        client failing over): fetch, and answer ``RemoteUnavailable`` (retryable: gRPC
        UNAVAILABLE, REST 503 with ``Retry-After``) until a fetch that started after the
        first ask has finished without bringing it (then it is unknown: 400). Never served
        from an older snapshot: the client keeps what it has."""
        replica = self.replica
        if replica is None or not _FULL_SHA.fullmatch(sha):
            return
        asked = self._asked.get(sha)
        last = replica.last_success
        if asked is not None and last is not None and last > asked and not replica.fetching:
            del self._asked[sha]
            return  # fetched since it was first asked for, and still not here: unknown
        if asked is None:
            self._asked[sha] = time.time()
        replica.trigger()
        raise RemoteUnavailable(
            f"this replica has not fetched commit {sha[:12]} yet: retry shortly",
            retry_after=1,
        )
