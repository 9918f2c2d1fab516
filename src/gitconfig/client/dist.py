"""Build ``gitconfig-client``, the client-only distribution, from this source tree.

    python -m gitconfig.client.dist [--out dist/]

The ``gitconfig-server`` distribution (``pyproject.toml``) installs the server, the command
line and the client; a service that only embeds the client installs the wheel built here
instead (docs/client.md). The wheel
holds exactly the modules that ``import gitconfig.client, gitconfig.client.openfeature``
loads, found by importing them in a fresh interpreter (so none can be missed), and depends on
what those need: grpcio, protobuf, PyYAML, google-re2, mmh3 (versions as in the project's
``pyproject.toml``), plus ``openfeature-sdk`` in the ``openfeature`` extra. Not imported by the
client itself. Raises ``RuntimeError`` when pip cannot build the wheel.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from pathlib import Path

from gitconfig import __version__

ROOTS = ("gitconfig.client", "gitconfig.client.openfeature")
REQUIREMENTS = ("grpcio", "protobuf", "pyyaml", "google-re2", "mmh3")
NAME = "gitconfig-client"
SOURCE = Path(__file__).resolve().parents[2]  # src/
PYPROJECT = SOURCE.parent / "pyproject.toml"


def modules() -> dict[str, Path]:
    """Module name -> file of every ``gitconfig`` module the client imports."""
    script = (
        "import importlib, json, sys\n"
        f"for name in {list(ROOTS)!r}: importlib.import_module(name)\n"
        "print(json.dumps({n: m.__file__ for n, m in sys.modules.items()"
        " if n.split('.')[0] == 'gitconfig' and getattr(m, '__file__', None)}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"importing the client failed: {result.stderr}")
    return {name: Path(file) for name, file in json.loads(result.stdout).items()}


def _requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    return (match.group(0) if match else requirement).lower().replace("_", "-")


def pyproject_text(packages: Sequence[str]) -> str:
    project = tomllib.loads(PYPROJECT.read_text("utf-8"))["project"]
    wanted = [r for r in project["dependencies"] if _requirement_name(r) in REQUIREMENTS]
    missing = set(REQUIREMENTS) - {_requirement_name(r) for r in wanted}
    if missing:
        raise RuntimeError(f"not in pyproject.toml's dependencies: {sorted(missing)}")
    openfeature = project["optional-dependencies"]["openfeature"]
    return "\n".join(
        [
            "[build-system]",
            'requires = ["setuptools>=77"]',
            'build-backend = "setuptools.build_meta"',
            "",
            "[project]",
            f"name = {json.dumps(NAME)}",
            f"version = {json.dumps(__version__)}",  # one place: gitconfig.__version__
            'description = "The embedded gitconfig client: configuration and feature flags,'
            ' local, always current"',
            f"requires-python = {json.dumps(project['requires-python'])}",
            f"license = {json.dumps(project['license'])}",
            f"dependencies = {json.dumps(wanted)}",
            "",
            "[project.optional-dependencies]",
            f"openfeature = {json.dumps(openfeature)}",
            "",
            "[tool.setuptools]",
            'package-dir = { "" = "src" }',
            f"packages = {json.dumps(sorted(packages))}",
            "",
            "[tool.setuptools.package-data]",
            'gitconfig = ["py.typed"]',
            '"*" = ["*.pyi"]',
            "",
        ]
    )


def stage(target: Path) -> None:
    """Lay out a source tree of the client's modules and its ``pyproject.toml`` in
    ``target``."""
    found = modules()
    packages = [name for name, file in found.items() if file.name == "__init__.py"]
    for file in found.values():
        relative = file.resolve().relative_to(SOURCE)
        destination = target / "src" / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, destination)
        if file.with_suffix(".pyi").exists():  # the generated code's type stubs
            shutil.copy2(file.with_suffix(".pyi"), destination.with_suffix(".pyi"))
    shutil.copy2(SOURCE / "gitconfig" / "py.typed", target / "src" / "gitconfig" / "py.typed")
    (target / "pyproject.toml").write_text(pyproject_text(packages), "utf-8")


def build(out: Path) -> Path:
    """Build the wheel into ``out``; returns its path."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gitconfig-client-") as staging:
        stage(Path(staging))
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        command += ["-w", str(out)]
        result = subprocess.run([*command, staging], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"pip wheel failed: {result.stderr}")
    wheels = sorted(out.glob(f"{NAME.replace('-', '_')}-*.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        raise RuntimeError(f"pip wheel built no {NAME} wheel in {out}")
    return wheels[-1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gitconfig.client.dist")
    parser.add_argument("--out", type=Path, default=Path("dist"), help="where the wheel goes")
    args = parser.parse_args(argv)
    print(build(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
