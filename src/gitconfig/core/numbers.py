"""The one number grammar of gitconfig, and ISO-8601 instants at full precision.

A number is decimal text of ASCII digits: ``[+-]?(digits[.digits]|.digits)([eE][+-]?digits)?``.
No blanks, no ``_``, no hex, no ``nan``/``inf``, no full-width (U+FF10-U+FF19) or other
Unicode digits, and no trailing point (``5.``). It is the grammar of NUMBER values (``valuetext``),
of GREATER_THAN / LESS_THAN rule values and of the attributes they compare (``evaluation``).

An instant is ISO-8601 / RFC 3339 with ASCII digits: ``YYYY-MM-DD``, optionally ``T`` (or a
blank) and ``hh:mm[:ss[.fraction]]``, optionally ``Z`` or ``±hh[:mm]`` (none: UTC). Its
fraction keeps every digit: ``.0000001`` is later than ``.0000000`` (Python's datetime stops
at microseconds).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from decimal import Decimal

DECIMAL_RE = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_INSTANT_RE = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}(?:[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2})?)?)"
    r"(?:[.,]([0-9]+))?"
    r"([Zz]|[-+][0-9]{2}(?::?[0-9]{2})?)?"
)


def is_decimal(text: str) -> bool:
    return DECIMAL_RE.fullmatch(text) is not None


def parse_decimal(text: str) -> Decimal | None:
    """The exact value of decimal ``text`` (see the module), or None when it is not one or
    lies beyond a double's range (``1e999``: a number every client can hold)."""
    if DECIMAL_RE.fullmatch(text) is None:
        return None
    number = Decimal(text)
    return number if math.isfinite(float(number)) else None


def parse_instant(text: str) -> Decimal | None:
    """Seconds since the epoch, exact (the fraction keeps every digit), or None."""
    match = _INSTANT_RE.fullmatch(text)
    if match is None:
        return None
    whole, fraction, offset = match.groups()
    if fraction is not None and len(whole) <= 10:  # a fraction needs a time: hh:mm[:ss]
        return None
    try:
        instant = datetime.fromisoformat(whole.upper() + (offset or "").upper())
    except ValueError:
        return None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    seconds = Decimal(int(instant.timestamp()))
    return seconds + Decimal(f"0.{fraction}") if fraction else seconds
