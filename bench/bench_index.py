"""The index and the write path: cold build and warm restart (next to pygit2 + libyaml alone
and ``git ls-tree -r``), a server from start to ready (next to a one-file server), refresh
after one commit, history of one key (next to ``git log``), API writes (next to
``GitStore.write`` alone).

    python -m bench --only index        (or: python -m bench.bench_index [--quick])
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx

from bench import subject
from bench.repogen import config_content, config_path, make_repo
from bench.tools import (
    MIN_MAX,
    Settings,
    Table,
    progress,
    run_script,
    span,
    standalone,
    work_dir,
)

TOKEN = subject.TOKEN
QUIET = {"GITCONFIG_LOG_LEVEL": "WARNING"}


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


# -- cold build -------------------------------------------------------------------------------

_COLD = """
import json, os, resource, sys, time
from pathlib import Path
from gitconfig.store.gitstore import GitStore
from gitconfig.index import prefetch
from gitconfig.index.refresher import Index
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
mode, cache = sys.argv[2], Path(sys.argv[3])
store = GitStore(sys.argv[1], fsync=False)
index = Index(store, cache=cache if mode == "warm" else None,
              parallel_minimum=None if mode == "one-core" else prefetch.MINIMUM_FILES)
before = rss()
started = time.perf_counter()
index.refresh()
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
if mode == "cold":
    from gitconfig.index import persist
    persist.save(cache, index.current())  # the next warm run starts from it
assert mode != "warm" or index.warm_loaded == index.current().commit
print(json.dumps({"seconds": seconds, "rss": rss() - before, "peak": peak,
                  "entries": len(index.current())}))
"""

# The floor of any build: read every blob of the head tree with pygit2 and parse it with
# libyaml (no validation, no index), in one process.
_BASELINE = """
import json, resource, sys, time
import pygit2, yaml
started = time.perf_counter()
repo = pygit2.Repository(sys.argv[1])
def walk(tree):
    for item in tree:
        if item.type_str == "tree":
            yield from walk(repo[item.id])
        else:
            yield item.id
