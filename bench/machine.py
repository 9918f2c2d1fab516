"""What the figures were measured on: date, cores, CPU model, tool versions."""

from __future__ import annotations

import datetime
import os
import platform
import re
import shutil
from importlib import metadata
from pathlib import Path

from bench.tools import CommandError, run


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else "unknown"


def tool_version(cmd: list[str], pattern: str) -> str:
    if shutil.which(cmd[0]) is None:
        return "missing"
    try:
        _, out, err = run(cmd, timeout=30, check=False)
    except CommandError:
        return "?"
    match = re.search(pattern, out + err)
    return match.group(1) if match else "?"


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"


ROOT = Path(__file__).resolve().parent.parent


def source_version(root: Path = ROOT) -> str:
    """The gitconfig commit measured, and whether src/ or cli/ differ from it."""
    try:
        _, sha, _ = run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], timeout=30)
        _, dirty, _ = run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "src", "cli"], timeout=30
        )
    except CommandError:
        return "unknown (not a git checkout)"
    return sha.strip() + (" with uncommitted changes in src/ or cli/" if dirty.strip() else "")


def describe() -> list[str]:
    """Markdown bullet lines describing this machine and the tools' versions."""
    tools = {
        "wrk": tool_version(["wrk", "-v"], r"wrk (\S+)"),
        "etcd": tool_version(["etcd", "--version"], r"etcd Version: (\S+)"),
        "h2load": tool_version(["h2load", "--version"], r"nghttp2/(\S+)"),
        "git": tool_version(["git", "--version"], r"git version (\S+)"),
    }
    packages = {name: package_version(name) for name in ("uvicorn", "uvloop", "httptools")}
    packages["grpcio"] = package_version("grpcio")
    return [
        f"date: {datetime.date.today().isoformat()}",
        f"machine: {os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), "
        f"{cpu_model()}, Linux {platform.release()}",
        f"Python {platform.python_version()}; "
        + ", ".join(f"{name} {version}" for name, version in packages.items()),
        "tools: " + ", ".join(f"{name} {version}" for name, version in tools.items()),
        f"gitconfig: commit {source_version()}",
    ]
