"""The embedded gitconfig client: a local, always-current copy of one application's
configuration and feature flags in one environment, read from memory and evaluated
in-process, that keeps serving (from a cache file if need be) while the server is down.

    from gitconfig.client import Client

    with Client("config:9090", token, "trading-engine", "PROD", cache_path="gc.json") as gc:
        limit = gc.get_int("max-order-size", 1000)
        if gc.enabled("v2-matching-engine", user_id="desk-7-42", attributes={"region": "EU"}):
            ...

Importing it needs grpcio, protobuf, PyYAML, google-re2 and mmh3 only: none of the server's
dependencies (docs/client.md).
"""

from gitconfig.client.aio import AsyncClient, Backoff
from gitconfig.client.local import (
    ClientError,
    FlagNotFound,
    ServerUnavailable,
    Snapshot,
    Status,
)
from gitconfig.client.state import Change, ChangeKind, ConfigValue, EntryKind, FlagValue, KeyChange
from gitconfig.client.sync import Client
from gitconfig.core.evaluation import Evaluation

__all__ = [
    "AsyncClient",
    "Backoff",
    "Change",
    "ChangeKind",
    "Client",
    "ClientError",
    "ConfigValue",
    "EntryKind",
    "Evaluation",
    "FlagNotFound",
    "FlagValue",
    "KeyChange",
    "ServerUnavailable",
    "Snapshot",
    "Status",
]
