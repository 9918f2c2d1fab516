"""Names and paths of the config repository: what is a valid application, key, file path.

    configs/<application>/<ENV>/<key>.yaml
    flags/<application>/<ENV>/<key>.yaml
    schemas/<name>.json

Names are safe file names by construction (no separators, no leading dot), so no input can
escape its folder, and every checkout can hold them: a file name (the key with ``.yaml``) is
at most 255 bytes, the limit of common file systems (ext4, APFS, NTFS), and no name is a
Windows device name (CON, PRN, AUX, NUL, COM0-9, LPT0-9, in any case, with any extension:
``aux.yaml``, ``Nul.txt``), which Git for Windows cannot check out; an application (a folder)
does not end in a dot, which Windows drops.
"""

from __future__ import annotations

import re
import sys

from gitconfig.core.errors import FieldError
from gitconfig.core.model import EntryKey, Environment, Kind

APPLICATION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,249}")  # + ".yaml": 255 bytes at most
SCHEMA_PATH_RE = re.compile(r"schemas/[A-Za-z0-9][A-Za-z0-9._-]{0,249}\.json")
WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{port}{n}" for port in ("COM", "LPT") for n in range(10)]
)
SCHEMAS_FOLDER = "schemas/"
_FOLDERS = {kind.folder: kind for kind in Kind}


def is_windows_device(name: str) -> bool:
    """True for CON, aux, Nul.txt, com1.tar.gz...: names Windows reserves for devices."""
    return name.split(".", 1)[0].upper() in WINDOWS_DEVICES


_DEVICE = (
    "is a Windows device name (CON, PRN, AUX, NUL, COM0-9, LPT0-9), which Windows cannot check out"
)


def application_error(value: object, field: str = "application") -> FieldError | None:
    if not isinstance(value, str) or not APPLICATION_RE.fullmatch(value):
        return FieldError(field, "must match [A-Za-z0-9][A-Za-z0-9._-]{0,99}")
    if is_windows_device(value):
        return FieldError(field, _DEVICE)
    if value.endswith("."):
        return FieldError(field, "must not end in a dot (Windows drops it from a folder name)")
    return None


def key_error(value: object, field: str = "key") -> FieldError | None:
    if not isinstance(value, str) or not KEY_RE.fullmatch(value):
        return FieldError(
            field,
            "must match [A-Za-z0-9][A-Za-z0-9._-]{0,249} (with .yaml, a file name of at most "
            "255 bytes)",
        )
    if is_windows_device(value):
        return FieldError(field, _DEVICE)
    if value.endswith(".yaml"):
        return FieldError(field, "must not end in .yaml (the file extension is added)")
    return None


def environment_error(value: object, field: str = "environment") -> FieldError | None:
    if value not in Environment.__members__:
        return FieldError(field, "must be one of DEV, TEST, STAGING, PROD")
    return None


def scope_errors(application: object, environment: object) -> list[FieldError]:
    """What is wrong with an (application, environment) pair."""
    found = [application_error(application), environment_error(environment)]
    return [error for error in found if error is not None]


def filter_errors(application: str | None, environment: str | None) -> list[FieldError]:
    """What is wrong with an application and an environment used as filters: each may be
    None (no filter, nothing to check)."""
    found = [
        application_error(application) if application is not None else None,
        environment_error(environment) if environment is not None else None,
    ]
    return [error for error in found if error is not None]


def entry_errors(application: object, environment: object, key: object) -> list[FieldError]:
    """What is wrong with an (application, environment, key) triple."""
    errors = scope_errors(application, environment)
    if (error := key_error(key)) is not None:
        errors.append(error)
    return errors


def is_indexed(path: str) -> bool:
    """True for the paths the index reads: entry folders and shared schemas."""
    return path.startswith(("configs/", "flags/", SCHEMAS_FOLDER))


def parse_entry_path(path: str) -> EntryKey | FieldError:
    """The entry a repository path names, or why it is not a valid entry path."""
    parts = path.split("/")
    if len(parts) != 4 or parts[0] not in _FOLDERS:
        return FieldError(path, "expected <configs|flags>/<application>/<ENV>/<key>.yaml")
    folder, application, environment, filename = parts
    if not filename.endswith(".yaml"):
        return FieldError(path, "entry files must end in .yaml")
    key = filename[: -len(".yaml")]
    scope = _SCOPES.get((folder, application, environment))
    if scope is None:
        for error in (
            application_error(application, "application"),
            environment_error(environment, "environment"),
        ):
            if error is not None:
                return FieldError(path, f"{error.field} {error.message}")
        scope = (_FOLDERS[folder], sys.intern(application), Environment(environment))
        if len(_SCOPES) < _SCOPES_LIMIT:
            _SCOPES[(folder, application, environment)] = scope
    error = key_error(key, "key")
    if error is not None:
        return FieldError(path, f"{error.field} {error.message}")
    return EntryKey(scope[0], scope[1], scope[2], key)


# Valid (folder, application, environment) of paths seen: a repository has a few thousand,
# each named by many files; the names' checks run once per scope, not once per file.
_SCOPES: dict[tuple[str, str, str], tuple[Kind, str, Environment]] = {}
_SCOPES_LIMIT = 100_000


def is_schema_path(path: str) -> bool:
    return SCHEMA_PATH_RE.fullmatch(path) is not None and not is_windows_device(
        path.removeprefix(SCHEMAS_FOLDER)
    )
