"""Entry point of the ``gitconfig`` command."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Git-backed configuration and feature flags.")


@app.callback()
def _root() -> None:
    """Git-backed configuration and feature flags."""


def main() -> None:
    app()
