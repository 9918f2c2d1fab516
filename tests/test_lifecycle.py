"""`gitconfig serve` as a process: draining on SIGTERM, busy ports, JSON logs with request
ids, and one metrics view over several workers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.metrics import parse
from tests.support.serve import AUTH, Launcher, init_served, run_serve, serve_args

pytestmark = pytest.mark.slow  # gitconfig serve processes


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_served(tmp_path / "config.git")


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_sigterm_turns_not_ready_at_once_keeps_serving_for_the_grace_then_exits_0(
    launch: Launcher, repo: Path
) -> None:
    server = launch(repo, "--shutdown-grace", "2", ready=False)
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.base, timeout=10) as http:
            assert http.head("/readyz").status_code == 200
            server.terminate()
            time.sleep(0.3)
            assert server.running
            assert http.get("/readyz").status_code == 503
            assert http.head("/readyz").status_code == 503
            assert http.get("/healthz").status_code == 200  # still accepting
            assert http.get("/configs", headers=AUTH).status_code == 200
        assert server.wait(timeout=15) == 0
    finally:
        server.kill()
    assert "Traceback" not in server.stderr.read_text()


def test_sigterm_before_the_first_index_exits_0(launch: Launcher, repo: Path) -> None:
    (repo / "refs" / "heads" / "main").write_text("12" * 20 + "\n")  # a commit that is not there
    server = launch(repo, "--shutdown-grace", "0", ready=False)
    try:
        assert httpx.get(f"{server.base}/readyz").status_code == 503
        assert server.stop() == 0
    finally:
        server.kill()
    assert "cannot join thread" not in server.stderr.read_text()


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("which", ["http", "grpc"])
def test_a_busy_port_is_one_line_and_exit_1(
    repo: Path, taken_port: int, which: str, workers: str
) -> None:
    ports = {"http": "0", "grpc": "0", which: str(taken_port)}
    args = serve_args(repo, "--http-port", ports["http"], "--grpc-port", ports["grpc"])
    result = run_serve([*args, "--workers", workers])
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert f"cannot listen for {'HTTP' if which == 'http' else 'gRPC'}" in lines[0]
    assert f":{taken_port}" in lines[0]


def test_a_grpc_port_of_a_running_server_is_not_shared(launch: Launcher, repo: Path) -> None:
    first = launch(repo, ready=False)
    try:
        result = run_serve(serve_args(repo, "--grpc-port", str(first.ports["grpc"])))
        assert result.returncode == 1
        assert "cannot listen for gRPC" in result.stderr
    finally:
        first.kill()


def test_json_logs_carry_the_request_id(launch: Launcher, repo: Path) -> None:
    server = launch(
        repo,
        "--log-format",
        "json",
        "--access-log",
        "--shutdown-grace",
        "0",
        grpc=False,
        ready=False,
    )
    try:
        server.wait_ready()
        sent = httpx.get(f"{server.base}/configs", headers={**AUTH, "X-Request-ID": "req-42"})
        assert sent.headers["x-request-id"] == "req-42"
        made = httpx.get(f"{server.base}/configs", headers=AUTH).headers["x-request-id"]
        assert len(made) == 32
        forged = httpx.get(f"{server.base}/healthz", headers={"X-Request-ID": "a b\tc"})
        assert forged.headers["x-request-id"] != "a b\tc"
        assert server.stop() == 0
    finally:
        server.kill()
    records = [json.loads(line) for line in server.stderr.read_text().splitlines()]
    access = [r for r in records if r["logger"] == "gitconfig.access"]
    assert {r["request_id"] for r in access} >= {"req-42", made}
    assert all({"time", "level", "message", "process"} <= r.keys() for r in records)
    assert any(r["request_id"] == "req-42" and "GET /configs 200" in r["message"] for r in access)


def _workers_of(pid: int) -> list[int]:
    """The pids of the processes ``pid`` forked (its workers)."""
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for its reaper does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG)")
def test_workers_do_not_outlive_a_killed_parent(launch: Launcher, repo: Path) -> None:
    server = launch(repo, "--shutdown-grace", "0", workers=2, ready=False)
    pid = server.pid
    workers: list[int] = []
    try:
        server.wait_ready()
        workers = _workers_of(pid)
        assert len(workers) == 2
        assert all(_alive(w) for w in workers)
        server.kill()  # SIGKILL: the parent forwards nothing
        deadline = time.monotonic() + 20
        while any(_alive(w) for w in workers):
            assert time.monotonic() < deadline, "a worker outlived its parent"
            time.sleep(0.05)
        with pytest.raises(httpx.TransportError):  # nobody serves the port any more
            httpx.get(f"{server.base}/healthz", timeout=2)
    finally:
        server.kill()
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGKILL)


def _connections_by_worker(workers: list[int], port: int) -> Counter[int]:
    """Established connections to ``port`` held by each worker (from /proc)."""
    owner = {}
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    owner[target[8:-1]] = pid
    held: Counter[int] = Counter()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "01" and int(local.rpartition(":")[2], 16) == port and inode in owner:
            held[owner[inode]] += 1
    return held


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_each_worker_listens_on_its_own_socket(launch: Launcher, repo: Path) -> None:
    server = launch(repo, "--shutdown-grace", "0", workers=2, ready=False)
    clients: list[httpx.Client] = []
    try:
        server.wait_ready()
        workers = _workers_of(server.pid)
        for _ in range(64):  # 64 keep-alive connections, as wrk opens them
            clients.append(httpx.Client(base_url=server.base, timeout=5))
            assert clients[-1].get("/healthz").status_code == 200
        held = _connections_by_worker(workers, server.ports["http"])
        assert sum(held.values()) == 64, held
        assert min(held[w] for w in workers) >= 16, held
        # A worker that dies takes its socket along: no new connection waits on its queue.
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(workers[0]):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for _ in range(32):
            assert httpx.get(f"{server.base}/healthz", timeout=5).status_code == 200
    finally:
        for client in clients:
            client.close()
        server.kill()


def test_one_scrape_counts_the_requests_of_every_worker(launch: Launcher, repo: Path) -> None:
    server = launch(repo, "--shutdown-grace", "0", workers=2, ready=False)
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.base, headers=AUTH, timeout=10) as http:
            # New connections land on either worker (the kernel balances accept()).
            for _ in range(40):
                with httpx.Client(base_url=server.base, headers=AUTH, timeout=10) as one:
                    assert one.get("/healthz").status_code == 200
            seen = []
            for _ in range(6):
                with httpx.Client(base_url=server.base, headers=AUTH, timeout=10) as one:
                    samples = parse(one.get("/metrics").text)
                seen.append(
                    samples[
                        (
                            "gitconfig_http_request_duration_seconds_count",
                            (("method", "GET"), ("route", "/healthz"), ("status", "200")),
                        )
                    ]
                )
            assert http.get("/readyz").status_code == 200
        assert set(seen) == {40.0}, seen
        assert server.stop() == 0
    finally:
        server.kill()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_a_dead_worker_is_replaced_and_logged(launch: Launcher, repo: Path) -> None:
    stale = Path(tempfile.gettempdir()) / "gitconfig-metrics-999999999-left"
    stale.mkdir(exist_ok=True)  # a SIGKILLed parent's folder (no process 999999999)
    server = launch(repo, "--shutdown-grace", "0", workers=2)
    assert not stale.exists()  # the new server removed it
    first = _workers_of(server.pid)
    assert len(first) == 2
    os.kill(first[0], signal.SIGKILL)
    deadline = time.monotonic() + 20
    while True:
        now = [w for w in _workers_of(server.pid) if _alive(w)]
        if len(now) == 2 and first[0] not in now:
            break
        assert time.monotonic() < deadline, f"no new worker: {now}"
        time.sleep(0.1)
    for _ in range(20):  # both serve: the new one listens on the port too
        assert httpx.get(f"{server.base}/healthz", timeout=5).status_code == 200
    assert f"worker {first[0]} exited" in server.output()
    assert server.stop() == 0
