"""``SecretBox``: every decision about a SECRET's plaintext, in one object — what a caller may
be shown, encryption of a new value for its path's ``.sops.yaml`` rule, and decryption
(``Sops``: sops runs once per blob and its answer is kept), including off the event loop.

Transports never decide what to decrypt and never start a thread for sops: before rendering
entries on an event loop they ``await box.ready(principal, entries)``, which decrypts in a
worker thread exactly the SECRETs that caller will be shown and were not decrypted yet; the
rendering then reads the kept plaintext (``served_text``, ``value_text``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from gitconfig.access.principals import Principal
from gitconfig.access.reveal import authorize_reveal, may_reveal
from gitconfig.core import configfile, sopsrules
from gitconfig.core.errors import BadRequest, FieldError, SecretUnavailable
from gitconfig.core.model import ConfigDocument, Document, EntryKey, ValueType
from gitconfig.index.snapshot import Entry, Snapshot
from gitconfig.readside import Bounded, Renderings
from gitconfig.service.base import SOPS_YAML, VersionView
from gitconfig.service.reads import Reads
from gitconfig.store.ports import Store
from gitconfig.store.secrets import Sops

Rendering = TypeVar("Rendering")
_RULES_KEPT = 16  # parsed .sops.yaml files kept, by commit (one per served snapshot)
_NONE = object()  # nothing kept (a rendering may be None)


class SecretBox:
    """SECRET values of ``store``'s files, decrypted and encrypted by ``sops``; the served
    snapshot's ``.sops.yaml`` (through ``reads``) says for whom each path's SECRET must be
    encrypted: one that is not is never revealed (``reveal``). The doors' renderings per
    entry and audience are kept in ``renderings`` (a ``readside.Renderings``)."""

    def __init__(self, reads: Reads, store: Store, sops: Sops) -> None:
        self.reads = reads
        self.store = store
        self.sops = sops
        self.renderings = Renderings[Any]()
        self._rules: Bounded[str | None, list[sopsrules.Rule]] = Bounded(_RULES_KEPT)  # by commit

    # -- the binding of a SECRET to its path ---------------------------------------------------

    def rules(self, snapshot: Snapshot | None = None) -> list[sopsrules.Rule]:
        """The creation rules of ``snapshot``'s ``.sops.yaml`` (default: the served one);
        none when it has none or it does not parse (the validator reports that)."""
        snapshot = snapshot if snapshot is not None else self.reads.snapshot()
        found = self._rules.get(snapshot.commit)
        if found is None:
            data = self.sops_yaml(snapshot)
            try:
                found = [] if data is None else sopsrules.parse(data)
            except BadRequest:
                found = []
            found = self._rules.put(snapshot.commit, found)
        return found

    def unbound(self, path: str, document: Document | None) -> str | None:
        """Why the SECRET ``document`` at ``path`` may not be revealed — it is not encrypted
        for the served ``.sops.yaml`` creation rule of its path (``sopsrules``) — or None."""
        if not isinstance(document, ConfigDocument) or document.value_type is not ValueType.SECRET:
            return None
        return sopsrules.binding_problem(path, document.sops, self.rules())

    def reveal(self, path: str, blob: str, document: Document | None) -> str:
        """The plaintext of the SECRET ``document`` at ``path`` (file ``blob``), decrypted once
        per blob; ``SecretUnavailable`` when it is not bound to its path or this server cannot
        decrypt it."""
        problem = self.unbound(path, document)
        if problem is not None:
            raise SecretUnavailable(path, problem)
        return self.sops.reveal(path, blob, self.store.read_blob(blob))

    # -- what a caller is shown ----------------------------------------------------------------

    def may_reveal(self, principal: Principal, key: EntryKey) -> bool:
        """Whether ``principal`` may see the plaintext of the SECRET ``key``."""
        return may_reveal(principal, key.application, key.environment.value)

    def reveals_to(self, principal: Principal, entry: Entry) -> bool:
        """Whether a service reading ``entry`` (gRPC, streams) is served its plaintext: it
        is a SECRET and ``principal`` may reveal it in the entry's scope."""
        document = entry.document
        return (
            isinstance(document, ConfigDocument)
            and document.value_type is ValueType.SECRET
            and self.may_reveal(principal, entry.key)
        )

    def value_text(
        self,
        principal: Principal,
        document: ConfigDocument,
        key: EntryKey | None = None,
        blob: str | None = None,
        reveal: bool = False,
    ) -> str:
        """The API string of a value. A SECRET is ``configfile.MASK`` unless ``reveal`` is
        asked for the entry ``key`` whose file is ``blob``: then the caller must be allowed
        to reveal in the entry's scope (else ``PermissionDenied``) and the plaintext is
        decrypted once per blob (``SecretUnavailable`` when this server cannot)."""
        if document.value_type is not ValueType.SECRET or not reveal:
            return configfile.api_value_text(document, reveal=False)
        if key is None or blob is None:
            raise AssertionError("revealing a secret needs its entry key and blob")
        authorize_reveal(principal, key.application, key.environment.value)
        return self.reveal(key.path, blob, document)

    def served_text(
        self, principal: Principal, document: ConfigDocument, key: EntryKey, blob: str | None
    ) -> str:
        """The value for a service that uses it (gRPC, streams, Spring): a SECRET's plaintext
        when ``principal`` may reveal it in the entry's scope, else the mask; also the mask
        when this server cannot decrypt it (reported by ``/status``)."""
        if document.value_type is not ValueType.SECRET or blob is None:
            return configfile.api_value_text(document, reveal=False)
        if not may_reveal(principal, key.application, key.environment.value):
            return configfile.MASK
        try:
            return self.reveal(key.path, blob, document)
        except SecretUnavailable:
            return configfile.MASK

    def rendering(
        self, principal: Principal, entry: Entry, name: str, render: Callable[[], Rendering]
    ) -> Rendering:
        """The rendering ``name`` of ``entry`` for ``principal``: ``render()`` once per entry
        and audience (masked or revealed, ``reveals_to``), kept in ``renderings`` under
        ``(entry, "{name}.{revealed}")``. A revealed rendering is kept once sops has answered
        for the blob (the plaintext, or a failure it reported), never the mask of a sops that
        could not run (the next request tries again)."""
        revealed = self.reveals_to(principal, entry)
        key = (entry, f"{name}.{revealed}")
        renderings = self.renderings
        kept = renderings.get(key, _NONE)
        if kept is not _NONE:
            return kept  # type: ignore[no-any-return]
        made = render()
        if not revealed or self.sops.known(entry.served.blob):
            renderings[key] = made
        return made

    # -- decryption ------------------------------------------------------------------------------

    def pending(
        self,
        principal: Principal,
        entries: Iterable[Entry] = (),
        versions: Iterable[VersionView] = (),
    ) -> list[tuple[EntryKey, str, ConfigDocument]]:
        """The SECRET files (key, blob, document) among the served values of ``entries`` and
        the ``versions`` that ``principal`` may reveal and that were not decrypted yet:
        rendering them would run sops."""
        files: list[tuple[EntryKey, str, Document | None]]
        files = [(entry.key, entry.served.blob, entry.document) for entry in entries]
        files += [(view.entry.key, view.version.blob, view.document) for view in versions]
        return [
            (key, blob, document)
            for key, blob, document in files
            if isinstance(document, ConfigDocument)
            and document.value_type is ValueType.SECRET
            and not self.sops.known(blob)
            and self.may_reveal(principal, key)
        ]

    def decrypt(self, files: Iterable[tuple[EntryKey, str, ConfigDocument]]) -> None:
        """Decrypt (and keep) each SECRET file (key, blob, document); blocking (sops runs
        once per file). Failures are remembered and reported, not raised."""
        for key, blob, document in files:
            try:
                self.reveal(key.path, blob, document)
            except SecretUnavailable:
                continue

    async def ready(
        self,
        principal: Principal,
        entries: Iterable[Entry] = (),
        versions: Iterable[VersionView] = (),
    ) -> None:
        """Decrypt, in a worker thread, the SECRETs among ``entries`` (their served values)
        and ``versions`` that ``principal`` will be shown and that were not decrypted yet, so
        that rendering them on the event loop never waits for a sops process. Failures are
        remembered, not raised."""
        pending = self.pending(principal, entries, versions)
        if pending:
            await asyncio.to_thread(self.decrypt, pending)

    def same_secret(self, entry: Entry, plaintext: str) -> bool:
        """Whether the SECRET ``entry`` already holds ``plaintext`` (False when this server
        cannot decrypt it): a write of the same value keeps the ciphertext, and makes no
        commit when nothing else changes."""
        document = entry.document
        if not isinstance(document, ConfigDocument) or document.value_type is not ValueType.SECRET:
            return False
        try:
            return self.reveal(entry.key.path, entry.served.blob, document) == plaintext
        except SecretUnavailable:
            return False

    def plaintext(self, entry: Entry) -> str:
        """A SECRET entry's plaintext (``SecretUnavailable`` when this server cannot)."""
        return self.reveal(entry.key.path, entry.served.blob, entry.document)

    # -- encryption ------------------------------------------------------------------------------

    def render_config(self, key: EntryKey, document: ConfigDocument, snapshot: Snapshot) -> bytes:
        """The file of ``document`` at ``key``; a SECRET built from a request (plaintext) is
        encrypted by sops for the creation rule of the snapshot's ``.sops.yaml`` first
        (``BadRequest`` when none matches: nothing is written)."""
        if not configfile.is_plaintext_secret(document):
            return configfile.render(document)
        return self.encrypt_file(key.path, configfile.render(document), snapshot)

    def encrypt_file(self, path: str, plaintext_file: bytes, snapshot: Snapshot) -> bytes:
        """``plaintext_file`` encrypted for ``path`` by the snapshot's ``.sops.yaml``.
        ``BadRequest`` (nothing written) when the rule for ``path`` is one gitconfig cannot
        use (``sopsrules.rule_problems``: it names the rule) or when sops refuses."""
        rule = sopsrules.rule_for(self.rules(snapshot), path)
        if rule is not None and (problems := sopsrules.rule_problems([rule])):
            message = f"cannot encrypt {path}: {problems[0].message}"
            raise BadRequest(message, [FieldError("valueType", p.message) for p in problems])
        return self.sops.encrypt(path, plaintext_file, self.sops_yaml(snapshot))

    def sops_yaml(self, snapshot: Snapshot) -> bytes | None:
        """The snapshot's ``.sops.yaml`` (None: no commit or no such file)."""
        if snapshot.commit is None:
            return None
        return self.store.read_file(snapshot.commit, SOPS_YAML)
