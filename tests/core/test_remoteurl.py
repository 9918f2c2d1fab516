"""Remote URLs and credentials: what git is given, and what people see (never a secret)."""

from __future__ import annotations

import pytest

from gitconfig.core.errors import BadRequest
from gitconfig.core.remoteurl import Credentials, parse_credentials, split_url
from gitconfig.core.text import scrub


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://bob:s3cret@host/x.git", "https://***@host/x.git"),
        ("access 'https://tok@h:8443/r/': 403", "access 'https://***@h:8443/r/': 403"),
        ("ssh://git@host/x.git and http://u:p@a/ b", "ssh://***@host/x.git and http://***@a/ b"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),  # scp-like: a user name
        ("no url here", "no url here"),
    ],
)
def test_scrub(text: str, shown: str) -> None:
    assert scrub(text) == shown


@pytest.mark.parametrize(
    ("url", "plain", "credentials"),
    [
        ("https://bob:s%40cret@host/x.git", "https://host/x.git", Credentials("bob", "s@cret")),
        ("https://ghp_tok@github.com/o/r", "https://github.com/o/r", Credentials("git", "ghp_tok")),
        ("https://github.com/o/r.git", "https://github.com/o/r.git", None),
        ("ssh://git@host:2222/r.git", "ssh://git@host:2222/r.git", None),
        ("git@github.com:o/r.git", "git@github.com:o/r.git", None),
        ("git://127.0.0.1:9418/r.git", "git://127.0.0.1:9418/r.git", None),
        ("file:///srv/config.git", "file:///srv/config.git", None),
    ],
)
def test_split_url(url: str, plain: str, credentials: Credentials | None) -> None:
    assert split_url(url) == (plain, credentials)


@pytest.mark.parametrize("url", ["", "ftp://host/r.git", "just words", "/a/local/path"])
def test_unsupported_remotes_are_bad_requests(url: str) -> None:
    with pytest.raises(BadRequest, match="invalid remote"):
        split_url(url)


def test_credentials_file_forms_and_no_secret_in_repr_or_errors() -> None:
    assert parse_credentials("bob:pa:ss\n") == Credentials("bob", "pa:ss")
    assert parse_credentials("  tok3n  ") == Credentials("git", "tok3n")
    assert "tok3n" not in repr(parse_credentials("tok3n"))
    with pytest.raises(BadRequest) as refused:
        parse_credentials("one\ntwo-s3cret")
    assert "s3cret" not in str(refused.value.errors) + refused.value.message
