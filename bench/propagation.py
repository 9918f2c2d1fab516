"""Change propagation: an API write or a ``git push`` → the update at 1, 100 and 1,000
``StreamConfigurationUpdates`` subscribers (p50, p99, max), and memory per idle subscriber.

``python -m bench.propagation [--quick]`` or ``python -m bench --only propagation``. The
subscribers run in a child process (``python -m bench.propagation measure``), so the runner
imports no grpc.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench import repogen, subject
from bench.tools import (
    Settings,
    Table,
    latency_stats,
    progress,
    standalone,
)
from bench.tools import run as run_command

NAME = "propagation"
SUBSCRIBERS = (1, 100, 1000)
STREAMS_PER_CHANNEL = 100
APPLICATION, ENVIRONMENT, KEY = "bench-propagation", "PROD", "counter"


# -- the runner side (no grpc) --------------------------------------------------------------


def run(settings: Settings) -> list[Table]:
    writes, pushes = (20, 8) if settings.quick else (60, 20)
    reason = subject.unavailable(1)
    if reason is not None:
        return [Table("Change propagation", ["error"], [[reason]])]
    with tempfile.TemporaryDirectory(prefix="bench-propagation-") as tmp:
        repo = Path(tmp) / "configs.git"
        repogen.make_repo(repo, n_configs=1_000 if settings.quick else 10_000, n_flags=10)
        with subject.gitconfig_server(repo) as server:
            progress(f"propagation: {writes} API writes and {pushes} pushes per row")
            child = [sys.executable, "-m", "bench.propagation", "measure"]
            child += ["--http", server.http_url, "--grpc", server.grpc_target, "--repo", str(repo)]
            child += ["--pid", str(server.pid), "--writes", str(writes), "--pushes", str(pushes)]
            _, out, _ = run_command(child, timeout=1800)
    return tables(json.loads(out))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def tables(result: dict[str, Any]) -> list[Table]:
    table = Table(
        "Change propagation to StreamConfigurationUpdates subscribers",
        ["change", "subscribers", "samples", "p50 ms", "p99 ms", "max ms"],
    )
    for kind, label in (("api", "API write returned"), ("api_sent", "API write sent")):
        for n in SUBSCRIBERS:
            row = result[kind][str(n)]
            table.rows.append(
                [
                    label,
                    f"{n:,}",
                    str(row["samples"]),
                    _ms(row["p50"]),
                    _ms(row["p99"]),
                    _ms(row["max"]),
                ]
            )
    for n in SUBSCRIBERS:
        row = result["push"][str(n)]
        table.rows.append(
            [
                "git push returned",
                f"{n:,}",
                str(row["samples"]),
                _ms(row["p50"]),
                _ms(row["p99"]),
                _ms(row["max"]),
            ]
        )
    memory = result["memory"]
    table.notes += [
        "latency of every (write, subscriber) pair; p50/p99/max over all of them",
        f"memory per idle subscriber (server RSS with {memory['streams']:,} idle streams, "
        f"minus before): {memory['per_stream_bytes'] / 1024:.1f} KiB",
    ]
    return [table]


# -- the measuring child (grpc.aio) ---------------------------------------------------------


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class Subscribers:
    """N streams on one key; records when each update (by value) reached each of them."""

    def __init__(self, target: str, n: int) -> None:
        import grpc

        from gitconfig.grpc.v1 import config_pb2, config_pb2_grpc

        self.n = n
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.complete: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        count = max(1, -(-n // STREAMS_PER_CHANNEL))
        self.channels = [grpc.aio.insecure_channel(target) for _ in range(count)]
        request = config_pb2.StreamConfigurationUpdatesRequest(
            application=APPLICATION, environment=ENVIRONMENT, keys=[KEY]
        )
        metadata = (("authorization", f"Bearer {subject.TOKEN}"),)
        self.calls = [
            config_pb2_grpc.ConfigurationServiceStub(
                self.channels[i % count]
            ).StreamConfigurationUpdates(request, metadata=metadata)
            for i in range(n)
        ]
        self.tasks: list[asyncio.Task[None]] = []

    async def open(self) -> None:
        for call in self.calls:
            await call.initial_metadata()  # sent once the subscription is registered
        self.tasks = [asyncio.create_task(self._read(call)) for call in self.calls]

    async def _read(self, call: Any) -> None:
        async for update in call:
            arrived = time.perf_counter()
            times = self.arrivals[update.value]
            times.append(arrived)
            if len(times) == self.n:
                self.complete[update.value].set()

    async def wait(self, value: str, timeout: float = 30.0) -> list[float]:
        await asyncio.wait_for(self.complete[value].wait(), timeout)
        return self.arrivals.pop(value)

    async def close(self) -> None:
        for call in self.calls:
            call.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for channel in self.channels:
            await channel.close()


async def _measure(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    from gitconfig.core.model import EntryKey, Environment, Kind

    headers = subject.AUTH_HEADERS
    result: dict[str, Any] = {"api": {}, "api_sent": {}, "push": {}}
    counter = 0
    with tempfile.TemporaryDirectory(prefix="bench-propagation-clone-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", args.repo, str(clone)], check=True)
        for name, value in (("user.name", "bench"), ("user.email", "bench@localhost")):
            subprocess.run(["git", "-C", str(clone), "config", name, value], check=True)
        path = clone / "configs" / APPLICATION / ENVIRONMENT / f"{KEY}.yaml"
        entry_id = EntryKey(Kind.CONFIG, APPLICATION, Environment.PROD, KEY).id
        async with httpx.AsyncClient(base_url=args.http, headers=headers, timeout=30) as http:
            created = await http.post(
                "/configs",
                json={
                    "key": KEY,
                    "application": APPLICATION,
                    "environment": ENVIRONMENT,
                    "valueType": "NUMBER",
                    "value": "0",
                },
            )
            created.raise_for_status()
            for n in SUBSCRIBERS:
                rss_before = _rss(args.pid)
                subscribers = Subscribers(args.grpc, n)
                await subscribers.open()
                if n == max(SUBSCRIBERS):
                    await asyncio.sleep(1.0)
                    grown = _rss(args.pid) - rss_before
                    result["memory"] = {"streams": n, "per_stream_bytes": grown / n}
                returned: list[float] = []
                sent: list[float] = []
                for _ in range(args.writes):
                    counter += 1
                    started = time.perf_counter()
                    response = await http.put(f"/configs/{entry_id}", json={"value": str(counter)})
                    done = time.perf_counter()
                    response.raise_for_status()
                    arrivals = await subscribers.wait(str(counter))
                    returned += [t - done for t in arrivals]
                    sent += [t - started for t in arrivals]
                    await asyncio.sleep(0.02)
                result["api"][str(n)] = latency_stats(returned)
                result["api_sent"][str(n)] = latency_stats(sent)
                pushed: list[float] = []
                subprocess.run(["git", "-C", str(clone), "pull", "-q"], check=True)
                for _ in range(args.pushes):
                    counter += 1
                    path.write_text(f"type: NUMBER\nvalue: {counter}\n")
                    git = ["git", "-C", str(clone)]
                    subprocess.run([*git, "commit", "-q", "-am", f"value {counter}"], check=True)
                    push = await asyncio.create_subprocess_exec(*git, "push", "-q")
                    await push.wait()
                    done = time.perf_counter()
                    arrivals = await subscribers.wait(str(counter))
                    pushed += [t - done for t in arrivals]
                    await asyncio.sleep(0.05)
                result["push"][str(n)] = latency_stats(pushed)
                await subscribers.close()
                progress(f"propagation: {n} subscribers done")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.propagation")
    sub = parser.add_subparsers(dest="command")
    measure = sub.add_parser("measure", help="the child: subscribe, write, time")
    measure.add_argument("--http", required=True)
    measure.add_argument("--grpc", required=True)
    measure.add_argument("--repo", required=True)
    measure.add_argument("--pid", type=int, required=True)
    measure.add_argument("--writes", type=int, default=60)
    measure.add_argument("--pushes", type=int, default=20)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "measure":
        print(json.dumps(asyncio.run(_measure(args))))
        return 0
    return standalone(run, ["--quick"] if args.quick else [])


if __name__ == "__main__":
    raise SystemExit(main())
