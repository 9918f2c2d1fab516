"""``python -m gitconfig_cli``: the ``gitconfig`` command."""

from .main import main

main()
