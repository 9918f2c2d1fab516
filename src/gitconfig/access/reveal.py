"""Who may reveal a SECRET, asked in the entry's scope.

Every use-case that shows a secret's plaintext asks here, with the entry's application and
environment; both ask the one ``access.authorize`` decision (the ``reveal_secrets`` grants).
"""

from __future__ import annotations

from gitconfig.access.principals import Principal, authorize


def authorize_reveal(principal: Principal, application: str, environment: str) -> None:
    """Raises ``PermissionDenied`` unless ``principal`` may reveal the secrets of
    ``application`` in ``environment``."""
    authorize(principal, "reveal", application, environment)


def may_reveal(principal: Principal, application: str, environment: str) -> bool:
    """Whether ``principal`` may reveal the secrets of ``application`` in ``environment``."""
    return principal.may("reveal", application, environment)
