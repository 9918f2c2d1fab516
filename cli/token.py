"""``gitconfig token create NAME``: a new random API token and its access-file line."""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated

import typer

from gitconfig.core.errors import BadRequest

from .local import add

app = typer.Typer(no_args_is_help=True, help="API tokens for the access file.")

TOKEN_BYTES = 32  # 256 random bits, URL-safe base64 (43 characters)


def create(
    name: Annotated[str, typer.Argument(help="The subject's name in the access file")],
    email: Annotated[str | None, typer.Option(help="The commit email of its writes")] = None,
) -> None:
    """Print a new random token once (keep it secret) and the access-file entry to paste.

    Only the token's SHA-256 goes in the access file; the token itself is shown once and
    kept nowhere."""
    if not name.strip() or any(c.isspace() for c in name):
        raise BadRequest("invalid name", [])
    token = "gc_" + secrets.token_urlsafe(TOKEN_BYTES)
    digest = hashlib.sha256(token.encode()).hexdigest()
    typer.echo(f"token (shown once; give it to {name} and keep it secret):", err=True)
    typer.echo(token)
    typer.echo("\naccess-file entry (add grants):", err=True)
    lines = ["  - name: " + name]
    if email:
        lines.append(f"    email: {email}")
    lines += [
        f"    token_sha256: {digest}",
        "    grants:",
        "      - role: reader",
        '        applications: ["*"]',
        "        environments: [DEV]",
    ]
    typer.echo("\n".join(lines), err=True)


add(app, create)
