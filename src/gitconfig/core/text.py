"""Valid Unicode text: a lone surrogate (``"\\ud800"``, which JSON's ``\\u`` escapes and
Python's ``surrogateescape`` of command-line bytes can produce) is not text — it cannot be
encoded as UTF-8, so it can be neither committed nor sent — and is refused wherever input
enters, naming the field."""

from __future__ import annotations

import re

from gitconfig.core import limits
from gitconfig.core.errors import BadRequest, FieldError

_SURROGATE = re.compile(r"[\ud800-\udfff]")
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")


def is_text(value: str) -> bool:
    """True when ``value`` holds no lone surrogate (it encodes as UTF-8)."""
    return _SURROGATE.search(value) is None


def surrogate_fields(data: object, prefix: str = "") -> list[str]:
    """The dotted paths (``rules.0.values.1``; ``""`` for ``data`` itself) of every string in
    ``data`` (dicts, lists, strings; keys included) that holds a lone surrogate. A key in a
    path is ``shown``, so the paths themselves are always text."""
    found: list[str] = []
    pending: list[tuple[object, str]] = [(data, prefix)]
    while pending:
        item, path = pending.pop()
        if isinstance(item, str):
            if not is_text(item):
                found.append(path)
        elif isinstance(item, dict):
            for key, child in item.items():
                name = shown(key) if isinstance(key, str) else str(key)
                child_path = f"{path}.{name}" if path else name
                if isinstance(key, str) and not is_text(key):
                    found.append(child_path)
                else:
                    pending.append((child, child_path))
        elif isinstance(item, list | tuple):
            pending.extend(
                (child, f"{path}.{index}" if path else str(index))
                for index, child in enumerate(item)
            )
    return sorted(found)


def shown(value: str) -> str:
    """``value`` with each lone surrogate written as its escape (``\\ud800``): always text."""
    if is_text(value):
        return value
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def scrub(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced by ``***``
    (``https://user:token@host/x`` -> ``https://***@host/x``): what may go into a log or an
    error message."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def checked_text(text: str, field: str) -> str:
    """``text`` if it is valid Unicode (no lone surrogate); else ``BadRequest`` on ``field``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest(
            f"invalid {field}", [FieldError(field, "holds a lone surrogate, not text")]
        ) from exc
    return text


def checked_message(message: str) -> str:
    """A commit message that can be written: valid Unicode, within ``limits``."""
    checked_text(message, "changeDescription")
    problem = limits.message_error(message)
    if problem is not None:
        raise BadRequest("invalid changeDescription", [problem])
    return message
