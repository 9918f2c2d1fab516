"""Remote Git URLs and their credentials, as shown to people: never with a secret.

A replica takes its remote as ``https://``, ``ssh://``, scp-like ``user@host:path``,
``git://`` or ``file://`` URL. Credentials for ``https`` come from a file or an environment
variable (``user:password``, or a bare token), or from the URL's userinfo, which is then
taken out of the URL: what git is given, what is logged, what ``/status`` shows and every
error message carry URLs passed through ``text.scrub`` only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

from gitconfig.core.errors import BadRequest, FieldError

SCHEMES = ("https", "http", "ssh", "git", "file")
TOKEN_USER = "git"  # the user name sent with a bare token (GitHub, GitLab and Gitea accept any)


@dataclass(frozen=True)
class Credentials:
    """HTTP basic credentials; the password never appears in ``repr``."""

    user: str
    password: str = field(repr=False)


def parse_credentials(text: str) -> Credentials:
    """``user:password`` or a bare token (user ``git``), surrounding whitespace ignored.
    Raises BadRequest (without echoing the text) when empty or on several lines."""
    value = text.strip()
    if not value or "\n" in value:
        raise BadRequest(
            "invalid remote credentials",
            [FieldError("credentials", "expected one line: user:password, or a token")],
        )
    user, sep, password = value.partition(":")
    if not sep:
        return Credentials(TOKEN_USER, value)
    return Credentials(user, password)


def split_url(url: str) -> tuple[str, Credentials | None]:
    """The URL without credentials, and the credentials its userinfo held (``https``/``http``
    only; an ``ssh`` user name is not a secret and stays). Raises BadRequest for a URL that is
    none of the supported forms."""
    text = url.strip()
    if not text:
        raise BadRequest("invalid remote", [FieldError("remote", "empty URL")])
    if "://" not in text:
        if re.fullmatch(r"[^\s/:]+:[^\s]+", text) or re.fullmatch(r"[^\s@]+@[^\s:]+:\S+", text):
            return text, None  # scp-like: [user@]host:path
        raise BadRequest(
            "invalid remote",
            [FieldError("remote", "expected an https://, ssh://, git:// or file:// URL")],
        )
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise BadRequest("invalid remote", [FieldError("remote", f"unsupported scheme {scheme!r}")])
    if scheme not in ("http", "https") or "@" not in parts.netloc:
        return text, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, sep, password = userinfo.partition(":")
    credentials = (
        Credentials(unquote(user), unquote(password)) if sep else Credentials(TOKEN_USER, user)
    )
    return urlunsplit(parts._replace(netloc=host)), credentials


def url_prefix(url: str) -> str | None:
    """``scheme://host[:port]/`` of an http(s) URL (what git's ``http.<url>.*`` settings
    match), else None."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return None
    return f"{parts.scheme}://{parts.netloc}/"
