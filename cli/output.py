"""Rendering: plain-text tables for people (no colours, stable for tests and pipes), JSON for
scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import typer

MAX_CELL = 80  # characters of a table cell; --output json has everything


class Output(StrEnum):
    TABLE = "table"
    JSON = "json"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns two spaces apart; long cells are cut with an ellipsis."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = [headers, *cells]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def fields(pairs: Sequence[tuple[str, object]]) -> str:
    """A two-column ``name: value`` block for one record."""
    width = max(len(name) for name, _ in pairs)
    return "\n".join(f"{name + ':':<{width + 1}} {_cell(value, None)}" for name, value in pairs)


def text(value: object) -> str:
    """A value as one line of text, uncut."""
    return _cell(value, None)


def _cell(value: object, limit: int | None = MAX_CELL) -> str:
    if value is None:
        text = ""
    elif isinstance(value, datetime):
        text = value.isoformat(timespec="seconds")
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        text = ", ".join(value)
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    text = text.replace("\n", "\\n")
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def emit(data: Any) -> None:
    """Print ``data`` as indented JSON (datetimes in ISO 8601)."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_default))


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
