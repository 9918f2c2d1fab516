"""The access file: subjects, their token hashes and grants (``gitconfig serve --access-file``).

    subjects:
      - name: payments-service
        email: payments@example.com        # optional: the commit author's email
        token_sha256: 3f1c...              # optional (JWT-only subjects): hex SHA-256
        grants:
          - role: reader                   # reader | writer | admin (admin: global, no scope)
            applications: ["payments"]      # fnmatch globs (default: all)
            environments: [PROD]            # subset of DEV, TEST, STAGING, PROD (default: all)
            reveal_secrets: true            # may see SECRET values in this scope

``parse`` turns the text into principals or raises ``BadRequest`` whose errors name the line
(unknown fields, bad globs, unknown environments, duplicate names or tokens). ``AccessFile``
re-reads the file when it changes (checked at most every ``interval`` seconds, on use); a bad
new file is refused with a log line and the last good one stays in force.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gitconfig.access.principals import ALL_ENVIRONMENTS, ROLES, Grant, Principal
from gitconfig.core.errors import BadRequest, FieldError
from gitconfig.core.model import Environment

log = logging.getLogger(__name__)

_SUBJECT_FIELDS = {"name", "email", "token_sha256", "grants"}
_GRANT_FIELDS = {"role", "applications", "environments", "reveal_secrets"}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:/-]{0,199}")
_GLOB = re.compile(r"[A-Za-z0-9._*?\[\]!-]{1,100}")


@dataclass(frozen=True)
class Table:
    """The principals of one version of the file, by token digest and by name."""

    by_digest: Mapping[bytes, Principal]
    by_name: Mapping[str, Principal]


class _Problems:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, node: yaml.Node, where: str, message: str) -> None:
        self.errors.append(FieldError(where, f"line {node.start_mark.line + 1}: {message}"))


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it
_CONSTRUCTOR = yaml.SafeLoader("")


def _scalar(node: yaml.Node) -> Any:
    """A scalar node's value (YAML 1.1 safe types); None for anything else. Every scalar of
    a file was read once by ``_unreadable_scalars`` first, so this cannot raise."""
    if not isinstance(node, yaml.ScalarNode):
        return None
    value = _CONSTRUCTOR.construct_object(node)
    _CONSTRUCTOR.constructed_objects.clear()  # kept per node otherwise: a leak per reload
    return value


def _unreadable_scalars(root: yaml.Node) -> list[FieldError]:
    """A problem (naming its line) for each scalar no safe constructor can read: an unknown
    or Python tag (``!!python/name:...``), ``!!int abc``, ``!!bool maybe``, a bad
    ``!!timestamp``. The walk is iterative and visits each node once (aliases may loop)."""
    constructor = yaml.SafeLoader("")
    problems: list[FieldError] = []
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            try:
                constructor.construct_object(node)
            except (yaml.YAMLError, ValueError, KeyError, TypeError, OverflowError) as exc:
                reason = getattr(exc, "problem", None) or str(exc)
                problems.append(
                    FieldError(
                        "",
                        f"line {node.start_mark.line + 1}: cannot read {node.tag} "
                        f"{str(node.value)[:40]!r}: {reason}",
                    )
                )
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            pending.extend(item for pair in node.value for item in pair)
    return problems


def _mapping(
    node: yaml.Node, where: str, allowed: set[str], problems: _Problems
) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        problems.add(node, where, "expected a mapping")
        return {}
    fields: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        name = (
            str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "<a non-scalar key>"
        )
        if name not in allowed:
            problems.add(
                key_node,
                f"{where}.{name}",
                f"unknown field {name!r} (expected one of {', '.join(sorted(allowed))})",
            )
        elif name in fields:
            problems.add(key_node, f"{where}.{name}", f"duplicate field {name!r}")
        else:
            fields[name] = value_node
    return fields


def _strings(node: yaml.Node, where: str, problems: _Problems) -> list[tuple[yaml.Node, str]]:
    if not isinstance(node, yaml.SequenceNode):
        problems.add(node, where, "expected a list")
        return []
    items = []
    for i, item in enumerate(node.value):
        value = _scalar(item)
        if not isinstance(value, str):
            problems.add(item, f"{where}.{i}", "expected a string")
        else:
            items.append((item, value))
    return items


def _grant(node: yaml.Node, where: str, problems: _Problems) -> Grant | None:
    fields = _mapping(node, where, _GRANT_FIELDS, problems)
    role = _scalar(fields["role"]) if "role" in fields else None
    if role not in ROLES:
        problems.add(
            fields.get("role", node), f"{where}.role", f"role must be one of {', '.join(ROLES)}"
        )
        return None
    if role == "admin":
        for name in ("applications", "environments"):
            if name in fields:
                problems.add(
                    fields[name], f"{where}.{name}", "admin is global: leave the scope out"
                )
        return Grant("admin")
    applications = ["*"]
    if "applications" in fields:
        applications = []
        for i, (item, glob) in enumerate(
            _strings(fields["applications"], f"{where}.applications", problems)
        ):
            if not _GLOB.fullmatch(glob) or glob.count("[") != glob.count("]"):
                problems.add(item, f"{where}.applications.{i}", f"not a valid glob: {glob!r}")
            else:
                applications.append(glob)
        if not applications:
            problems.add(
                fields["applications"], f"{where}.applications", "name at least one application"
            )
    environments = set(ALL_ENVIRONMENTS)
    if "environments" in fields:
        environments = set()
        for i, (item, env) in enumerate(
            _strings(fields["environments"], f"{where}.environments", problems)
        ):
            if env not in ALL_ENVIRONMENTS:
                valid = ", ".join(e.value for e in Environment)
                problems.add(
                    item,
                    f"{where}.environments.{i}",
                    f"unknown environment {env!r} (one of {valid})",
                )
            else:
                environments.add(env)
    reveal = _scalar(fields["reveal_secrets"]) if "reveal_secrets" in fields else False
    if not isinstance(reveal, bool):
        problems.add(fields["reveal_secrets"], f"{where}.reveal_secrets", "expected true or false")
        reveal = False
    return Grant(role, tuple(applications), frozenset(environments), reveal)


def parse(text: str) -> Table:
    """The principals of an access file's text. Raises ``BadRequest`` listing every problem,
    each message starting with its line (``line 7: unknown environment 'PRD'``)."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise BadRequest("invalid access file", [FieldError("", f"{line}{exc}")]) from None
    problems = _Problems()
    by_digest: dict[bytes, Principal] = {}
    by_name: dict[str, Principal] = {}
    if root is None:
        return Table(by_digest, by_name)
    if unreadable := _unreadable_scalars(root):
        raise BadRequest("invalid access file", sorted(unreadable, key=_line_of))
    top = _mapping(root, "", {"subjects"}, problems)
    subjects = top.get("subjects")
    if subjects is not None and not isinstance(subjects, yaml.SequenceNode):
        problems.add(subjects, "subjects", "expected a list of subjects")
        subjects = None
    for i, node in enumerate(subjects.value if subjects is not None else []):
        where = f"subjects.{i}"
        fields = _mapping(node, where, _SUBJECT_FIELDS, problems)
        name = _scalar(fields["name"]) if "name" in fields else None
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            problems.add(
                fields.get("name", node),
                f"{where}.name",
                "a name is required (letters, digits and ._@:/-)",
            )
            continue
        if name in by_name:
            problems.add(fields["name"], f"{where}.name", f"duplicate subject {name!r}")
        email = _scalar(fields["email"]) if "email" in fields else None
        if email is not None and (not isinstance(email, str) or "@" not in email):
            problems.add(fields["email"], f"{where}.email", "expected an email address")
            email = None
        digest = None
        if "token_sha256" in fields:
            hexdigest = _scalar(fields["token_sha256"])
            if not isinstance(hexdigest, str) or not _SHA256.fullmatch(hexdigest.lower()):
                problems.add(
                    fields["token_sha256"],
                    f"{where}.token_sha256",
                    "expected 64 hex digits (the SHA-256 of the token, never the token)",
                )
            else:
                digest = bytes.fromhex(hexdigest)
                if digest in by_digest:
                    problems.add(
                        fields["token_sha256"],
                        f"{where}.token_sha256",
                        f"the same token as {by_digest[digest].name!r}",
                    )
        grants: list[Grant] = []
        if "grants" in fields:
            grant_nodes = fields["grants"]
            if not isinstance(grant_nodes, yaml.SequenceNode):
                problems.add(grant_nodes, f"{where}.grants", "expected a list of grants")
            else:
                for j, grant_node in enumerate(grant_nodes.value):
                    grant = _grant(grant_node, f"{where}.grants.{j}", problems)
                    if grant is not None:
                        grants.append(grant)
        roles = frozenset({"admin"}) if any(g.role == "admin" for g in grants) else frozenset()
        principal = Principal(name, roles, email, tuple(g for g in grants if g.role != "admin"))
        by_name[name] = principal
        if digest is not None:
            by_digest[digest] = principal
    if problems.errors:
        raise BadRequest("invalid access file", problems.errors)
    return Table(by_digest, by_name)


