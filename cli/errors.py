"""The one place that maps exceptions to exit codes: 0 ok, 1 user error, 2 usage (typer),
3 unexpected, 130 interrupted."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer

from gitconfig.core import errors

P = ParamSpec("P")
R = TypeVar("R")

USER_ERROR = 1
UNEXPECTED = 3
INTERRUPTED = 130

EXIT_CODES: dict[type[errors.GitconfigError], int] = {
    errors.NotReady: UNEXPECTED,
    errors.StoreError: UNEXPECTED,
    errors.GitconfigError: USER_ERROR,
}


def exit_code(exc: errors.GitconfigError) -> int:
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return UNEXPECTED


def handled(func: Callable[P, R]) -> Callable[P, R]:
    """Run a command, turning gitconfig errors into a message and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except errors.GitconfigError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            if isinstance(exc, errors.BadRequest):
                for field_error in exc.errors:
                    typer.echo(f"  {field_error.field}: {field_error.message}", err=True)
            raise typer.Exit(exit_code(exc)) from None
        except KeyboardInterrupt:
            raise typer.Exit(INTERRUPTED) from None
        except (typer.Exit, typer.Abort, typer.BadParameter, SystemExit):
            raise
        except Exception as exc:  # unexpected: say so, keep the traceback for a bug report
            typer.echo(f"unexpected error: {type(exc).__name__}: {exc}", err=True)
            if "--debug" in sys.argv:
                raise
            raise typer.Exit(UNEXPECTED) from None

    return wrapper
