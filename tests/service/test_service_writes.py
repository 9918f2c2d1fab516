"""Concurrent writes through the service: group commit, one commit per change, no loss."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

from gitconfig.access.principals import Principal
from gitconfig.core.errors import BadRequest, GitconfigError, PreconditionFailed
from gitconfig.core.model import ConfigDocument, Kind
from gitconfig.runtime.bootstrap import open_service
from gitconfig.service import ConfigChanges, Entry, NewConfig, Service
from tests.support.gitrepo import git

ADMIN = Principal("admin", frozenset({"admin"}))


def new(key: str, value: str = "1", value_type: str = "NUMBER") -> NewConfig:
    return NewConfig(key, "trading-engine", "PROD", value_type, value)


def in_threads(calls: list[Callable[[], object]]) -> list[object]:
    results: list[object] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(number: int) -> None:
        start.wait()
        try:
            results[number] = calls[number]()
        except GitconfigError as exc:
            results[number] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def changed_files_per_commit(repo: Path, count: int) -> list[int]:
    out = git(repo, "log", f"-{count}", "--format=%H", "main").split()
    return [
        len(git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", sha).split())
        for sha in out
    ]


def test_concurrent_creates_each_make_their_own_commit(service: Service, bare_repo: Path) -> None:
    before = int(git(bare_repo, "rev-list", "--count", "main"))
    results = in_threads([partial(service.configs.create, ADMIN, new(f"k{n}")) for n in range(16)])
    assert not [r for r in results if isinstance(r, GitconfigError)]
    assert int(git(bare_repo, "rev-list", "--count", "main")) == before + 16
    assert changed_files_per_commit(bare_repo, 16) == [1] * 16
    assert len(service.reads.snapshot().entries(Kind.CONFIG)) == 16


def test_concurrent_updates_of_one_version_let_exactly_one_win(service: Service) -> None:
    entry = service.configs.create(ADMIN, new("limit"))
    results = in_threads(
        [
            partial(service.configs.update, ADMIN, entry.id, ConfigChanges(value=str(n + 2)), 1)
            for n in range(8)
        ]
    )
    winners = [r for r in results if not isinstance(r, GitconfigError)]
    assert len(winners) == 1
    assert all(isinstance(r, PreconditionFailed) for r in results if r not in winners)
    assert service.reads.snapshot().by_id(entry.id).version == 2  # type: ignore[union-attr]


def test_an_invalid_write_in_a_batch_does_not_affect_the_others(
    service: Service, bare_repo: Path
) -> None:
    before = int(git(bare_repo, "rev-list", "--count", "main"))
    calls: list[Callable[[], object]] = [
        partial(service.configs.create, ADMIN, new(f"ok{n}")) for n in range(6)
    ]
    calls.append(lambda: service.configs.create(ADMIN, new("bad", value="lots")))
    results = in_threads(calls)
    assert isinstance(results[-1], BadRequest)
    assert not [r for r in results[:-1] if isinstance(r, GitconfigError)]
    assert int(git(bare_repo, "rev-list", "--count", "main")) == before + 6


def test_two_services_on_one_repository_lose_nothing(bare_repo: Path) -> None:
    first, second = open_service(bare_repo), open_service(bare_repo)
    first.index.refresh()
    second.index.refresh()
    calls: list[Callable[[], object]] = []
    for n in range(10):
        calls.append(partial(first.configs.create, ADMIN, new(f"a{n}")))
        calls.append(partial(second.configs.create, ADMIN, new(f"b{n}")))
    results = in_threads(calls)
    assert not [r for r in results if isinstance(r, GitconfigError)]
    first.index.refresh()
    assert len(first.reads.snapshot().entries(Kind.CONFIG)) == 20
    assert changed_files_per_commit(bare_repo, 20) == [1] * 20


def test_each_answer_describes_its_own_write(service: Service) -> None:
    """Many writers of one key, one after another in batches: every answer carries the value,
    version and commit its own write produced, never a later write's (they were described
    by the index as it was when the answer was made, which a later batch had moved)."""
    entry = service.configs.create(ADMIN, new("hot", "0"))
    answers: list[tuple[str, Entry]] = []
    lock = threading.Lock()

    def writer(number: int) -> None:
        for round_ in range(12):
            value = str(number * 100 + round_ + 1)
            try:
                got = service.configs.update(ADMIN, entry.id, ConfigChanges(value=value))
            except GitconfigError:  # a concurrent change of the file: refused, fine
                continue
            with lock:
                answers.append((value, got))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) >= 12
    wrong = []
    commits = set()
    for value, got in answers:
        assert isinstance(got.document, ConfigDocument)
        if got.document.value != int(value):
            wrong.append((value, got.document.value))
        commits.add(got.updated.commit.sha)
    assert wrong == []
    assert len(commits) == len(answers)  # each answer names its own commit
