"""Baseline B's server: a throwaway single-member etcd on 127.0.0.1, read over its HTTP gateway.

Debian's ``etcd-server`` (3.4) serves the gRPC-gateway JSON API at ``/v3/...``: keys and values
travel base64-encoded. A ``/v3/kv/range`` read is linearizable by default (the etcd client's
default), which is what a team reading configuration from etcd would get.
"""

from __future__ import annotations

import base64
import json
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from bench.tools import HOST, free_port, http_ready, run, server_process


def b64(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return base64.b64encode(data).decode()


@contextmanager
def etcd_server() -> Iterator[str]:
    """Run etcd with a temporary data dir and free ports; yield its client URL."""
    client, peer = free_port(), free_port()
    client_url, peer_url = f"http://{HOST}:{client}", f"http://{HOST}:{peer}"
    with tempfile.TemporaryDirectory(prefix="bench-etcd-") as data_dir:
        cmd = [
            "etcd",
            "--name=bench",
            f"--data-dir={data_dir}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=bench={peer_url}",
            "--logger=zap",
            "--log-level=error",
        ]
        with server_process("etcd", cmd, http_ready(f"{client_url}/health")):
            yield client_url


def put(client_url: str, key: str, value: bytes) -> None:
    body = json.dumps({"key": b64(key), "value": b64(value)}).encode()
    request = urllib.request.Request(f"{client_url}/v3/kv/put", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def range_body(key: str) -> str:
    """The JSON body of a single-key ``/v3/kv/range`` request."""
    return json.dumps({"key": b64(key)})


def version() -> str:
    _, out, _ = run(["etcd", "--version"], timeout=30)
    return out.splitlines()[0].removeprefix("etcd Version: ").strip() if out else "?"
