"""The offline cache: the last local state of one application and environment, on disk.

One JSON file, replaced atomically after each change (written to a temporary file in the same
folder, fsynced, renamed over the old one, the folder fsynced), so that a reader finds the old
file or the new one, never half of one. SECRET configurations are left out: plaintext never
reaches the cache file, and a client started from the cache serves no secret until it has
reached the server (docs/client.md).

A file that cannot be read, parsed or applied is ignored with a warning: the client then
starts as if there were no cache.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitconfig.client.state import ConfigValue, FlagValue, LocalState, config_value, flag_value

log = logging.getLogger(__name__)

FORMAT = 1


@dataclass(frozen=True, slots=True)
class Cached:
    """A state read back from the cache, and when it was last known current (epoch
    seconds)."""

    state: LocalState
    synced_at: float


CLOCK_SKEW = 300.0  # seconds a cache file's syncedAt may lie in the future (clocks differ)


def save(
    path: Path, application: str, environment: str, state: LocalState, synced_at: float
) -> None:
    """Write ``state`` to ``path`` atomically (SECRET values left out). Raises ``OSError``."""
    document = {
        "format": FORMAT,
        "application": application,
        "environment": environment,
        "commit": state.commit,
        "syncedAt": synced_at,
        "configs": [_config(c) for c in state.configs.values() if c.value_type != "SECRET"],
        "flags": [_flag(f) for f in state.flags.values()],
    }
    data = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(folder)


def load(path: Path, application: str, environment: str) -> Cached | None:
    """The cached state of ``application``/``environment``, or None (no file, or a file that
    is unreadable, corrupt, or of another scope: logged as a warning)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("ignoring the cache file %s: %s", path, exc)
        return None
    try:
        document = json.loads(data)
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError(f"not a format {FORMAT} cache file")
        scope = (document.get("application"), document.get("environment"))
        if scope != (application, environment):
            raise ValueError(f"it holds {scope[0]}/{scope[1]}, not {application}/{environment}")
        commit = document["commit"]
        synced_at = float(document["syncedAt"])
        if not math.isfinite(synced_at) or not 0 <= synced_at <= time.time() + CLOCK_SKEW:
            raise ValueError(f"syncedAt {synced_at!r} is not a past time")
        configs = [_read_config(item) for item in document["configs"]]
        flags = [_read_flag(item) for item in document["flags"]]
        if not isinstance(commit, str):
            raise ValueError("commit is not a string")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        log.warning("ignoring the corrupt cache file %s: %s", path, type(exc).__name__)
        return None
    return Cached(LocalState.build(commit, configs, flags), synced_at)


def _config(config: ConfigValue) -> dict[str, Any]:
    return {
        "key": config.key,
        "valueType": config.value_type,
        "value": config.text,
        "version": config.version,
        "commit": config.commit,
        "id": config.id,
    }


def _flag(flag: FlagValue) -> dict[str, Any]:
    return {
        "key": flag.key,
        "definition": dict(flag.definition),
        "version": flag.version,
        "commit": flag.commit,
        "id": flag.id,
    }


def _read_config(item: dict[str, Any]) -> ConfigValue:
    if item["valueType"] == "SECRET":
        raise ValueError("a cache file never holds a secret")
    return config_value(
        _text(item["key"]),
        _text(item["valueType"]),
        _text(item["value"]),
        int(item["version"]),
        _text(item["commit"]),
        _text(item["id"]),
    )


def _read_flag(item: dict[str, Any]) -> FlagValue:
    definition = json.dumps(item["definition"], separators=(",", ":"))
    return flag_value(
        _text(item["key"]),
        definition,
        int(item["version"]),
        _text(item["commit"]),
        _text(item["id"]),
    )


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where folders cannot be opened."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
