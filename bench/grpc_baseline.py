"""The gRPC side of ``bench grpc_unary``, run as child processes so the runner imports no grpc.

``python -m bench.grpc_baseline serve --port P``
    The baseline: a minimal ``grpc.aio`` server whose one method, ``/bench.v1.Baseline/Get``
    (a generic handler on raw bytes, no generated code), returns a fixed message shaped like
    a ``config.v1.ConfigurationResponse``.
``python -m bench.grpc_baseline probe --target HOST:PORT --method M --request HEX``
    One call, retried while the server is UNAVAILABLE (still starting); prints
    ``{"ok": true, "response_bytes": N}`` or the status code and details.
``python -m bench.grpc_baseline load ... --concurrency 64 --duration 5``
    The Python load generator: ``concurrency`` coroutines each issuing one call after the
    other over ``channels`` connections for ``duration`` seconds (and at most ``--max-calls``);
    prints one JSON line: calls, seconds, p50_us, p99_us, errors by status code.

Requests and the baseline's answer are the generated ``config.v1`` messages, serialised once
up front, so a call costs the transport and the server only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from collections import Counter
from collections.abc import Sequence

import grpc

from bench.tools import percentile
from gitconfig.grpc.v1 import config_pb2

# key, value, value_type=NUMBER, version: what GetConfiguration would answer.
BASELINE_METHOD = "/bench.v1.Baseline/Get"
BASELINE_RESPONSE = config_pb2.ConfigurationResponse(
    key="key-0", value="42", value_type=config_pb2.VALUE_TYPE_NUMBER, version=1
).SerializeToString()


async def serve(port: int) -> None:
    async def get(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return BASELINE_RESPONSE

    handler = grpc.method_handlers_generic_handler(
        "bench.v1.Baseline", {"Get": grpc.unary_unary_rpc_method_handler(get)}
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(grace=1)


def _metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),) if token else ()


async def probe(
    target: str, method: str, request: bytes, token: str | None, timeout: float
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_unary(method)
        while True:
            try:
                response: bytes = await call(request, metadata=_metadata(token), timeout=5)
                return {"ok": True, "response_bytes": len(response)}
            except grpc.aio.AioRpcError as exc:
                # Only "not up yet" is worth waiting for; any other answer is the answer.
                retry = exc.code() in (
                    grpc.StatusCode.UNAVAILABLE,
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                )
                if not retry or time.monotonic() > deadline:
                    return {"ok": False, "code": exc.code().name, "details": exc.details()}
            await asyncio.sleep(0.2)


async def load(
    target: str,
    method: str,
    request: bytes,
    *,
    concurrency: int,
    channels: int,
    duration: float,
    token: str | None,
    max_calls: int,
) -> dict[str, object]:
    # Separate subchannel pools: each channel is its own TCP connection.
    options = [("grpc.use_local_subchannel_pool", 1)]
    opened = [grpc.aio.insecure_channel(target, options=options) for _ in range(channels)]
    latencies: list[int] = []
    errors: Counter[str] = Counter()
    metadata = _metadata(token)
    end = time.monotonic() + duration

    async def worker(index: int) -> None:
        call = opened[index % channels].unary_unary(method)
        while time.monotonic() < end and len(latencies) + errors.total() < max_calls:
            start = time.perf_counter_ns()
            try:
                await call(request, metadata=metadata, timeout=5)
            except grpc.aio.AioRpcError as exc:
                errors[exc.code().name] += 1
                continue
            latencies.append(time.perf_counter_ns() - start)

    try:
        began = time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        seconds = time.monotonic() - began
    finally:
        for channel in opened:
            await channel.close()
    latencies.sort()
    return {
        "calls": len(latencies),
        "seconds": seconds,
        "p50_us": percentile(latencies, 50) / 1000,
        "p99_us": percentile(latencies, 99) / 1000,
        "errors": dict(errors),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.grpc_baseline")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve").add_argument("--port", type=int, required=True)
    for name in ("probe", "load"):
        sub = commands.add_parser(name)
        sub.add_argument("--target", required=True)
        sub.add_argument("--method", default=BASELINE_METHOD)
        sub.add_argument("--request", default="", help="request message, hex")
        sub.add_argument("--token")
        sub.add_argument("--timeout", type=float, default=30.0)
        sub.add_argument("--concurrency", type=int, default=64)
        sub.add_argument("--channels", type=int, default=4)
        sub.add_argument("--duration", type=float, default=5.0)
        sub.add_argument("--max-calls", type=int, default=2_000_000)
    args = parser.parse_args(argv)
    if args.command == "serve":
        asyncio.run(serve(args.port))
        return 0
    request = bytes.fromhex(args.request)
    if args.command == "probe":
        result = asyncio.run(probe(args.target, args.method, request, args.token, args.timeout))
    else:
        result = asyncio.run(
            load(
                args.target,
                args.method,
                request,
                concurrency=args.concurrency,
                channels=args.channels,
                duration=min(args.duration, 120.0),
                token=args.token,
                max_calls=args.max_calls,
            )
        )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
