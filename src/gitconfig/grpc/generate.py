"""Regenerate the gRPC code from ``proto/``: ``python -m gitconfig.grpc.generate [--check]``.

protoc names Python modules after proto paths: ``proto/config/v1/config.proto``
becomes ``config.v1.config_pb2``. The proto path stays as it is, because it is
the descriptor's file name (what server reflection shows and other protos would
import); the modules move under this package instead, ``config.<sub>`` becoming
``gitconfig.grpc.<sub>``, and the few places where generated code names its
own modules are rewritten to match. Each ``gitconfig/grpc/<sub>/`` folder is
owned by this script: it holds exactly what it generates.

``--check`` regenerates into a temporary directory and exits 1, printing a
diff, when anything differs from the committed files. The output depends on
the grpcio-tools version, so the dev dependency is pinned exactly.
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from importlib import metadata, resources
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parents[3] / "proto"
OUTPUT_ROOT = Path(__file__).resolve().parent
PROTO_PACKAGE = "config"
PYTHON_PACKAGE = "gitconfig.grpc"

_GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")
_IMPORT = re.compile(rf"^(from|import) {PROTO_PACKAGE}\.", re.MULTILINE)
_MODULE_NAME = re.compile(rf"'{PROTO_PACKAGE}\.([\w.]+_pb2)'")
_GRPC_VERSION = re.compile(r"^GRPC_GENERATED_VERSION = '([^']+)'$", re.MULTILINE)
_INIT = '''"""Generated from proto/{proto_dir}/ by ``make proto``: do not edit.

protoc's ``{proto_package}.*_pb2`` modules, moved here as ``{python_package}.*_pb2``.
"""
'''


class GenerationError(Exception):
    """protoc failed, or its output no longer has the shape this script rewrites."""


def proto_files(proto_root: Path = PROTO_ROOT) -> list[str]:
    """The proto files to compile, relative to ``proto_root``, as protoc wants them."""
    names = sorted(path.relative_to(proto_root).as_posix() for path in proto_root.rglob("*.proto"))
    for name in names:
        parts = name.split("/")
        if parts[0] != PROTO_PACKAGE or len(parts) < 3:
            raise GenerationError(
                f"{name}: expected proto/{PROTO_PACKAGE}/<version>/<name>.proto, "
                f"which maps to {PYTHON_PACKAGE}.<version>"
            )
    if not names:
        raise GenerationError(f"no .proto files under {proto_root}")
    return names


def run(args: Sequence[str]) -> tuple[int, str, str]:
    """Run a command; return its exit code, stdout and stderr."""
    result = subprocess.run(list(args), capture_output=True, text=True, check=False)
    return result.returncode, result.stdout, result.stderr


def generate(output_root: Path, proto_root: Path = PROTO_ROOT) -> list[Path]:
    """Generate the Python modules into ``output_root``; return the files, relative to it.

    A generated folder ends up holding exactly the generated files: any other
    file in it (a module of a deleted proto, say) is removed.
    """
    files = _render(proto_root)
    for folder in sorted(_generated_folders(output_root) | {path.parent for path in files}):
        for stale in _owned_files(output_root / folder):
            if folder / stale.name not in files:
                stale.unlink()
    for relative, text in sorted(files.items()):
        target = output_root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return sorted(files)


def _render(proto_root: Path) -> dict[Path, str]:
    """Run protoc and rewrite its output: generated text by path relative to the output root."""
    names = proto_files(proto_root)
    try:
        well_known_types = resources.files("grpc_tools") / "_proto"
    except ModuleNotFoundError as exc:
        raise GenerationError("grpcio-tools is missing: pip install -e '.[dev]'") from exc
    with tempfile.TemporaryDirectory(prefix="gitconfig-protoc-") as staging:
        code, stdout, stderr = run(
            [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                f"--proto_path={proto_root}",
                f"--proto_path={well_known_types}",
                f"--python_out={staging}",
                f"--pyi_out={staging}",
                f"--grpc_python_out={staging}",
                *names,
            ]
        )
        if code != 0:
            raise GenerationError(f"protoc exited {code}:\n{stdout}{stderr}")
        produced_root = Path(staging, PROTO_PACKAGE)
        files = {
            path.relative_to(produced_root): _rewrite(
                path.relative_to(produced_root), path.read_text(encoding="utf-8")
            )
            for path in produced_root.rglob("*")
            if path.is_file()
        }
    for folder in {relative.parent for relative in files}:
        files[folder / "__init__.py"] = _INIT.format(
            proto_dir=f"{PROTO_PACKAGE}/{folder.as_posix()}",
            proto_package=".".join((PROTO_PACKAGE, *folder.parts)),
            python_package=".".join((PYTHON_PACKAGE, *folder.parts)),
        )
    return files


def _rewrite(relative: Path, text: str) -> str:
    """Point the generated code's references to its own modules under ``PYTHON_PACKAGE``."""
    if not relative.name.endswith(_GENERATED_SUFFIXES):
        raise GenerationError(f"unexpected protoc output {relative}")
    text = _IMPORT.sub(rf"\1 {PYTHON_PACKAGE}.", text)
    if relative.name.endswith("_pb2.py"):
        text, count = _MODULE_NAME.subn(rf"'{PYTHON_PACKAGE}.\1'", text)
        if count != 1:
            raise GenerationError(f"{relative}: expected one module name to rewrite, found {count}")
    leftover = re.search(rf"^(from|import) {PROTO_PACKAGE}\b.*$", text, re.MULTILINE)
    if leftover:
        raise GenerationError(f"{relative}: import left unrewritten: {leftover.group(0)}")
    return text


