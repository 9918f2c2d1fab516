"""Typed evaluation attributes and the one conversion to the evaluator's text.

OpenFeature contexts (and the REST evaluation bodies) carry typed values; rules compare text
(numbers and instants are parsed from it by the ordered operators). ``attribute_text`` is the
single conversion every evaluation door uses:

    string           -> itself
    boolean          -> "true" / "false"
    integer          -> its decimal text ("42", "-7")
    float            -> its shortest round-trip decimal text ("2.5", "0.1", "1e+21");
                        an integral float is written as an integer ("3.0" -> "3")
    null             -> no attribute (a missing attribute never matches)
    list, object     -> no attribute: OpenFeature contexts carry them routinely, so they are
                        accepted, and no operator matches them (docs/flags.md)
    anything else    -> refused (non-finite numbers, non-JSON types)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

from gitconfig.core.errors import BadRequest, FieldError

AttributeValue = str | bool | int | float | None
_EXACT_FLOAT: Final = 2.0**53  # integral floats below this print exactly as integers


def attribute_text(value: object) -> str | None:
    """The evaluator's text of one typed attribute value, None (missing) for null, a list or
    an object.

    Raises ValueError for a non-finite number or a value that is not JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list | tuple | Mapping):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("a number must be finite")
        if value.is_integer() and abs(value) < _EXACT_FLOAT:
            return str(int(value))
        return repr(value)
    raise ValueError("must be a string, number, boolean, list, object or null")


def attribute_texts(attributes: Mapping[str, object], field: str = "attributes") -> dict[str, str]:
    """Every attribute as evaluator text (null ones left out). Raises BadRequest naming each
    refused value as ``<field>.<name>``."""
    texts: dict[str, str] = {}
    for name, value in attributes.items():  # the common case: every value a string
        if type(value) is not str:
            break
        texts[name] = value
    else:
        return texts
    texts = {}
    errors: list[FieldError] = []
    for name, value in attributes.items():
        try:
            text = attribute_text(value)
        except ValueError as exc:
            errors.append(FieldError(f"{field}.{name}", str(exc)))
            continue
        if text is not None:
            texts[name] = text
    if errors:
        raise BadRequest("invalid evaluation attributes", errors)
    return texts