loaded = 0
root = repo.revparse_single("main").tree
for folder in ("configs", "flags"):
    if folder not in root:
        continue
    for blob in walk(repo[root[folder].id]):
        yaml.load(repo[blob].data, Loader=yaml.CSafeLoader)
        loaded += 1
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": time.perf_counter() - started, "peak": peak, "entries": loaded}))
"""


def cold_build(repo: Path, mode: str = "cold", cache: Path | None = None) -> dict[str, float]:
    """One build in a fresh process: ``mode`` "cold" (two cores from 4,000 files; writes
    ``cache``), "one-core", or "warm" (loads ``cache``, which must match the head)."""
    return run_script(_COLD, str(repo), mode, str(cache or repo / "bench-index.msgpack"))


def ls_tree_seconds(repo: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["git", "--git-dir", str(repo), "ls-tree", "-r", "main"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def cold_table(work: Path, sizes: list[int], runs: int) -> Table:
    table = Table(
        "Index: cold build and warm restart",
        ["config files", "case", "s (median)", f"{MIN_MAX} s", "growth MiB", "peak RSS MiB"],
        notes=[
            f"median of {runs} interleaved runs (cold, one core, warm, baseline, ...), each "
            "in a fresh process; growth is resident memory added by the build (imports "
            "excluded), peak RSS the process's maximum (imports included)",
            "cold: reads every blob, parses and validates it (YAML, JSON Schema), compiles "
            "flags, walks the first-parent history; from 4,000 files a forked worker parses "
            "every other blob; warm: loads the snapshot a cold run persisted (msgpack) and "
            "checks it names the head",
            "baseline: pygit2 reads the same blobs and libyaml (CSafeLoader) parses them, "
            "nothing else, one process",
        ],
    )
    for size in sizes:
        repo = work / f"cold-{size}.git"
        if not repo.exists():
            progress(f"generating {size:,} files")
            make_repo(repo, size)
        cache = work / f"cold-{size}.msgpack"
        cases: dict[str, list[dict[str, float]]] = {
            "cold (two cores)": [],
            "cold, one core": [],
            "warm restart": [],
            "baseline": [],
        }
        for run in range(runs):
            cases["cold (two cores)"].append(cold_build(repo, "cold", cache))
            cases["cold, one core"].append(cold_build(repo, "one-core", cache))
            cases["warm restart"].append(cold_build(repo, "warm", cache))
            cases["baseline"].append(run_script(_BASELINE, str(repo)))
            progress(
                f"{size:,} run {run + 1}: "
                + ", ".join(f"{name} {r[-1]['seconds']:.2f} s" for name, r in cases.items())
            )
        for name, results in cases.items():
            assert all(r["entries"] == size for r in results), name
            seconds = [r["seconds"] for r in results]
            growth = [r["rss"] for r in results if "rss" in r]
            table.rows.append(
                [
                    f"{size:,}",
                    name,
                    f"{_median(seconds):.2f}",
                    span(seconds, ".2f"),
                    f"{_median(growth) / 2**20:.0f}" if growth else "",
                    f"{_median([r['peak'] for r in results]) / 2**20:.0f}",
                ]
            )
        ls_tree = _median([ls_tree_seconds(repo) for _ in range(runs)])
        table.rows.append([f"{size:,}", "git ls-tree -r", f"{ls_tree:.3f}", "", "", ""])
    return table


# -- a whole server: started to ready ----------------------------------------------------------


def _server_ready(repo: Path, cold: bool) -> tuple[float, str]:
    """Seconds from starting ``gitconfig serve`` (REST and gRPC) until ``/readyz`` answers
    200, and the last "starting" answer seen on the way. ``cold``: without the cache file."""
    cache = repo / "gitconfig" / "index.msgpack"
    if cold:
        cache.unlink(missing_ok=True)
    seen = ""

    def probe(client: httpx.Client, url: str) -> bool:
        """``/readyz`` answers 200; else wait 20 ms (no answer) or 50 ms (not ready yet)."""
        nonlocal seen
        try:
            answer = client.get(f"{url}/readyz")
        except httpx.HTTPError:
            time.sleep(0.02)
            return False
        if answer.status_code == 200:
            return True
        seen = answer.text
        time.sleep(0.05)
        return False

    with httpx.Client(timeout=2.0) as client:
        started = time.perf_counter()
        with subject.gitconfig_server(
            repo, admin_token=TOKEN, probe=partial(probe, client), poll=0, env=QUIET, timeout=120
        ):
            ready = time.perf_counter() - started
            for _ in range(600):  # a cold start writes the cache in the background: wait for it
                if not cold or cache.exists():
                    break
                time.sleep(0.05)
    return ready, seen


def server_table(work: Path, size: int, runs: int) -> Table:
    repo = work / f"cold-{size}.git"
    if not repo.exists():
        make_repo(repo, size)
    small = work / "server-1.git"
    if not small.exists():
        make_repo(small, 1)
    cases: dict[str, list[float]] = {"cold": [], "warm restart": [], "baseline: 1 file": []}
    starting = ""
    for _ in range(runs):
        seconds, seen = _server_ready(repo, cold=True)
        cases["cold"].append(seconds)
        starting = seen or starting
        cases["warm restart"].append(_server_ready(repo, cold=False)[0])
        cases["baseline: 1 file"].append(_server_ready(small, cold=True)[0])
        progress("server ready: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in cases.items()))
    table = Table(
        f"A whole server, {size:,} files: started to ready",
        ["case", "s to /readyz 200 (median)", f"{MIN_MAX} s"],
        notes=[
            f"median of {runs} interleaved runs; `gitconfig serve` with REST and gRPC, from "
            "the process's start until `/readyz` answers 200 (polled every 50 ms): the "
            "imports, the listening sockets and the index",
            "cold: no cache file; warm restart: the cache the cold run wrote; baseline: the "
            "same server on a repository of one file (the fixed cost of a start)",
            f"`/readyz` on the way (cold): `{starting.strip()[:200]}`",
        ],
    )
    for name, values in cases.items():
        table.rows.append([name, f"{_median(values):.2f}", span(values, ".2f")])
    return table


# -- refresh after one commit -----------------------------------------------------------------


def refresh_table(work: Path, sizes: list[int], commits: int) -> Table:
    from gitconfig.core.model import Author
    from gitconfig.index.refresher import Index
    from gitconfig.store.gitstore import GitStore

    table = Table(
        "Index: refresh after a one-file commit",
        ["config files", "refresh ms (median)", "p90 ms", "max ms"],
        notes=[
            f"{commits} commits per size, each changing one file, each followed by one "
            "refresh (ref read, tree diff, one blob parsed, copy-on-write snapshot swap)",
        ],
    )
    author = Author("bench", "bench@example.com")
    for size in sizes:
        repo = work / f"refresh-{size}.git"
        if not repo.exists():
            progress(f"generating {size:,} files")
            make_repo(repo, size)
        store = GitStore(repo, fsync=False)
        index = Index(store)
        index.refresh()
        times = []
        for number in range(commits):
            target = (number * 7919) % size
            head = store.head()
            store.write(
                head,
                {config_path(target): config_content(target, 10**6 + number)},
                author,
                "bench change",
            )
            started = time.perf_counter()
            result = index.refresh()
            times.append((time.perf_counter() - started) * 1000)
            assert len(result.events) == 1
        progress(f"refresh {size:,}: median {_median(times):.2f} ms")
        table.rows.append(
            [f"{size:,}", f"{_median(times):.2f}", f"{_p(times, 90):.2f}", f"{max(times):.2f}"]
        )
    return table


# -- history ----------------------------------------------------------------------------------


def history_table(work: Path, n_commits: int, calls: int) -> Table:
    from gitconfig.access.principals import Principal
    from gitconfig.core.model import Environment, Kind
    from gitconfig.runtime.bootstrap import open_service

    repo = work / f"history-{n_commits}.git"
    if not repo.exists():
        progress(f"generating {n_commits:,} commits")
        make_repo(repo, 1000, n_commits, touched=range(100))
    service = open_service(repo)
    started = time.perf_counter()
    service.index.refresh()
    build = time.perf_counter() - started
    reader = Principal("bench", frozenset({"read"}))
    path = config_path(0)
    app, env, key = path.split("/")[1], path.split("/")[2], path.split("/")[3][:-5]
    entry = service.reads.lookup(reader, Kind.CONFIG, app, env, key)
    assert entry.key.environment is Environment(env)

    def timed(fn: Callable[[], object]) -> list[float]:
        fn()  # warm: parse cache filled once
        out = []
        for _ in range(calls):
            t0 = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t0) * 1000)
        return out

    versions = timed(lambda: service.reads.versions(reader, Kind.CONFIG, entry.id))
    count = len(service.reads.versions(reader, Kind.CONFIG, entry.id))

    def git_log() -> None:
        subprocess.run(
            [
                "git",
                "--git-dir",
                str(repo),
                "log",
                "--first-parent",
                "--format=%H",
                "main",
                "--",
                path,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    baseline = []
    for _ in range(max(3, calls // 20)):
        t0 = time.perf_counter()
        git_log()
        baseline.append((time.perf_counter() - t0) * 1000)
    table = Table(
        f"History of one key ({count} versions) in a repository of {n_commits:,} commits",
        ["operation", "median ms", "p90 ms"],
        notes=[
            f"the service's history index is built once at start-up ({build:.1f} s for "
            f"{n_commits:,} commits, in the cold build above) and extended per new commit",
            "the version list includes every version's value (parsed blobs, cached by blob id)",
        ],
    )
    table.rows.append(
        [
            "service.reads.versions (history index)",
            f"{_median(versions):.2f}",
            f"{_p(versions, 90):.2f}",
        ]
    )
    table.rows.append(
        [
            "baseline: git log --first-parent -- <path>",
            f"{_median(baseline):.1f}",
            f"{_p(baseline, 90):.1f}",
        ]
    )
    return table


# -- writes -----------------------------------------------------------------------------------


def _http_writes(base: str, writers: int, seconds: float) -> tuple[float, list[float], int]:
    done = 0
    errors = 0
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def writer(number: int) -> None:
        nonlocal done, errors
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            found = client.get(
                "/configs/lookup",
                params={"key": f"key-{number}", "application": "app-0", "environment": "DEV"},
            )
            ids = client.get(
                "/configs", params={"application": "app-0", "environment": "DEV", "size": 100}
            ).json()["content"]
            config_id = next(c["id"] for c in ids if c["key"] == f"key-{number}")
            assert found.status_code == 200
            value = 0
            while time.monotonic() < deadline:
                value += 1
                t0 = time.perf_counter()
                response = client.put(f"/configs/{config_id}", json={"value": str(value)})
                elapsed = (time.perf_counter() - t0) * 1000
                with lock:
                    if response.status_code == 200:
                        done += 1
                        latencies.append(elapsed)
                    else:
                        errors += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done / (time.monotonic() - started), latencies, errors


_RAW = """
import sys, time
import pygit2
from bench.repogen import config_content, config_path
from gitconfig.store.gitstore import GitStore
from gitconfig.core.model import Author
repo, seconds, mode = sys.argv[1], float(sys.argv[2]), sys.argv[3]
store = GitStore(repo, fsync=mode == "barrier")
if mode == "libgit2":  # libgit2's own fsync of every object, ref and reflog, no barrier
    pygit2.settings.enable_fsync_gitdir(True)