def _line_of(error: FieldError) -> int:
    return int(error.message.split(":", 1)[0].removeprefix("line "))


class AccessFile:
    """The subjects of an access file, re-read when the file changes (see the module)."""

    def __init__(self, path: Path, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self._table = parse(path.read_text(encoding="utf-8"))  # a bad first file: an error
        self._checked = time.monotonic()
        self.reloads = 0

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def current(self) -> Table:
        now = time.monotonic()
        if now - self._checked >= self.interval:
            self._checked = now
            self.reload()
        return self._table

    def reload(self) -> bool:
        """Re-read the file if it changed; True when a new version took effect."""
        with self._lock:
            stamp = self._stat()
            if stamp == self._stamp:
                return False
            self._stamp = stamp
            try:
                table = parse(self.path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                log.error(
                    "access file %s unreadable; keeping the last good one: %s", self.path, exc
                )
                return False
            except BadRequest as exc:
                details = "; ".join(e.message for e in exc.errors) or exc.message
                log.error(
                    "access file %s refused; keeping the last good one: %s", self.path, details
                )
                return False
            self._table = table
            self.reloads += 1
            log.info("access file %s reloaded: %d subjects", self.path, len(table.by_name))
            return True

    def by_digest(self) -> Mapping[bytes, Principal]:
        return self.current().by_digest

    def by_name(self) -> Mapping[str, Principal]:
        return self.current().by_name
