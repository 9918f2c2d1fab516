"""The errors of gitconfig, named for what the caller does about them.

    GitconfigError                  root; never raised itself
    ├── BadRequest  fix the input (REST 400, gRPC INVALID_ARGUMENT, CLI 1)
    ├── Unauthenticated  send a valid token (401, UNAUTHENTICATED, 1)
    ├── PermissionDenied  use a token with the role (403, PERMISSION_DENIED, 1)
    │   └── ReadOnly  this server takes no writes; write through another (405, -, 1)
    ├── NotFound  the entry or version does not exist (404, NOT_FOUND, 1)
    ├── AlreadyExists  the key exists; update it instead (409, ALREADY_EXISTS, 1)
    ├── Conflict  a concurrent change touched the same file; re-read (409, ABORTED, 1)
    ├── PreconditionFailed  If-Match names a stale version; re-read (412, FAILED_PRECONDITION, 1)
    ├── RateLimited  over the principal's rate limit; retry later (429, RESOURCE_EXHAUSTED, 1)
    ├── SecretUnavailable  this server cannot decrypt that secret; fix its keys or the file
    │                      (422, FAILED_PRECONDITION, 1)
    ├── NotReady  the first index is not complete yet; retry (503, UNAVAILABLE, 3)
    │   └── RemoteUnavailable  the remote Git host failed; its message says what (503, -, 3)
    └── StoreError  the Git store failed; operator attention (500, INTERNAL, 3)
        └── StorageFull  the repository's disk is full; nothing was written (507, -, 3)

Each transport maps these in exactly one table (``rest/errors.py``, ``grpc/errors.py``,
``gitconfig_cli/errors.py``). Messages never contain secret values.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field of the input: ``field`` is a dotted path (``value``,
    ``rules.0.operator``), ``message`` says what is wrong in words a user can act on."""

    field: str
    message: str


class GitconfigError(Exception):
    """Root of every error gitconfig raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(GitconfigError):
    def __init__(self, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.errors: list[FieldError] = list(errors or [])


class Unauthenticated(GitconfigError):
    def __init__(self, message: str = "Authentication required") -> None:
        super().__init__(message)


class PermissionDenied(GitconfigError):
    pass


class NotFound(GitconfigError):
    pass


class AlreadyExists(GitconfigError):
    pass


class Conflict(GitconfigError):
    pass


class PreconditionFailed(GitconfigError):
    def __init__(self, message: str, current_version: int | None = None) -> None:
        super().__init__(message)
        self.current_version = current_version


class RateLimited(GitconfigError):
    """Over the rate limit; ``retry_after`` is whole seconds until a request may succeed."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SecretUnavailable(GitconfigError):
    """A SECRET the server cannot decrypt: ``path`` and ``reason`` (never the value)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot reveal {path}: {reason}")
        self.path = path
        self.reason = reason


class NotReady(GitconfigError):
    pass


class ReadOnly(PermissionDenied):
    """The server is a read-only replica (``--read-only``): it refuses every write."""


class RemoteUnavailable(NotReady):
    """The remote Git host did not answer (or failed) a fetch or push, or a write was
    abandoned before its push. The message says whether the write is known not to be on the
    remote (or names the commit to look for). ``retry_after`` is a hint in seconds. The
    message names the remote without credentials."""

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreError(GitconfigError):
    pass


class StorageFull(StoreError):
    """The repository's file system is full (or over quota): nothing was written, reads go
    on; the message names the cause, never a server path."""


class StaleParent(StoreError):
    """The branch moved between reading the parent and moving the ref (compare-and-swap lost).

    Internal: the service re-reads and retries or turns it into ``Conflict``."""

    def __init__(self, expected: str | None, actual: str | None) -> None:
        super().__init__(f"branch moved: expected {expected}, found {actual}")
        self.expected = expected
        self.actual = actual
