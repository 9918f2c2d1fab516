"""Replicas (``gitconfig serve --remote``) of a smart-HTTP Git host: a ``git push`` → the
update on 3 replicas (webhook, polling), write latency next to ``git commit`` + ``git push``
from a shell, throughput of 3 replicas x 8 writers, cold start next to ``git clone --bare``.

``python -m bench --only replicas`` (or ``python -m bench.replicas [--quick]``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from bench import repogen, subject
from bench.tools import (
    Settings,
    Table,
    percentile,
    progress,
    standalone,
)
from bench.tools import run as run_command

NAME = "replicas"
USER, PASSWORD = "bench", "bench-password"
SECRET = "bench-webhook-secret"
AUTH = {"Authorization": f"Bearer {subject.TOKEN}"}
QUIET = {"GITCONFIG_LOG_LEVEL": "WARNING"}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _s(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}"


def _stats(values: list[float]) -> tuple[str, str, str]:
    ordered = sorted(values)
    return _ms(percentile(ordered, 50)), _ms(percentile(ordered, 99)), str(len(ordered))


@contextmanager
def smart_http(root: Path) -> Iterator[str]:
    """The remote: nginx + fcgiwrap + git http-backend over ``root``; its base URL."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.support.gitservers import SmartHttp  # the tests' server (nginx from Debian)

    with SmartHttp(root, USER, PASSWORD) as server:
        yield f"http://127.0.0.1:{server.port}"


@contextmanager
def replica(url: str, data_dir: Path, poll: float) -> Iterator[str]:
    """One ``gitconfig serve --remote`` process; its base URL once ready."""
    credentials = data_dir.with_suffix(".credentials")
    credentials.write_text(f"{USER}:{PASSWORD}\n")
    secret = data_dir.with_suffix(".secret")
    secret.write_text(SECRET)
    extra = ["--remote", url, "--data-dir", str(data_dir), "--poll-interval", str(poll)]
    extra += ["--remote-credentials", str(credentials), "--webhook-secret", str(secret)]
    with subject.gitconfig_server(
        None, extra=extra, headers={}, ready_path="/readyz", grpc=False, env=QUIET, timeout=300
    ) as server:
        yield server.http_url


def _git(cwd: Path, *args: str) -> None:
    run_command(["git", "-C", str(cwd), *args], timeout=120)


def _clone(remote: str, path: Path) -> Path:
    authed = remote.replace("http://", f"http://{USER}:{PASSWORD}@")
    run_command(["git", "clone", "--quiet", authed, str(path)], timeout=300)
    _git(path, "config", "user.name", "Bench Person")
    _git(path, "config", "user.email", "person@example.com")
    return path


class Subscriber:
    """A ``/configs/watch`` stream read in a thread: when each commit's event arrived."""

    def __init__(self, base: str) -> None:
        self.arrived: dict[str, float] = {}
        self.ready = threading.Event()
        self._client = httpx.Client(base_url=base, headers=AUTH, timeout=None)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self.ready.wait(30):
            raise RuntimeError("the stream did not start")

    def _run(self) -> None:
        try:
            with self._client.stream("GET", "/configs/watch") as response:
                for line in response.iter_lines():
                    if line.startswith("event: ready"):
                        self.ready.set()
                    elif line.startswith("id: "):
                        self.arrived.setdefault(line[4:], time.perf_counter())
        except httpx.HTTPError:
            return

    def wait_for(self, sha: str, timeout: float = 30.0) -> float:
        deadline = time.monotonic() + timeout
        while sha not in self.arrived:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{sha[:12]} never arrived")
            time.sleep(0.001)
        return self.arrived[sha]

    def close(self) -> None:
        self._client.close()


def _webhook(base: str, client: httpx.Client | None = None) -> None:
    """Send the host's push webhook (a GitHub one) to the replica at ``base``."""
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature}
    if client is None:
        httpx.post(f"{base}/webhooks/git", content=body, headers=headers, timeout=10)
    else:
        client.post(f"{base}/webhooks/git", content=body, headers=headers)


