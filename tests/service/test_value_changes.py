"""``review.value_changes``: what ``gitconfig diff`` compares by default and how it reads a
range (the choice the CLI used to make itself)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitconfig.access.principals import Principal
from gitconfig.core.errors import BadRequest
from gitconfig.core.valuediff import EntryDiff
from gitconfig.service import NewConfig, Service
from gitconfig.service.review import value_changes
from gitconfig.store.worktree import WorktreeStore
from tests.support.gitrepo import git

ADMIN = Principal("admin", frozenset({"admin"}))


@pytest.fixture
def store(service: Service, bare_repo: Path) -> WorktreeStore:
    service.configs.create(ADMIN, NewConfig("limit", "shop", "DEV", "NUMBER", "1"))
    service.configs.set(ADMIN, NewConfig("limit", "shop", "DEV", "", "2"))
    return WorktreeStore(bare_repo, "main")


def _values(diffs: list[EntryDiff]) -> list[tuple[str, str | None, str | None]]:
    return [(f.field, f.old, f.new) for d in diffs for f in d.fields if f.field == "value"]


def test_by_default_the_branch_tip_against_its_parent(store: WorktreeStore) -> None:
    assert _values(value_changes(store, None, None, "main")) == [("value", "1", "2")]


def test_a_base_alone_runs_to_the_branch_and_a_range_is_taken_as_is(
    store: WorktreeStore, bare_repo: Path
) -> None:
    first = git(bare_repo, "rev-list", "--max-parents=0", "main")
    added = value_changes(store, first, None, "main")
    assert [(d.change, d.key) for d in added] == [("added", "limit")]
    assert value_changes(store, "main..main", None, "main") == []
    assert _values(value_changes(store, "main~1", "main", None)) == [("value", "1", "2")]


def test_a_range_and_a_head_together_are_refused(store: WorktreeStore) -> None:
    with pytest.raises(BadRequest, match="not both"):
        value_changes(store, "main~1..main", "main", "main")
