"""The one validator: the same checks for the server's index, the CLI, git hooks and CI.

``validate_files`` takes repository files (path -> content) and returns every finding as
``path: field: message``; files outside configs/, flags/ and schemas/ are ignored. Entry files
are checked by ``configfile.load`` and ``flagfile.load``, the very functions the index uses,
so nothing the validator accepts can be refused by the server, and the reverse.

What is checked: the folder names (application, one of the four environments, key) and the
``.yaml`` extension; the file format, unknown fields and value types; JSON Schemas, inline or
``$ref`` to the repository's ``schemas/`` (resolved locally, never over the network); flag rules
(operators, percentages, RE2 patterns); a SECRET whose value is not sops-encrypted, or that is
not encrypted for the ``.sops.yaml`` creation rule of its own path (``sopsrules``); creation
rules gitconfig cannot use (no ``encrypted_regex: ^value$`` or ``mac_only_encrypted``); two entry
paths that differ only in case; shared schemas that are not valid JSON or JSON Schema. A
value that looks like a plaintext credential (``credentials``) is a warning, not an error.

``check_tree`` validates a whole tree or only some changed paths of it: the changed files are
validated, but against the shared schemas and the paths (for case collisions) of the whole tree,
and a changed shared schema re-validates every file, since any configuration may refer to it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gitconfig.core import configfile, credentials, flagfile, jsonschemas, sopsrules
from gitconfig.core.errors import BadRequest, FieldError
from gitconfig.core.model import ConfigDocument, Document, Kind, ValueType
from gitconfig.core.paths import is_indexed, is_schema_path, parse_entry_path

_YAML_LINE = re.compile(r"\(line (\d+), column \d+\)")


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One problem: the file, the field (dotted, ``rules.0.operator``; empty for the whole file),
    what is wrong, and the line it is on when known (0: unknown). A ``warning`` (a likely
    plaintext credential) is shown but fails nothing."""

    path: str
    field: str
    message: str
    line: int = 0
    warning: bool = False

    def __str__(self) -> str:
        prefix = "warning: " if self.warning else ""
        return (
            f"{prefix}{self.path}: {self.field}: {self.message}"
            if self.field
            else (f"{prefix}{self.path}: {self.message}")
        )


@dataclass(frozen=True, slots=True)
class Report:
    """The findings of one validation and how many files it read."""

    findings: list[Finding]
    checked: int
    entries: int = -1  # configuration and flag files among them (-1: not counted)

    @property
    def ok(self) -> bool:
        """No finding but warnings."""
        return not self.errors

    @property
    def errors(self) -> list[Finding]:
        return [finding for finding in self.findings if not finding.warning]


def load_document(kind: Kind, data: bytes, schemas: Mapping[str, Any]) -> Document:
    """The validated document of an entry file of ``kind``; raises BadRequest. The one place
    that turns entry bytes into a document: the index, the service and this validator."""
    return configfile.load(data, schemas) if kind is Kind.CONFIG else flagfile.load(data)


def parse_schema(data: bytes) -> tuple[Any, list[str], int]:
    """A shared schema file's JSON Schema, why it is not one (``[]``: valid), and the line of
    a JSON syntax error (0: none or unknown)."""
    try:
        schema = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, [f"not valid JSON: {exc}"], int(getattr(exc, "lineno", 0))
    return schema, jsonschemas.schema_errors(schema), 0


def load_schemas(files: Mapping[str, bytes]) -> tuple[dict[str, Any], list[Finding]]:
    """The repository's shared schemas (``schemas/<name>.json``) and their problems."""
    schemas: dict[str, Any] = {}
    findings: list[Finding] = []
    for path, data in files.items():
        if not is_schema_path(path):
            continue
        schema, errors, line = parse_schema(data)
        findings.extend(Finding(path, "", message, line) for message in errors)
        if not errors:
            schemas[path] = schema
    return schemas, findings


def validate_files(
    files: Mapping[str, bytes],
    only: Iterable[str] | None = None,
    all_paths: Iterable[str] | None = None,
) -> list[Finding]:
    """Validate ``files`` (every indexed file of a tree, or at least the schemas and the
    paths in ``only``). ``only`` limits which entry files are checked; ``all_paths`` are
    the tree's paths, for name-collision checks (default: ``files``)."""
    schemas, findings = load_schemas(files)
    rules, rule_findings = sops_rules(files.get(sopsrules.SOPS_YAML))
    wanted = set(only) if only is not None else None
    if wanted is None or sopsrules.SOPS_YAML in wanted:
        findings += rule_findings
    if wanted is not None:
        findings = [f for f in findings if f.path in wanted]
    seen: dict[str, str] = {}
    for path in sorted(all_paths if all_paths is not None else files):
        if not is_indexed(path) or path.startswith("schemas/"):
            continue
        other = seen.setdefault(path.casefold(), path)
        if other != path and (wanted is None or path in wanted or other in wanted):
            findings.append(Finding(path, "", f"differs only in case from {other}"))
    for path, data in sorted(files.items()):
        if wanted is not None and path not in wanted:
            continue
        if path.startswith("schemas/") and path.endswith(".json") and not is_schema_path(path):
            findings.append(Finding(path, "", SCHEMA_NAME))
        if not is_indexed(path) or path.startswith("schemas/"):
            continue
        findings.extend(validate_entry(path, data, schemas, rules))
    return sorted(findings)


