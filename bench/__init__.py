"""Benchmarks for gitconfig and their baselines: ``python -m bench`` (see bench/README.md)."""
