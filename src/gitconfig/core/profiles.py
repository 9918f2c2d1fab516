"""Profile and environment names: Spring profiles and OFREP paths onto gitconfig's ENVs.

``environment_of`` accepts an environment in any case (``prod``, ``Prod``, ``PROD``) and
the common Spring profile names:

    development, dev -> DEV      test -> TEST      staging -> STAGING
    production, prod -> PROD

Any other name is not an environment (None).
"""

from __future__ import annotations

from typing import Final

from gitconfig.core.model import Environment

_ALIASES: Final = {
    "development": Environment.DEV,
    "dev": Environment.DEV,
    "test": Environment.TEST,
    "staging": Environment.STAGING,
    "production": Environment.PROD,
    "prod": Environment.PROD,
}

_EXACT: Final = dict(Environment.__members__)


def environment_of(name: str) -> Environment | None:
    """The environment a profile or environment name stands for, else None."""
    exact = _EXACT.get(name)
    if exact is not None:
        return exact
    folded = name.strip().lower()
    found = _ALIASES.get(folded)
    if found is not None:
        return found
    upper = folded.upper()
    return Environment(upper) if upper in Environment.__members__ else None


def environments_of(profiles: str) -> list[Environment]:
    """The environments of a comma list of profiles, in Spring's overlay order (a later
    profile wins), each once at its last position; names that are no environment are left
    out (as Spring answers nothing for a profile it has no file for)."""
    found: list[Environment] = []
    for name in profiles.split(","):
        env = environment_of(name)
        if env is None:
            continue
        if env in found:
            found.remove(env)
        found.append(env)
    return found
