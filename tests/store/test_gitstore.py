"""GitStore against real repositories made and inspected with the git command line."""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pygit2
import pytest

from gitconfig.core.errors import AlreadyExists, BadRequest, NotFound, StaleParent, StoreError
from gitconfig.core.model import Author, FileChange, PendingCommit
from gitconfig.store import gitstore
from gitconfig.store.gitstore import GitStore
from tests.support.gitrepo import clone, commit_files, git, init_repo, push, rev_parse

ALICE = Author("Alice Example", "alice@example.com")
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
TRACKED = ("configs", "flags", "schemas")


@pytest.fixture(params=["bare", "non-bare"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """An empty repository, bare or not."""
    return init_repo(tmp_path / "repo", bare=request.param == "bare")


def tree(repo_path: Path, rev: str = "main") -> dict[str, str]:
    """path -> content of every file at ``rev``, read with git."""
    names = git(repo_path, "ls-tree", "-r", "--name-only", rev).splitlines()
    return {name: git(repo_path, "show", f"{rev}:{name}") + "\n" for name in names}


def write(store: GitStore, changes: Mapping[str, str | None], message: str = "change") -> str:
    encoded = {path: None if text is None else text.encode() for path, text in changes.items()}
    return store.write(store.head(), encoded, ALICE, message)


# --- init, open, head -------------------------------------------------------------------------


@pytest.mark.parametrize("bare", [True, False])
def test_init_creates_a_repository_with_an_unborn_branch(tmp_path: Path, bare: bool) -> None:
    store = GitStore.init(tmp_path / "new", bare=bare, branch="trunk")

    assert store.head() is None
    assert git(tmp_path / "new", "symbolic-ref", "HEAD") == "refs/heads/trunk"
    assert git(tmp_path / "new", "rev-parse", "--is-bare-repository") == str(bare).lower()
    sha = write(store, {"configs/a/DEV/k.yaml": "v: 1\n"})
    assert rev_parse(tmp_path / "new", "trunk") == sha


def test_init_refuses_an_existing_repository(repo: Path) -> None:
    with pytest.raises(AlreadyExists):
        GitStore.init(repo, bare=False)


def test_open_refuses_a_folder_that_is_not_a_repository(tmp_path: Path) -> None:
    commit_files(init_repo(tmp_path / "work"), {"README": "x\n"}, "init")
    (tmp_path / "work" / "sub").mkdir()
    with pytest.raises(StoreError):
        GitStore(tmp_path / "work" / "sub")  # no search upwards into the enclosing repository
    with pytest.raises(StoreError):
        GitStore(tmp_path / "missing")
    with pytest.raises(BadRequest):
        GitStore(tmp_path / "work", branch="bad..name")


def test_head_sees_commits_made_by_git_in_a_clone(tmp_path: Path) -> None:
    work = init_repo(tmp_path / "work")
    first = commit_files(work, {"configs/a/DEV/k.yaml": "v: 1\n"}, "one")
    store = GitStore(work)
    assert store.head() == first

    second = commit_files(work, {"configs/a/DEV/k.yaml": "v: 2\n"}, "two")
    assert store.head() == second
    git(work, "pack-refs", "--all", "--prune")  # as git gc does: the loose ref file is gone
    assert not (work / ".git" / "refs" / "heads" / "main").exists()
    assert store.head() == second
    third = commit_files(work, {"configs/a/DEV/k.yaml": "v: 3\n"}, "three")
    assert store.head() == third
    git(work, "gc", "--quiet")
    assert store.head() == third


def test_head_sees_a_push_into_a_bare_repository(tmp_path: Path) -> None:
    bare = init_repo(tmp_path / "origin.git", bare=True)
    store = GitStore(bare)
    work = clone(bare, tmp_path / "work")
    assert store.head() is None

    pushed = commit_files(work, {"flags/a/DEV/f.yaml": "enabled: true\n"}, "flag")
    push(work)
    assert store.head() == pushed
    after = write(store, {"flags/a/DEV/f.yaml": "enabled: false\n"})
    git(work, "pull", "--quiet", "--ff-only")
    assert rev_parse(work, "HEAD") == after


# --- write ------------------------------------------------------------------------------------


def test_write_to_an_empty_branch_creates_the_root_commit(repo: Path) -> None:
    store = GitStore(repo, committer=Author("svc", "svc@example.com"))

    sha = store.write(None, {"configs/app/DEV/k.yaml": b"value: 1\n"}, ALICE, "Create k\n\nwhy")

    assert store.head() == sha == rev_parse(repo, "main")
    assert tree(repo) == {"configs/app/DEV/k.yaml": "value: 1\n"}
    fields = "%an|%ae|%cn|%ce|%P|%B"
    assert git(repo, "log", "-1", f"--format={fields}", sha) == (
        "Alice Example|alice@example.com|svc|svc@example.com||Create k\n\nwhy"
    )
    commit = store.commit(sha)
    assert (commit.parent, commit.author, commit.message) == (None, ALICE, "Create k\n\nwhy")
    assert git(repo, "fsck", "--strict", "--no-progress") == ""


BEFORE = {
    "README.md": "hello\n",
    "configs/app/DEV/a.yaml": "a: 1\n",
    "configs/app/DEV/b.yaml": "b: 1\n",
    "configs/app/PROD/a.yaml": "a: 2\n",
    "flags/app/DEV/f.yaml": "enabled: true\n",
}


@pytest.mark.parametrize(
    ("changes", "after"),
    [
        pytest.param(
            {"configs/new/TEST/x.yaml": "x: 1\n"},
            {**BEFORE, "configs/new/TEST/x.yaml": "x: 1\n"},
            id="create-nested-folders",
        ),
        pytest.param(
            {"configs/app/DEV/a.yaml": "a: 9\n"},
            {**BEFORE, "configs/app/DEV/a.yaml": "a: 9\n"},
            id="update",
        ),
        pytest.param(
            {"configs/app/DEV/a.yaml": None},
            {k: v for k, v in BEFORE.items() if k != "configs/app/DEV/a.yaml"},
            id="delete-keeps-folder-with-files",
        ),
        pytest.param(
            {"configs/app/PROD/a.yaml": None},
            {k: v for k, v in BEFORE.items() if k != "configs/app/PROD/a.yaml"},
            id="delete-last-file-removes-folder",
        ),
        pytest.param(
            {"flags/app/DEV/f.yaml": None},
            {k: v for k, v in BEFORE.items() if not k.startswith("flags/")},
            id="empty-folders-removed-up-to-the-root",
        ),
        pytest.param(
            {"configs/app/DEV/nope.yaml": None},
            BEFORE,
            id="delete-absent-is-a-no-op",
        ),
        pytest.param(
            {
                "configs/app/DEV/a.yaml": None,
                "configs/app/DEV/b.yaml": None,
                "configs/app/DEV/c.yaml": "c: 1\n",
                "schemas/s.json": "{}\n",
                "README.md": "bye\n",
            },
            {
                "README.md": "bye\n",
                "configs/app/DEV/c.yaml": "c: 1\n",
                "configs/app/PROD/a.yaml": "a: 2\n",
                "flags/app/DEV/f.yaml": "enabled: true\n",
                "schemas/s.json": "{}\n",
            },
            id="several-at-once",
        ),
    ],
)
def test_write_applies_changes_to_the_parent_tree(
    repo: Path, changes: dict[str, str | None], after: dict[str, str]
) -> None:
    store = GitStore(repo)
    parent = write(store, BEFORE)

    sha = write(store, changes)

    assert tree(repo) == after
    assert rev_parse(repo, "main") == sha
    assert rev_parse(repo, "main^") == parent
    assert git(repo, "fsck", "--strict", "--no-progress") == ""


def test_write_rewrites_only_the_changed_folders(repo: Path) -> None:
    store = GitStore(repo)
    write(store, BEFORE)
    untouched = {p: git(repo, "rev-parse", f"main:{p}") for p in ["flags", "configs/app/PROD"]}

    write(store, {"configs/app/DEV/a.yaml": "a: 3\n"})

    assert {p: git(repo, "rev-parse", f"main:{p}") for p in untouched} == untouched


def test_write_of_identical_content_still_commits(repo: Path) -> None:
    store = GitStore(repo)
    first = write(store, BEFORE)

    second = write(store, {"configs/app/DEV/a.yaml": BEFORE["configs/app/DEV/a.yaml"]})
    third = write(store, {})

    assert first != second != third == store.head()
    assert len({git(repo, "rev-parse", f"{sha}^{{tree}}") for sha in (first, third)}) == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"": "x"},
        {"/configs/a.yaml": "x"},
        {"configs//a.yaml": "x"},
        {"configs/../a.yaml": "x"},
        {"configs/./a.yaml": "x"},
        {"configs/a.yaml/": "x"},
        {".git/config": "x"},
        {"configs/.GIT/x": "x"},
        {"configs/a\0.yaml": "x"},
        {"configs/app": "x"},  # a folder
        {"configs/app": None},  # a folder
        {"README.md/x": "x"},  # below a file
        {"configs/n/a": "x", "configs/n/a/b": "y"},  # both file and folder
    ],
)
def test_write_rejects_bad_paths_without_committing(
    repo: Path, changes: dict[str, str | None]
) -> None:
    store = GitStore(repo)
    head = write(store, BEFORE)

    with pytest.raises(BadRequest):
        write(store, changes)
    assert store.head() == head


