"""The documentation points at things that exist: every page the README links to, every
relative link of a page, and every repository path a page names (``tests/...``,
``deploy/...``), so that a file moved into a layer folder takes its mentions along."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

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
