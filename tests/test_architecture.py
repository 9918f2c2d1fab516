"""The layering is enforced by import-linter (``[tool.importlinter]`` in pyproject.toml).

These tests run ``lint-imports`` on a copy of the packages: the copy as it is keeps every
contract, and one deliberately wrong import breaks the contract it should."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy(tmp_path: Path) -> Path:
    packages = tmp_path / "packages"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "src" / "gitconfig", packages / "gitconfig", ignore=ignore)
    shutil.copytree(ROOT / "cli", packages / "gitconfig_cli", ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return packages


def _lint(tmp_path: Path, packages: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(packages)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tmp_path / "pyproject.toml"), "--no-cache"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_packages_keep_every_contract(tmp_path: Path) -> None:
    result = _lint(tmp_path, _copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        ("core/model.py", "import subprocess", "The core does no I/O"),
        ("core/paths.py", "import pygit2", "The core does no I/O"),
        ("index/snapshot.py", "import fastapi", "Only transports"),
        ("service/base.py", "from gitconfig.rest import app", "Layers"),
        ("core/evaluation.py", "from gitconfig.index import snapshot", "Layers"),
        ("rest/render.py", "from gitconfig.grpc import servicer", "Layers"),
        ("readside/bounded.py", "from gitconfig.index import snapshot", "Layers"),
        ("readside/entries.py", "from gitconfig.access import principals", "Layers"),
        ("service/configs.py", "import pygit2", "pygit2 lives in the store"),
        ("runtime/server.py", "import pygit2", "pygit2 and watchfiles are imported directly"),
        ("../gitconfig_cli/local.py", "import watchfiles", "pygit2 and watchfiles are imported"),
        ("service/reads.py", "import subprocess", "subprocess lives in the git CLI"),
        ("../gitconfig_cli/hooks.py", "import subprocess", "subprocess lives in the git CLI"),
        ("service/configs.py", "from gitconfig.service import flags", "Use-case groups are"),
        ("service/environments/promote.py", "import gitconfig.service.transfer", "Use-case groups"),
        ("rest/configs.py", "from gitconfig.service import reads", "Doors use the service"),
        ("grpc/servicer.py", "from gitconfig.service.facade import build_service", "Doors use"),
        ("../gitconfig_cli/local.py", "from gitconfig.service import writer", "Doors use"),
        ("access/principals.py", "from gitconfig.service import base", "Layers"),
        ("rest/watch.py", "from gitconfig.index import changes", "REST and gRPC reach the index"),
        ("grpc/servicer.py", "import gitconfig.store.ports", "REST and gRPC reach the index"),
        ("access/gate.py", "import fastapi", "Only transports"),
    ],
)
def test_a_wrong_import_breaks_a_contract(
    tmp_path: Path, module: str, bad_import: str, contract: str
) -> None:
    packages = _copy(tmp_path)
    target = packages / "gitconfig" / module
    target.write_text(target.read_text() + f"\n{bad_import}  # noqa\n")
    result = _lint(tmp_path, packages)
    assert result.returncode != 0, result.stdout
    # "<contract> BROKEN", perhaps followed by "(N ignored imports)"
    broken = [line for line in result.stdout.splitlines() if re.search(r" BROKEN\b", line)]
    assert any(line.startswith(contract) for line in broken), result.stdout


MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 300


def _sources() -> list[Path]:
    found = [*(ROOT / "src" / "gitconfig").rglob("*.py"), *(ROOT / "cli").rglob("*.py")]
    return [path for path in found if "_pb2" not in path.name]


def test_modules_and_classes_stay_small() -> None:
    """docs/architecture.md: no module over 400 lines, no class over 300 (generated code
    aside), so that a module holds one concept."""
    too_big = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE_LINES:
            too_big.append(f"{path.relative_to(ROOT)}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                length = node.end_lineno - node.lineno + 1
                if length > MAX_CLASS_LINES:
                    too_big.append(f"{path.relative_to(ROOT)}: class {node.name} {length} lines")
    assert not too_big, too_big


MAX_BASES = 3


def test_no_class_has_more_than_three_bases() -> None:
    """Behaviour is composed from objects (``service.facade.build_service``), not stacked
    from mixins: no class in ``src/`` or ``cli/`` names more than three bases."""
    wide = [
        f"{path.relative_to(ROOT)}: class {node.name} has {len(node.bases)} bases"
        for path in _sources()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and len(node.bases) > MAX_BASES
    ]
    assert not wide, wide


ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
FOLDERS = {
    "core": ROOT / "src" / "gitconfig" / "core",
    "store": ROOT / "src" / "gitconfig" / "store",
    "index": ROOT / "src" / "gitconfig" / "index",
    "service": ROOT / "src" / "gitconfig" / "service",
    "access": ROOT / "src" / "gitconfig" / "access",
    "readside": ROOT / "src" / "gitconfig" / "readside",
    "rest": ROOT / "src" / "gitconfig" / "rest",
    "grpc": ROOT / "src" / "gitconfig" / "grpc",
    "client": ROOT / "src" / "gitconfig" / "client",
    "runtime": ROOT / "src" / "gitconfig" / "runtime",
    "cli": ROOT / "cli",
}


def _described(folder: str) -> str:
    """The text of docs/architecture.md that describes ``folder``: its ``### `folder/` ``
    section, or its row of the transports' table."""
    section = re.search(rf"^### `{folder}/`.*?(?=^##)", ARCHITECTURE, re.M | re.S)
    if section is not None:
        return section.group(0)
    row = re.search(rf"^\| `{folder}/`.*$", ARCHITECTURE, re.M)
    return row.group(0) if row is not None else ""


