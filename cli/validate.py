"""``gitconfig validate``: the server's validator, on a working tree, a commit, the changes
between two commits, or the staged files (the pre-commit hook)."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from gitconfig.core import validator
from gitconfig.core.errors import BadRequest, FieldError, NotFound
from gitconfig.core.validator import Finding, Report
from gitconfig.service import review
from gitconfig.store import gitstore
from gitconfig.store.worktree import WorktreeStore

from .files import TOP_FOLDERS, is_bare_repository, read_worktree, worktree_specials
from .local import add, open_store


class Format(StrEnum):
    TEXT = "text"
    GITHUB = "github"
    JSON = "json"


def register(app: typer.Typer) -> None:
    add(app, validate)


def validate(
    path: Annotated[
        Path, typer.Argument(help="A checkout (its files on disk) or a bare repository")
    ] = Path(),
    rev: Annotated[
        str | None, typer.Option(help="Validate this commit instead of the files on disk")
    ] = None,
    changed: Annotated[
        str | None,
        typer.Option(
            help="Validate the files changed in BASE..HEAD (trees compared) or BASE...HEAD "
            "(since the merge base), as they are at HEAD"
        ),
    ] = None,
    staged: Annotated[
        bool, typer.Option("--staged", help="Validate what is staged for the next commit")
    ] = False,
    fmt: Annotated[
        Format,
        typer.Option(
            "--format", "-f", help="text; github: Actions annotations; json: a list of findings"
        ),
    ] = Format.TEXT,
    branch: Annotated[
        str | None, typer.Option(help="The branch of a bare repository (default: HEAD's)")
    ] = None,
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty",
            help="Succeed when the tree holds no configuration or flag file at all",
        ),
    ] = False,
) -> None:
    """Check configuration, flag and schema files: format and unknown fields, folder names,
    value types, JSON Schemas, flag rules, unencrypted SECRETs, names differing only in case.
    Lists every problem; exits 1 if there is any, if PATH does not exist, or if a whole tree
    (files on disk, --rev) holds no configuration or flag file (unless --allow-empty). From
    a subdirectory of a checkout, the whole checkout is validated (as git finds its
    repository)."""
    if sum((rev is not None, changed is not None, staged)) > 1:
        raise typer.BadParameter("use one of --rev, --changed and --staged")
    if not path.exists():
        raise BadRequest(f"{path} does not exist", [FieldError("PATH", "no such file or folder")])
    whole_tree = changed is None and not staged
    on_disk = rev is None and changed is None and not staged and not is_bare_repository(path)
    if on_disk:
        path = checkout_root(path)
        files = read_worktree(path)
        specials = validator.special_findings(worktree_specials(path))
        findings = sorted([*validator.validate_files(files), *specials])
        report = Report(
            findings, len(files) + len(specials), validator.count_entries(files) + len(specials)
        )
    else:
        store, _, _ = open_store(path, branch)
        if changed is not None:
            report = review.check_range(store, review.parse_range(store, changed))
        elif staged:
            index_file = os.environ.get("GIT_INDEX_FILE")
            report = review.check_staged(
                store, _commit(store, "HEAD"), Path(index_file).absolute() if index_file else None
            )
        else:
            commit = _commit(store, rev or (f"refs/heads/{branch}" if branch else "HEAD"))
            if commit is None and (rev or branch):
                raise NotFound(f"unknown revision {rev or branch!r}")
            report = review.check_commit(store, commit) if commit else Report([], 0, 0)
    prefix = path if on_disk else Path()
    if report.ok and whole_tree and not report.entries and not allow_empty:
        where = str(path) if on_disk else (rev or branch or "HEAD")
        typer.echo(
            f"no configuration or flag file found in {where} (configs/<application>/<ENV>/"
            "<key>.yaml, flags/...): is this the config repository? (--allow-empty to accept)",
            err=True,
        )
        raise typer.Exit(1)
    _print(report, fmt, prefix)
    if not report.ok:
        raise typer.Exit(1)


def checkout_root(path: Path) -> Path:
    """The config repository ``path`` is in: the nearest folder at or above it that holds
    configs/, flags/ or schemas/, within the checkout it belongs to (git's own search);
    else that checkout's root; else ``path`` itself."""
    path = path.absolute()
    try:
        root, _ = gitstore.discover(path)
    except NotFound:
        return path
    if not (root / ".git").exists():
        return path  # a bare repository's folder: validated by commit, not on disk
    for folder in (path, *path.parents):
        if any((folder / top).is_dir() for top in TOP_FOLDERS):
            return folder
        if folder == root:
            break
    return root


def _commit(store: WorktreeStore, rev: str) -> str | None:
    """The commit ``rev`` names; None if it names none (a branch without commits yet)."""
    try:
        return store.rev_parse(rev)
    except NotFound:
        return None


def _print(report: Report, fmt: Format, prefix: Path) -> None:
    findings = report.findings
    if fmt is Format.JSON:
        typer.echo(json.dumps([_data(f) for f in findings], indent=2, ensure_ascii=False))
        return
    for finding in findings:
        typer.echo(_github(finding, prefix) if fmt is Format.GITHUB else finding_text(finding))
    errors = report.errors
    warnings = len(findings) - len(errors)
    if errors:
        files = len({finding.path for finding in errors})
        typer.echo(f"{len(errors)} problem(s) in {files} of {report.checked} file(s)", err=True)
    else:
        typer.echo(f"ok: {report.checked} file(s) valid")
    if warnings:
        typer.echo(f"{warnings} warning(s): likely plaintext credentials", err=True)


def _data(finding: Finding) -> dict[str, object]:
    return {
        "path": finding.path,
        "line": finding.line or None,
        "field": finding.field,
        "message": finding.message,
        "severity": "warning" if finding.warning else "error",
    }


def finding_text(finding: Finding) -> str:
    """``path:line: field: message``, as compilers print them (editors jump to the line)."""
    where = f"{finding.path}:{finding.line}" if finding.line else finding.path
    if finding.warning:
        where = f"warning: {where}"
    return (
        f"{where}: {finding.field}: {finding.message}"
        if finding.field
        else (f"{where}: {finding.message}")
    )


def _github(finding: Finding, prefix: Path) -> str:
    """A GitHub Actions error annotation, shown on the file's line in the pull request."""
    file = os.path.normpath(prefix / finding.path)
    properties = f"file={_escape(file, True)}"
    if finding.line:
        properties += f",line={finding.line}"
    properties += f",title={_escape('gitconfig: ' + (finding.field or 'file'), True)}"
    message = f"{finding.field}: {finding.message}" if finding.field else finding.message
    level = "warning" if finding.warning else "error"
    return f"::{level} {properties}::{_escape(message, False)}"


def _escape(text: str, property_: bool) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_ else text
