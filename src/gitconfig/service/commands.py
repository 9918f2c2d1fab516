"""Use-cases in a command's words: an entry named by application, environment and key (not by
its id), the outcome a command reports (``updated``, ``unchanged``...), and the choices a
transport would otherwise make itself (whether a value must be read as a SECRET, which
commit message a change gets by default, one environment or several).

The CLI calls these; REST calls ``import_to``. Each is one call over the id-based use-cases of
``configs``, ``flags``, ``transfer`` and ``multienv``, so every door decides the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gitconfig.access.principals import Principal, authorize
from gitconfig.core import importing
from gitconfig.core.model import ConfigDocument, Environment, Kind, ValueType
from gitconfig.index.snapshot import Entry
from gitconfig.service.configs import ConfigUseCases
from gitconfig.service.flags import FlagChanges, FlagUseCases
from gitconfig.service.multienv import MultiEnvUseCases
from gitconfig.service.transfer import TransferUseCases

UNCHANGED = "unchanged"


def flag_action(changes: FlagChanges) -> str:
    """The verb of a flag change's default commit message: ``Enable``, ``Disable``, ``Set the
    rules of``, or ``Update`` for anything else."""
    if changes.enabled is not None and changes.rules is None:
        return "Enable" if changes.enabled else "Disable"
    if changes.rules is not None and changes.enabled is None:
        return "Set the rules of"
    return "Update"


class CommandUseCases(ConfigUseCases, FlagUseCases, TransferUseCases, MultiEnvUseCases):
    def takes_secret(
        self,
        principal: Principal,
        application: str,
        environment: str,
        key: str,
        value_type: ValueType | None,
    ) -> bool:
        """Whether a ``set`` of this key writes a SECRET: ``value_type`` is SECRET, or no type
        is given and the existing value is a SECRET (its plaintext must then come from a safe
        channel, never the command line). Needs the write permission in the entry's scope
        (``PermissionDenied``)."""
        if value_type is not None:
            return value_type is ValueType.SECRET
        authorize(principal, "write", application, environment)
        existing = self.snapshot().get(Kind.CONFIG, application, Environment(environment), key)
        return (
            existing is not None
            and isinstance(existing.document, ConfigDocument)
            and existing.document.value_type is ValueType.SECRET
        )

    def change_flag(
        self,
        principal: Principal,
        application: str,
        environment: str,
        key: str,
        changes: FlagChanges,
    ) -> tuple[Entry, str]:
        """Update the flag named by key (``NotFound`` when there is none); without a message
        the commit says what changed (``Enable feature flag A/ENV/key``...). Returns the entry
        and ``updated`` or ``unchanged`` (a change that changes nothing makes no commit)."""
        entry = self.lookup(principal, Kind.FLAG, application, environment, key)
        if changes.change_description is None:
            message = f"{flag_action(changes)} feature flag {entry.key}"
            changes = replace(changes, change_description=message)
        updated = self.update_flag(principal, entry.id, changes)
        return updated, UNCHANGED if updated.version == entry.version else "updated"

    def rollback_key(
        self,
        principal: Principal,
        kind: Kind,
        application: str,
        environment: str,
        key: str,
        version_ref: str,
        change_description: str | None = None,
    ) -> tuple[Entry, str]:
        """``rollback`` of the entry named by key to ``version_ref`` (a version number or a
        commit sha). Returns the entry and ``rolled back`` or ``unchanged`` (the version
        already served: no commit)."""
        entry = self.lookup(principal, kind, application, environment, key)
        restored = self.rollback(
            principal, kind, entry.id, version_ref, change_description=change_description
        )
        return restored, UNCHANGED if restored.version == entry.version else "rolled back"

    def import_to(
        self,
        principal: Principal,
        request: importing.ImportRequest,
        environments: Sequence[str] | None = None,
    ) -> importing.ImportResult:
        """Import into ``request.environment`` alone (``import_configs``) or, when
        ``environments`` is given or ``request.environment`` is empty, into every one of
        them, ``request.environment`` first, as one commit (``import_configs_in``: keys
        reported as ``ENV/key``; ``BadRequest`` when no environment is named at all)."""
        if environments is None and request.environment:
            return self.import_configs(principal, request)
        names = [request.environment] if request.environment else []
        return self.import_configs_in(principal, request, names + list(environments or ()))