def propagation(remote: str, tmp: Path, pushes: int, webhook: bool) -> list[float]:
    """Seconds from ``git push`` exiting to the event on each of 3 replicas' subscribers."""
    latencies: list[float] = []
    label = "webhook" if webhook else "poll"
    offset = 1000 if webhook else 5000  # new values: each run's commits change something
    with ExitStack() as stack:
        bases = [
            stack.enter_context(replica(remote, tmp / f"{label}-{n}", 600.0 if webhook else 1.0))
            for n in range(3)
        ]
        subscribers = [Subscriber(base) for base in bases]
        # One kept-alive client per replica, as a host's sender has: making an httpx client
        # (its TLS context) costs tens of milliseconds that are not the replica's.
        senders = [stack.enter_context(httpx.Client(timeout=10)) for _ in bases]
        work = _clone(remote, tmp / f"{label}-person")
        for number in range(pushes):
            sha = repogen.add_commit(
                work, repogen.config_path(number % 50), repogen.config_content(0, number + offset)
            )
            _git(work, "push", "--quiet", "origin", "main")
            pushed = time.perf_counter()
            if webhook:
                for base, sender in zip(bases, senders, strict=True):
                    threading.Thread(target=_webhook, args=(base, sender), daemon=True).start()
            latencies += [s.wait_for(sha) - pushed for s in subscribers]
        for s in subscribers:
            s.close()
    return latencies


def _config_id(number: int) -> str:
    from gitconfig.core.model import EntryKey, Environment, Kind

    _, app, env, key = repogen.config_path(number)[: -len(".yaml")].split("/")
    return EntryKey(Kind.CONFIG, app, Environment(env), key).id


def write_latency(remote: str, tmp: Path, writes: int) -> tuple[list[float], list[float]]:
    """PUT through a replica, and git commit + push from a clone, alternating."""
    api: list[float] = []
    shell: list[float] = []
    work = _clone(remote, tmp / "latency-person")
    with (
        replica(remote, tmp / "latency", 600.0) as base,
        httpx.Client(base_url=base, headers=AUTH, timeout=60) as client,
    ):
        for number in range(writes):
            started = time.perf_counter()
            answer = client.put(f"/configs/{_config_id(100)}", json={"value": str(number)})
            if answer.status_code >= 300:  # the person's push may have moved the remote
                _webhook(base)
                continue
            api.append(time.perf_counter() - started)
            started = time.perf_counter()
            _git(work, "pull", "--quiet", "--rebase", "origin", "main")
            repogen.add_commit(work, repogen.config_path(101), repogen.config_content(0, number))
            _git(work, "push", "--quiet", "origin", "main")
            shell.append(time.perf_counter() - started)
    return api, shell


