"""Run the benchmarks and print markdown tables: ``python -m bench [--quick] [--only NAME]``.

Each suite is a module with ``run(settings: Settings) -> list[Table]``. Progress goes to
stderr, tables to stdout (and to ``--output`` if given). Exit codes: 0 all suites ran, 1 a
suite failed (the others still run), 2 bad arguments, 130 interrupted. Every process a suite
starts is stopped in its ``finally`` blocks, including on Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from bench import cpu, machine
from bench.tools import QUICK, Settings, Table, print_tables, progress

SUITES = {
    "http_lookup": "bench.http_lookup",
    "grpc_unary": "bench.grpc_unary",
    "protocols": "bench.protocols",
    "metrics_overhead": "bench.metrics_overhead",
    "asgi_layers": "bench.asgi_layers",
}
# Suites written by others: included when the module exists and defines run(settings).
OPTIONAL_SUITES = {
    "eval": "bench.bench_eval",
    "index": "bench.bench_index",
    "cold_phases": "bench.cold_phases",
    "propagation": "bench.propagation",
    "cli": "bench.bench_cli",
    "compare": "bench.bench_compare",
    "client": "bench.bench_client",
    "access": "bench.access",
    "secrets": "bench.bench_secrets",
    "replicas": "bench.replicas",
}

SuiteRun = Callable[[Settings], list[Table]]


def available_suites() -> dict[str, SuiteRun]:
    suites: dict[str, SuiteRun] = {}
    for name, module_name in SUITES.items():
        suites[name] = importlib.import_module(module_name).run
    for name, module_name in OPTIONAL_SUITES.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        if callable(getattr(module, "run", None)):
            suites[name] = module.run
    return suites


def parse_args(argv: Sequence[str], names: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter runs (3 x 2 s)")
    parser.add_argument(
        "--only",
        action="append",
        choices=names,
        metavar="NAME",
        help=f"run only this suite (repeatable): {', '.join(names)}",
    )
    parser.add_argument("--runs", type=int, help="runs per row (default 5, quick 3)")
    parser.add_argument("--duration", type=float, help="seconds per run (default 5, quick 2)")
    parser.add_argument("--output", type=Path, help="also write the markdown to this file")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait up to SECONDS for the CPUs to be idle (under 10%% busy)",
    )
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    base = QUICK if args.quick else Settings()
    runs = args.runs if args.runs is not None else base.runs
    duration = args.duration if args.duration is not None else base.duration_s
    if runs < 1 or not 1 <= duration <= 60:
        raise SystemExit("--runs must be >= 1 and --duration between 1 and 60 seconds")
    return Settings(runs=runs, duration_s=duration, warmup_s=base.warmup_s, quick=base.quick)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    suites = available_suites()
    args = parse_args(sys.argv[1:] if argv is None else argv, list(suites))
    settings = settings_from(args)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        sections = header(args.wait_idle)
        failed = False
        for name in args.only or list(suites):
            progress(f"suite {name}")
            try:
                tables = suites[name](settings)
            except Exception:  # noqa: BLE001 - one failed suite must not hide the others' figures
                failed = True
                traceback.print_exc()
                tables = [Table(name, ["error"], [["failed: see stderr"]])]
            sections += print_tables(tables)
    except KeyboardInterrupt:
        progress("interrupted")
        return 130
    if args.output is not None:
        args.output.write_text("\n".join(sections))
    return 1 if failed else 0


def header(wait_idle: float) -> list[str]:
    """Wait (at most ``wait_idle`` s) for idle CPUs; print and return the machine section."""
    busy = cpu.busy_percent()
    deadline = time.monotonic() + min(wait_idle, 3600)
    while busy > 10 and time.monotonic() < deadline:
        progress(f"CPUs {busy:.0f} % busy; waiting for other processes to finish")
        time.sleep(5)
        busy = cpu.busy_percent()
    if busy > 15:
        progress(f"warning: the CPUs were {busy:.0f} % busy before start; figures will be low")
    lines = [*machine.describe(), f"CPU busy before start (other tenants): {busy:.0f} %"]
    sections = ["## Benchmarks", "", *(f"- {line}" for line in lines), ""]
    print("\n".join(sections), flush=True)
    return sections


if __name__ == "__main__":
    raise SystemExit(main())