def test_the_architecture_page_names_every_module() -> None:
    """Every module of every folder is named (``name.py`` or ``name``) where
    docs/architecture.md describes that folder, so a new module comes with its line."""
    packages = {p.name for p in FOLDERS["core"].parent.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(FOLDERS) - {"cli"}, "a new package: add it to FOLDERS and the page"
    missing = []
    for folder, path in FOLDERS.items():
        text = _described(folder)
        assert text, f"docs/architecture.md does not describe {folder}/"
        for module in sorted(path.glob("*.py")):
            name = re.escape(module.stem)
            if module.name != "__init__.py" and not re.search(
                rf"(?<![\w/.-]){name}(\.py)?(?![\w-])", text
            ):
                missing.append(f"{folder}/{module.name}")
    assert not missing, missing


def test_the_architecture_page_describes_each_module_once() -> None:
    for folder in FOLDERS:
        rows = re.findall(r"^\| `([\w.]+\.py)` \|", _described(folder), re.M)
        twice = sorted({row for row in rows if rows.count(row) > 1})
        assert not twice, (folder, twice)


def _imported_test_modules(source: str) -> list[str]:
    """The test modules (``tests....test_*``) that ``source`` imports, at any depth."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [n for n in names if n.split(".")[0] == "tests" and "test_" in n.split(".")[-1]]
    return found


def test_no_test_module_imports_another() -> None:
    """Shared test helpers live in ``tests/support``: a test module imports none of another's
    (so each runs, and changes, on its own)."""
    wrong = {
        str(path.relative_to(ROOT)): imported
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if (imported := _imported_test_modules(path.read_text(encoding="utf-8")))
    }
    assert wrong == {}


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("from tests.rest.test_sse import Watcher", ["tests.rest.test_sse"]),
        ("from tests import test_e2e", ["tests.test_e2e"]),
        ("def f():\n    import tests.client.test_client", ["tests.client.test_client"]),
        ("from tests.support.sse import Watcher", []),
        ("from tests.conftest import ADMIN_TOKEN", []),
    ],
)
def test_the_import_check_finds_a_test_module(source: str, found: list[str]) -> None:
    assert _imported_test_modules(source) == found
