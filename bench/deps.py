"""The system tools the benchmarks use, and how to install the missing ones.

``python -m bench.deps`` prints what is there and what is not. The suites ask ``missing()``
before they start and print ``install_hint()`` instead of failing half-way.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Tool:
    command: str
    package: str  # the Debian package that installs it
    used_for: str


TOOLS = {
    tool.command: tool
    for tool in (
        Tool("git", "git", "generating the benchmark repositories (git fast-import)"),
        Tool("wrk", "wrk", "HTTP load (bench http_lookup)"),
        Tool("etcd", "etcd-server", "the etcd baseline (bench http_lookup)"),
        Tool("h2load", "nghttp2-client", "gRPC load (bench grpc_unary; else a Python client)"),
    )
}


def missing(*commands: str) -> list[Tool]:
    """The tools among ``commands`` that are not on PATH."""
    return [TOOLS[c] for c in commands if shutil.which(c) is None]


def install_hint(tools: list[Tool]) -> str:
    packages = " ".join(sorted({t.package for t in tools}))
    names = ", ".join(f"{t.command} ({t.used_for})" for t in tools)
    return (
        f"missing: {names}.\n"
        f"Install with: bench/install-tools.sh   (runs: apt-get install -y {packages}; as root)"
    )


def main() -> int:
    absent = missing(*TOOLS)
    for tool in TOOLS.values():
        where = shutil.which(tool.command) or "MISSING"
        print(f"{tool.command:8} {where:28} Debian package {tool.package:15} {tool.used_for}")
    if absent:
        print("\n" + install_hint(absent), file=sys.stderr)
    return 1 if absent else 0


if __name__ == "__main__":
    raise SystemExit(main())
