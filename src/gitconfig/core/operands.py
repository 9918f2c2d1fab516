"""The operands of flag rules: ordered values (decimal numbers and ISO-8601 instants, exact,
in the one grammar of ``numbers``), semantic versions (SemVer 2.0.0 precedence) and RE2
patterns (MATCHES, search semantics). Pure.

Each grammar is used alike when a flag is validated (a rule value must parse) and when it is
compiled (an attribute that does not parse does not match)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Final

import re2

from gitconfig.core import numbers

# -- ordered operands: numbers and ISO-8601 instants ------------------------------------------

NUMBER: Final = 0
INSTANT: Final = 1


def parse_ordered(text: str) -> tuple[int, Decimal] | None:
    """``(NUMBER, n)`` for a decimal number, ``(INSTANT, epoch seconds)`` for an ISO-8601
    instant (a date, optionally a time, optionally an offset; no offset means UTC), else None;
    both exact, in the one grammar of ``numbers``. A text that reads as both (``20260101``) is
    a number."""
    number = numbers.parse_decimal(text)
    if number is not None:
        return (NUMBER, number)
    instant = numbers.parse_instant(text)
    return None if instant is None else (INSTANT, instant)


# -- semantic versions: SemVer 2.0.0 precedence ------------------------------------------------

# The regular expression the SemVer 2.0.0 specification suggests (semver.org, FAQ).
_PRE_ID = r"(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
_SEMVER_RE = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    rf"(?:-({_PRE_ID}(?:\.{_PRE_ID})*))?"
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?",
    re.ASCII,
)
_RELEASE: Final = (1,)  # a release ranks above every pre-release of the same version

SemverKey = tuple[int, int, int, tuple[Any, ...]]


def semver_key(text: str) -> SemverKey | None:
    """A key whose tuple order is SemVer 2.0.0 precedence, or None if ``text`` is not a
    version (``MAJOR.MINOR.PATCH[-pre.release][+build]``, no ``v`` prefix, no blanks).

    Build metadata is ignored. Pre-release identifiers compare left to right: numeric ones
    numerically and below alphanumeric ones (compared in ASCII order); a shorter list that is
    a prefix of a longer one ranks lower; a pre-release ranks below its release."""
    found = _SEMVER_RE.fullmatch(text)
    if found is None:
        return None
    major, minor, patch, pre = found.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), _RELEASE)
    identifiers = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in pre.split(".")
    )
    return (int(major), int(minor), int(patch), (0, *identifiers))


# -- MATCHES: RE2, search semantics --------------------------------------------------------------


def _re2_options() -> Any:
    options = re2.Options()
    options.log_errors = False
    options.never_capture = True
    return options


def pattern_error(pattern: str) -> str | None:
    """Why ``pattern`` is not a valid RE2 pattern, or None when it is."""
    try:
        re2.compile(pattern, _re2_options())
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        return detail.decode() if isinstance(detail, bytes) else str(detail)
    return None


def pattern_set(patterns: tuple[str, ...]) -> Any:
    """One RE2 set that searches for all of ``patterns`` at once."""
    patterns_set = re2.Set.SearchSet(_re2_options())
    for pattern in patterns:
        patterns_set.Add(pattern)
    patterns_set.Compile()
    return patterns_set
