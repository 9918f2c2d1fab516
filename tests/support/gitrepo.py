"""Real Git repositories for tests, made with the ``git`` command line.

    bare = init_repo(tmp_path / "origin.git", bare=True)
    work = clone(bare, tmp_path / "work")
    sha = commit_files(work, {"configs/app/DEV/k.yaml": "type: STRING\\nvalue: x\\n"}, "add k")
    push(work)

Commits use the identity that the autouse fixture in ``conftest.py`` puts in the environment,
unless ``author`` ("Name <email>") is given. Every helper returns what a test needs next
(a path or a full sha) and raises ``GitFailed`` with git's output when git fails.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path


class GitFailed(Exception):
    pass


def git(cwd: str | Path, *args: str, input: str | None = None) -> str:
    """Run ``git <args>`` in ``cwd`` (with ``input`` on stdin); its stdout, stripped."""
    done = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, text=True)
    if done.returncode != 0:
        raise GitFailed(f"git {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout.strip()


def init_repo(path: str | Path, bare: bool = False, branch: str = "main") -> Path:
    """A new, empty repository at ``path`` whose HEAD names ``branch``."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", f"--initial-branch={branch}", *(["--bare"] if bare else []))
    return path


def clone(source: str | Path, path: str | Path) -> Path:
    """A non-bare clone of ``source`` at ``path`` (``origin`` is ``source``)."""
    git(Path(path).parent, "clone", "--quiet", str(source), str(path))
    return Path(path)


def commit_files(
    repo_path: str | Path,
    files: Mapping[str, str | bytes | None],
    message: str,
    author: str | None = None,
) -> str:
    """Write (text or bytes) or delete (None) files in a non-bare clone and commit them all,
    even if nothing changed. Returns the new commit's sha."""
    root = Path(repo_path)
    for name, content in files.items():
        target = root / name
        if content is None:
            git(root, "rm", "--quiet", "--", name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
        git(root, "add", "--", name)
    git(
        root,
        "commit",
        "--quiet",
        "--allow-empty",
        "--message",
        message,
        *([f"--author={author}"] if author else []),
    )
    return rev_parse(root, "HEAD")


def push(repo_path: str | Path, branch: str = "main", remote: str = "origin") -> None:
    git(repo_path, "push", "--quiet", remote, f"{branch}:{branch}")


def rev_parse(repo_path: str | Path, rev: str) -> str:
    """The full sha that ``rev`` names (``HEAD``, a branch, a prefix ...)."""
    return git(repo_path, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