def test_write_rejects_an_invalid_author(repo: Path) -> None:
    store = GitStore(repo)
    with pytest.raises(BadRequest):
        store.write(None, {"configs/a": b"x"}, Author("Eve <evil>", "e@example.com"), "m")
    assert store.head() is None


def test_write_records_a_reflog_entry_in_a_clone(tmp_path: Path) -> None:
    store = GitStore(init_repo(tmp_path / "work"))
    write(store, BEFORE, "First line\n\nbody")

    entry = git(tmp_path / "work", "reflog", "show", "--format=%gn <%ge> %gs", "main", "-1")
    assert entry == "gitconfig <gitconfig@localhost> gitconfig: First line"


# --- compare-and-swap -------------------------------------------------------------------------


def test_a_stale_parent_is_refused_and_the_ref_is_left_alone(repo: Path) -> None:
    store = GitStore(repo)
    first = write(store, BEFORE)
    second = write(store, {"configs/app/DEV/a.yaml": "a: 5\n"})

    for stale in (first, None):
        with pytest.raises(StaleParent) as raised:
            store.write(stale, {"configs/app/DEV/a.yaml": b"lost\n"}, ALICE, "late")
        assert (raised.value.expected, raised.value.actual) == (stale, second)
        assert rev_parse(repo, "main") == second
        assert not list(repo.glob("**/main.lock"))


