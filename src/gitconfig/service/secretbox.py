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
from gitconfig.core import configfile
from gitconfig.core.errors import SecretUnavailable
from gitconfig.core.model import ConfigDocument, EntryKey, ValueType
from gitconfig.index.snapshot import Entry, Snapshot
from gitconfig.readside import Renderings
from gitconfig.service.base import SOPS_YAML
from gitconfig.store.ports import Store
from gitconfig.store.secrets import Sops

Rendering = TypeVar("Rendering")
_NONE = object()  # nothing kept (a rendering may be None)


class SecretBox:
    """SECRET values of ``store``'s files, decrypted and encrypted by ``sops``; the doors'
    renderings per entry and audience (``renderings``, a ``readside.Renderings``)."""

    def __init__(self, store: Store, sops: Sops) -> None:
        self.store = store
        self.sops = sops
        self.renderings = Renderings[Any]()

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
        return self.sops.reveal(key.path, blob, self.store.read_blob(blob))

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
            return self.sops.reveal(key.path, blob, self.store.read_blob(blob))
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

    def pending(self, principal: Principal, entries: Iterable[Entry]) -> list[Entry]:
        """The SECRETs among ``entries`` that ``principal`` may reveal and that were not
        decrypted yet (rendering them would run sops)."""
        return [
            entry
            for entry in entries
            if isinstance(entry.document, ConfigDocument)
            and entry.document.value_type is ValueType.SECRET
            and not self.sops.known(entry.served.blob)
            and self.may_reveal(principal, entry.key)
        ]

    def decrypt(self, entries: Iterable[Entry]) -> None:
        """Decrypt (and keep) the served value of each SECRET entry; blocking (sops runs
        once per entry). Failures are remembered and reported, not raised."""
        for entry in entries:
            try:
                data = self.store.read_blob(entry.served.blob)
                self.sops.reveal(entry.key.path, entry.served.blob, data)
            except SecretUnavailable:
                continue

    async def ready(self, principal: Principal, entries: Iterable[Entry]) -> None:
        """Decrypt, in a worker thread, the SECRETs among ``entries`` that ``principal`` will
        be shown and that were not decrypted yet, so that rendering them on the event loop
        never waits for a sops process. Failures are remembered, not raised."""
        pending = self.pending(principal, entries)
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
            data = self.store.read_blob(entry.served.blob)
            return self.sops.reveal(entry.key.path, entry.served.blob, data) == plaintext
        except SecretUnavailable:
            return False

    def plaintext(self, entry: Entry) -> str:
        """A SECRET entry's plaintext (``SecretUnavailable`` when this server cannot)."""
        blob = entry.served.blob
        return self.sops.reveal(entry.key.path, blob, self.store.read_blob(blob))

    # -- encryption ------------------------------------------------------------------------------

    def render_config(self, key: EntryKey, document: ConfigDocument, snapshot: Snapshot) -> bytes:
        """The file of ``document`` at ``key``; a SECRET built from a request (plaintext) is
        encrypted by sops for the creation rule of the snapshot's ``.sops.yaml`` first
        (``BadRequest`` when none matches: nothing is written)."""
        if not configfile.is_plaintext_secret(document):
            return configfile.render(document)
        return self.encrypt_file(key.path, configfile.render(document), snapshot)

    def encrypt_file(self, path: str, plaintext_file: bytes, snapshot: Snapshot) -> bytes:
        """``plaintext_file`` encrypted for ``path`` by the snapshot's ``.sops.yaml``."""
        sops_yaml = None
        if snapshot.commit is not None:
            sops_yaml = self.store.read_file(snapshot.commit, SOPS_YAML)
        return self.sops.encrypt(path, plaintext_file, sops_yaml)

    def sops_yaml(self, snapshot: Snapshot) -> bytes | None:
        """The snapshot's ``.sops.yaml`` (None: no commit or no such file)."""
        if snapshot.commit is None:
            return None
        return self.store.read_file(snapshot.commit, SOPS_YAML)
