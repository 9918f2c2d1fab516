"""The embedded client (``gitconfig.client``): reads/s from its local copy next to a plain
``dict.get``, and a commit → ``on_change`` in 100 ``AsyncClient``s next to 100 raw
``StreamConfigurationUpdates`` subscribers (``propagation.py``), in the same run.

``python -m bench.bench_client [--quick]`` or ``python -m bench --only client``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import repogen, subject
from bench.propagation import APPLICATION, ENVIRONMENT, KEY, Subscribers
from bench.tools import (
    HOST,
    MIN_MAX,
    Settings,
    Table,
    calibrate,
    latency_stats,
    one_core,
    progress,
    ratio,
    seconds_gc_off,
    span,
    standalone,
)
from bench.tools import run as run_command

NAME = "client"
CLIENTS = 100
READ_KEYS = 1024


# -- reads -------------------------------------------------------------------------------------


def _offline_client(workdir: Path, configs: int) -> Any:
    from gitconfig.client import Backoff, Client
    from gitconfig.client.cache import save
    from gitconfig.client.state import LocalState, config_value

    values = [
        config_value(f"key-{i}", "NUMBER", str(i), 1, "0" * 40, f"id-{i}") for i in range(configs)
    ]
    path = workdir / "cache.json"
    save(path, "bench", "PROD", LocalState.build("0" * 40, values, []), time.time())
    with socket.socket() as unused:
        unused.bind((HOST, 0))
        target = f"{HOST}:{unused.getsockname()[1]}"
    client = Client(
        target, "bench", "bench", "PROD", cache_path=path, timeout=0.5, backoff=Backoff(5.0, 10.0)
    )
    return client.start()


def _timed(loop: Callable[[int], None], repetitions: int) -> float:
    return repetitions * READ_KEYS / seconds_gc_off(loop, repetitions)


def reads(runs: int, seconds: float) -> Table:
    import random

    rng = random.Random(14)
    with tempfile.TemporaryDirectory(prefix="bench-client-") as tmp:
        client = _offline_client(Path(tmp), 1000)
        try:
            keys = [f"key-{rng.randrange(1000)}" for _ in range(READ_KEYS)]
            plain = {f"key-{i}": i for i in range(1000)}

            def loop_of(read: Callable[[str], Any]) -> Callable[[int], None]:
                def loop(repetitions: int) -> None:
                    for _ in range(repetitions):
                        for key in keys:
                            read(key)

                return loop

            def snapshots(repetitions: int) -> None:
                snapshot = client.snapshot
                for _ in range(repetitions):
                    for _key in keys:
                        snapshot()

            rows = {
                "baseline: dict.get(key)": loop_of(plain.get),
                "client.get(key)": loop_of(client.get),
                "client.get_int(key)": loop_of(client.get_int),
                "client.get_str(key)": loop_of(client.get_str),
                "client.snapshot()": snapshots,
            }
            assert all(client.get(key) == plain[key] for key in keys)
            with one_core() as pinning:
                plan = {name: calibrate(loop, seconds) for name, loop in rows.items()}
                rates: dict[str, list[float]] = defaultdict(list)
                for run in range(runs):
                    for name, loop in rows.items():
                        rates[name].append(_timed(loop, plan[name]))
                    progress(f"client reads: run {run + 1}/{runs}")
        finally:
            client.close()
    baseline = statistics.median(rates["baseline: dict.get(key)"])
    table = Table(
        "Embedded client: reads from the local copy (one core)",
        ["read", "reads/s (median)", MIN_MAX, "÷ baseline"],
    )
    for name, found in rates.items():
        median = statistics.median(found)
        table.rows.append(
            [name, f"{median:,.0f}", span(found, ",.0f"), ratio(median / baseline, ".2f")]
        )
    table.notes += [
        f"median of {runs} runs of ~{seconds:g} s, {READ_KEYS:,} keys of 1,000 per pass, the "
        f"loop's own cost included in every row, GC off during a run, {pinning}",
    ]
    return table


# -- propagation -------------------------------------------------------------------------------


def propagation(writes: int) -> Table:
    reason = subject.unavailable(1)
    if reason is not None:
        return Table("Embedded client: commit → on_change", ["error"], [[reason]])
    with tempfile.TemporaryDirectory(prefix="bench-client-") as tmp:
        repo = Path(tmp) / "configs.git"
        repogen.make_repo(repo, n_configs=1_000, n_flags=10)
        with subject.gitconfig_server(repo) as server:
            child = [sys.executable, "-m", "bench.bench_client", "measure"]
            child += ["--http", server.http_url, "--grpc", server.grpc_target]
            child += ["--writes", str(writes)]
            _, out, _ = run_command(child, timeout=900)
    result = json.loads(out)
    table = Table(
        f"Embedded client: a commit on the server → on_change in {CLIENTS} clients",
        ["receiver", "from", "samples", "p50 ms", "p99 ms", "max ms"],
    )
    for receiver, label in (
        ("streams", f"baseline: {CLIENTS} raw gRPC streams"),
        ("clients", f"{CLIENTS} AsyncClients (on_change)"),
    ):
        for start, start_label in (("returned", "PUT returned"), ("sent", "PUT sent")):
            row = result[receiver][start]
            table.rows.append(
                [
                    label,
                    start_label,
                    str(row["samples"]),
                    f"{row['p50'] * 1000:.1f}",
                    f"{row['p99'] * 1000:.1f}",
                    f"{row['max'] * 1000:.1f}",
                ]
            )
    table.notes += [
        f"{writes} writes, one at a time, each awaited in every receiver; latency of every "
        "(write, receiver) pair; receivers in one child process, one asyncio loop, sharing "
        "the machine's cores with the server",
    ]
    return table


class Clients:
    """N AsyncClients of the written key's application and environment; records when each
    saw each value of the key in an on_change callback."""

    def __init__(self, target: str, n: int) -> None:
        from gitconfig.client import AsyncClient

        self.n = n
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.complete: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.clients = [
            AsyncClient(target, subject.TOKEN, APPLICATION, ENVIRONMENT, include_flags=False)
            for _ in range(n)
        ]

    async def open(self) -> None:
        for client in self.clients:
            await client.start()
            client.on_change(self._record)

    def _record(self, change: Any) -> None:
        arrived = time.perf_counter()
        for item in change.changes:
            if item.key == KEY:
                times = self.arrivals[str(item.new)]
                times.append(arrived)
                if len(times) == self.n:
                    self.complete[str(item.new)].set()

    async def wait(self, value: str, timeout: float = 30.0) -> list[float]:
        await asyncio.wait_for(self.complete[value].wait(), timeout)
        return self.arrivals.pop(value)

    async def close(self) -> None:
        for client in self.clients:
            await client.close()


async def _measure(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    from gitconfig.core.model import EntryKey, Environment, Kind

    result: dict[str, Any] = {}
    counter = 0
    entry_id = EntryKey(Kind.CONFIG, APPLICATION, Environment.PROD, KEY).id
    async with httpx.AsyncClient(
        base_url=args.http, headers=subject.AUTH_HEADERS, timeout=30
    ) as http:
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
        for name, receivers in (
            ("streams", Subscribers(args.grpc, CLIENTS)),
            ("clients", Clients(args.grpc, CLIENTS)),
        ):
            await receivers.open()
            await asyncio.sleep(0.5)
            returned: list[float] = []
            sent: list[float] = []
            for _ in range(args.writes):
                counter += 1
                started = time.perf_counter()
                response = await http.put(f"/configs/{entry_id}", json={"value": str(counter)})
                done = time.perf_counter()
                response.raise_for_status()
                arrivals = await receivers.wait(str(counter))
                returned += [t - done for t in arrivals]
                sent += [t - started for t in arrivals]
                await asyncio.sleep(0.02)
            result[name] = {"returned": latency_stats(returned), "sent": latency_stats(sent)}
            await receivers.close()
            progress(f"client propagation: {name} done")
    return result


def run(settings: Settings) -> list[Table]:
    runs = max(5, settings.runs)
    return [reads(runs, 0.2 if settings.quick else 0.5), propagation(20 if settings.quick else 60)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_client")
    sub = parser.add_subparsers(dest="command")
    measure = sub.add_parser("measure", help="the child: clients, writes, times")
    measure.add_argument("--http", required=True)
    measure.add_argument("--grpc", required=True)
    measure.add_argument("--writes", type=int, default=60)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "measure":
        print(json.dumps(asyncio.run(_measure(args))))
        return 0
    return standalone(run, ["--quick"] if args.quick else [])


if __name__ == "__main__":
    raise SystemExit(main())
