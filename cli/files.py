"""Reading a config repository's files from a working tree (commits are read through
``gitconfig.service.review``)."""

from __future__ import annotations

from pathlib import Path

from gitconfig.core.sopsrules import SOPS_YAML

TOP_FOLDERS = ("configs", "flags", "schemas")


def is_bare_repository(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir()


def read_worktree(root: Path) -> dict[str, bytes]:
    """Every file under configs/, flags/ and schemas/ of a checkout, and its ``.sops.yaml``,
    by repository path."""
    files: dict[str, bytes] = {}
    sops = root / SOPS_YAML
    if sops.is_file() and not sops.is_symlink():
        files[SOPS_YAML] = sops.read_bytes()
    for top in TOP_FOLDERS:
        base = root / top
        if not base.is_dir():
            continue
        for file in base.rglob("*"):
            if file.is_file() and not file.is_symlink():
                files[file.relative_to(root).as_posix()] = file.read_bytes()
    return files


def worktree_specials(root: Path) -> list[tuple[str, str]]:
    """(path, ``symlink`` or ``submodule``) of every entry under configs/, flags/ and
    schemas/ of a checkout that is neither a regular file nor a plain folder."""
    found: list[tuple[str, str]] = []
    for top in TOP_FOLDERS:
        base = root / top
        if not base.is_dir():
            continue
        for entry in base.rglob("*"):
            path = entry.relative_to(root).as_posix()
            if entry.is_symlink():
                found.append((path, "symlink"))
            elif entry.name == ".git":
                found.append((entry.parent.relative_to(root).as_posix(), "submodule"))
    return sorted(found)
