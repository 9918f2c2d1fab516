"""Reading a config repository's files from a working tree or from a commit."""

from __future__ import annotations

from pathlib import Path

from gitconfig.gitstore import GitStore

TOP_FOLDERS = ("configs", "flags", "schemas")


def is_bare_repository(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir()


def read_worktree(root: Path) -> dict[str, bytes]:
    """Every file under configs/, flags/ and schemas/ of a checkout, by repository path."""
    files: dict[str, bytes] = {}
    for top in TOP_FOLDERS:
        base = root / top
        if not base.is_dir():
            continue
        for file in base.rglob("*"):
            if file.is_file():
                files[file.relative_to(root).as_posix()] = file.read_bytes()
    return files


def read_commit(repo: Path, rev: str | None = None, branch: str = "main") -> dict[str, bytes]:
    """Every indexed file at ``rev`` (default: the branch head) of a repository."""
    store = GitStore(repo, branch)
    commit = store.resolve(rev) if rev else store.head()
    if commit is None:
        return {}
    return {path: store.read_blob(blob) for path, blob in store.files(commit)}
