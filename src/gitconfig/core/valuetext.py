"""The text form of a configuration value: the seed's REST and gRPC ``value`` is a string.

    STRING   the string itself
    NUMBER   canonical decimal text: exact for integers; for other numbers the shortest digits
             that read back as the same double. Never an exponent, no trailing zeros, no "-0":
             250000, 0.5, -2, 0.00000015, 1000000000000000000000 (1e21)
    BOOLEAN  true or false (read in any case: TRUE, False)
    JSON     compact JSON: {"engine":"v2","weights":[0.5,0.5]} (keys in the value's order)
    SECRET   the sops ciphertext, ENC[...]; never read from text (that needs sops)

``text(parse(t))`` is the canonical form of ``t``; ``parse(text(v))`` equals ``v`` (for a
NUMBER, the same double). Reading NUMBER text gives an int when the number is integral
("250000.0" and "2.5e5" are the int 250000), so a value has one canonical text.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from gitconfig.core import jsonschemas, numbers
from gitconfig.core.model import ValueType


def parse(value_type: ValueType, text: str) -> Any:
    """The native value that ``text`` stands for; raises ``ValueError`` saying why not."""
    if not isinstance(text, str):
        raise ValueError("must be a string")
    if jsonschemas.json_data_errors(text):
        raise ValueError("holds a lone surrogate, not text")
    if value_type is ValueType.NUMBER:
        return parse_number(text)
    if value_type is ValueType.BOOLEAN:
        if text.lower() not in ("true", "false"):
            raise ValueError("must be true or false for type BOOLEAN")
        return text.lower() == "true"
    if value_type is ValueType.JSON:
        try:
            return parse_json(text)
        except ValueError as exc:
            raise ValueError(f"not JSON: {exc}") from exc
    if value_type is ValueType.SECRET:
        raise ValueError("a SECRET value is sops ciphertext, not read from text")
    return text


def parse_number(text: str) -> int | float:
    """Decimal text: an int when integral (exact), else the nearest double."""
    if not numbers.is_decimal(text):
        raise ValueError("must be a decimal number for type NUMBER, such as 42, -0.5 or 2.5e-3")
    number = Decimal(text)
    nearest = float(number)
    if math.isinf(nearest):
        raise ValueError("is out of range (beyond ±1.8e308)")
    if nearest == 0 and number != 0:
        raise ValueError("is too close to zero (below 5e-324)")
    if number == number.to_integral_value():
        return int(number)
    return nearest


def unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object from its members (``json.loads``' ``object_pairs_hook``); raises
    ``ValueError`` on a duplicated member name, which RFC 8259 leaves to the parser."""
    result: dict[str, Any] = {}
    for key, item in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = item
    return result


def parse_json(text: str) -> Any:
    """Strict JSON: no NaN or Infinity, no number beyond ±1.8e308, no duplicate keys."""

    def finite(number: str) -> float:
        value = float(number)
        if not math.isfinite(value):
            raise ValueError(f"{number} is out of range")
        return value

    def constant(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    try:
        value = json.loads(
            text, parse_float=finite, parse_constant=constant, object_pairs_hook=unique_object
        )
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
    problems = jsonschemas.json_data_errors(value)
    if problems:
        raise ValueError(problems[0])
    return value


def text(value_type: ValueType, value: Any) -> str:
    """The canonical text of a (valid) native value of ``value_type``."""
    if value_type is ValueType.NUMBER:
        return number_text(value)
    if value_type is ValueType.BOOLEAN:
        return "true" if value else "false"
    if value_type is ValueType.JSON:
        return compact_json(value)
    return str(value)


def number_text(number: int | float) -> str:
    """Canonical decimal text of a number (see the module's docstring)."""
    if isinstance(number, int):
        return str(number)
    if number == 0:
        return "0"
    digits = format(Decimal(repr(number)), "f")
    return digits.rstrip("0").rstrip(".") if "." in digits else digits


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
