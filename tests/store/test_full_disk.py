"""A full disk is a clear answer, not an internal error: every write that cannot be stored
answers 507 naming the cause (nothing written), reads go on, and writes work again once
space is freed. The repository lives on a small tmpfs the test mounts (root only)."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from fastapi.testclient import TestClient

from gitconfig.access.principals import TokenRegistry
from gitconfig.rest.app import create_app
from gitconfig.runtime.bootstrap import init_repository, open_service
from tests.support.refusal import unchanged
from tests.support.tokens import ADMIN_TOKEN


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs at ``tmp_path/disk``, unmounted afterwards."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path) -> Path:
    """A file that takes every free byte of ``disk``."""
    filler = disk / "filler"
    with filler.open("wb") as out, pytest.raises(OSError, match="No space left") as raised:
        _write_until_full(out)
    assert raised.value.errno == errno.ENOSPC
    return filler


def _write_until_full(out: BinaryIO) -> None:
    while True:
        out.write(b"\0" * 65536)
        out.flush()


def test_a_full_disk_answers_507_and_reads_go_on(small_disk: Path) -> None:
    repo = small_disk / "config.git"
    init_repository(repo, bare=True)
    service = open_service(repo)
    service.index.refresh()
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    body = {"key": "k", "application": "shop", "environment": "DEV", "valueType": "STRING"}
    with TestClient(create_app(service, tokens), headers=headers) as client:
        created = client.post("/configs", json={**body, "value": "before"})
        assert created.status_code == 201, created.text
        filler = _fill(small_disk)
        kept = unchanged(service)
        refused = [
            client.post("/configs", json={**body, "key": "k2", "value": "x" * 20000}),
            client.put(f"/configs/{created.json()['id']}", json={"value": "y" * 20000}),
        ]
        for answer in refused:
            assert answer.status_code == 507, answer.text
            assert "disk is full" in answer.json()["message"]
            assert str(small_disk) not in answer.text  # no server path
        kept.check()
        lookup = {"application": "shop", "environment": "DEV", "key": "k"}
        assert client.get("/configs/lookup", params=lookup).json()["value"] == "before"
        filler.unlink()
        again = client.post("/configs", json={**body, "key": "k2", "value": "after"})
        assert again.status_code == 201, again.text
