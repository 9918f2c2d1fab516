"""Promote configurations and flags of one application from one environment to another, as
one commit whose message lists what changed.

Each chosen key (default: every key of the source environment) that differs in the target
gets the source's file as it is — value, type, schema, description, tags, or the whole flag.
The promotion is refused as a whole (``BadRequest`` listing every problem, nothing written)
when a promoted file does not validate, when a configuration's value fails the schema the
target holds today, or when a configuration would change type. A SECRET is decrypted here
(never shown) and encrypted again for the target's ``.sops.yaml`` recipients; promoting one
needs the reveal permission on the source (else a promotion into an environment where the
caller may reveal would show it) and is a change only when the plaintexts differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from gitconfig.access.principals import Principal, authorize
from gitconfig.access.reveal import authorize_reveal
from gitconfig.core import configfile, envdiff, validator
from gitconfig.core.errors import BadRequest, FieldError, SecretUnavailable
from gitconfig.core.model import (
    ConfigDocument,
    EntryKey,
    Environment,
    Kind,
    ValueType,
)
from gitconfig.core.paths import application_error, environment_error, key_error
from gitconfig.index.snapshot import Entry, Snapshot
from gitconfig.service.reads import Reads
from gitconfig.service.secretbox import SecretBox
from gitconfig.service.writer import Writer

_SHOWN = 60  # characters of a value in the commit message


@dataclass(frozen=True)
class Promotion:
    application: str
    source: str
    target: str
    keys: Sequence[str] = ()  # empty: every key of the source environment
    dry_run: bool = False
    message: str | None = None


@dataclass(frozen=True)
class PromoteResult:
    """What a promotion changed (or would change, with ``dry_run``): one ``KeyDiff`` per
    target entry, from the target's content (old) to the source's (new); ``unchanged`` the
    chosen keys already equal; ``commit`` None when nothing was written."""

    changes: list[envdiff.KeyDiff]
    unchanged: list[str]
    commit: str | None
    message: str


def _same_ciphertext(old: ConfigDocument, new: ConfigDocument) -> str:
    return envdiff.SAME if old.value == new.value else envdiff.DIFFERS


class Promotions:
    """Promotions read from ``reads`` and written as one commit through ``writer``; SECRET
    plaintexts compared and re-encrypted through ``box``."""

    def __init__(self, reads: Reads, writer: Writer, box: SecretBox) -> None:
        self.reads = reads
        self.writer = writer
        self.box = box

    def _secret_verdict(self, source: Entry, target: Entry | None) -> envdiff.SecretCompare:
        def verdict(old: ConfigDocument, new: ConfigDocument) -> str:
            if target is None:
                return envdiff.DIFFERS
            try:
                same = self.box.plaintext(source) == self.box.plaintext(target)
            except SecretUnavailable:
                return _same_ciphertext(old, new)
            return envdiff.SAME if same else envdiff.DIFFERS

        return verdict

    def promote(self, principal: Principal, promotion: Promotion) -> PromoteResult:
        """Copy the chosen keys from ``promotion.source`` to ``promotion.target`` in one
        commit (see the module docstring). Needs write permission. Raises ``BadRequest``
        for bad names, unknown keys and every value the target refuses."""
        source, target = self._promotion_scope(promotion)
        authorize(principal, "read", promotion.application, source)
        authorize(principal, "write", promotion.application, target)
        if not promotion.dry_run:
            self.writer.writable()
        plans: dict[str | None, tuple[dict[str, bytes | None], PromoteResult]] = {}

        def plan(snapshot: Snapshot) -> tuple[dict[str, bytes | None], PromoteResult]:
            found = plans.get(snapshot.commit)
            if found is None:
                found = plans[snapshot.commit] = self._plan(
                    snapshot, principal, promotion, source, target
                )
            return found

        changes, result = plan(self.reads.snapshot())
        if not changes or promotion.dry_run:
            return result
        keys = tuple(
            EntryKey(diff.kind, promotion.application, target, diff.key) for diff in result.changes
        )
        used: list[PromoteResult] = []  # the plan of the snapshot the commit was made on

        def prepare(snapshot: Snapshot) -> dict[str, bytes | None]:
            planned, outcome = plan(snapshot)
            used.append(outcome)
            return planned

        written = self.writer.commit(principal, keys, prepare, result.message)
        outcome = used[-1]
        if not outcome.changes:
            return outcome
        entry = written.get_key(
            EntryKey(outcome.changes[0].kind, promotion.application, target, outcome.changes[0].key)
        )
        return replace(outcome, commit=entry.updated.commit.sha if entry else written.commit)

    def _promotion_scope(self, promotion: Promotion) -> tuple[Environment, Environment]:
        errors = [
            error
            for error in (
                application_error(promotion.application),
                environment_error(promotion.source, "from"),
                environment_error(promotion.target, "to"),
                *(key_error(key, f"keys.{i}") for i, key in enumerate(promotion.keys)),
            )
            if error is not None
        ]
        if not errors and promotion.source == promotion.target:
            errors.append(FieldError("to", "must differ from the source environment"))
        if errors:
            raise BadRequest("invalid promotion", errors)
        return Environment(promotion.source), Environment(promotion.target)

    def _plan(
        self,
        snapshot: Snapshot,
        principal: Principal,
        promotion: Promotion,
        source: Environment,
        target: Environment,
    ) -> tuple[dict[str, bytes | None], PromoteResult]:
        app = promotion.application
        chosen: list[Entry] = []
        errors: list[FieldError] = []
        if promotion.keys:
            for index, name in enumerate(dict.fromkeys(promotion.keys)):
                found = [
                    entry
                    for kind in (Kind.CONFIG, Kind.FLAG)
                    if (entry := snapshot.get(kind, app, source, name)) is not None
                ]
                if not found:
                    errors.append(FieldError(f"keys.{index}", f"no {app}/{source}/{name}"))
                chosen += found
        else:
            chosen = [
                entry
                for kind in (Kind.CONFIG, Kind.FLAG)
                for entry in self.reads.entries(kind, app, source, snapshot)
            ]
        changes: dict[str, bytes | None] = {}
        diffs: list[envdiff.KeyDiff] = []
        unchanged: list[str] = []
        for entry in chosen:
            key = EntryKey(entry.key.kind, app, target, entry.key.key)
            current = snapshot.get_key(key)
            old = current.document if current is not None else None
            secret = _is_secret(entry)
            if secret:  # its plaintext ends up where the caller may perhaps reveal it
                authorize_reveal(principal, app, source.value)
            verdict = self._secret_verdict(entry, current) if secret else _same_ciphertext
            diff = envdiff.compare_pair(key.kind, key.key, old, entry.document, verdict)
            if diff is None:
                unchanged.append(key.key)
                continue
            try:
                changes[key.path] = self._promoted_file(snapshot, entry, key, current)
                diffs.append(diff)
            except BadRequest as exc:
                errors += exc.errors
        if errors:
            raise BadRequest(
                f"promotion {app} {source} -> {target} refused: nothing was written", errors
            )
        message = promotion.message or _message(app, source, target, diffs)
        return changes, PromoteResult(diffs, unchanged, None, message)

    def _promoted_file(
        self, snapshot: Snapshot, entry: Entry, key: EntryKey, current: Entry | None
    ) -> bytes:
        """The file the target gets, checked against the target; raises ``BadRequest``."""
        field = f"keys.{key.key}"
        data = self.reads.blob(entry.served.blob)
        document = entry.document
        if isinstance(document, ConfigDocument):
            old = current.document if current is not None else None
            if isinstance(old, ConfigDocument):
                if old.value_type is not document.value_type:
                    raise BadRequest(
                        "type change",
                        [
                            FieldError(
                                field,
                                f"is {old.value_type} in {key.environment} and "
                                f"{document.value_type} in {entry.key.environment}: a type "
                                "never changes in place (delete it in the target first)",
                            )
                        ],
                    )
                if old.schema is not None and old.schema != document.schema:
                    guarded = replace(document, schema=old.schema)
                    if problems := configfile.check(guarded, snapshot.schemas):
                        raise BadRequest(
                            "invalid value",
                            [
                                FieldError(
                                    field,
                                    f"fails {key.environment}'s schema: {problem.message}",
                                )
                                for problem in problems
                            ],
                        )
            if document.value_type is ValueType.SECRET:
                try:
                    plaintext = self.box.plaintext(entry)
                except SecretUnavailable as exc:
                    raise BadRequest(
                        "cannot promote a secret", [FieldError(field, exc.reason)]
                    ) from exc
                decrypted = replace(document, value=plaintext, sops=None)
                data = self.box.render_config(key, decrypted, snapshot)  # sops, for the target
        try:
            validator.load_document(key.kind, data, snapshot.schemas)
        except BadRequest as exc:
            raise BadRequest(
                "invalid value",
                [FieldError(field, f"{error.field}: {error.message}") for error in exc.errors],
            ) from exc
        return data


def _is_secret(entry: Entry) -> bool:
    document = entry.document
    return isinstance(document, ConfigDocument) and document.value_type is ValueType.SECRET


def _short(text: str | None) -> str:
    if text is None:
        return "(none)"
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _message(
    application: str, source: Environment, target: Environment, diffs: list[envdiff.KeyDiff]
) -> str:
    """The commit message: a subject line, then one line per key and changed field. SECRET
    values never appear (the diff leaves them out)."""
    lines = [f"Promote {application} {source} -> {target}: {len(diffs)} change(s)", ""]
    for diff in diffs:
        lines.append(f"- {diff.kind.value} {diff.key}: {diff.change}")
        if diff.change == "changed":
            lines += [
                f"    {change.field}: {_short(change.old)} -> {_short(change.new)}"
                for change in diff.fields
            ]
            if diff.secret is not None:
                lines.append(f"    value: SECRET {diff.secret}")
    return "\n".join(lines)
