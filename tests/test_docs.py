"""The documentation points at things that exist: every page the README links to, every
relative link of a page, and every repository path a page names (``tests/...``,
``deploy/...``), so that a file moved into a layer folder takes its mentions along."""

from __future__ import annotations

import ast
import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from gitconfig.core import operators

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]
LINK = re.compile(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)")
REPO_PATH = re.compile(
    r"(?<![\w./-])((?:tests|src|cli|deploy|bench|hooks|example-repo|\.ci|docs|proto)/[\w./-]*)"
)
OPERATOR_BLOCK = re.compile(r"<!-- operators:.*?-->\n(.*?)<!-- /operators -->", re.S)
OPERATOR_ROW = re.compile(r"^\| `([A-Z_]+)` \|", re.M)


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def test_the_readme_links_every_page_of_docs_and_no_other() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = {Path(target).name for target in LINK.findall(readme) if target.startswith("docs/")}
    pages = {page.name for page in (ROOT / "docs").glob("*.md")}
    assert not linked - pages, sorted(linked - pages)  # a link to a page that is not there
    assert not pages - linked, sorted(pages - linked)  # a page a newcomer cannot find


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_link_and_named_path_exists(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    absent = []
    for match in LINK.finditer(text):
        if not (page.parent / match.group(1)).exists():
            absent.append(f"{page.name}:{_line(text, match.start())}: link {match.group(1)}")
    for match in REPO_PATH.finditer(text):
        path = match.group(1).rstrip(".,")
        if "*" in path or "<" in path:
            continue
        if not (ROOT / path).exists() and not (page.parent / path).exists():
            absent.append(f"{page.name}:{_line(text, match.start())}: {path}")
    assert not absent, absent


def test_the_operator_table_of_flags_md_is_the_one_in_the_core() -> None:
    """docs/flags.md's operator table is ``operators.markdown()``, pasted between its markers."""
    text = (ROOT / "docs" / "flags.md").read_text(encoding="utf-8")
    blocks = OPERATOR_BLOCK.findall(text)
    assert len(blocks) == 1, "docs/flags.md: one <!-- operators: --> ... <!-- /operators -->"
    expected = operators.markdown()
    assert blocks[0].strip() == expected.strip(), f"paste this into docs/flags.md:\n{expected}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_no_page_copies_the_operator_table_by_hand(page: Path) -> None:
    text = OPERATOR_BLOCK.sub("", page.read_text(encoding="utf-8"))
    names = {spec.operator.value for spec in operators.OPERATORS}
    copied = [name for name in OPERATOR_ROW.findall(text) if name in names]
    assert not copied, f"{page.name}: rows {copied}: link to flags.md#operators instead"


def test_the_flag_schema_names_the_operators_of_the_core() -> None:
    """schemas/flag.schema.json (for editors and CI) lists the operators, and which take
    numbers, as the core's table does."""
    schema = json.loads((ROOT / "schemas" / "flag.schema.json").read_text(encoding="utf-8"))
    definitions = schema["$defs"]
    assert definitions["operator"]["enum"] == [spec.operator for spec in operators.OPERATORS]
    numbers = definitions["conditionFields"]["if"]["properties"]["operator"]["enum"]
    assert numbers == [
        s.operator for s in operators.OPERATORS if s.operand is operators.Operand.ORDERED
    ]


METRIC = re.compile(r"\bgitconfig_[a-z][a-z_]*[a-z]\b")
NOT_METRICS = {"gitconfig_cli", "gitconfig_client", "gitconfig_server"}  # package names
SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")  # what prometheus-client adds


def test_every_metric_the_docs_and_alerts_name_exists() -> None:
    """A metric named on a page or in an alert rule is one the code registers (by name, or
    with the suffix the exposition format gives a counter or histogram)."""
    registered = {
        name
        for path in (ROOT / "src" / "gitconfig").rglob("*.py")
        for name in re.findall(r"[\"'](gitconfig_[a-z_]+)[\"']", path.read_text())
    }
    sources = [*PAGES, *sorted((ROOT / "deploy").rglob("*.yaml"))]
    missing = []
    for source in sources:
        for name in sorted(set(METRIC.findall(source.read_text())) - NOT_METRICS):
            base = next((name.removesuffix(s) for s in SUFFIXES if name.endswith(s)), name)
            if name not in registered and base not in registered:
                missing.append(f"{source.relative_to(ROOT)}: {name}")
    assert not missing, missing


# -- install lines --------------------------------------------------------------------------

INSTALL = re.compile(r"\bpip3? install\b([^`\n]*)")
OPTIONS_WITH_VALUE = {
    *("-f", "--find-links", "-i", "--index-url", "--extra-index-url", "-c", "--constraint"),
    *("-r", "--requirement", "-t", "--target", "--prefix"),
}


def _distributions() -> dict[str, set[str]]:
    """Our distribution names (normalised) -> their extras: the server's (pyproject.toml)
    and the client-only wheel's (``python -m gitconfig.client.dist``)."""
    from gitconfig.client import dist

    server = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    client = tomllib.loads(dist.pyproject_text([]))["project"]
    return {
        canonicalize_name(project["name"]): set(project.get("optional-dependencies", {}))
        for project in (server, client)
    }


def _third_party() -> set[str]:
    """The packages the project itself installs (its dependencies and extras), and pip."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = [*project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        listed += extra
    return {canonicalize_name(Requirement(r).name) for r in listed} | {"pip"}


def _install_texts() -> list[tuple[str, str]]:
    """(where, text) of every piece of text a person may copy an install line from: the
    pages, every file under deploy/ and example-repo/, the Makefile, and the strings of the
    Python sources (messages and docstrings)."""
    found = []
    files = [*PAGES, ROOT / "Makefile"]
    files += [p for top in ("deploy", "example-repo") for p in sorted((ROOT / top).rglob("*"))]
    for path in files:
        if path.is_file():
            lines = path.read_text(encoding="utf-8").splitlines()
            for start, line in enumerate(lines, 1):
                end = start
                while line.endswith("\\") and end < len(lines):  # a shell continuation
                    line = line[:-1] + " " + lines[end]
                    end += 1
                found.append((f"{path.relative_to(ROOT)}:{start}", line))
    for path in sorted([*(ROOT / "src").rglob("*.py"), *(ROOT / "cli").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.value))
    return found


def _install_problems(arguments: str, ours: dict[str, set[str]], others: set[str]) -> list[str]:
    """What is wrong with the arguments of one ``pip install``: a package that is neither
    ours (from a path, a wheel, a URL or a --find-links folder: ours are not on the index)
    nor one the project installs itself; an extra that does not exist."""
    command = re.split(r"&&|;|\|| #", arguments)[0]
    words = shlex.split(command)
    wheels_folder = any(w in ("-f", "--find-links") or w.startswith("--find-links=") for w in words)
    problems = []
    skip = False
    for word in words:
        if skip or word.startswith("-"):
            skip = word in OPTIONS_WITH_VALUE
            continue
        wheel = re.fullmatch(r"(.*\.whl)(?:\[(.*)\])?", word)
        if wheel:  # a wheel's file name starts with its distribution's
            name = canonicalize_name(Path(wheel.group(1)).name.split("-")[0])
            extras = set((wheel.group(2) or "").split(",")) - {""}
            if name not in ours:
                problems.append(f"{word}: not a wheel of ours ({sorted(ours)})")
            elif not extras <= ours[name]:
                problems.append(f"{word}: no such extra {sorted(extras - ours[name])}")
            continue
        if word.startswith((".", "/")):  # this checkout: the server's pyproject.toml
            named = re.fullmatch(r"[^\[]*(?:\[(.*)\])?", word)
            wanted = set((named.group(1) or "").split(",")) - {""} if named else set()
            server = canonicalize_name(
                tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
            )
            if not wanted <= ours[server]:
                problems.append(f"{word}: no such extra {sorted(wanted - ours[server])}")
            continue
        requirement = Requirement(word)
        name = canonicalize_name(requirement.name)
        if name in ours:
            if not requirement.extras <= ours[name]:
                problems.append(f"{word}: no such extra {sorted(requirement.extras - ours[name])}")
            if requirement.url is None and not wheels_folder:
                problems.append(f"{word}: ours is not on the package index: name its source")
        elif name not in others:
            problems.append(f"{word}: neither ours ({sorted(ours)}) nor a package we install")
    return problems


def test_every_install_line_names_our_distributions_or_known_packages() -> None:
    """Issue 23, item 24: ``pip install gitconfig`` installed an unrelated project from the
    package index. Every install line a person may copy names our distributions (with their
    source: our names are not published), or a package this project installs itself."""
    ours, others = _distributions(), _third_party()
    assert "gitconfig" not in ours  # taken on the package index by another project
    problems = []
    for where, text in _install_texts():
        for match in INSTALL.finditer(text):
            problems += [f"{where}: {p}" for p in _install_problems(match.group(1), ours, others)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("gitconfig", "neither ours"),
        ("'gitconfig-server[nope]' --find-links w", "no such extra"),
        ("gitconfig-server", "not on the package index"),
        ("dist/gitconfig-0.1.0-py3-none-any.whl", "not a wheel of ours"),
        ("'gitconfig_client-0.1.0-py3-none-any.whl[server]'", "no such extra"),
        ("-e '.[nope]'", "no such extra"),
        ("left-pad", "neither ours"),
    ],
)
def test_the_install_line_check_refuses(line: str, problem: str) -> None:
    [found] = _install_problems(line, _distributions(), _third_party())
    assert problem in found
