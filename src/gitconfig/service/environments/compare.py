"""Compare two environments of one application, each at the branch head, a commit or a date.

A side is ``ENV``, ``ENV@<commit>`` (a sha or a unique 7+ prefix) or ``ENV@<date>`` (an
ISO-8601 date or instant: the last commit of the tracked branch's first-parent history made at
or before it). The head is read from the index's snapshot; an older side from that commit's
tree (blobs parsed through the index's cache, so a repeated compare costs no parsing).

SECRET values are compared without ever being shown: by their plaintexts when the caller may
reveal secrets in both environments and ``secret_plaintext`` can decrypt them, else by
ciphertext identity (the same ``ENC[...]`` text is the same value; a different one is ``not
comparable``), and as ``not comparable`` when the caller may not reveal secrets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from gitconfig.access.principals import Principal, authorize
from gitconfig.access.reveal import may_reveal
from gitconfig.core import configfile, envdiff, validator
from gitconfig.core.errors import BadRequest, FieldError, SecretUnavailable
from gitconfig.core.model import ConfigDocument, Document, EntryKey, Environment, Kind, ValueType
from gitconfig.core.paths import application_error, is_schema_path, parse_entry_path
from gitconfig.index.refresher import Index
from gitconfig.service.reads import Reads
from gitconfig.service.secretbox import SecretBox
from gitconfig.store.ports import Store

_SHA = re.compile(r"[0-9a-fA-F]{7,40}")


@dataclass(frozen=True)
class Side:
    """One side of a comparison: the environment and the commit it was read at (None: the
    branch has no commits). ``at`` is the ``@`` part as asked (None: the branch head)."""

    environment: Environment
    commit: str | None
    at: str | None = None


@dataclass(frozen=True)
class Comparison:
    application: str
    old: Side
    new: Side
    differences: list[envdiff.KeyDiff]


Files = dict[envdiff.SideKey, tuple[str, Document]]  # (blob id, document) per key


def _secret(document: Document) -> bool:
    return isinstance(document, ConfigDocument) and document.value_type is ValueType.SECRET


class Comparisons:
    """Comparisons read from ``reads`` (the head), ``store`` and ``index`` (an older side's
    files, parsed through the index's cache); SECRET verdicts through ``box``."""

    def __init__(self, reads: Reads, box: SecretBox, store: Store, index: Index) -> None:
        self.reads = reads
        self.box = box
        self.store = store
        self.index = index

    def compare(self, principal: Principal, application: str, old: str, new: str) -> Comparison:
        """The differences from side ``old`` to side ``new`` (``ENV[@commit|@date]``) of
        ``application``: see ``core.envdiff`` for their shape. Raises ``BadRequest`` (field
        ``application``, ``from`` or ``to``) for a bad name, side, commit or date."""
        errors = [e for e in (application_error(application),) if e is not None]
        parsed = []
        for field, text in (("from", old), ("to", new)):
            try:
                parsed.append(self._side(text, field))
            except BadRequest as exc:
                errors += exc.errors
        if errors:
            raise BadRequest("invalid comparison", errors)
        for side in parsed:
            authorize(principal, "read", application, side.environment)
        (old_side, old_files), (new_side, new_files) = (
            self._documents(application, side) for side in parsed
        )
        # Where each SECRET document's file is (path, blob), to decrypt it for the verdict.
        files = {
            id(document): (EntryKey(kind, application, side.environment, key).path, blob)
            for side, found in ((old_side, old_files), (new_side, new_files))
            for (kind, key), (blob, document) in found.items()
            if _secret(document)
        }
        # The same blob is the same content: only a SECRET still needs its verdict.
        equal = {
            key
            for key in old_files.keys() & new_files.keys()
            if old_files[key][0] == new_files[key][0] and not _secret(old_files[key][1])
        }
        old_docs = {key: doc for key, (_blob, doc) in old_files.items() if key not in equal}
        new_docs = {key: doc for key, (_blob, doc) in new_files.items() if key not in equal}
        reveal = all(may_reveal(principal, application, side.environment.value) for side in parsed)
        differences = envdiff.compare(old_docs, new_docs, self._secret_comparer(reveal, files))
        return Comparison(application, old_side, new_side, differences)

    # -- SECRET values ------------------------------------------------------------------------

    def _secret_comparer(
        self, reveal: bool, files: dict[int, tuple[str, str]]
    ) -> envdiff.SecretCompare:
        """The verdict on two SECRET values: ``same`` or ``differs`` by their plaintexts
        (decrypted here, never returned), ``not comparable`` unless the caller may reveal
        both sides or when this server cannot decrypt one."""

        def secret_plaintext(document: ConfigDocument) -> str | None:
            where = files.get(id(document))
            if where is None:
                return None
            path, blob = where
            try:
                return self.box.reveal(path, blob, document)
            except SecretUnavailable:
                return None

        def plaintext(document: ConfigDocument) -> str | None:
            if document.value_type is ValueType.SECRET:
                return secret_plaintext(document)
            return configfile.value_text(document)

        def verdict(old: ConfigDocument, new: ConfigDocument) -> str:
            if not reveal:
                return envdiff.NOT_COMPARABLE
            before, after = plaintext(old), plaintext(new)
            if before is not None and after is not None:
                return envdiff.SAME if before == after else envdiff.DIFFERS
            if old.value_type is ValueType.SECRET and new.value == old.value:
                return envdiff.SAME  # the very same ciphertext
            return envdiff.NOT_COMPARABLE

        return verdict

    # -- sides --------------------------------------------------------------------------------

    def _side(self, text: str, field: str) -> Side:
        environment, _, at = text.partition("@")
        env = environment.strip().upper()
        if env not in Environment.__members__:
            choices = ", ".join(Environment)
            raise BadRequest(
                "invalid side",
                [FieldError(field, f"unknown environment {environment!r}; one of {choices}")],
            )
        if not at:
            return Side(Environment(env), self.reads.snapshot().commit)
        return Side(Environment(env), self._commit_at(at.strip(), field), at.strip())

    def _commit_at(self, at: str, field: str) -> str:
        """The commit a side's ``@`` part names: a sha (prefix), or the last commit of the
        branch's first-parent history at or before a date."""
        if _SHA.fullmatch(at):
            found = self.store.resolve(at)
            if found is not None:
                return found
            if not (len(at) in (8, 10) and at.isdigit()):  # else perhaps a date: 20260131
                raise BadRequest("invalid side", [FieldError(field, f"unknown commit {at!r}")])
        try:
            moment = datetime.fromisoformat(at.upper().replace("Z", "+00:00"))
        except ValueError:
            message = f"{at!r} is neither a commit nor an ISO-8601 date (2026-01-31T09:30:00Z)"
            raise BadRequest("invalid side", [FieldError(field, message)]) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        head = self.reads.snapshot().commit
        chain = self.store.first_parent_chain(head, None) if head is not None else []
        before = [commit for commit in chain if commit.time <= moment]
        if not before:
            message = f"the branch has no commit at or before {at}"
            raise BadRequest("invalid side", [FieldError(field, message)])
        return before[-1].sha

    def _documents(self, application: str, side: Side) -> tuple[Side, Files]:
        snapshot = self.reads.snapshot()
        if side.at is None:
            return side, {
                (kind, entry.key.key): (entry.served.blob, entry.document)
                for kind in (Kind.CONFIG, Kind.FLAG)
                for entry in self.reads.entries(kind, application, side.environment, snapshot)
            }
        assert side.commit is not None
        prefixes = tuple(f"{kind.folder}/{application}/{side.environment.value}/" for kind in Kind)
        files = list(self.store.files(side.commit))
        schemas = {}
        for path, blob in files:
            if is_schema_path(path):
                schema, problems, _line = validator.parse_schema(self.store.read_blob(blob))
                if not problems:
                    schemas[path] = schema
        documents: Files = {}
        for path, blob in files:
            if not path.startswith(prefixes):
                continue
            key = parse_entry_path(path)
            if isinstance(key, FieldError):
                continue
            try:
                document = self.index.document(path, key.kind, blob, schemas)
                documents[(key.kind, key.key)] = (blob, document)
            except BadRequest:
                continue  # a file that did not validate at that commit is left out
        return side, documents