author = Author("bench", "bench@example.com")
count = 0
started = time.monotonic()
while time.monotonic() < started + seconds:
    count += 1
    store.write(store.head(), {config_path(100 + count % 50): config_content(0, count)}, author,
                "raw")
print(count / (time.monotonic() - started))
"""


def _raw_commits(repo: Path, seconds: float, mode: str) -> float:
    """Commits/s of a loop of ``GitStore.write`` in a fresh process (the fsync option of
    libgit2 is process-global). ``mode``: barrier (ours) or libgit2 (per-object fsync)."""
    out = subprocess.run(
        [sys.executable, "-c", _RAW, str(repo), str(seconds), mode],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out)


def writes_table(work: Path, settings: Settings, writers: int) -> Table:
    repo = work / "writes.git"
    if not repo.exists():
        make_repo(repo, 1000)
    api: list[float] = []
    p50: list[float] = []
    p99: list[float] = []
    raw: list[float] = []
    libgit2: list[float] = []
    errors = 0
    with subject.gitconfig_server(
        repo, admin_token=TOKEN, headers={}, ready_path="/readyz", grpc=False, env=QUIET
    ) as server:
        base = server.http_url
        _http_writes(base, writers, settings.warmup_s)
        for run in range(settings.runs):
            rate, latencies, failed = _http_writes(base, writers, settings.duration_s)
            api.append(rate)
            p50.append(_p(latencies, 50))
            p99.append(_p(latencies, 99))
            errors += failed
            raw.append(_raw_commits(repo, settings.duration_s, "barrier"))
            libgit2.append(_raw_commits(repo, settings.duration_s, "libgit2"))
            progress(
                f"writes run {run + 1}: API {rate:.0f}/s, raw {raw[-1]:.0f}/s, "
                f"libgit2 fsync {libgit2[-1]:.0f}/s"
            )
    table = Table(
        "API write throughput (commits per second)",
        ["path", "commits/s (median)", MIN_MAX, "p50 ms", "p99 ms", "errors"],
        notes=[
            f"{writers} concurrent HTTP writers (PUT /configs/<id>, each its own key), "
            f"{settings.runs} runs of {settings.duration_s:.0f} s, one server process; every "
            "write is validated, committed, made durable and indexed before the response; "
            "concurrent writes are group-committed (one commit each, one flush per batch); "
            "412/409 would count as errors",
            "baselines, same run: the Git adapter alone committing in a loop (one writer, so "
            "no batching) with our durability barrier (syncfs before and after the ref move), "
            "and with libgit2's per-object fsync (GIT_OPT_ENABLE_FSYNC_GITDIR) instead",
        ],
    )
    table.rows.append(
        [
            "REST API (gitconfig serve)",
            f"{_median(api):.0f}",
            span(api, ".0f"),
            f"{_median(p50):.1f}",
            f"{_median(p99):.1f}",
            str(errors),
        ]
    )
    table.rows.append(
        [
            "baseline: GitStore.write loop (barrier)",
            f"{_median(raw):.0f}",
            span(raw, ".0f"),
            "",
            "",
            "",
        ]
    )
    table.rows.append(
        [
            "baseline: GitStore.write loop (libgit2 fsync)",
            f"{_median(libgit2):.0f}",
            span(libgit2, ".0f"),
            "",
            "",
            "",
        ]
    )
    return table


def run(settings: Settings) -> list[Table]:
    work = work_dir()
    quick = settings.quick
    runs = 3
    return [
        cold_table(work, [10_000] if quick else [10_000, 100_000], runs),
        server_table(work, 10_000 if quick else 100_000, runs),
        refresh_table(
            work, [1_000, 10_000] if quick else [1_000, 10_000, 100_000], 20 if quick else 50
        ),
        history_table(work, 2_000 if quick else 20_000, 50 if quick else 200),
        writes_table(work, settings, writers=8),
    ]


if __name__ == "__main__":
    raise SystemExit(standalone(run))