def test_the_ref_is_compared_after_taking_its_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer holds the ref lock and moves the branch while write() waits for it."""
    waiting = threading.Event()  # set once write() retries the lock: past its early check

    def sleep(seconds: float) -> None:
        waiting.set()
        time.sleep(seconds)

    monkeypatch.setattr(gitstore, "time", SimpleNamespace(monotonic=time.monotonic, sleep=sleep))
    work = init_repo(tmp_path / "work")
    parent = commit_files(work, BEFORE, "base")
    store = GitStore(work)
    moved = git(work, "commit-tree", "main^{tree}", "-p", "main", "-m", "other writer")
    ref = work / ".git" / "refs" / "heads" / "main"
    lock = ref.with_name("main.lock")
    lock.write_text(moved + "\n")  # git's protocol: write main.lock, rename it over main
    outcome: list[BaseException | str] = []

    def late_write() -> None:
        try:
            outcome.append(store.write(parent, {"configs/x": b"x\n"}, ALICE, "late"))
        except BaseException as exc:  # noqa: BLE001 - the thread's outcome, whatever it is
            outcome.append(exc)

    writer = threading.Thread(target=late_write)
    writer.start()
    assert waiting.wait(10), "write() never waited for the ref lock"
    assert not outcome
    lock.replace(ref)
    writer.join(10)

    assert isinstance(outcome[0], StaleParent)
    assert (outcome[0].expected, outcome[0].actual) == (parent, moved)
    assert rev_parse(work, "main") == moved


def test_a_lock_that_is_never_released_is_a_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = init_repo(tmp_path / "work")
    parent = commit_files(work, BEFORE, "base")
    store = GitStore(work)
    (work / ".git" / "refs" / "heads" / "main.lock").write_text("")
    monkeypatch.setattr(gitstore, "LOCK_TIMEOUT", 0.05)

    with pytest.raises(StoreError, match="could not lock"):
        store.write(parent, {"configs/x": b"x\n"}, ALICE, "m")
    assert rev_parse(work, "main") == parent


def test_a_packed_ref_is_compared_and_moved(tmp_path: Path) -> None:
    work = init_repo(tmp_path / "work")
    first = commit_files(work, BEFORE, "one")
    store = GitStore(work)
    second = write(store, {"configs/x": "x\n"})
    git(work, "pack-refs", "--all", "--prune")

    with pytest.raises(StaleParent):
        store.write(first, {}, ALICE, "stale")
    third = store.write(second, {}, ALICE, "fresh")
    assert rev_parse(work, "main") == third


RACER = """
import sys, time
from pathlib import Path
from gitconfig.core.errors import StaleParent
from gitconfig.store.gitstore import GitStore
from gitconfig.core.model import Author

