"""The values and rules the use-cases share: a page of entries, a version with its content,
a configuration to create or change, finding a version, the key of a new entry.

The shared objects are ``reads.Reads`` (the read side), ``writer.Writer`` (the write path) and
``secretbox.SecretBox`` (SECRET values); ``facade.build_service`` composes the use-cases over
them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from gitconfig.access.principals import Principal, authorize
from gitconfig.core import configfile, limits
from gitconfig.core.errors import BadRequest, FieldError, NotFound
from gitconfig.core.model import (
    Commit,
    ConfigDocument,
    Document,
    EntryKey,
    Environment,
    Kind,
    Version,
)
from gitconfig.core.paths import entry_errors, environment_error
from gitconfig.index.snapshot import Entry, Snapshot

SOPS_YAML = ".sops.yaml"

MAX_PAGE_SIZE = 1000
UNCHANGED = "unchanged"  # the outcome of a write that changed nothing (no commit)


@dataclass(frozen=True)
class Page:
    content: list[Entry]
    page: int
    size: int
    total_elements: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total_elements / self.size) if self.size else 0


@dataclass(frozen=True)
class VersionView:
    entry: Entry
    version: Version
    document: Document | None  # None when that version's file did not validate
    # For a change merged with a merge commit: the commit on the merged branch that made it.
    merged: Commit | None = None


def find_version(entry: Entry, ref: str) -> Version:
    """A version of ``entry`` by number, or by commit sha (full or a unique 7+ prefix)."""
    ref = ref.strip().lower()
    number = limits.ascii_int(ref)
    if number is not None and len(ref) < 7:
        if 1 <= number <= len(entry.versions):
            return entry.versions[number - 1]
    elif 7 <= len(ref) <= 64 and all(c in "0123456789abcdef" for c in ref):
        matches = [v for v in entry.versions if v.commit.sha.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if number is not None and not matches and 1 <= number <= len(entry.versions):
            return entry.versions[number - 1]
        if len(matches) > 1:
            raise BadRequest("ambiguous version", [FieldError("versionId", "ambiguous prefix")])
    shown = ref if len(ref) <= 64 else ref[:61] + "..."
    raise NotFound(f"{entry.key} has no version {shown}")


def new_key(
    principal: Principal, kind: Kind, application: str, environment: str, key: str
) -> EntryKey:
    """The key of an entry to create, once the names are valid and the caller may write
    there (PermissionDenied otherwise)."""
    errors = entry_errors(application, environment, key)
    if errors:
        raise BadRequest(f"invalid {noun(kind)}", errors)
    authorize(principal, "write", application, environment)
    return EntryKey(kind, application, Environment(environment), key)


def noun(kind: Kind) -> str:
    return "configuration" if kind is Kind.CONFIG else "feature flag"


@dataclass(frozen=True)
class NewConfig:
    key: str
    application: str
    environment: str
    value_type: str
    value: str
    description: str | None = None
    schema: str | None = None
    tags: list[str] | None = None
    change_description: str | None = None


def new_document(new: NewConfig, snapshot: Snapshot) -> ConfigDocument:
    """The document ``new`` makes where there is none, its schema resolved against
    ``snapshot``'s shared schemas. Raises BadRequest (a bad type, value, schema or tag)."""
    return configfile.from_request(
        value_type=new.value_type,
        value=new.value,
        description=new.description,
        schema=new.schema,
        tags=new.tags,
        schemas=snapshot.schemas,
    )


@dataclass(frozen=True)
class ConfigChanges:
    """An update: fields left None keep their current value."""

    value: str | None = None
    description: str | None = None
    schema: str | None = None
    tags: list[str] | None = None
    change_description: str | None = None


def environments_of(environments: Sequence[str]) -> tuple[list[Environment], list[FieldError]]:
    """The distinct environments named (in order), or the field errors of the bad names."""
    errors = [
        error
        for index, env in enumerate(environments)
        if (error := environment_error(env, f"environments.{index}")) is not None
    ]
    if not environments:
        errors.append(FieldError("environments", "name at least one environment"))
    if errors:
        return [], errors
    return [Environment(env) for env in dict.fromkeys(environments)], []


def within(env: Environment, field: str) -> str:
    """A field error's field within one environment of a multi-environment write."""
    return f"{env.value}.{field}" if field else env.value
