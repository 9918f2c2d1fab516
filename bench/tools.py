"""Shared benchmark helpers: commands, server processes, wrk, medians and markdown tables.

Every external command goes through ``run`` (one error type, ``CommandError``). Every server
goes through ``server_process``: a new session (its own process group) on 127.0.0.1, a
readiness probe, and on exit SIGTERM then SIGKILL to the whole group, whatever happened.
"""

from __future__ import annotations

import gc
import http.client
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bench import cpu

HOST = "127.0.0.1"


class CommandError(RuntimeError):
    """A command failed or timed out: carries the command, exit code and output."""

    def __init__(self, cmd: Sequence[str], returncode: int, stdout: str, stderr: str) -> None:
        super().__init__(f"{cmd[0]} exited {returncode}: {(stderr or stdout).strip()[-1500:]}")
        self.cmd, self.returncode, self.stdout, self.stderr = list(cmd), returncode, stdout, stderr


class ServerError(RuntimeError):
    """A server under test did not start or become ready; the message holds its output."""


def run(
    cmd: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> tuple[int, str, str]:
    """Run ``cmd`` to completion; return (returncode, stdout, stderr)."""
    try:
        proc = subprocess.run(
            list(cmd), capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandError(cmd, -1, _text(exc.stdout), f"timed out after {timeout}s") from exc
    if check and proc.returncode != 0:
        raise CommandError(cmd, proc.returncode, proc.stdout, proc.stderr)
    return proc.returncode, proc.stdout, proc.stderr


def run_script(script: str, *args: str, timeout: float = 600.0) -> dict[str, float]:
    """Run Python ``script`` in a fresh interpreter (this one) with ``args``; the JSON object
    it prints."""
    _code, out, _err = run([sys.executable, "-c", script, *args], timeout=timeout)
    result: dict[str, float] = json.loads(out)
    return result


def work_dir() -> Path:
    """Where ``index`` and ``cold_phases`` keep their generated repositories: a new temporary
    folder, or ``$GITCONFIG_BENCH_DIR`` (kept, and reused, between runs)."""
    work = Path(os.environ.get("GITCONFIG_BENCH_DIR") or tempfile.mkdtemp(prefix="gc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    return work


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def server_process(
    name: str,
    cmd: Sequence[str],
    ready: Callable[[], bool],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 30.0,
    poll: float = 0.1,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``cmd`` in its own process group, wait until ``ready()`` (asked every ``poll``
    s; 0: the probe paces itself), stop the group on exit, whatever happened."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + timeout
            while not ready():
                if proc.poll() is not None:
                    raise ServerError(f"{name} exited {proc.returncode}: {_tail(log)}")
                if time.monotonic() > deadline:
                    raise ServerError(f"{name} not ready after {timeout:.0f}s: {_tail(log)}")
                time.sleep(poll)
            yield proc
        finally:
            stop_group(proc)


def stop_group(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM the process group of ``proc``, wait, then SIGKILL whatever is left of it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
    proc.wait()


def http_ready(url: str, headers: Mapping[str, str] | None = None) -> Callable[[], bool]:
    """A probe that is true once GET ``url`` answers 200."""

    def probe() -> bool:
        request = urllib.request.Request(url, headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return int(response.status) == 200
        except (OSError, urllib.error.URLError, http.client.HTTPException):
            return False

    return probe


def tcp_ready(port: int) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return True
        except OSError:
            return False

    return probe


# --- wrk -------------------------------------------------------------------------------------

# wrk calls done() once, after the run; latency percentiles are in microseconds.
_REPORT_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT {\\"requests\\":%.0f,\\"duration_us\\":%.0f,\\"p50_us\\":%.1f,"
    .. "\\"p99_us\\":%.1f,\\"connect\\":%.0f,\\"read\\":%.0f,\\"write\\":%.0f,"
    .. "\\"status\\":%.0f,\\"timeout\\":%.0f}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class Sample:
    """One load run: throughput, latency percentiles in milliseconds, failed requests."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int = 0
    server_cpu_us: float | None = None  # CPU of the server's processes per request, if known


def wrk_script(
    method: str = "GET", body: str | None = None, headers: Mapping[str, str] | None = None
) -> str:
    """Lua for wrk: the request to send, plus a done() that prints a JSON result line."""
    lines = [f"wrk.method = {_lua_string(method)}"]
    if body is not None:
        lines.append(f"wrk.body = {_lua_string(body)}")
    for name, value in (headers or {}).items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    return "\n".join(lines) + "\n" + _REPORT_LUA


def run_wrk(url: str, script: str, connections: int, duration_s: float, threads: int = 1) -> Sample:
    """Run wrk against ``url`` with ``script`` (see ``wrk_script``) and parse its result."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        cmd = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration_s))}s",
            "--timeout",
            "5s",
            "-s",
            handle.name,
            url,
        ]
        _, stdout, _ = run(cmd, timeout=duration_s + 60)
    finally:
        Path(handle.name).unlink(missing_ok=True)
    return parse_wrk(stdout)


def parse_wrk(stdout: str) -> Sample:
    for line in stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            data = json.loads(line.removeprefix("BENCH_RESULT "))
            errors = sum(int(data[k]) for k in ("connect", "read", "write", "status", "timeout"))
            return Sample(
                rps=data["requests"] / (data["duration_us"] / 1e6),
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                errors=errors,
            )
    raise ValueError(f"no BENCH_RESULT line in wrk output: {stdout[-1000:]}")


# --- measurement and tables ------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """How hard to measure: ``runs`` runs of ``duration_s`` seconds per case, median reported."""

    runs: int = 5
    duration_s: float = 5.0
    warmup_s: float = 2.0
    quick: bool = False
    retries: int = 2  # extra attempts for a run disturbed by other processes
    max_foreign: float = 0.10  # of one core, averaged over the run


QUICK = Settings(runs=3, duration_s=2.0, warmup_s=1.0, quick=True)  # ``--quick``


@dataclass(frozen=True)
class Row:
    """One table row: its label cells and either ``measure(duration_s)`` or why it cannot run."""

    label: tuple[str, ...]
    measure: Callable[[float], Sample] | None = None
    reason: str = "not available"


def measure_rows(
    rows: Sequence[Row],
    settings: Settings,
    notes: list[str] | None = None,
    cells: Callable[[Sequence[Sample]], list[str]] | None = None,
) -> list[list[str]]:
    """Measure every runnable row and return the table's cells, one list per row.

    All rows are warmed up, then run round-robin ``settings.runs`` times: interleaving spreads
    the machine's noise over all rows instead of letting it land on whichever row happened to
    run during it. A run during which other processes of the machine (not ours, not the
    kernel's) used more than ``settings.max_foreign`` of a core is repeated, up to
    ``settings.retries`` times, and the least disturbed attempt is kept; what happened is
    added to ``notes``. ``cells``: a row's cells from its samples (default ``summary_cells``).
    """
    samples: dict[int, list[Sample]] = {i: [] for i, row in enumerate(rows) if row.measure}
    repeated = disturbed = 0
    for round_number in range(settings.runs + 1):
        for i in samples:
            measure, name = rows[i].measure, " / ".join(rows[i].label)
            assert measure is not None
            if round_number == 0:
                progress(f"warm-up {name}")
                measure(settings.warmup_s)
                continue
            name = f"run {round_number}/{settings.runs} {name}"
            share, sample, attempts = _least_disturbed(measure, settings, name)
            samples[i].append(sample)
            repeated += attempts - 1
            disturbed += share > settings.max_foreign
    if notes is not None and samples:
        notes.append(
            f"{repeated} run(s) repeated because other processes used more than "
            f"{settings.max_foreign:.0%} of a core meanwhile; {disturbed} of "
            f"{settings.runs * len(samples)} kept runs were still disturbed"
        )
    summarise = cells or summary_cells
    width = len(summarise(next(iter(samples.values())))) if samples else len(SUMMARY_HEADERS)
    blank = [""] * (width - 1)
    return [
        [*row.label, *(summarise(samples[i]) if i in samples else [row.reason, *blank])]
        for i, row in enumerate(rows)
    ]


def _least_disturbed(
    measure: Callable[[float], Sample], settings: Settings, name: str
) -> tuple[float, Sample, int]:
    """Run until other processes stay under ``max_foreign`` (or out of retries).

    Returns the least disturbed attempt's foreign CPU share and sample, and the attempts made.
    """
    attempts: list[tuple[float, Sample]] = []
    while len(attempts) <= settings.retries:
        before, started = cpu.foreign_cpu_ticks(), time.monotonic()
        sample = measure(settings.duration_s)
        foreign = (cpu.foreign_cpu_ticks() - before) / cpu.TICKS_PER_SECOND
        share = foreign / max(1e-9, time.monotonic() - started)
        progress(
            f"{name}: {sample.rps:,.0f}/s p50 {sample.p50_ms:.2f} ms p99 {sample.p99_ms:.2f} ms "
            f"errors {sample.errors}; other processes used {share:.0%} of a core"
        )
        attempts.append((share, sample))
        if share <= settings.max_foreign:
            break
    share, sample = min(attempts, key=lambda attempt: attempt[0])
    return share, sample, len(attempts)


@contextmanager
def one_core() -> Iterator[str]:
    """Pin this process to one CPU for the measurement; restore the affinity after."""
    try:
        before = os.sched_getaffinity(0)
    except AttributeError:
        yield "not pinned (no sched_setaffinity)"
        return
    cpu = max(before)
    os.sched_setaffinity(0, {cpu})
    try:
        yield f"pinned to CPU {cpu}"
    finally:
        os.sched_setaffinity(0, before)


def calibrate(loop: Callable[[int], None], seconds: float) -> int:
    """How many passes of ``loop`` (``loop(passes)``) take about ``seconds``."""
    repetitions = 1
    while True:
        start = time.perf_counter()
        loop(repetitions)
        elapsed = time.perf_counter() - start
        if elapsed >= 0.05:
            return max(1, round(repetitions * seconds / elapsed))
        repetitions *= 4


def seconds_gc_off(loop: Callable[[int], None], repetitions: int) -> float:
    """Wall seconds of ``loop(repetitions)`` with the garbage collector off (as ``timeit``)."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        loop(repetitions)
        return time.perf_counter() - start
    finally:
        gc.enable()


def latency_stats(latencies: list[float]) -> dict[str, float]:
    """Samples, p50, p99 and max of ``latencies`` (seconds)."""
    ordered = sorted(latencies)
    return {
        "samples": len(ordered),
        "p50": percentile(ordered, 50),
        "p99": percentile(ordered, 99),
        "max": ordered[-1],
    }


def progress(message: str) -> None:
    """Progress goes to stderr, so that stdout holds only the markdown tables."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


EN_DASH, TIMES = "\N{EN DASH}", "\N{MULTIPLICATION SIGN}"  # as the tables print them
MIN_MAX = f"min{EN_DASH}max"


def span(values: Iterable[float], spec: str) -> str:
    """The min-max cell of ``values``, each bound formatted with ``spec`` (e.g. ``".2f"``)."""
    ordered = sorted(values)
    return f"{ordered[0]:{spec}}{EN_DASH}{ordered[-1]:{spec}}"


def ratio(value: float, spec: str = ".2f") -> str:
    """A ratio cell: the value and the multiplication sign (``TIMES``)."""
    return f"{value:{spec}}{TIMES}"


def summary_cells(samples: Sequence[Sample]) -> list[str]:
    """Median req/s, [min-max] req/s, median p50, median p99, total errors."""
    rps = [s.rps for s in samples]
    return [
        f"{statistics.median(rps):,.0f}",
        span(rps, ",.0f"),
        f"{statistics.median(s.p50_ms for s in samples):.2f}",
        f"{statistics.median(s.p99_ms for s in samples):.2f}",
        str(sum(s.errors for s in samples)),
    ]


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of already sorted values; 0 for no values."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


SUMMARY_HEADERS = ["req/s (median)", f"req/s ({MIN_MAX})", "p50 ms", "p99 ms", "errors"]


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_markdown(self) -> str:
        widths = [len(h) for h in self.headers]
        for row in self.rows:
            widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

        def line(cells: Sequence[str]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

        out = [f"### {self.title}", "", line(self.headers)]
        out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        out += [line(row) for row in self.rows]
        if self.notes:
            out += [""] + [f"- {note}" for note in self.notes]
        return "\n".join(out) + "\n"


def print_tables(tables: Iterable[Table]) -> list[str]:
    """Print each table's markdown to stdout, flushed: the harness's one table printer.
    Returns the markdown printed."""
    printed = []
    for table in tables:
        printed.append(table.to_markdown())
        print(printed[-1], flush=True)
    return printed


def standalone(run: Callable[[Settings], list[Table]], argv: Sequence[str] | None = None) -> int:
    """``python -m bench.<suite> [--quick]``: run one suite on its own, print its tables."""
    quick = "--quick" in (sys.argv[1:] if argv is None else argv)
    print_tables(run(QUICK if quick else Settings()))
    return 0


def _lua_string(text: str) -> str:
    """A double-quoted Lua string literal: every byte outside printable ASCII as ``\\ddd``."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        out.append(f"\\{byte:03d}" if char in '"\\' or not 32 <= byte < 127 else char)
    return '"' + "".join(out) + '"'


def _tail(log: IO[bytes], limit: int = 2000) -> str:
    log.seek(0)
    return log.read().decode(errors="replace").strip()[-limit:] or "(no output)"


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""
