"""Feature-flag use-cases: evaluate one or all flags, create, update, change by name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from gitconfig.access.principals import Principal, authorize
from gitconfig.core import flagfile
from gitconfig.core.context import attribute_texts
from gitconfig.core.errors import AlreadyExists, BadRequest
from gitconfig.core.evaluation import Evaluation
from gitconfig.core.model import Environment, FlagDocument, Kind
from gitconfig.core.paths import scope_errors
from gitconfig.index.snapshot import Entry, Snapshot
from gitconfig.readside import Check, EntryChecks, FlagChecks
from gitconfig.service.base import UNCHANGED, new_key
from gitconfig.service.reads import Reads
from gitconfig.service.writer import Writer

FlagCheck = Check[Entry]  # check(user_id, attributes) -> (entry, evaluation)
_ENVIRONMENTS = {environment.value: environment for environment in Environment}


@dataclass(frozen=True)
class NewFlag:
    key: str
    application: str
    environment: str
    description: str | None
    enabled: bool = False
    rules: list[dict[str, Any]] | None = None
    value: Any = None
    tags: list[str] | None = None
    change_description: str | None = None


@dataclass(frozen=True)
class FlagChanges:
    """An update: fields left unset keep their current value (``value`` is set when
    ``value_set``, so a flag's value can be cleared with null)."""

    description: str | None = None
    enabled: bool | None = None
    rules: list[dict[str, Any]] | None = None
    value: Any = None
    value_set: bool = False
    tags: list[str] | None = None
    change_description: str | None = None


@dataclass(frozen=True)
class Evaluations:
    """Every flag of one application and environment evaluated for one context, with the
    commit of the snapshot they were read from."""

    commit: str | None
    results: list[tuple[Entry, Evaluation]]


class Flags:
    """Flag evaluation over ``reads`` (the served snapshot's compiled flags) and flag writes
    through ``writer``. Keeps two read-side caches: each flag entry's check
    (``readside.EntryChecks``, across snapshots) and the checks each principal was allowed,
    by snapshot commit (``readside.FlagChecks``, emptied whenever the index moves)."""

    def __init__(self, reads: Reads, writer: Writer) -> None:
        self.reads = reads
        self.writer = writer
        self.entry_checks = EntryChecks[Entry]()
        self.checks = FlagChecks[FlagCheck]()
        self._allowed = self.checks.get  # bound once: the hot path makes one call
        self._current = reads.index.current  # the served snapshot: ``reads.snapshot``
        reads.index.subscribe(lambda _snapshot, _result: self.checks.clear())

    def evaluate(
        self,
        principal: Principal,
        application: str,
        environment: str,
        key: str,
        user_id: str | None,
        attributes: Mapping[str, object],
    ) -> tuple[Entry, Evaluation]:
        """Evaluate one flag for one context (the same evaluator for every transport):
        ``(entry, evaluation)``. ``attributes`` are typed (strings, numbers, booleans, null),
        converted to the evaluator's text by ``core.context.attribute_text``. Raises
        BadRequest for an attribute of another type or a bad name (field errors),
        PermissionDenied unless ``principal`` may read (application, environment), NotFound
        for a flag that does not exist.

        This runs once per flag check, so the common case costs a few dict lookups next to
        the evaluation (docs/performance.md): attributes that are all strings are used as
        they are; the table of checks (``readside.FlagChecks``), keyed by the snapshot's
        commit and the principal's serial, holds the flag's check once that principal was allowed to
        read it (one dict lookup stands for the lookup and the decision); the answer is a
        precreated ``(entry, evaluation)`` pair of the flag's check
        (``readside.EntryChecks``)."""
        texts: Mapping[str, str] = attributes  # type: ignore[assignment]  # checked just below
        for value in attributes.values():
            if type(value) is not str:
                texts = attribute_texts(attributes)
                break
        snapshot = self._current()
        check = self._allowed((snapshot.commit, principal.serial, application, environment, key))
        if check is None:
            check = self._flag_check(snapshot, principal, application, environment, key)
        return check(user_id, texts)

    def _flag_check(
        self,
        snapshot: Snapshot,
        principal: Principal,
        application: str,
        environment: str,
        key: str,
    ) -> FlagCheck:
        """The flag's check the first time ``snapshot`` is asked for it by this principal
        (kept in the table of checks when the principal may read it), or the error
        ``lookup`` raises: names checked, then the read permission, then NotFound."""
        env = _ENVIRONMENTS.get(environment)
        entry = snapshot.get(Kind.FLAG, application, env, key) if env is not None else None
        if (
            entry is not None
            and entry.flag is not None
            and principal.may("read", application, environment)
        ):
            check = self.entry_checks.check(entry, entry.flag)
            self.checks[(snapshot.commit, principal.serial, application, environment, key)] = check
            return check
        entry = self.reads.lookup(principal, Kind.FLAG, application, environment, key)
        assert entry.flag is not None
        return self.entry_checks.check(entry, entry.flag)

    def create(self, principal: Principal, new: NewFlag) -> Entry:
        key = new_key(principal, Kind.FLAG, new.application, new.environment, new.key)
        mapping = _flag_mapping(
            description=new.description,
            enabled=new.enabled,
            rules=new.rules,
            value=new.value,
            tags=new.tags,
        )

        def build(current: Entry | None, _snapshot: Snapshot) -> bytes:
            if current is not None:
                raise AlreadyExists(f"feature flag {key} already exists (id {current.id})")
            return flagfile.render(flagfile.parse_mapping(mapping))

        message = new.change_description or f"Create feature flag {key}"
        return self.writer.write_entry(principal, key, build, message, None, must_exist=False)

    def update(
        self,
        principal: Principal,
        entry_id: str,
        changes: FlagChanges,
        if_match: int | None = None,
    ) -> Entry:
        key = self.writer.key_for_write(principal, Kind.FLAG, entry_id)

        def build(current: Entry | None, _snapshot: Snapshot) -> bytes:
            assert current is not None
            assert isinstance(current.document, FlagDocument)
            mapping = flagfile.to_mapping(current.document)
            if changes.description is not None:
                mapping["description"] = changes.description
            if changes.enabled is not None:
                mapping["enabled"] = changes.enabled
            if changes.rules is not None:
                mapping["rules"] = changes.rules
            if changes.value_set:
                mapping["value"] = changes.value
            if changes.tags is not None:
                mapping["tags"] = changes.tags
            mapping = {name: v for name, v in mapping.items() if v is not None}
            return flagfile.render(flagfile.parse_mapping(mapping))

        message = changes.change_description or f"Update feature flag {key}"
        return self.writer.write_entry(principal, key, build, message, if_match, must_exist=True)

    def change(
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
        entry = self.reads.lookup(principal, Kind.FLAG, application, environment, key)
        if changes.change_description is None:
            message = f"{flag_action(changes)} feature flag {entry.key}"
            changes = replace(changes, change_description=message)
        updated = self.update(principal, entry.id, changes)
        return updated, UNCHANGED if updated.version == entry.version else "updated"

    def evaluate_all(
        self,
        principal: Principal,
        application: str,
        environment: str,
        user_id: str | None,
        attributes: Mapping[str, object],
    ) -> Evaluations:
        """Every flag of one application and environment for one context (start-up call),
        all from one snapshot, whose commit the answer names. Typed ``attributes`` as in
        ``evaluate``."""
        texts = attribute_texts(attributes)
        if errors := scope_errors(application, environment):
            raise BadRequest("invalid evaluation context", errors)
        authorize(principal, "read", application, environment)
        snapshot = self.reads.snapshot()
        entries = self.reads.entries(Kind.FLAG, application, Environment(environment), snapshot)
        return Evaluations(
            snapshot.commit,
            [(e, e.flag.evaluate(user_id, texts)) for e in entries if e.flag],
        )


def flag_action(changes: FlagChanges) -> str:
    """The verb of a flag change's default commit message: ``Enable``, ``Disable``, ``Set the
    rules of``, or ``Update`` for anything else."""
    if changes.enabled is not None and changes.rules is None:
        return "Enable" if changes.enabled else "Disable"
    if changes.rules is not None and changes.enabled is None:
        return "Set the rules of"
    return "Update"


def _flag_mapping(**fields: Any) -> dict[str, Any]:
    """The file mapping of a flag from request fields; unset (None) fields are left out."""
    return {name: value for name, value in fields.items() if value is not None}