def throughput(remote: str, tmp: Path, seconds: float) -> tuple[float, int, int]:
    """Acknowledged writes per second of 3 replicas x 8 writers; refused; failed."""
    counts = {"ok": 0, "refused": 0, "failed": 0}
    lock = threading.Lock()
    with ExitStack() as stack:
        bases = [stack.enter_context(replica(remote, tmp / f"tp-{n}", 0.5)) for n in range(3)]
        stop = time.monotonic() + seconds

        def writer(base: str, number: int) -> None:
            with httpx.Client(base_url=base, headers=AUTH, timeout=60) as client:
                value = 0
                while time.monotonic() < stop:
                    value += 1
                    answer = client.put(
                        f"/configs/{_config_id(number)}", json={"value": str(value)}
                    )
                    outcome = "ok" if answer.status_code < 300 else "refused"
                    if answer.status_code >= 500:
                        outcome = "failed"
                    with lock:
                        counts[outcome] += 1

        threads = [threading.Thread(target=writer, args=(bases[n % 3], 200 + n)) for n in range(24)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    return counts["ok"] / elapsed, counts["refused"], counts["failed"]


def cold_start(remote: str, tmp: Path, runs: int) -> dict[str, list[float]]:
    """Seconds until a fresh replica is ready; for ``git clone --bare`` of the same remote;
    and for ``gitconfig serve --repo`` on that clone (the index alone, no network)."""
    times: dict[str, list[float]] = {"replica": [], "clone": [], "local": []}
    authed = remote.replace("http://", f"http://{USER}:{PASSWORD}@")
    for run in range(runs):
        started = time.perf_counter()
        with replica(remote, tmp / f"cold-{run}", 600.0):
            times["replica"].append(time.perf_counter() - started)
        target = tmp / f"clone-{run}"
        started = time.perf_counter()
        run_command(["git", "clone", "--quiet", "--bare", authed, str(target)], timeout=600)
        times["clone"].append(time.perf_counter() - started)
        started = time.perf_counter()
        with subject.gitconfig_server(target, workers=1, timeout=600):
            times["local"].append(time.perf_counter() - started)
    return times


def run(settings: Settings) -> list[Table]:
    reason = subject.unavailable(1)
    if reason is not None:
        return [Table("Replicas", ["error"], [[reason]])]
    pushes, writes = (10, 15) if settings.quick else (30, 40)
    tables: list[Table] = []
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "srv"
        repogen.make_repo(root / "small.git", n_configs=300)
        repogen.make_repo(root / "big.git", n_configs=10_000, n_commits=5_000)
        with smart_http(root) as http:
            small = f"{http}/small.git"
            progress(f"replicas: propagation, {pushes} pushes x 3 subscribers, webhook and poll")
            hooked = propagation(small, tmp, pushes, webhook=True)
            polled = propagation(small, tmp, pushes, webhook=False)
            table = Table(
                "A git push → the update on a stream subscriber of each of 3 replicas",
                ["replicas learn by", "p50 ms", "p99 ms", "samples"],
            )
            table.rows.append(["webhook (timer off)", *_stats(hooked)])
            table.rows.append(["polling only, --poll-interval 1 (±20 %)", *_stats(polled)])
            table.notes.append("from `git push` exiting to the SSE event, per (push, replica)")
            tables.append(table)

            progress(f"replicas: write latency, {writes} writes each way")
            api, shell = write_latency(small, tmp, writes)
            table = Table(
                "One-file write to the smart-HTTP remote",
                ["how", "p50 ms", "p99 ms", "samples"],
            )
            table.rows.append(["PUT /configs/{id} through a replica (acknowledged)", *_stats(api)])
            table.rows.append(["shell: git pull --rebase, commit, git push", *_stats(shell)])
            tables.append(table)

            seconds = settings.duration_s * 2
            progress(f"replicas: throughput, 3 replicas x 8 writers for {seconds:.0f} s")
            rate, refused, failed = throughput(small, tmp, seconds)
            tables.append(
                Table(
                    "Aggregate write throughput: 3 replicas x 8 writers (one key each)",
                    ["writes/s acknowledged", "refused (409)", "failed (5xx)", "seconds"],
                    [[f"{rate:.1f}", str(refused), str(failed), f"{seconds:.0f}"]],
                )
            )

            runs = 1 if settings.quick else 3
            progress(f"replicas: cold start from 10,000 files / 5,000 commits, {runs} run(s)")
            cold = cold_start(f"{http}/big.git", tmp, runs)
            tables.append(
                Table(
                    "Replica cold start: remote of 10,000 files and 5,000 commits",
                    ["what", "seconds (median)", "runs"],
                    [
                        ["serve --remote, empty data dir → ready", _s(cold["replica"]), str(runs)],
                        ["baseline: git clone --bare of the remote", _s(cold["clone"]), str(runs)],
                        [
                            "baseline: serve --repo of that clone → ready",
                            _s(cold["local"]),
                            str(runs),
                        ],
                    ],
                )
            )
    return tables


if __name__ == "__main__":
    raise SystemExit(standalone(run))
