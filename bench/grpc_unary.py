"""Unary gRPC calls per second at 64 in flight: ``GetConfiguration`` and ``CheckFeatureFlag``
(``gitconfig serve``, 1 and 2 processes) next to a minimal ``grpc.aio`` server
(``grpc_baseline.py``). Load: h2load, else the Python ``grpc.aio`` client.
``python -m bench --only grpc_unary``.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench import deps, repogen, subject
from bench.grpc_baseline import BASELINE_METHOD
from bench.tools import (
    SUMMARY_HEADERS,
    CommandError,
    Row,
    Sample,
    ServerError,
    Settings,
    Table,
    free_port,
    measure_rows,
    percentile,
    progress,
    server_process,
    tcp_ready,
)
from bench.tools import run as run_command
from gitconfig.grpc.v1 import config_pb2

NAME = "grpc_unary"
CONCURRENCY = 64
CONNECTIONS = 4
ROOT = Path(__file__).resolve().parent.parent
GET_CONFIGURATION = "/config.v1.ConfigurationService/GetConfiguration"
CHECK_FEATURE_FLAG = "/config.v1.ConfigurationService/CheckFeatureFlag"
# GetConfigurationRequest{key, application, environment}
GET_REQUEST = config_pb2.GetConfigurationRequest(
    key=subject.KEY, application=subject.APPLICATION, environment=subject.ENVIRONMENT
).SerializeToString()
# CheckFeatureFlagRequest{key, application, environment, user_id}
CHECK_REQUEST = config_pb2.CheckFeatureFlagRequest(
    key=subject.FLAG_KEY, application=subject.APPLICATION, environment="PROD", user_id="user-42"
).SerializeToString()


@dataclass(frozen=True)
class Call:
    """One unary call to load: where, which method, which request bytes, which token."""

    target: str
    method: str
    request: bytes
    token: str | None = None


def _python(*args: str) -> list[str]:
    return [sys.executable, "-m", "bench.grpc_baseline", *args]


def _call_args(call: Call) -> list[str]:
    args = ["--target", call.target, "--method", call.method, "--request", call.request.hex()]
    return args + (["--token", call.token] if call.token else [])


class CallFailed(RuntimeError):
    """The first call to a row's RPC did not succeed; ``code`` is the gRPC status name."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(f"{code}: {details}")
        self.code = code


def probe(call: Call, timeout: float = 20.0) -> int:
    """Make one successful call (waiting while UNAVAILABLE); return the response's size."""
    cmd = _python("probe", *_call_args(call), "--timeout", str(timeout))
    _, out, _ = run_command(cmd, timeout=timeout + 30)
    result = json.loads(out)
    if not result["ok"]:
        raise CallFailed(str(result["code"]), str(result["details"]))
    return int(result["response_bytes"])


def python_load(call: Call, duration: float) -> Sample:
    cmd = _python("load", *_call_args(call), "--duration", str(duration))
    cmd += ["--concurrency", str(CONCURRENCY), "--channels", str(CONNECTIONS)]
    _, out, _ = run_command(cmd, timeout=duration + 60)
    result = json.loads(out)
    return Sample(
        rps=result["calls"] / result["seconds"],
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        errors=sum(result["errors"].values()),
    )


def h2load(call: Call, response_bytes: int, duration: float) -> Sample:
    with tempfile.TemporaryDirectory(prefix="bench-h2load-") as tmp:
        body, log = Path(tmp) / "request", Path(tmp) / "log"
        body.write_bytes(b"\0" + len(call.request).to_bytes(4, "big") + call.request)
        cmd = ["h2load", f"-c{CONNECTIONS}", f"-m{CONCURRENCY // CONNECTIONS}"]
        cmd += [f"-D{max(1, round(duration))}", "-d", str(body), f"--log-file={log}"]
        cmd += ["-H", "content-type: application/grpc", "-H", "te: trailers"]
        if call.token:
            cmd += ["-H", f"authorization: Bearer {call.token}"]
        _, out, _ = run_command([*cmd, f"http://{call.target}{call.method}"], timeout=duration + 60)
        latencies = sorted(int(line.split("\t")[2]) for line in log.read_text().splitlines())
    return parse_h2load(out, latencies, 5 + response_bytes)


