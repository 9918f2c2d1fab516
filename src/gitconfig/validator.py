"""The one validator: the same checks for the server's index, the CLI, git hooks and CI.

``validate_files`` takes repository files (path -> content) and returns every finding as
``path: field: message``. Files outside configs/, flags/ and schemas/ are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gitconfig import configfile, flagfile, jsonschemas
from gitconfig.errors import BadRequest, FieldError
from gitconfig.model import Kind
from gitconfig.paths import is_indexed, is_schema_path, parse_entry_path


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    path: str
    field: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.path}: {self.field}: {self.message}"
            if self.field
            else (f"{self.path}: {self.message}")
        )


def load_schemas(files: Mapping[str, bytes]) -> tuple[dict[str, Any], list[Finding]]:
    """The repository's shared schemas (``schemas/<name>.json``) and their problems."""
    schemas: dict[str, Any] = {}
    findings: list[Finding] = []
    for path, data in files.items():
        if not is_schema_path(path):
            continue
        try:
            schema = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            findings.append(Finding(path, "", f"not valid JSON: {exc}"))
            continue
        errors = jsonschemas.schema_errors(schema)
        findings.extend(Finding(path, "", message) for message in errors)
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
    wanted = set(only) if only is not None else None
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
        if not is_indexed(path) or path.startswith("schemas/"):
            continue
        findings.extend(validate_entry(path, data, schemas))
    return sorted(findings)


def validate_entry(path: str, data: bytes, schemas: Mapping[str, Any]) -> list[Finding]:
    key = parse_entry_path(path)
    if isinstance(key, FieldError):
        return [Finding(path, "", key.message)]
    try:
        if key.kind is Kind.CONFIG:
            configfile.load(data, schemas)
        else:
            flagfile.load(data)
    except BadRequest as exc:
        if not exc.errors:
            return [Finding(path, "", exc.message)]
        return [Finding(path, e.field, e.message) for e in exc.errors]
    return []
