"""The command line on a 10,000-file repository, as the wall time of the real ``gitconfig``
command: ``validate`` cold and on a one-file change (``--changed``, ``--staged``), ``get``,
``set``, ``import`` of 10,000 keys as one commit; the floor: ``gitconfig --help``.

    .venv/bin/python bench/bench_cli.py [--runs 5] [--files 10000]
    .venv/bin/python -m bench --only cli
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import repogen
from bench.tools import MIN_MAX, Settings, Table, print_tables, progress, span
from bench.tools import run as command

GITCONFIG = str(Path(sys.executable).parent / "gitconfig")
TIMEOUT = 300.0


@dataclass
class Case:
    label: str
    command: Callable[[], Sequence[str]]  # built per run (a fresh target for writes)
    expect: int = 0  # exit code
    times: list[float] | None = None


def _timed(case: Case, env: dict[str, str]) -> float:
    cmd = case.command()
    os.sync()  # no dirty pages of earlier runs (or of the copy) for this run's flushes to write
    started = time.perf_counter()
    code, out, err = command(cmd, timeout=TIMEOUT, env=env, check=False)
    elapsed = time.perf_counter() - started
    if code != case.expect:
        raise RuntimeError(f"{' '.join(cmd)} exited {code}: {(err or out)[-800:]}")
    return elapsed


def _next(counter: list[int]) -> int:
    counter[0] += 1
    return counter[0]


def _fresh_copy(source: Path, workdir: Path, counter: list[int]) -> Path:
    counter[0] += 1
    target = workdir / f"copy-{counter[0]}.git"
    shutil.copytree(source, target)
    return target


def build_cases(workdir: Path, files: int) -> list[Case]:
    progress(f"cli: making a {files:,}-file repository (bare and a working tree)")
    bare = workdir / "big.git"
    repogen.make_repo(bare, files)
    tree = workdir / "tree"
    repogen.make_repo(tree, files, bare=False)
    changed = workdir / "changed.git"
    repogen.make_repo(changed, files)
    repogen.add_commit(changed, repogen.config_path(files // 2), b"type: NUMBER\nvalue: 7\n")
    staged = workdir / "staged"
    repogen.make_repo(staged, files, bare=False)
    (staged / repogen.config_path(files // 2)).write_bytes(b"type: NUMBER\nvalue: 8\n")
    command(["git", "-C", str(staged), "add", "--all"], timeout=TIMEOUT)
    empty = workdir / "empty.git"
    command([GITCONFIG, "init", "--bare", str(empty)], timeout=TIMEOUT)
    keys = workdir / "keys.json"
    keys.write_text(json.dumps({f"key-{i}": i for i in range(files)}))
    unchanged = workdir / "imported.git"
    shutil.copytree(empty, unchanged)
    importing = [GITCONFIG, "import", str(keys), "-a", "bulk", "-e", "DEV"]
    command([*importing, "--repo", str(unchanged)], timeout=TIMEOUT)
    counter = [0]
    n = f"{files:,}"
    return [
        Case(
            "`gitconfig --help` (interpreter start and imports: the floor)",
            lambda: [GITCONFIG, "--help"],
        ),
        Case(
            f"`validate` cold, {n} files, bare repository (blobs from the pack)",
            lambda: [GITCONFIG, "validate", str(bare)],
        ),
        Case(
            f"`validate` cold, {n} files, working tree (files on disk)",
            lambda: [GITCONFIG, "validate", str(tree)],
        ),
        Case(
            f"`validate --changed HEAD~1..HEAD`, 1 of {n} files changed",
            lambda: [GITCONFIG, "validate", str(changed), "--changed", "HEAD~1..HEAD"],
        ),
        Case(
            f"`validate --staged` (the pre-commit hook), 1 of {n} files staged",
            lambda: [GITCONFIG, "validate", str(staged), "--staged"],
        ),
        Case(
            f"`get` one value, {n}-file repository (the branch is indexed first)",
            lambda: [GITCONFIG, "get", "key-0", "-a", "app-0", "-e", "PROD", "--repo", str(bare)],
        ),
        Case(
            f"`set` one value in a {n}-file clone: one commit, the file on disk follows",
            lambda: [
                GITCONFIG,
                "set",
                "key-1",
                str(_next(counter)),
                "-a",
                "app-0",
                "-e",
                "DEV",
                "--repo",
                str(tree),
            ],
        ),
        Case(
            f"`import` {n} keys (JSON) into an empty repository: one commit",
            lambda: [*importing, "--repo", str(_fresh_copy(empty, workdir, counter))],
        ),
        Case(
            f"`import` {n} keys into the {n}-file repository: one commit",
            lambda: [*importing, "--repo", str(_fresh_copy(bare, workdir, counter))],
        ),
        Case(
            f"`import` the same {n} keys again: all unchanged, no commit",
            lambda: [*importing, "--repo", str(unchanged)],
        ),
    ]


def measure(files: int, runs: int) -> Table:
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        workdir = Path(tmp)
        cases = build_cases(workdir, files)
        env = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com"}
        progress("cli: warm-up round")
        for case in cases:
            _timed(case, env)
            case.times = []
        for round_ in range(runs):
            progress(f"cli: round {round_ + 1}/{runs}")
            for case in cases:
                assert case.times is not None
                case.times.append(_timed(case, env))
                for copy in workdir.glob("copy-*.git"):
                    shutil.rmtree(copy)
    rows = []
    for case in cases:
        assert case.times
        rows.append(
            [
                case.label,
                f"{statistics.median(case.times):.2f}",
                span(case.times, ".2f"),
            ]
        )
    return Table(
        f"Command line: wall time of the `gitconfig` command, median of {runs} runs",
        ["command", "median s", f"{MIN_MAX} s"],
        rows,
        notes=[
            "each run is a new process, as a user, a git hook or CI runs it",
            "repositories in a temporary folder; each import writes into a fresh copy",
        ],
    )


def run(settings: Settings) -> list[Table]:
    """The bench runner's entry point (``python -m bench --only cli``)."""
    return [measure(10_000, 3 if settings.quick else settings.runs)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args(argv)
    print_tables([measure(args.files, args.runs)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