def parse_h2load(out: str, latencies_us: list[int], frame_bytes: int) -> Sample:
    """A Sample from h2load's summary and per-request latencies.

    A call counts as an error unless it got HTTP 2xx *and* a message: a gRPC error is a 2xx
    with trailers only, so calls with a message = DATA bytes / one response frame's bytes.
    """
    seconds = float(_search(r"finished in ([\d.]+)s", out))
    done = int(_search(r"requests: \d+ total, \d+ started, (\d+) done", out))
    status_2xx = int(_search(r"status codes: (\d+) 2xx", out))
    with_message = int(_search(r"\((\d+)\) data", out)) // frame_bytes
    return Sample(
        rps=done / seconds,
        p50_ms=percentile(latencies_us, 50) / 1000,
        p99_ms=percentile(latencies_us, 99) / 1000,
        errors=done - min(status_2xx, with_message),
    )


def _search(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise ValueError(f"h2load output has no {pattern!r}: {text[-1000:]}")
    return match.group(1)


@contextmanager
def baseline_server() -> Iterator[str]:
    port = free_port()
    cmd = _python("serve", "--port", str(port))
    with server_process("grpc.aio baseline", cmd, tcp_ready(port), cwd=ROOT):
        yield f"127.0.0.1:{port}"


def row(label: tuple[str, ...], call: Call, use_h2load: bool) -> Row:
    """A row that loads ``call``, once one real gRPC call to it has succeeded."""
    try:
        size = probe(call)
    except (CallFailed, CommandError) as exc:
        progress(f"{' / '.join(label)}: first call failed: {exc}")
        code = getattr(exc, "code", "error")
        if code in ("UNAVAILABLE", "UNIMPLEMENTED"):
            return Row(label, reason=f"not available: {code} (see stderr)")
        return Row(label, reason=f"first call failed: {code} (see stderr)")
    return Row(label, partial(h2load, call, size) if use_h2load else partial(python_load, call))


def run(settings: Settings) -> list[Table]:
    table = Table(f"gRPC unary calls, {CONCURRENCY} in flight", ["system", "RPC", "processes"])
    table.headers += ["load generator", *SUMMARY_HEADERS]
    use_h2load = not deps.missing("h2load")
    primary = "h2load" if use_h2load else "python grpc.aio"
    rpcs = {"GetConfiguration": (GET_CONFIGURATION, GET_REQUEST)}
    rpcs["CheckFeatureFlag"] = (CHECK_FEATURE_FLAG, CHECK_REQUEST)
    with tempfile.TemporaryDirectory(prefix="bench-grpc-") as tmp, ExitStack() as stack:
        baseline = Call(stack.enter_context(baseline_server()), BASELINE_METHOD, GET_REQUEST)
        label = ("grpc.aio baseline", "fixed message", "1")
        rows = [row((*label, "h2load"), baseline, True)] if use_h2load else []
        rows.append(row((*label, "python grpc.aio"), baseline, False))
        repo = Path(tmp) / "configs.git"
        for workers in (1, 2):
            reason, endpoints = subject.unavailable(workers), None
            if reason is None:
                if not repo.exists():
                    n_configs = 1_000 if settings.quick else 10_000
                    repogen.make_repo(repo, n_configs=n_configs, n_flags=10)
                try:
                    endpoints = stack.enter_context(subject.gitconfig_server(repo, workers))
                except ServerError as exc:
                    progress(f"failed to start: {exc}")
                    reason = "failed to start (see stderr)"
            for name, (method, request) in rpcs.items():
                subject_label = ("gitconfig", name, str(workers), primary)
                if endpoints is None:
                    rows.append(Row(subject_label, reason=reason or "not available"))
                else:
                    call = Call(endpoints.grpc_target, method, request, subject.TOKEN)
                    rows.append(row(subject_label, call, use_h2load))
        table.rows = measure_rows(rows, settings, table.notes)
    table.notes += [
        f"median of {settings.runs} runs of {settings.duration_s:g} s per row after a "
        f"{settings.warmup_s:g} s warm-up, rows interleaved; {CONNECTIONS} connections x "
        f"{CONCURRENCY // CONNECTIONS} concurrent calls; 'req/s' = completed calls/s",
        "load generator and server share the 2 cores: the Python client takes more of the "
        "server's CPU than h2load does, so its row is lower for the same server",
    ]
    return [table]