repo, name, count, folder = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
store = GitStore(repo)
(folder / f"ready-{name}").touch()
while not (folder / "go").exists():
    time.sleep(0.001)
retries = 0
for i in range(count):
    while True:
        try:
            change = {f"configs/race/DEV/{name}-{i}.yaml": f"n: {i}\\n".encode()}
            store.write(store.head(), change, Author(name, "racer@example.com"), f"{name} {i}")
            break
        except StaleParent:
            retries += 1
print(retries)
"""


@pytest.mark.slow
def test_two_processes_racing_never_lose_a_commit(repo: Path, tmp_path: Path) -> None:
    count, names = 50, ("left", "right")
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(repo), name, str(count), str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    deadline = time.monotonic() + 30
    while not all((tmp_path / f"ready-{n}").exists() for n in names):
        assert time.monotonic() < deadline
        assert all(r.poll() is None for r in racers)
        time.sleep(0.01)
    (tmp_path / "go").touch()
    outputs = [racer.communicate(timeout=60) for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], outputs

    store = GitStore(repo)
    head = store.head()
    assert head is not None
    chain = store.first_parent_chain(head, None)
    assert len(chain) == 2 * count
    for name in names:  # every commit of each racer, in its own order
        assert [c.message for c in chain if c.author.name == name] == [
            f"{name} {i}" for i in range(count)
        ]
    assert len(list(store.files(head))) == 2 * count
    assert git(repo, "rev-list", "--count", "--first-parent", "main") == str(2 * count)
    # The losers of the compare-and-swap are left dangling: the retries actually happened.
    assert git(repo, "fsck", "--strict", "--no-progress", "--no-dangling") == ""
    retries = sum(int(out) for out, _ in outputs)
    dangling = git(repo, "fsck", "--no-progress", "--dangling").count("dangling commit")
    assert dangling <= retries


def test_threads_sharing_one_store_never_lose_a_commit(repo: Path) -> None:
    store, count, names = GitStore(repo), 10, [f"t{n}" for n in range(4)]

    def run(name: str) -> None:
        for i in range(count):
            while True:
                try:
                    write(store, {f"flags/t/DEV/{name}-{i}.yaml": "x\n"}, f"{name} {i}")
                    break
                except StaleParent:
                    pass

    threads = [threading.Thread(target=run, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert git(repo, "rev-list", "--count", "main") == str(len(names) * count)
    assert len(tree(repo)) == len(names) * count


# --- durability -------------------------------------------------------------------------------

FSYNC_WRITER = """
import sys
from gitconfig.store.gitstore import GitStore
from gitconfig.core.model import Author
store = GitStore(sys.argv[1], fsync=sys.argv[2] == "on")
store.write(store.head(), {"configs/a/DEV/k.yaml": sys.argv[2].encode()}, Author("a", "a@b"), "m")
"""


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
@pytest.mark.parametrize("setting", ["on", "off"])
def test_a_write_flushes_objects_before_the_ref_and_the_ref_before_returning(
    tmp_path: Path, setting: str
) -> None:
    repo = init_repo(tmp_path / "repo", bare=True)
    trace = tmp_path / "trace"
    calls = "trace=fsync,fdatasync,syncfs,rename,renameat,renameat2,link,linkat"
    command = ["strace", "-f", "-qq", "-y", "-e", calls, "-o", str(trace)]
    done = subprocess.run(
        [*command, sys.executable, "-c", FSYNC_WRITER, str(repo), setting],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 and "ptrace" in done.stderr:
        pytest.skip(f"strace cannot trace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr

    lines = trace.read_text().splitlines()
    flushes = [n for n, line in enumerate(lines) if "syncfs(" in line or "fsync(" in line]
    ref_moves = [  # libgit2 moves a lock file into place with link() (or rename())
        n
        for n, line in enumerate(lines)
        if ("rename" in line or "link" in line) and 'refs/heads/main"' in line
    ]
    if setting == "off":
        assert flushes == []
        return
    assert [line for line in lines if "fsync(" in line] == []  # libgit2's own fsync is off
    assert len(ref_moves) == 1
    assert any(n < ref_moves[0] for n in flushes)  # the objects, before the ref moves
    assert any(n > ref_moves[0] for n in flushes)  # the ref, before write() returns


def test_libgit2_fsync_is_off_and_the_barrier_follows_the_setting(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[bool] = []

    class Settings:  # stands in for pygit2.settings, whose attributes are read-only
        enable_fsync_gitdir = staticmethod(calls.append)

    monkeypatch.setattr(pygit2, "settings", Settings())
    assert GitStore(repo).fsync is True
    assert GitStore(repo, fsync=False).fsync is False
    assert calls == [False, False]


def test_write_chain_makes_one_commit_each_on_the_first_parent_chain(repo: Path) -> None:
    store = GitStore(repo)
    parent = store.head()
    author = Author("a", "a@example.com")
    shas = store.write_chain(
        parent,
        [
            PendingCommit({"configs/a/DEV/one.yaml": b"1"}, author, "first"),
            PendingCommit({"configs/a/DEV/two.yaml": b"2"}, author, "second"),
            PendingCommit({"configs/a/DEV/one.yaml": None}, author, "third"),
        ],
    )
    assert store.head() == shas[-1]
    assert [c.sha for c in store.first_parent_chain(shas[-1], parent)] == shas
    assert [c.message for c in store.first_parent_chain(shas[-1], parent)] == [
        "first",
        "second",
        "third",
    ]
    assert dict(store.files(shas[1])).keys() >= {"configs/a/DEV/one.yaml", "configs/a/DEV/two.yaml"}
    assert "configs/a/DEV/one.yaml" not in dict(store.files(shas[2]))
    with pytest.raises(StaleParent):
        store.write_chain(parent, [PendingCommit({"configs/a/DEV/x.yaml": b"x"}, author, "m")])


# --- reading ----------------------------------------------------------------------------------


def test_files_lists_blobs_of_the_tracked_folders_only(tmp_path: Path) -> None:
    work = init_repo(tmp_path / "work")
    sha = commit_files(
        work,
        {
            **BEFORE,
            "schemas/s.json": "{}\n",
            "configsX/a.yaml": "no\n",
            "other/configs/a.yaml": "no\n",
        },
        "files",
    )
    store = GitStore(work)

    listed = git(work, "ls-tree", "-r", sha, "--", *TRACKED).splitlines()
    expected = {line.split("\t")[1]: line.split()[2] for line in listed}
    assert dict(store.files(sha)) == expected
    assert len(expected) == 5


def test_read_blob(tmp_path: Path) -> None:
    work = init_repo(tmp_path / "work")
    sha = commit_files(work, BEFORE, "files")
    store = GitStore(work)

    blob = git(work, "rev-parse", f"{sha}:configs/app/DEV/a.yaml")
    assert store.read_blob(blob) == b"a: 1\n"
    for not_a_blob in [sha, "0" * 40, blob[:7], "zz"]:
        with pytest.raises(NotFound):
            store.read_blob(not_a_blob)


def test_commit_reads_author_time_zone_and_first_parent(tmp_path: Path) -> None:
    work = init_repo(tmp_path / "work")
    first = commit_files(work, {"a": "1\n"}, "one")
    os.environ["GIT_AUTHOR_DATE"] = "2024-01-02T03:04:05+05:30"
    second = commit_files(work, {"a": "2\n"}, "two\n\nbody", author="Bob <bob@example.com>")
    store = GitStore(work)

    commit = store.commit(second)

    assert (commit.sha, commit.parent, commit.message) == (second, first, "two\n\nbody")
    assert commit.author == Author("Bob", "bob@example.com")
    assert commit.time.utcoffset() == timedelta(hours=5, minutes=30)
    assert commit.time.isoformat() == "2024-01-02T03:04:05+05:30"
    assert store.commit(first).parent is None
    blob = git(work, "rev-parse", "HEAD:a")
    for unknown in ["0" * 40, blob, second[:7], "main"]:
        with pytest.raises(NotFound):
            store.commit(unknown)


def _object_id(kind: str, body: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(body)}\0".encode() + body).hexdigest()


def _commit_and_blob_sharing_a_prefix(work: Path) -> tuple[str, str]:
    """Write a commit and a blob whose ids share their first 7 hex digits (a birthday search
    over 65,536 blobs and a few thousand commits, hashed in memory); return both ids."""
    blobs = {}
    for n in range(1 << 16):
        body = f"blob {n}\n".encode()
        blobs[_object_id("blob", body)[:7]] = body
    tree = git(work, "rev-parse", "HEAD^{tree}")
    n = 0
    while True:
        n += 1
        body = f"tree {tree}\nauthor A <a@b> 1 +0000\ncommitter A <a@b> 1 +0000\n\n{n}\n".encode()
        if (prefix := _object_id("commit", body)[:7]) in blobs:
            break
    commit = git(work, "hash-object", "-t", "commit", "-w", "--stdin", input=body.decode())
    blob = git(work, "hash-object", "-w", "--stdin", input=blobs[prefix].decode())
    return commit, blob


def test_resolve_full_shas_and_unique_prefixes_of_commits(tmp_path: Path) -> None:
    work = init_repo(tmp_path / "work")
    sha = commit_files(work, {"a": "1\n"}, "one")
    blob = git(work, "rev-parse", "HEAD:a")
    twin_commit, twin_blob = _commit_and_blob_sharing_a_prefix(work)
    git(work, "tag", "twin", twin_commit)  # only commits a ref reaches are served
    shared = next(n for n in range(40) if twin_commit[n] != twin_blob[n])
    store = GitStore(work)

    cases = {
        sha: sha,
        sha[:7]: sha,
        sha[:12].upper(): sha,
        sha[:6]: None,  # too short
        "main": None,  # refs are not revisions here
        "HEAD": None,
        "g" * 7: None,
        "0" * 40: None,
        blob: None,  # not a commit
        blob[:8]: None,
        git(work, "rev-parse", "HEAD^{tree}"): None,
        twin_commit[:shared]: None,  # ambiguous: the blob starts the same
        twin_commit[: shared + 1]: twin_commit,
    }
    assert {rev: store.resolve(rev) for rev in cases} == cases


def test_is_ancestor(tmp_path: Path) -> None:
    work = init_repo(tmp_path / "work")
    one = commit_files(work, {"a": "1\n"}, "one")
    two = commit_files(work, {"a": "2\n"}, "two")
    git(work, "checkout", "--quiet", "-b", "side", one)
    side = commit_files(work, {"b": "1\n"}, "side")
    store = GitStore(work)

    assert store.is_ancestor(one, two)
    assert store.is_ancestor(one, side)
    assert store.is_ancestor(two, two)
    assert not store.is_ancestor(two, one)
    assert not store.is_ancestor(side, two)
    with pytest.raises(NotFound):
        store.is_ancestor("0" * 40, two)


def test_first_parent_chain_leaves_out_merged_commits(tmp_path: Path) -> None:
    work = init_repo(tmp_path / "work")
    c1 = commit_files(work, {"configs/a": "1\n"}, "c1")
    c2 = commit_files(work, {"configs/a": "2\n"}, "c2")
    git(work, "checkout", "--quiet", "-b", "feature", c1)
    f1 = commit_files(work, {"configs/f": "1\n"}, "f1")
    f2 = commit_files(work, {"configs/f": "2\n"}, "f2")
    git(work, "checkout", "--quiet", "main")
    c3 = commit_files(work, {"configs/a": "3\n"}, "c3")
    git(work, "merge", "--quiet", "--no-ff", "--no-edit", "feature")
    merge = rev_parse(work, "main")
    store = GitStore(work)

    def chain(stop: str | None) -> list[str]:
        return [commit.sha for commit in store.first_parent_chain(merge, stop)]

    assert git(work, "rev-list", "--first-parent", "--reverse", "main").split() == chain(None)
    assert chain(None) == [c1, c2, c3, merge]
    assert chain(c2) == [c3, merge]
    assert chain(merge) == []
    assert chain(f1) == chain(f2) == [c1, c2, c3, merge]  # stop not on the chain: all of it
    assert [c.parent for c in store.first_parent_chain(merge, None)] == [None, c1, c2, c3]


def test_first_parent_chain_of_20000_commits(tmp_path: Path) -> None:
    work = init_repo(tmp_path / "work")
    count = 20_000
    stream = "".join(
        f"commit refs/heads/main\ncommitter C <c@x> {1_700_000_000 + n} +0000\n"
        f"data {len(str(n))}\n{n}\n"
        for n in range(count)
    )
    git(work, "fast-import", "--quiet", input=stream)
    store = GitStore(work)
    head = store.head()
    assert head is not None

    chain = store.first_parent_chain(head, None)

    assert [c.message for c in chain] == [str(n) for n in range(count)]
    assert all(c.parent == p.sha for p, c in itertools.pairwise(chain))
    assert len(store.first_parent_chain(head, chain[-101].sha)) == 100


# --- diff -------------------------------------------------------------------------------------


def _git_diff(work: Path, old: str, new: str) -> list[FileChange]:
    """FileChanges as ``git diff --raw`` reports them (no rename detection)."""
    raw = git(work, "diff", "--raw", "--no-abbrev", "--no-renames", old, new, "--", *TRACKED)
    changes = []
    for line in raw.splitlines():
        meta, path = line.split("\t")
        _, _, old_blob, new_blob, _ = meta.split()
        changes.append(
            FileChange(
                path,
                None if set(old_blob) == {"0"} else old_blob,
                None if set(new_blob) == {"0"} else new_blob,
            )
        )
    return changes


def test_diff_agrees_with_git_diff(tmp_path: Path) -> None:
    work = init_repo(tmp_path / "work")
    old = commit_files(
        work,
        {
            **BEFORE,
            "configs/gone/DEV/x.yaml": "x\n",
            "configs/move/DEV/from.yaml": "moved\n",
            "schemas/s.json": "{}\n",
        },
        "old",
    )
    new = commit_files(
        work,
        {
            "README.md": "changed outside the tracked folders\n",
            "other/file": "ignored\n",
            "configs/app/DEV/a.yaml": "a: changed\n",
            "configs/gone/DEV/x.yaml": None,
            "configs/move/DEV/from.yaml": None,
            "configs/move/DEV/to.yaml": "moved\n",
            "flags/new/PROD/f.yaml": "enabled: false\n",
            "schemas/s.json": None,
        },
        "new",
    )
    store = GitStore(work)

    changes = store.diff(old, new)

    assert changes == _git_diff(work, old, new)
    assert {c.path for c in changes} == {
        "configs/app/DEV/a.yaml",
        "configs/gone/DEV/x.yaml",
        "configs/move/DEV/from.yaml",
        "configs/move/DEV/to.yaml",
        "flags/new/PROD/f.yaml",
        "schemas/s.json",
    }
    assert store.diff(None, new) == _git_diff(work, EMPTY_TREE, new)
    assert store.diff(new, old) == _git_diff(work, new, old)
    assert store.diff(new, new) == []


def test_diff_ignores_mode_only_changes_and_reports_symlinks(tmp_path: Path) -> None:
    work = init_repo(tmp_path / "work")
    old = commit_files(work, {"configs/a.yaml": "a\n"}, "old")
    git(work, "update-index", "--chmod=+x", "configs/a.yaml")
    (work / "configs" / "link.yaml").symlink_to("a.yaml")
    git(work, "add", "configs/link.yaml")
    new = commit_files(work, {}, "mode and symlink")
    store = GitStore(work)

    # A symlink is no file to serve, but it is reported (issue 9), never skipped in silence.
    assert store.diff(old, new) == [FileChange("configs/link.yaml", None, None, "symlink")]
    assert dict(store.files(new)) == dict(store.files(old))
    assert store.special_entries(new) == [("configs/link.yaml", "symlink")]
    assert store.special_entries(old) == []
    # From nothing (a cold build's walk of added files only): the same as from an empty tree.
    assert store.diff(None, new) == [
        FileChange("configs/a.yaml", None, git(work, "rev-parse", f"{new}:configs/a.yaml")),
        FileChange("configs/link.yaml", None, None, "symlink"),
    ]
