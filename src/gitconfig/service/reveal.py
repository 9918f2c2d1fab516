"""Who may reveal a SECRET, asked in the entry's scope.

Every use-case that shows a secret's plaintext asks here, with the entry's application and
environment, so that scoping the reveal permission (by application pattern and environment)
changes this one function and no caller.
"""

from __future__ import annotations

from gitconfig.core.errors import PermissionDenied
from gitconfig.service.access import Principal, authorize


def authorize_reveal(principal: Principal, application: str, environment: str) -> None:
    """Raises ``PermissionDenied`` unless ``principal`` may reveal the secrets of
    ``application`` in ``environment``."""
    del application, environment  # the reveal permission is not scoped yet (see access.py)
    authorize(principal, "reveal")


def may_reveal(principal: Principal, application: str, environment: str) -> bool:
    """Whether ``principal`` may reveal the secrets of ``application`` in ``environment``."""
    try:
        authorize_reveal(principal, application, environment)
    except PermissionDenied:
        return False
    return True
