"""Synthetic config repositories for the benchmarks, made with ``git fast-import``.

``make_repo`` streams every blob, tree change and commit to one ``git fast-import`` process,
which writes a single pack: 100,000 files and 20,000 commits take seconds, where a loop of
``git add``/``git commit`` would take hours.

Layout (the DESIGN.md file format)::

    configs/app-<i>/<ENV>/key-<j>.yaml      n_configs files, KEYS_PER_ENV keys per folder
    flags/app-0/<ENV>/flag-<j>.yaml         n_flags files (optional)

The first commit adds everything; each further commit changes the value of one configuration,
cycling through ``touched`` (config numbers; by default all of them in order).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO, cast

ENVIRONMENTS = ("DEV", "TEST", "STAGING", "PROD")
KEYS_PER_ENV = 25
BRANCH = "main"
AUTHOR = b"Bench <bench@example.com>"
EPOCH = 1_700_000_000


class RepoGenError(RuntimeError):
    """A git command failed; carries the command, its exit code and its output."""

    def __init__(self, cmd: Sequence[str], returncode: int, output: str) -> None:
        super().__init__(f"{' '.join(cmd)} exited {returncode}: {output.strip()[-2000:]}")
        self.cmd = list(cmd)
        self.returncode = returncode
        self.output = output


def config_path(number: int) -> str:
    """Repository path of config ``number``: 25 keys per (app, env), all four envs per app."""
    app, rest = divmod(number, KEYS_PER_ENV * len(ENVIRONMENTS))
    env, key = divmod(rest, KEYS_PER_ENV)
    return f"configs/app-{app}/{ENVIRONMENTS[env]}/key-{key}.yaml"


def flag_path(number: int, environment: str = "PROD") -> str:
    return f"flags/app-0/{environment}/flag-{number}.yaml"


def config_content(number: int, value: int = 42) -> bytes:
    return (
        f"type: NUMBER\nvalue: {value}\ndescription: Benchmark configuration {number}\n"
        "tags: [bench]\n"
    ).encode()


def flag_content(number: int) -> bytes:
    return (
        f"description: Benchmark flag {number}\n"
        "enabled: true\n"
        "rules:\n"
        "  - attribute: region\n"
        "    operator: IN\n"
        "    values: [EU, UK]\n"
        "  - percentage: 50\n"
    ).encode()


def make_repo(
    path: Path,
    n_configs: int,
    n_commits: int = 1,
    bare: bool = True,
    *,
    n_flags: int = 0,
    touched: Sequence[int] | None = None,
) -> str:
    """Create a repository at ``path`` (must not exist or be empty); return the HEAD commit."""
    if n_configs < 1 or n_commits < 1:
        raise ValueError("n_configs and n_commits must be at least 1")
    cycle = list(touched) if touched is not None else list(range(n_configs))
    if not cycle or not all(0 <= n < n_configs for n in cycle):
        raise ValueError("touched must name config numbers below n_configs")
    path.mkdir(parents=True, exist_ok=True)
    _git(
        ["init", "--quiet", f"--initial-branch={BRANCH}", *(["--bare"] if bare else []), str(path)]
    )
    git_dir = path if bare else path / ".git"
    with _fast_import(git_dir) as stream:
        files = [(b"README.md", b"# Benchmark config repository\n")]
        files += [(config_path(n).encode(), config_content(n)) for n in range(n_configs)]
        files += [(flag_path(n).encode(), flag_content(n)) for n in range(n_flags)]
        _write_commit(stream, 0, b"Initial benchmark configuration", files, parent=None)
        for number in range(1, n_commits):
            config = cycle[(number - 1) % len(cycle)]
            change = [(config_path(config).encode(), config_content(config, value=number))]
            message = f"Change {config_path(config)} to {number}".encode()
            _write_commit(stream, number, message, change, parent=None)
    if not bare:
        _git(["-C", str(path), "checkout", "--quiet", "--force", BRANCH])
    return _git(["--git-dir", str(git_dir), "rev-parse", f"refs/heads/{BRANCH}"]).strip()


def add_commit(repo: Path, path: str, content: bytes, message: str = "Benchmark change") -> str:
    """Commit ``content`` at ``path`` on the branch of ``repo`` (bare or not); return the SHA."""
    bare = not (repo / ".git").exists()
    if not bare:
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        _git(["-C", str(repo), "add", "--", path])
        _git(["-C", str(repo), "commit", "--quiet", "--no-verify", "-m", message], env=_ident())
        return _git(["-C", str(repo), "rev-parse", "HEAD"]).strip()
    head = _git(["--git-dir", str(repo), "rev-parse", f"refs/heads/{BRANCH}"]).strip()
    with _fast_import(repo) as stream:
        _write_commit(stream, None, message.encode(), [(path.encode(), content)], parent=head)
    return _git(["--git-dir", str(repo), "rev-parse", f"refs/heads/{BRANCH}"]).strip()


def _write_commit(
    stream: BinaryIO,
    number: int | None,
    message: bytes,
    files: Sequence[tuple[bytes, bytes]],
    parent: str | None,
) -> None:
    """One fast-import commit. ``number`` fixes the timestamp (None: now); ``parent`` the base."""
    when = EPOCH + number * 60 if number is not None else int(time.time())
    stamp = f"{when} +0000".encode()
    out = [b"commit refs/heads/" + BRANCH.encode() + b"\n"]
    out.append(b"author " + AUTHOR + b" " + stamp + b"\n")
    out.append(b"committer " + AUTHOR + b" " + stamp + b"\n")
    out.append(b"data %d\n%s\n" % (len(message), message))
    if parent is not None:
        out.append(b"from " + parent.encode() + b"\n")
    stream.write(b"".join(out))
    for name, content in files:
        stream.write(b"M 100644 inline %s\ndata %d\n%s\n" % (name, len(content), content))
    stream.write(b"\n")


@contextmanager
def _fast_import(git_dir: Path) -> Iterator[BinaryIO]:
    """Stream fast-import commands into ``git_dir``; raise RepoGenError if git fails."""
    cmd = ["git", "--git-dir", str(git_dir), "fast-import", "--quiet", "--done"]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=log, stderr=log, env=_ident())
        assert proc.stdin is not None
        stream = cast(BinaryIO, proc.stdin)
        try:
            yield stream
            stream.write(b"done\n")
        finally:
            with suppress(BrokenPipeError):
                stream.close()
            returncode = proc.wait()
        if returncode != 0:
            log.seek(0)
            raise RepoGenError(cmd, returncode, log.read().decode(errors="replace"))


def _ident() -> dict[str, str]:
    env = dict(os.environ)
    for role in ("AUTHOR", "COMMITTER"):
        env.setdefault(f"GIT_{role}_NAME", "Bench")
        env.setdefault(f"GIT_{role}_EMAIL", "bench@example.com")
    return env


def _git(args: Sequence[str], env: dict[str, str] | None = None) -> str:
    cmd = ["git", *args]
    proc = subprocess.run(cmd, capture_output=True, env=env, check=False)
    if proc.returncode != 0:
        raise RepoGenError(
            cmd, proc.returncode, (proc.stdout + proc.stderr).decode(errors="replace")
        )
    return proc.stdout.decode()
