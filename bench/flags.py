"""The benchmark's three flags and the contexts they are evaluated for.

Shared by ``bench_eval`` (every engine) and ``flag_layers`` (the service path, layer by
layer): the flags' keys and rules, the 1,024 prepared contexts, and a service holding the
flags.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FLAG_KEYS = {"a": "bench-static", "b": "bench-desk-allow-list", "c": "bench-eu-then-rollout"}
DESKS = ("fx-spot", "rates-emea", "credit-flow")
ALL_DESKS = (*DESKS, "equity-derivatives", "commodities", "munis")
REGIONS = ("EU", "US", "UK", "APAC")
CONTEXT_COUNT = 1024
ROLLOUT = 25


@dataclass(frozen=True)
class Context:
    user_id: str
    attributes: dict[str, str]


def contexts() -> list[Context]:
    rng = random.Random(20260131)
    return [
        Context(
            f"user-{rng.getrandbits(40):010x}",
            {"desk": rng.choice(ALL_DESKS), "region": rng.choice(REGIONS)},
        )
        for _ in range(CONTEXT_COUNT)
    ]


def bench_service(workdir: Path) -> tuple[Any, Any]:
    """A service (``runtime.bootstrap.open_service``) on a new repository holding the three
    flags in ``bench/PROD``, and a principal that may read them: ``(service, principal)``."""
    from gitconfig.access.principals import Principal
    from gitconfig.core.model import Author
    from gitconfig.runtime.bootstrap import init_repository, open_service

    repo = workdir / "service.git"
    init_repository(repo, bare=True)
    service = open_service(repo)
    files = {
        f"flags/bench/PROD/{FLAG_KEYS['a']}.yaml": "description: static\nenabled: true\n",
        f"flags/bench/PROD/{FLAG_KEYS['b']}.yaml": "description: allow-list\nenabled: true\n"
        f"rules:\n  - attribute: desk\n    operator: IN\n    values: [{', '.join(DESKS)}]\n",
        f"flags/bench/PROD/{FLAG_KEYS['c']}.yaml": "description: EU, then 25 %\nenabled: true\n"
        "rules:\n  - attribute: region\n    operator: IN\n    values: [EU]\n"
        f"  - percentage: {ROLLOUT}\n",
    }
    store = service.store
    store.write(
        store.head(),
        {k: v.encode() for k, v in files.items()},
        Author("bench", "bench@example.com"),
        "bench flags",
    )
    service.index.refresh()
    return service, Principal("bench", frozenset({"read"}))
