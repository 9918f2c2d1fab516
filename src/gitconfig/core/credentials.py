"""Likely plaintext credentials in values that are not SECRET.

The detectors are detect-secrets' (a maintained scanner: AWS, GitHub, Slack, Stripe, private
keys, JWTs, credentials in URLs, and its keyword rule for names such as ``password``,
``secret`` or ``api_key``), run over ``<key>: "<value>"`` lines so that both the key's name
and the value's shape count. Its entropy detectors are left out (they flag ordinary words),
and so is its public-IP detector (addresses are configuration). A key named like a token
(``token``, ``auth-token``) is flagged too, which detect-secrets' keyword rule does not do.
Findings name the detector, never the value.
"""

from __future__ import annotations

import re
from functools import cache

_LEFT_OUT = ("Entropy", "IPPublic")
_TOKEN_KEY = re.compile(r"(^|_)(token|access_?token|auth_?token|bearer)($|_)")
_MAX_LINES = 200  # lines of a value scanned


@cache
def _detectors() -> tuple[object, ...]:
    # Imported on first use: detect-secrets takes ~0.5 s to load its plugins, which only
    # validation and imports need (not the server's start-up or other commands).
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    classes: list[type] = list(get_mapping_from_secret_type_to_class().values())
    chosen = (cls for cls in classes if not any(part in cls.__name__ for part in _LEFT_OUT))
    return tuple(cls() for cls in sorted(chosen, key=lambda cls: cls.__name__))


def findings(key: str, text: str) -> list[str]:
    """What makes the value ``text`` of ``key`` look like a plaintext credential: the names
    of the detectors that fired (sorted; empty: nothing found)."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", key).lower()
    found: set[str] = set()
    if text.strip() and _TOKEN_KEY.search(name):
        found.add("Token key name")
    for line in text.splitlines()[:_MAX_LINES] or [""]:
        quoted = line.replace("\\", "\\\\").replace('"', '\\"')
        probe = f'{name}: "{quoted}"'
        for detector in _detectors():
            for secret in detector.analyze_line(filename="config.yaml", line=probe, line_number=1):  # type: ignore[attr-defined]
                found.add(str(secret.type))
    return sorted(found)


def value_findings(key: str, value: object) -> list[str]:
    """``findings`` for a native value: a string itself, and every string of a JSON value
    under its own key (numbers and booleans are never credentials)."""
    found: set[str] = set()
    pending: list[tuple[str, object]] = [(key, value)]
    while pending:
        name, item = pending.pop()
        if isinstance(item, str):
            found.update(findings(name, item))
        elif isinstance(item, dict):
            pending.extend((str(k), v) for k, v in item.items())
        elif isinstance(item, list):
            pending.extend((name, v) for v in item)
    return sorted(found)


def warning(key: str, value: object) -> str | None:
    """A sentence for a value's findings (None: nothing found); never quotes the value."""
    found = value_findings(key, value)
    if not found:
        return None
    return (
        f"looks like a plaintext credential ({', '.join(found)}): make it a SECRET "
        "(encrypted with sops) instead"
    )
