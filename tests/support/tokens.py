"""The bearer tokens the transport tests use: an admin, a reader and one with no scope."""

from __future__ import annotations

from gitconfig.access.principals import TokenRegistry

ADMIN_TOKEN = "test-admin-token"


def tokens() -> TokenRegistry:
    registry = TokenRegistry()
    registry.add(ADMIN_TOKEN, "admin", ["admin"])
    registry.add("reader-token", "reader", ["read"])
    registry.add("nobody-token", "nobody", [])
    return registry
