"""The change stream use-case: subscribe, with a lossless resume by commit."""

from __future__ import annotations

from collections.abc import Sequence

from gitconfig.access.principals import Principal, authorize
from gitconfig.access.reveal import authorize_reveal
from gitconfig.core.errors import BadRequest, FieldError
from gitconfig.core.model import ConfigDocument, Environment
from gitconfig.core.paths import filter_errors, key_error
from gitconfig.index.changes import Subscription
from gitconfig.index.snapshot import ChangeEvent
from gitconfig.index.updates import Filter, Update, render_update
from gitconfig.service.base import ServiceBase


class StreamUseCases(ServiceBase):
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
            commit = self.store.resolve(resume_after.strip().lower())
            if commit is None:
                message = "not a commit of this repository (a full sha, or a unique 7+ prefix)"
                errors.append(FieldError("resumeAfterCommit", message))
        if errors:
            raise BadRequest("invalid subscription", errors)
        if application is not None and environment is not None:
            authorize(principal, "read", application, environment)
        elif not principal.anywhere("read"):
            authorize(principal, "read")
        self.snapshot()  # NotReady before the first index
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
                    return self.value_text(principal, document)
                return self.served_text(shown, document, event.key, event.blob)

            return render_update(event, value)

        # Renderings differ between principals only where a SECRET is revealed: principals
        # with the same reveal grants share them, and every masked rendering is shared.
        audience = principal.reveal_audience if shown is not None else False
        return self.changes.subscribe(wanted, render, commit, audience=audience)
