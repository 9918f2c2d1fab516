"""The index against real repositories changed by hand with the git CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitconfig.core.errors import NotReady
from gitconfig.core.model import ChangeType, ConfigDocument, Environment, Kind
from gitconfig.index.refresher import Index
from gitconfig.store.gitstore import GitStore
from tests.support.gitrepo import clone, commit_files, git, init_repo, push

LIMIT = "configs/trading-engine/PROD/max-order-size.yaml"
SWITCH = "configs/trading-engine/PROD/kill-switch.yaml"


def number(value: object) -> str:
    return f"type: NUMBER\nvalue: {value}\ndescription: a number\n"


class CountingStore(GitStore):
    """The real store, counting blob reads (to show that a refresh re-parses little)."""

    reads = 0

    def read_blob(self, sha: str) -> bytes:
        CountingStore.reads += 1
        return super().read_blob(sha)


@pytest.fixture
def work(tmp_path: Path) -> tuple[Path, Path]:
    """(bare served repository, a clone to commit and push from)."""
    served = init_repo(tmp_path / "served.git", bare=True)
    checkout = clone(served, tmp_path / "checkout")
    commit_files(checkout, {"README.md": "hello"}, "init")
    push(checkout)
    return served, checkout


def value(index: Index, path: str = LIMIT) -> object:
    app, env, key = path.split("/")[1:4]
    entry = index.current().get(Kind.CONFIG, app, Environment(env), key[: -len(".yaml")])
    assert entry is not None
    assert isinstance(entry.document, ConfigDocument)
    return entry.document.value


def test_not_ready_until_the_first_refresh(work: tuple[Path, Path]) -> None:
    index = Index(GitStore(work[0]))
    assert not index.ready
    with pytest.raises(NotReady):
        index.current()
    index.refresh()
    assert index.ready
    assert len(index.current()) == 0


def test_versions_count_content_changes_along_first_parent(work: tuple[Path, Path]) -> None:
    served, checkout = work
    commit_files(checkout, {LIMIT: number(1)}, "one")
    commit_files(checkout, {SWITCH: "type: BOOLEAN\nvalue: false\n"}, "unrelated")
    commit_files(checkout, {LIMIT: number(2)}, "two")
    push(checkout)
    index = Index(GitStore(served))
    index.refresh()
    entry = index.current().get(Kind.CONFIG, "trading-engine", Environment.PROD, "max-order-size")
    assert entry is not None
    assert [v.number for v in entry.versions] == [1, 2]
    assert [v.commit.message.strip() for v in entry.versions] == ["one", "two"]
    assert entry.version == 2

    # A hand-made `git revert` is a rollback: a new version with the old content.
    git(checkout, "revert", "--no-edit", "HEAD")
    push(checkout)
    result = index.refresh()
    assert value(index) == 1
    entry = index.current().get(Kind.CONFIG, "trading-engine", Environment.PROD, "max-order-size")
    assert entry is not None
    assert entry.version == 3
    assert [(e.type, e.key.key) for e in result.events] == [(ChangeType.UPDATED, "max-order-size")]


def test_refresh_reads_only_the_changed_blobs(tmp_path: Path) -> None:
    served = init_repo(tmp_path / "served.git", bare=True)
    checkout = clone(served, tmp_path / "checkout")
    commit_files(checkout, {f"configs/app/DEV/key-{i}.yaml": number(i) for i in range(50)}, "many")
    push(checkout)
    index = Index(CountingStore(served))
    index.refresh()
    assert len(index.current()) == 50
    CountingStore.reads = 0
    commit_files(checkout, {"configs/app/DEV/key-7.yaml": number(700)}, "one file")
    push(checkout)
    result = index.refresh()
    assert CountingStore.reads == 1
    assert [e.type for e in result.events] == [ChangeType.UPDATED]
    assert len(index.current()) == 50


def test_an_invalid_file_is_served_fail_static_and_reported(work: tuple[Path, Path]) -> None:
    served, checkout = work
    commit_files(checkout, {LIMIT: number(5), SWITCH: "type: BOOLEAN\nvalue: true\n"}, "good")
    push(checkout)
    index = Index(GitStore(served))
    index.refresh()
    bad = commit_files(
        checkout,
        {LIMIT: "type: NUMBER\nvalue: lots\n", "configs/new/DEV/broken.yaml": "value: [1"},
        "pushed around the hooks",
    )
    push(checkout)
    index.refresh()
    snapshot = index.current()
    assert value(index) == 5  # the last valid content is still served
    assert value(index, SWITCH) is True  # the rest is served as usual
    assert set(snapshot.problems) == {LIMIT, "configs/new/DEV/broken.yaml"}
    assert snapshot.problems[LIMIT].commit == bad
    assert snapshot.get(Kind.CONFIG, "new", Environment.DEV, "broken") is None
    entry = snapshot.get(Kind.CONFIG, "trading-engine", Environment.PROD, "max-order-size")
    assert entry is not None
    assert entry.version == 2
    assert entry.served.number == 1

    commit_files(checkout, {LIMIT: number(6)}, "fixed")
    push(checkout)
    index.refresh()
    assert value(index) == 6
    assert LIMIT not in index.current().problems


def test_names_differing_only_in_case_collide(work: tuple[Path, Path]) -> None:
    served, checkout = work
    commit_files(checkout, {"configs/app/DEV/Limit.yaml": number(1)}, "one")
    commit_files(checkout, {"configs/app/DEV/limit.yaml": number(2)}, "two")
    push(checkout)
    index = Index(GitStore(served))
    index.refresh()
    assert "configs/app/DEV/limit.yaml" in index.current().problems
    assert index.current().get(Kind.CONFIG, "app", Environment.DEV, "Limit") is not None
    assert index.current().get(Kind.CONFIG, "app", Environment.DEV, "limit") is None


def test_bad_paths_are_reported_and_other_files_ignored(work: tuple[Path, Path]) -> None:
    served, checkout = work
    commit_files(
        checkout,
        {
            "configs/app/QA/limit.yaml": number(1),
            "configs/app/DEV/limit.yml": number(1),
            "docs/notes.yaml": "anything",
            "CODEOWNERS": "configs/*/PROD/ @risk",
        },
        "misc",
    )
    push(checkout)
    index = Index(GitStore(served))
    index.refresh()
    assert set(index.current().problems) == {
        "configs/app/QA/limit.yaml",
        "configs/app/DEV/limit.yml",
    }
    assert len(index.current()) == 0


def test_a_shared_schema_change_revalidates_its_users(work: tuple[Path, Path]) -> None:
    served, checkout = work
    schema = {"type": "number", "minimum": 0}
    config = "type: NUMBER\nvalue: 5\nschema: {$ref: schemas/positive.json}\n"
    commit_files(checkout, {"schemas/positive.json": json.dumps(schema), LIMIT: config}, "a")
    push(checkout)
    index = Index(GitStore(served))
    index.refresh()
    assert value(index) == 5
    assert not index.current().problems
    stricter = {"type": "number", "minimum": 10}
    commit_files(checkout, {"schemas/positive.json": json.dumps(stricter)}, "stricter")
    push(checkout)
    index.refresh()
    assert LIMIT in index.current().problems
    assert value(index) == 5  # still served: fail-static


def test_a_rewritten_branch_is_reindexed(work: tuple[Path, Path]) -> None:
    served, checkout = work
    commit_files(checkout, {LIMIT: number(1)}, "one")
    commit_files(checkout, {LIMIT: number(2)}, "two")
    push(checkout)
    index = Index(GitStore(served))
    index.refresh()
    git(checkout, "reset", "--hard", "HEAD~1")
    commit_files(checkout, {SWITCH: "type: BOOLEAN\nvalue: true\n"}, "other")
    git(checkout, "push", "--quiet", "--force", "origin", "main")
    index.refresh()
    assert value(index) == 1
    assert value(index, SWITCH) is True
    entry = index.current().get(Kind.CONFIG, "trading-engine", Environment.PROD, "max-order-size")
    assert entry is not None
    assert entry.version == 1


def test_delete_and_recreate_keeps_counting(work: tuple[Path, Path]) -> None:
    served, checkout = work
    index = Index(GitStore(served))
    commit_files(checkout, {LIMIT: number(1)}, "create")
    push(checkout)
    index.refresh()
    commit_files(checkout, {LIMIT: None}, "delete")
    push(checkout)
    result = index.refresh()
    assert [e.type for e in result.events] == [ChangeType.DELETED]
    assert (
        index.current().get(Kind.CONFIG, "trading-engine", Environment.PROD, "max-order-size")
        is None
    )
    commit_files(checkout, {LIMIT: number(3)}, "again")
    push(checkout)
    result = index.refresh()
    assert [e.type for e in result.events] == [ChangeType.CREATED]
    entry = index.current().get(Kind.CONFIG, "trading-engine", Environment.PROD, "max-order-size")
    assert entry is not None
    assert entry.version == 2


def test_a_config_waiting_for_its_shared_schema_is_served_once_it_arrives(
    work: tuple[Path, Path],
) -> None:
    served, checkout = work
    config = "type: NUMBER\nvalue: 5\nschema: {$ref: schemas/positive.json}\n"
    commit_files(checkout, {LIMIT: config}, "config before its schema")
    push(checkout)
    index = Index(GitStore(served))
    index.refresh()
    assert LIMIT in index.current().problems
    assert (
        index.current().get(Kind.CONFIG, "trading-engine", Environment.PROD, "max-order-size")
        is None
    )
    schema = {"type": "number", "minimum": 0}
    commit_files(checkout, {"schemas/positive.json": json.dumps(schema)}, "the schema")
    push(checkout)
    result = index.refresh()
    assert not index.current().problems
    assert value(index) == 5
    assert [(e.type, e.key.key) for e in result.events] == [(ChangeType.CREATED, "max-order-size")]
