"""Fixtures of the index tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.index.snapshots import FLAG, SCHEMA
from tests.support.gitrepo import clone, commit_files, init_repo, push


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    """(bare served repository, a clone) with configs of every shape, flags, a schema, a
    fail-static file, a deleted file, an invalid new file, and several commits."""
    served = init_repo(tmp_path / "served.git", bare=True)
    work = clone(served, tmp_path / "work")
    commit_files(
        work,
        {
            "schemas/db.json": SCHEMA,
            "configs/shop/PROD/db.yaml": "type: JSON\nvalue: {host: a, ports: [1, 2.5]}\n"
            'schema: {"$ref": "schemas/db.json"}\n',
            "configs/shop/PROD/name.yaml": "type: STRING\nvalue: shop\ntags: [a, b]\n",
            "configs/shop/DEV/on.yaml": "type: BOOLEAN\nvalue: true\ndescription: d\n",
            "configs/shop/DEV/gone.yaml": "type: NUMBER\nvalue: 1\n",
            "configs/shop/DEV/rate.yaml": "type: NUMBER\nvalue: 0.25\n",
            "flags/shop/PROD/checkout.yaml": FLAG,
            "flags/shop/DEV/checkout.yaml": FLAG,  # the same blob in another place
            "flags/shop/DEV/broken.yaml": "description: x\nenabled: maybe\n",
        },
        "first",
        author="Ann <ann@example.com>",
    )
    commit_files(
        work,
        {
            "configs/shop/DEV/rate.yaml": "type: NUMBER\nvalue: 0.5\n",
            "configs/shop/DEV/gone.yaml": None,
            "configs/shop/DEV/new.yaml": "type: NUMBER\nvalue: [not a number]\n",
        },
        "second",
    )
    commit_files(work, {"configs/shop/DEV/rate.yaml": "type: NUMBER\nvalue: nope\n"}, "broken")
    push(work)
    return served, work
