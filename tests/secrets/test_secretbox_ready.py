"""``SecretBox.ready``: a door on an event loop asks the service to decrypt what a caller will
be shown, and sops runs in a worker thread — once per blob, only for what the caller may
reveal — so that rendering on the loop then finds the plaintext kept."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from gitconfig.access.principals import Principal
from gitconfig.core.model import ConfigDocument, Kind
from gitconfig.service import NewConfig
from gitconfig.store.secrets import Sops
from tests.support.agekeys import secret_service

ADMIN = Principal("admin", frozenset({"admin"}))
READER = Principal("reader", frozenset({"read"}))


class _ThreadsOfSops(Sops):
    """The real sops (same identities, nothing decrypted yet), noting the thread of every
    decryption it runs."""

    def __init__(self, sops: Sops) -> None:
        super().__init__(sops._env)
        self.threads: list[int] = []

    def reveal(self, path: str, blob: str, data: bytes) -> str:
        if not self.known(blob):
            self.threads.append(threading.get_ident())
        return super().reveal(path, blob, data)


def test_ready_decrypts_off_the_loop_only_what_the_caller_may_see(
    bare_repo: Path, tmp_path: Path
) -> None:
    service, _keys = secret_service(bare_repo, tmp_path)
    service.configs.create(ADMIN, NewConfig("token", "shop", "PROD", "SECRET", "s3cret"))
    service.configs.create(ADMIN, NewConfig("other", "shop", "DEV", "SECRET", "dev-s3cret"))
    box = service.box
    box.sops = sops = _ThreadsOfSops(box.sops)
    entries = service.reads.lookup_many(ADMIN, Kind.CONFIG, "shop", "PROD", [])
    entries += service.reads.lookup_many(ADMIN, Kind.CONFIG, "shop", "DEV", [])
    assert len(box.pending(ADMIN, entries)) == 2
    assert box.pending(READER, entries) == []  # a reader is shown the mask: nothing to decrypt

    async def door() -> int:
        await box.ready(READER, entries)
        assert sops.threads == []
        await box.ready(ADMIN, entries)
        return threading.get_ident()

    loop_thread = asyncio.run(door())
    assert len(sops.threads) == 2
    assert loop_thread not in sops.threads
    assert box.pending(ADMIN, entries) == []  # kept: rendering on the loop runs no sops
    prod = next(e for e in entries if e.key.key == "token")
    document = prod.document
    assert isinstance(document, ConfigDocument)
    assert box.value_text(ADMIN, document, prod.key, prod.served.blob, reveal=True) == "s3cret"
    assert len(sops.threads) == 2
