"""The server's logging: one line per event, as text or as JSON for log collectors.

Every line carries the id of the request it belongs to (``request_id``, ``-`` outside a
request; see ``service.requestid``). Tracebacks stay on their event's line: escaped inside
the JSON object, or joined with `` | `` in text. ``gitconfig.access`` logs one line per
HTTP request when ``access_log`` is on.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

from gitconfig.service import requestid

FORMATS = ("text", "json")
TEXT = "%(asctime)s %(levelname)s %(name)s[%(process)d] %(request_id)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(process)d %(request_id)s %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = requestid.current.get() or "-"
        return True


class OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", " | ")


def configure(
    level: str = "INFO", fmt: str = "text", access_log: bool = False, stream: TextIO | None = None
) -> None:
    """Send every logger's records to ``stream`` (stderr) in ``fmt`` (``text`` or ``json``)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                JSON_FIELDS,
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(OneLineFormatter(TEXT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("gitconfig.access").setLevel(logging.INFO if access_log else logging.WARNING)
