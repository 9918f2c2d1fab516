"""SECRET values: the first reveal next to ``sops decrypt`` from the shell, the cached reveal
over HTTP (wrk) next to a plain lookup (target >= 0.8x), and a cold index build with 1,000
SECRETs next to plain files (target: within 10 %).

    python -m bench --only secrets      (or: python -m bench.bench_secrets [--quick])
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pyrage

from bench import deps, subject
from bench.bench_index import cold_build
from bench.tools import (
    MIN_MAX,
    SUMMARY_HEADERS,
    Row,
    Sample,
    Settings,
    Table,
    measure_rows,
    progress,
    run_wrk,
    span,
    standalone,
    wrk_script,
)
from gitconfig.access.principals import Principal
from gitconfig.core.model import Author, ConfigDocument, Environment, Kind
from gitconfig.index.refresher import Index
from gitconfig.runtime.bootstrap import init_repository, sops_rules
from gitconfig.service import NewConfig, Service, build_service
from gitconfig.store.gitstore import GitStore
from gitconfig.store.secrets import Sops, binary

ADMIN = Principal("bench", frozenset({"admin"}))
AUTHOR = Author("bench", "bench@localhost")
PLAIN_VALUE = "type: STRING\nvalue: postgres.internal:5432\n"


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def make_key(folder: Path) -> Path:
    identity = pyrage.x25519.Identity.generate()
    path = folder / "age-key.txt"
    path.write_text(f"{identity}\n")
    path.chmod(0o600)
    return path


def recipient(key_file: Path) -> str:
    line = key_file.read_text().strip()
    return str(pyrage.x25519.Identity.from_str(line).to_public())


def secret_repo(folder: Path, key_file: Path, n_secrets: int) -> tuple[Service, dict[str, str]]:
    """A repository with ``n_secrets`` SECRETs (app-0/PROD/secret-<i>) and the plain lookup
    of ``subject`` (app-0/PROD/key-0); returns its service and the environment for sops."""
    repo = folder / "secrets.git"
    init_repository(repo, bare=True)
    store = GitStore(repo, fsync=False)
    rules = sops_rules(recipient(key_file), "bench key").encode()
    files = {".sops.yaml": rules, "configs/app-0/PROD/key-0.yaml": PLAIN_VALUE.encode()}
    store.write(store.head(), files, AUTHOR, "bench set-up")
    environ = {"HOME": str(folder), "SOPS_AGE_KEY_FILE": str(key_file), "PATH": "/usr/bin:/bin"}
    service = build_service(store, Index(store), Sops(environ))
    service.index.refresh()
    for i in range(n_secrets):
        service.configs.create(
            ADMIN, NewConfig(f"secret-{i}", "app-0", "PROD", "SECRET", f"s3cret-value-{i:04d}")
        )
    return service, environ


# -- first reveal -----------------------------------------------------------------------------


def first_reveal(folder: Path, key_file: Path, samples: int) -> Table:
    service, environ = secret_repo(folder, key_file, samples)
    entries = [e for e in service.reads.snapshot().entries(Kind.CONFIG) if e.key.key != "key-0"]
    files = []
    for entry in entries:
        path = folder / f"{entry.key.key}.yaml"
        path.write_bytes(service.store.read_blob(entry.served.blob))
        files.append(path)
    ours: list[float] = []
    shell: list[float] = []
    for entry, path in zip(entries, files, strict=True):  # interleaved, one sample each
        service.box.sops = Sops(environ)  # an empty cache: this reveal runs sops
        document = entry.document
        assert isinstance(document, ConfigDocument)
        started = time.perf_counter()
        service.box.value_text(ADMIN, document, entry.key, entry.served.blob, True)
        ours.append(time.perf_counter() - started)
        command = f"{shlex.quote(binary())} decrypt {shlex.quote(str(path))} >/dev/null"
        started = time.perf_counter()
        subprocess.run(command, shell=True, check=True, env=environ)
        shell.append(time.perf_counter() - started)
    table = Table("First reveal of a SECRET (one sops process)", ["what", "samples"])
    table.headers += ["median ms", "p99 ms"]
    for name, values in (
        ("gitconfig reveal, empty cache (service, in process)", ours),
        ("`sops decrypt <file>` from the shell (baseline)", shell),
    ):
        table.rows.append(
            [
                name,
                str(len(values)),
                f"{statistics.median(values) * 1000:.1f}",
                f"{_p(values, 99) * 1000:.1f}",
            ]
        )
    table.notes.append(
        f"{samples} distinct secrets, each revealed once by each row, rows interleaved; the "
        "reveal reads the blob and pipes it to `sops decrypt --extract '[\"value\"]'`"
    )
    return table


# -- cached reveal over HTTP ------------------------------------------------------------------


@contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def cached_reveal(folder: Path, key_file: Path, settings: Settings) -> Table:
    table = Table("Cached reveal over HTTP (wrk, 16 connections)", ["request", "processes"])
    table.headers += SUMMARY_HEADERS
    reason = subject.unavailable(1)
    absent = deps.missing("wrk")
    if absent or reason:
        table.notes.append("skipped: " + (deps.install_hint(absent) if absent else str(reason)))
        return table
    secret_repo(folder, key_file, 1)
    repo = folder / "secrets.git"
    reveal_path = subject.lookup_path(key="secret-0") + "&reveal=true"
    with (
        _environ(SOPS_AGE_KEY_FILE=str(key_file)),
        subject.gitconfig_server(repo, 1) as endpoints,
    ):
        script = wrk_script(headers=subject.AUTH_HEADERS)
        rows = [
            Row(
                ("plain lookup (STRING, baseline)", "1"),
                partial(_wrk, endpoints.http_url + subject.lookup_path(), script),
            ),
            Row(
                ("lookup?reveal=true (SECRET, cached)", "1"),
                partial(_wrk, endpoints.http_url + reveal_path, script),
            ),
        ]
        table.rows = measure_rows(rows, settings, table.notes)
    table.notes.append(
        f"median of {settings.runs} runs of {settings.duration_s:g} s per row, interleaved; "
        "the first reveal (one sops process) happens in the warm-up; target: the reveal at "
        "least 0.8x the plain lookup's requests/s"
    )
    return table


def _wrk(url: str, script: str, duration_s: float) -> Sample:
    return run_wrk(url, script, 16, duration_s, 1)


# -- cold index build -------------------------------------------------------------------------


def index_repos(folder: Path, key_file: Path, n_files: int, n_secrets: int) -> tuple[Path, Path]:
    """Two repositories of ``n_files`` configuration files: one all plain, one whose first
    ``n_secrets`` files are SECRETs (copies of one real sops file: nothing decrypts them
    during a build, so one encryption is enough)."""
    (folder / "template").mkdir()
    service, _ = secret_repo(folder / "template", key_file, 1)
    entry = service.reads.snapshot().get(Kind.CONFIG, "app-0", Environment.PROD, "secret-0")
    assert entry is not None
    secret = service.store.read_blob(entry.served.blob)
    repos = []
    for name, secrets in (("plain", 0), ("with-secrets", n_secrets)):
        repo = folder / f"{name}.git"
        init_repository(repo, bare=True)
        store = GitStore(repo, fsync=False)
        files = {
            f"configs/app-{i // 25}/PROD/key-{i % 25}.yaml": (
                secret if i < secrets else f"type: NUMBER\nvalue: {i}\n".encode()
            )
            for i in range(n_files)
        }
        store.write(store.head(), files, AUTHOR, name)
        repos.append(repo)
    return repos[0], repos[1]


def index_build(folder: Path, key_file: Path, settings: Settings) -> Table:
    n_files, n_secrets = 10_000, 1_000
    plain, secrets = index_repos(folder, key_file, n_files, n_secrets)
    runs = max(3, settings.runs)
    timings: dict[str, list[float]] = {"plain": [], "secrets": []}
    for _ in range(runs):  # interleaved
        timings["plain"].append(cold_build(plain)["seconds"])
        timings["secrets"].append(cold_build(secrets)["seconds"])
    base = statistics.median(timings["plain"])
    table = Table("Cold index build with secrets (fresh process)", ["repository", "runs"])
    table.headers += ["median s", f"{MIN_MAX} s", "vs plain"]
    for label, key in (
        (f"{n_files:,} plain files (baseline)", "plain"),
        (f"{n_files:,} files, {n_secrets:,} of them SECRET", "secrets"),
    ):
        values = timings[key]
        table.rows.append(
            [
                label,
                str(len(values)),
                f"{statistics.median(values):.3f}",
                span(values, ".3f"),
                f"{statistics.median(values) / base:.2f}x",
            ]
        )
    table.notes.append("target: within 10 % of the plain build; no secret is decrypted")
    return table


def run(settings: Settings) -> list[Table]:
    absent = deps.missing("git")
    if absent:
        return [Table("secrets", ["skipped"], [[deps.install_hint(absent)]])]
    samples = 15 if settings.quick else 40
    tables = []
    with tempfile.TemporaryDirectory(prefix="bench-secrets-") as tmp:
        folder = Path(tmp)
        key_file = make_key(folder)
        progress("secrets: first reveal")
        (folder / "first").mkdir()
        tables.append(first_reveal(folder / "first", key_file, samples))
        progress("secrets: cached reveal over HTTP")
        (folder / "http").mkdir()
        tables.append(cached_reveal(folder / "http", key_file, settings))
        progress("secrets: cold index build")
        (folder / "index").mkdir()
        tables.append(index_build(folder / "index", key_file, settings))
    return tables


if __name__ == "__main__":
    raise SystemExit(standalone(run))
