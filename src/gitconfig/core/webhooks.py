"""Push webhooks from Git hosts: which host sent one, whether it is genuine, which ref moved.

Each host signs differently; all are checked in constant time against one shared secret:

    GitHub          X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>
    Gitea/Forgejo   X-Gitea-Signature (or X-Forgejo-Signature): <hex HMAC-SHA256 of the body>
    GitLab          X-Gitlab-Token: <the secret itself>
    generic         X-Gitconfig-Signature: sha256=<hex HMAC-SHA256 of the body>

Gitea also sends GitHub's header; its own is checked first. A push payload names the ref in
``ref`` (``refs/heads/main``) for all three hosts; a generic hook may send no body at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass

from gitconfig.core.errors import Unauthenticated

# (provider, signature header, prefix of the value, event header)
_HMAC_FORMATS = (
    ("gitea", "x-gitea-signature", "", "x-gitea-event"),
    ("forgejo", "x-forgejo-signature", "", "x-forgejo-event"),
    ("github", "x-hub-signature-256", "sha256=", "x-github-event"),
    ("generic", "x-gitconfig-signature", "sha256=", "x-gitconfig-event"),
)
_NOT_PUSH = frozenset({"ping", "ping hook", "system hook"})


@dataclass(frozen=True)
class WebhookEvent:
    """A verified webhook: the host format, its event name (lower case; None if not sent)
    and the ref the payload names (None when it names none)."""

    provider: str
    event: str | None
    ref: str | None

    @property
    def is_push(self) -> bool:
        return self.event not in _NOT_PUSH


def verify(headers: Mapping[str, str], body: bytes, secret: bytes) -> WebhookEvent:
    """Check the signature of a webhook request. ``headers`` with lower-case names.

    Raises Unauthenticated when no known signature header is present, or it does not match
    ``secret`` (an empty secret matches nothing)."""
    if not secret:
        raise Unauthenticated("webhook secret is not configured")
    for provider, header, prefix, event_header in _HMAC_FORMATS:
        signature = headers.get(header)
        if signature is None:
            continue
        expected = prefix + hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature.strip().lower().encode(), expected.encode()):
            raise Unauthenticated(f"bad {provider} webhook signature")
        return WebhookEvent(provider, _event(headers.get(event_header)), _ref(body))
    token = headers.get("x-gitlab-token")
    if token is not None:
        if not hmac.compare_digest(token.encode(), secret):
            raise Unauthenticated("bad gitlab webhook token")
        return WebhookEvent("gitlab", _event(headers.get("x-gitlab-event")), _ref(body))
    raise Unauthenticated("no webhook signature")


def _event(value: str | None) -> str | None:
    return value.strip().lower() if value else None


def _ref(body: bytes) -> str | None:
    try:
        payload = json.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    ref = payload.get("ref") if isinstance(payload, dict) else None
    return ref if isinstance(ref, str) else None
