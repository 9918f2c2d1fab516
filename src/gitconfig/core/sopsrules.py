"""The repository's ``.sops.yaml``: its creation rules, what a rule must say for gitconfig to
use it, and whether a SECRET file is encrypted for the rule of its own path.

sops picks the first creation rule whose ``path_regex`` matches the file's path (Go regexp,
unanchored: RE2 here too) and encrypts for that rule's recipients. Nothing binds a file to
that choice afterwards: a PROD SECRET file copied to ``configs/x/DEV/stolen.yaml`` keeps its
PROD recipients, and a server that may reveal DEV secrets would decrypt it. So a SECRET file
must not carry recipients that another path's rule names and its own does not
(``binding_problem``); the validator (hooks, CI, ``gitconfig validate``) refuses one that
does, and the server reports it and never reveals it. Recipients since removed from, or
added to, its own rule do not count: rotation (``gitconfig secrets rotate``) catches up with
those, and the secrets stay readable until it does.

A rule that covers configuration files must say ``encrypted_regex: ^value$`` (else sops
encrypts every field, and the file is no longer a configuration file) and
``mac_only_encrypted: true`` (else the MAC covers the clear fields too, and changing a
description makes the value undecryptable): ``rule_problems`` names each rule that does not.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import re2
import yaml

from gitconfig.core.errors import BadRequest, FieldError

SOPS_YAML: Final = ".sops.yaml"
REQUIRED_ENCRYPTED_REGEX: Final = "^value$"
_CONFIG_PATH: Final = "configs/app/ENV/key.yaml"  # a rule that matches this covers configs


@dataclass(frozen=True)
class Rule:
    """One creation rule: its position in ``creation_rules`` (0-based), its ``path_regex``
    (None: every path), its age recipients (None: it names none, or in ``key_groups`` only),
    ``encrypted_regex`` and ``mac_only_encrypted`` as written."""

    index: int
    path_regex: str | None
    recipients: frozenset[str] | None
    encrypted_regex: str | None
    mac_only_encrypted: bool

    def matches(self, path: str) -> bool:
        return self.path_regex is None or re2.search(self.path_regex, path) is not None

    @property
    def name(self) -> str:
        shown = self.path_regex if self.path_regex is not None else "(every path)"
        return f"creation_rules[{self.index}] (path_regex {shown})"


def parse(data: bytes) -> list[Rule]:
    """The creation rules of a ``.sops.yaml``. Raises ``BadRequest`` (field errors naming
    the rule) for a file that is not YAML, or a rule whose ``path_regex`` does not compile."""
    try:
        document = yaml.safe_load(data) or {}
    except yaml.YAMLError as exc:
        raise BadRequest(f"{SOPS_YAML} is not YAML", [FieldError("", str(exc))]) from None
    rules = document.get("creation_rules") if isinstance(document, Mapping) else None
    if not isinstance(rules, list):
        return []
    found = []
    errors = []
    for index, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            errors.append(FieldError(f"creation_rules.{index}", "is not a mapping"))
            continue
        regex = rule.get("path_regex")
        if regex is not None:
            try:
                re2.compile(str(regex))
            except re2.error as exc:
                errors.append(FieldError(f"creation_rules.{index}.path_regex", str(exc)))
                continue
        found.append(
            Rule(
                index,
                None if regex is None else str(regex),
                _recipients(rule.get("age")),
                None if rule.get("encrypted_regex") is None else str(rule["encrypted_regex"]),
                rule.get("mac_only_encrypted") is True,
            )
        )
    if errors:
        raise BadRequest(f"invalid {SOPS_YAML}", errors)
    return found


def _recipients(value: Any) -> frozenset[str] | None:
    """The age recipients of a rule: a comma-separated string or a list (None: none)."""
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list):
        items = [str(item) for item in value]
    else:
        return None
    found = frozenset(item.strip() for item in items if item.strip())
    return found or None


def rule_for(rules: list[Rule], path: str) -> Rule | None:
    """The rule sops uses for ``path``: the first whose ``path_regex`` matches."""
    return next((rule for rule in rules if rule.matches(path)), None)


def rule_problems(rules: list[Rule]) -> list[FieldError]:
    """The rules covering configuration files that gitconfig cannot use, each named, with
    what is missing (see the module docstring)."""
    problems = []
    for rule in rules:
        if not rule.matches(_CONFIG_PATH) and not (
            rule.path_regex is not None and "configs" in rule.path_regex
        ):
            continue
        field = f"creation_rules.{rule.index}"
        if rule.encrypted_regex != REQUIRED_ENCRYPTED_REGEX:
            problems.append(
                FieldError(
                    f"{field}.encrypted_regex",
                    f"{rule.name} must say encrypted_regex: {REQUIRED_ENCRYPTED_REGEX} (sops "
                    "would encrypt every field of a configuration file)",
                )
            )
        if not rule.mac_only_encrypted:
            problems.append(
                FieldError(
                    f"{field}.mac_only_encrypted",
                    f"{rule.name} must say mac_only_encrypted: true (else changing a "
                    "description or tags makes the value undecryptable)",
                )
            )
    return problems


def file_recipients(sops: Mapping[str, Any] | None) -> frozenset[str]:
    """The age recipients a sops-encrypted file was encrypted for (its ``sops.age``)."""
    entries = (sops or {}).get("age") or ()
    return frozenset(
        str(item["recipient"])
        for item in entries
        if isinstance(item, Mapping) and item.get("recipient")
    )


def binding_problem(path: str, sops: Mapping[str, Any] | None, rules: list[Rule]) -> str | None:
    """Why the SECRET file at ``path`` (its sops metadata ``sops``) carries another path's
    recipients, or None. It does when it is encrypted for an age recipient that the rule of
    its own path does not name but another creation rule does: a file copied from another
    environment. A recipient that no rule names any more (removed from ``.sops.yaml``, the
    file not rotated yet) does not count, nor one the rule names that the file lacks (added):
    those files are what ``gitconfig secrets rotate`` is for, and stay readable meanwhile.
    No rules at all (no ``.sops.yaml``): nothing to check."""
    if not rules:
        return None
    rule = rule_for(rules, path)
    own = rule.recipients or frozenset() if rule is not None else frozenset()
    others = frozenset().union(*(r.recipients or frozenset() for r in rules if r is not rule))
    foreign = (file_recipients(sops) - own) & others
    if not foreign:
        return None
    where = rule.name if rule is not None else f"no creation rule (none matches {path})"
    return (
        f"encrypted for {len(foreign)} recipient(s) that {where} does not name but another "
        "creation rule does: was it copied from another environment? It is never revealed: "
        "delete it, or set its value again (a new value is encrypted for its path)"
    )
