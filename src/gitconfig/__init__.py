"""gitconfig: a Git-backed configuration and feature-flag service."""

__version__ = "0.1.0"
