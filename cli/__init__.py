"""The gitconfig command line (installed as the ``gitconfig`` command)."""