def _generated_folders(root: Path) -> set[Path]:
    """Folders under ``root`` (relative, never ``root`` itself) that hold generated modules."""
    folders = {path.parent.relative_to(root) for path in root.rglob("*_pb2*")}
    return {folder for folder in folders if folder.parts and "__pycache__" not in folder.parts}


def _owned_files(folder: Path) -> list[Path]:
    """The files in a generated folder, bytecode caches aside."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.name != "__pycache__")


def compare(committed_root: Path, fresh_root: Path) -> list[str]:
    """Unified diff lines from the committed generated files to freshly generated ones.

    Generated folders are compared whole: a committed file that generation no
    longer produces, or a missing one, is a difference too. Empty when equal.
    """
    diff: list[str] = []
    for folder in sorted(_generated_folders(committed_root) | _generated_folders(fresh_root)):
        names = {path.name for path in _owned_files(committed_root / folder)}
        names |= {path.name for path in _owned_files(fresh_root / folder)}
        for name in sorted(names):
            shown = (folder / name).as_posix()
            diff += difflib.unified_diff(
                _lines(committed_root / folder / name),
                _lines(fresh_root / folder / name),
                fromfile=f"committed/{shown}",
                tofile=f"generated/{shown}",
            )
    return diff


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def check(output_root: Path = OUTPUT_ROOT, proto_root: Path = PROTO_ROOT) -> list[str]:
    """Regenerate into a temporary directory; return the diff against ``output_root``."""
    with tempfile.TemporaryDirectory(prefix="gitconfig-proto-check-") as fresh:
        generate(Path(fresh), proto_root)
        return compare(output_root, Path(fresh))


def _version_hint(output_root: Path) -> str:
    """Name both grpcio-tools versions when the committed code came from another one."""
    try:
        installed = metadata.version("grpcio-tools")
    except metadata.PackageNotFoundError:
        return ""
    committed: set[str] = set()
    for path in output_root.rglob("*_pb2_grpc.py"):
        match = _GRPC_VERSION.search(path.read_text(encoding="utf-8"))
        if match:
            committed.add(match.group(1))
    if committed and committed != {installed}:
        found = ", ".join(sorted(committed))
        return f"(the committed code comes from grpcio-tools {found}; {installed} is installed)\n"
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gitconfig.grpc.generate",
        description="Regenerate the gRPC code under gitconfig.grpc from proto/.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a temporary directory and fail if the committed code differs",
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            diff = check()
            if diff:
                sys.stdout.writelines(diff)
                sys.stderr.write(
                    "generated gRPC code is out of date: run `make proto` and commit the result\n"
                    + _version_hint(OUTPUT_ROOT)
                )
                return 1
            return 0
        for relative in generate(OUTPUT_ROOT):
            print(f"wrote {(OUTPUT_ROOT / relative).relative_to(PROTO_ROOT.parent)}")
    except GenerationError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
