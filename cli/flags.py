"""``gitconfig flag create|enable|disable|set-rules|eval``: feature flags of a local repository.
(get, list, history, show, delete and rollback take ``--flag``.)"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gitconfig.core import yamltext
from gitconfig.core.errors import BadRequest, FieldError
from gitconfig.core.model import Environment
from gitconfig.service import FlagChanges, NewFlag

from . import output
from .entries import done, read_text_option
from .errors import handled
from .local import (
    Application,
    Branch,
    Env,
    Message,
    OutputOption,
    Push,
    Remote,
    Repo,
    open_local,
    pushed,
)
from .output import Output

app = typer.Typer(no_args_is_help=True, help="Create, switch, target and evaluate feature flags.")
Key = Annotated[str, typer.Argument(help="The flag's key")]


def _yaml(text: str, field: str) -> Any:
    """JSON or YAML text (``@file`` reads a file)."""
    try:
        return yamltext.parse(read_text_option(text).encode("utf-8"))
    except yamltext.YamlError as exc:
        raise BadRequest(f"invalid {field}", [FieldError(field, str(exc))]) from exc


def _rules(text: str | None) -> list[dict[str, Any]] | None:
    if text is None:
        return None
    rules = _yaml(text, "rules")
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise BadRequest("invalid rules", [FieldError("rules", "must be a list of rules")])
    return rules


@app.command()
@handled
def create(
    key: Key,
    application: Application,
    environment: Env,
    description: Annotated[str, typer.Option(help="What the flag switches")],
    enabled: Annotated[bool, typer.Option("--enabled/--disabled", help="Its state")] = False,
    rules: Annotated[
        str | None, typer.Option(help="Targeting rules: a JSON or YAML list, or @file")
    ] = None,
    value: Annotated[
        str | None, typer.Option(help="A JSON object returned with the evaluation")
    ] = None,
    tags: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable)")] = None,
    message: Message = None,
    push: Push = False,
    remote: Remote = "origin",
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """Create a feature flag: one commit, authored by you."""
    local = open_local(repo, branch, write=True, push=remote if push else None)
    entry = local.service.flags.create(
        local.principal,
        NewFlag(
            key=key,
            application=application,
            environment=environment.value,
            description=description,
            enabled=enabled,
            rules=_rules(rules),
            value=_yaml(value, "value") if value is not None else None,
            tags=tags,
            change_description=message,
        ),
    )
    done("created", entry, f"flag {entry.key}", out, local)
    pushed(local, push, remote)


def _update(
    key: str,
    application: str,
    environment: Environment,
    changes: FlagChanges,
    push: bool,
    remote: str,
    repo: Path,
    branch: str | None,
    out: Output,
) -> None:
    local = open_local(repo, branch, write=True, push=remote if push else None)
    updated, verb = local.service.flags.change(
        local.principal, application, environment.value, key, changes
    )
    done(verb, updated, f"flag {updated.key}", out, local)
    if verb != "unchanged":
        pushed(local, push, remote)


@app.command()
@handled
def enable(
    key: Key,
    application: Application,
    environment: Env,
    message: Message = None,
    push: Push = False,
    remote: Remote = "origin",
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """Switch a flag on (its rules then decide who gets it)."""
    changes = FlagChanges(enabled=True, change_description=message)
    _update(key, application, environment, changes, push, remote, repo, branch, out)


@app.command()
@handled
def disable(
    key: Key,
    application: Application,
    environment: Env,
    message: Message = None,
    push: Push = False,
    remote: Remote = "origin",
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """Switch a flag off for everyone."""
    changes = FlagChanges(enabled=False, change_description=message)
    _update(key, application, environment, changes, push, remote, repo, branch, out)


@app.command("set-rules")
@handled
def set_rules(
    key: Key,
    rules: Annotated[
        str, typer.Argument(help="The rules: a JSON or YAML list, @file, or [] for none")
    ],
    application: Application,
    environment: Env,
    message: Message = None,
    push: Push = False,
    remote: Remote = "origin",
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """Replace a flag's targeting rules (the first rule that matches decides)."""
    changes = FlagChanges(rules=_rules(rules), change_description=message)
    _update(key, application, environment, changes, push, remote, repo, branch, out)


@app.command("eval")
@handled
def evaluate(
    key: Key,
    application: Application,
    environment: Env,
    user: Annotated[str | None, typer.Option("--user", "-u", help="The userId")] = None,
    attributes: Annotated[
        list[str] | None,
        typer.Option("--attr", help="An attribute as NAME=VALUE (repeatable)"),
    ] = None,
    repo: Repo = Path(),
    branch: Branch = None,
    out: OutputOption = Output.TABLE,
) -> None:
    """Evaluate a flag for one context, exactly as the server would."""
    context: dict[str, str] = {}
    for pair in attributes or []:
        name, separator, value = pair.partition("=")
        if not separator or not name:
            raise BadRequest("invalid --attr", [FieldError(pair, "expected NAME=VALUE")])
        context[name] = value
    local = open_local(repo, branch)
    entry, result = local.service.flags.evaluate(
        local.principal, application, environment.value, key, user, context
    )
    data = {
        "key": entry.key.key,
        "enabled": result.enabled,
        "reason": result.reason,
        "rule": result.rule_index,
        "value": result.value,
        "version": entry.version,
    }
    if out is Output.JSON:
        output.emit(data)
    else:
        typer.echo(output.fields(list(data.items())))