def sops_rules(data: bytes | None) -> tuple[list[sopsrules.Rule], list[Finding]]:
    """The creation rules of a ``.sops.yaml`` (None: the tree has none) and its findings:
    rules gitconfig cannot use, or a file that does not parse."""
    path = sopsrules.SOPS_YAML
    if data is None:
        return [], []
    try:
        rules = sopsrules.parse(data)
    except BadRequest as exc:
        return [], [Finding(path, e.field, e.message) for e in exc.errors]
    problems = sopsrules.rule_problems(rules)
    return rules, [Finding(path, e.field, e.message, field_line(data, e)) for e in problems]


SCHEMA_NAME = (
    "not a valid shared schema name: schemas/<name>.json, name matching "
    "[A-Za-z0-9][A-Za-z0-9._-]{0,249}, not a Windows device name (CON, AUX, NUL, ...)"
)


def special_entry_message(kind: str) -> str:
    """Why a symlink or submodule under configs/, flags/ or schemas/ is refused."""
    return (
        f"is a {kind}, not a regular file: configs/, flags/ and schemas/ hold only files "
        "(a link would make the served value depend on what it points to)"
    )


def special_findings(entries: Iterable[tuple[str, str]]) -> list[Finding]:
    """A finding for each (path, kind) entry that is not a regular file."""
    return [Finding(path, "", special_entry_message(kind)) for path, kind in entries]


def validate_entry(
    path: str,
    data: bytes,
    schemas: Mapping[str, Any],
    rules: list[sopsrules.Rule] | None = None,
) -> list[Finding]:
    """The findings of one entry file; with ``rules`` (the tree's ``.sops.yaml``; empty: it
    has none) a SECRET must also be encrypted for the rule of its own path."""
    key = parse_entry_path(path)
    if isinstance(key, FieldError):
        return [Finding(path, "", key.message)]
    try:
        document = load_document(key.kind, data, schemas)
    except BadRequest as exc:
        if not exc.errors:
            return [Finding(path, "", exc.message)]
        return [Finding(path, e.field, e.message, field_line(data, e)) for e in exc.errors]
    if isinstance(document, ConfigDocument) and document.value_type is ValueType.SECRET:
        problem = None if rules is None else sopsrules.binding_problem(path, document.sops, rules)
        if problem is not None:
            return [Finding(path, "sops", problem, field_line(data, FieldError("sops", "")))]
    if isinstance(document, ConfigDocument) and document.value_type is not ValueType.SECRET:
        message = credentials.warning(key.key, document.value)
        if message is not None:
            line = field_line(data, FieldError("value", message))
            return [Finding(path, "value", message, line, warning=True)]
    return []


def field_line(data: bytes, error: FieldError) -> int:
    """The line a finding is about: where a YAML error is, or where the top-level field
    starts (``rules`` for ``rules.1.operator``); 0 when unknown."""
    if not error.field:
        at = _YAML_LINE.search(error.message)
        return int(at.group(1)) if at else 0
    top = error.field.split(".", 1)[0].encode()
    found = re.search(rb"^['\"]?" + re.escape(top) + rb"['\"]?[ \t]*:", data, re.MULTILINE)
    return data.count(b"\n", 0, found.start()) + 1 if found else 0


def check_tree(
    tree: Mapping[str, str],
    read: Callable[[str], bytes],
    changed: Collection[str] | None = None,
) -> Report:
    """Validate a tree given as path -> blob id (``read`` gives a blob's bytes).

    ``changed`` None: every file. Otherwise only the changed paths present in the tree are
    validated (against the whole tree's schemas, ``.sops.yaml`` and paths), unless a shared
    schema or ``.sops.yaml`` changed: then every file is."""
    if changed is not None and any(
        is_schema_path(path) or path == sopsrules.SOPS_YAML for path in changed
    ):
        changed = None  # every file may refer to a schema, every SECRET to a creation rule
    wanted = None if changed is None else set(changed) & tree.keys()
    needed = {
        path: blob
        for path, blob in tree.items()
        if path == sopsrules.SOPS_YAML
        or (is_indexed(path) and (wanted is None or path in wanted or is_schema_path(path)))
    }
    files = {path: read(blob) for path, blob in needed.items()}
    findings = validate_files(files, only=wanted, all_paths=tree.keys())
    return Report(findings, len(files) if wanted is None else len(wanted), count_entries(tree))


def count_entries(paths: Iterable[str]) -> int:
    """How many of ``paths`` are configuration or flag files."""
    return sum(1 for path in paths if path.startswith(("configs/", "flags/")))
