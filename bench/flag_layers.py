"""The layers of a flag check through the service, each timed on its own (µs per call), next
to the compiled evaluator it wraps (the baseline), for ``bench_eval``'s headline flag.

    .venv/bin/python -m bench.flag_layers [--runs 7] [--seconds 0.2]
    .venv/bin/python -m bench --only eval          # printed after the evaluation table
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

from bench.flags import FLAG_KEYS, bench_service, contexts
from bench.tools import (
    MIN_MAX,
    TIMES,
    Settings,
    Table,
    one_core,
    print_tables,
    progress,
    ratio,
    span,
)

FLAG = FLAG_KEYS["c"]
# (label, expression per context, whether the service runs it on every call)
LAYERS: tuple[tuple[str, str, bool], ...] = (
    ("the empty loop", "None", False),
    ("the compiled evaluator: `flag.evaluate(user_id, attributes)`", "evaluate(u, a)", False),
    (
        "`service.flags.evaluate(...)`",
        "service.flags.evaluate(reader, APP, ENV, FLAG, u, a)",
        False,
    ),
    (
        "attribute check: every value a `str`",
        "for value in a.values():\n        if type(value) is not str: break",
        True,
    ),
    ("`index.current()`", "index.current()", True),
    (
        "the allowed checks: `checks.get((commit, serial, app, env, key))`",
        "checks.get((snapshot.commit, SERIAL, APP, ENV, FLAG))",
        True,
    ),
    ("the flag's check: `check(user_id, attributes)` -> precreated pair", "check(u, a)", True),
    ("(no longer per call) `attribute_texts(attributes)`: a copy", "attribute_texts(a)", False),
    (
        "(no longer per call) `snapshot.get(Kind.FLAG, app, Environment, key)`",
        "snapshot.get(FLAG_KIND, APP, PROD, FLAG)",
        False,
    ),
    (
        "(no longer per call) the principal's table: `_decisions.get(('read', app, env))`",
        "decisions.get(('read', APP, ENV))",
        False,
    ),
    (
        "(no longer per call) `principal.may('read', app, env)`",
        "reader.may('read', APP, ENV)",
        False,
    ),
    (
        "(no longer per call) `authorize(principal, 'read', app, env)`",
        "authorize(reader, 'read', APP, ENV)",
        False,
    ),
    ("(no longer per call) `entry_errors(app, env, key)`", "entry_errors(APP, ENV, FLAG)", False),
    ("(no longer per call) `Environment(env)`", "Environment(ENV)", False),
)


def _namespace(workdir: Path) -> dict[str, Any]:
    from gitconfig.access.principals import authorize
    from gitconfig.core.context import attribute_texts
    from gitconfig.core.model import Environment, Kind
    from gitconfig.core.paths import entry_errors

    service, reader = bench_service(workdir)
    service.flags.evaluate(reader, "bench", "PROD", FLAG, None, {})  # fills the tables
    snapshot = service.index.current()
    entry = snapshot.get(Kind.FLAG, "bench", Environment.PROD, FLAG)
    assert entry is not None
    assert entry.flag is not None
    check = service.flags.entry_checks.check(entry, entry.flag)
    assert service.flags.checks[(snapshot.commit, reader.serial, "bench", "PROD", FLAG)] is check
    return {
        "cases": [(case.user_id, case.attributes) for case in contexts()],
        "service": service,
        "reader": reader,
        "index": service.index,
        "snapshot": snapshot,
        "checks": service.flags.checks,
        "SERIAL": reader.serial,
        "decisions": reader._decisions,
        "check": check,
        "evaluate": entry.flag.evaluate,
        "attribute_texts": attribute_texts,
        "entry_errors": entry_errors,
        "authorize": authorize,
        "Environment": Environment,
        "FLAG_KIND": Kind.FLAG,
        "PROD": Environment.PROD,
        "APP": "bench",
        "ENV": "PROD",
        "FLAG": FLAG,
    }


def measure(runs: int, seconds: float) -> dict[str, list[float]]:
    """µs per call of each layer's runs (the loop over the contexts included)."""
    timings: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-layers-") as tmp:
        namespace = _namespace(Path(tmp))
        count = len(namespace["cases"])
        # every name a local of the timed function, as in the service's own code
        setup = "; ".join(f"{name} = _ns[{name!r}]" for name in namespace)
        namespace["_ns"] = dict(namespace)
        timers = {
            label: timeit.Timer(f"for u, a in cases:\n    {expression}", setup, globals=namespace)
            for label, expression, _ in LAYERS
        }
        with one_core():
            plan = []
            for label, timer in timers.items():
                passes, elapsed = timer.autorange()
                plan.append((label, timer, max(1, round(passes * seconds / elapsed))))
            for run in range(1, runs + 1):
                for label, timer, passes in plan:
                    gc.collect()
                    start = time.perf_counter()
                    timer.timeit(passes)  # timeit turns the collector off during the run
                    per_call = (time.perf_counter() - start) / (passes * count) * 1e6
                    timings.setdefault(label, []).append(per_call)
                progress(f"flag layers: run {run}/{runs}")
    return timings


def table(timings: dict[str, list[float]], runs: int, seconds: float) -> Table:
    medians = {label: statistics.median(values) for label, values in timings.items()}
    evaluator = medians[LAYERS[1][0]]
    rows = []
    for label, _, per_call in LAYERS:
        values = timings[label]
        rows.append(
            [
                label,
                "yes" if per_call else "",
                f"{medians[label]:.3f}",
                span(values, ".3f"),
                ratio(medians[label] / evaluator, ".2f"),
            ]
        )
    service = medians[LAYERS[2][0]]
    pairs = zip(timings[LAYERS[2][0]], timings[LAYERS[1][0]], strict=True)
    ratios = sorted(slow / fast for slow, fast in pairs)  # the two rows of one round
    steps = sum(medians[label] for label, _, per_call in LAYERS if per_call)
    notes = [
        f"flag {FLAG} (`region IN [EU]`, then a 25 % rollout) over 1,024 contexts, a "
        f"distinct user per call; median of {runs} runs of ~{seconds:g} s per row, rows "
        "interleaved, one pinned core, GC off during a run",
        f"service ÷ evaluator: {ratio(service / evaluator)} ({service:.3f} vs {evaluator:.3f} µs); "
        f"run by run (the two rows of one round) median {ratio(statistics.median(ratios))}, "
        f"{span(ratios, '.2f')}{TIMES}; the per-call steps add up to {steps:.3f} µs "
        f"(each includes the loop's {medians[LAYERS[0][0]]:.3f} µs); the rest is the method "
        "call and its return",
    ]
    headers = ["layer", "per call", "µs (median)", f"{MIN_MAX} µs", f"{TIMES} evaluator"]
    return Table("The service path of a flag check, layer by layer", headers, rows, notes)


def run(settings: Settings) -> list[Table]:
    runs = max(5, settings.runs)
    seconds = 0.1 if settings.quick else 0.2
    return [table(measure(runs, seconds), runs, seconds)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per row (at least 3)")
    parser.add_argument("--seconds", type=float, default=0.2, help="seconds per run")
    args = parser.parse_args(argv)
    if args.runs < 3 or not 0.02 <= args.seconds <= 5:
        parser.error("--runs must be >= 3 and --seconds between 0.02 and 5")
    print_tables([table(measure(args.runs, args.seconds), args.runs, args.seconds)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
