"""In-process flag evaluation: gitconfig (its compiled evaluator, ``service.flags.evaluate``,
the embedded client, its OpenFeature provider) next to UnleashClient, flagd and GrowthBook,
all offline, on the three flags of ``flags.py`` over 1,024 contexts, on one pinned core.

    .venv/bin/python bench/bench_eval.py [--runs 7] [--seconds 0.5] [--json FILE]
    .venv/bin/python -m bench --only eval          # the same, then flag_layers' table
"""

from __future__ import annotations

import argparse
import importlib
import json
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `gitconfig` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.path.insert(1, str(Path(__file__).resolve().parent.parent / "src"))

from bench import flag_layers
from bench.flags import CONTEXT_COUNT, DESKS, FLAG_KEYS, ROLLOUT, Context, bench_service, contexts
from bench.tools import (
    TIMES,
    Settings,
    Table,
    calibrate,
    one_core,
    print_tables,
    progress,
    ratio,
    seconds_gc_off,
    span,
)
from gitconfig.core.evaluation import bucket, compile_flag
from gitconfig.core.model import Condition, FlagDocument, FlagRule

# The headline row first: rules and a rollout, a distinct user on every call of a pass.
FLAGS = ("c", "b", "a")
FLAG_TITLES = {
    "a": "(a) no rules: compiles to a constant (no rule runs)",
    "b": "(b) one IN rule",
    "c": "(c) attribute rule + 25 % rollout (headline)",
}


def expected(flag: str, context: Context) -> bool | None:
    """gitconfig's semantics; None where an engine with its own hash may differ (the split)."""
    if flag == "a":
        return True
    if flag == "b":
        return context.attributes["desk"] in DESKS
    if context.attributes["region"] == "EU":
        return True
    return None


# -- engines: each builds, per flag, a loop over the prepared contexts -------------------------

Loop = Callable[[int], None]  # runs `repetitions` passes over every context
Check = Callable[[Context], bool]


@dataclass
class Engine:
    name: str
    loops: dict[str, Loop]
    check: dict[str, Check]
    same_hash: bool = False  # answers the split exactly like gitconfig
    close: Callable[[], None] = lambda: None


def gitconfig_engine(cases: list[Context], workdir: Path) -> Engine:
    documents = {
        "a": FlagDocument("static", enabled=True),
        "b": FlagDocument(
            "allow-list", enabled=True, rules=(FlagRule((Condition("desk", "IN", DESKS),)),)
        ),
        "c": FlagDocument(
            "EU, then 25 %",
            enabled=True,
            rules=(FlagRule((Condition("region", "IN", ("EU",)),)), FlagRule(percentage=ROLLOUT)),
        ),
    }
    prepared = [(case.user_id, case.attributes) for case in cases]
    loops: dict[str, Loop] = {}
    check: dict[str, Check] = {}
    for flag, document in documents.items():
        evaluate = compile_flag(FLAG_KEYS[flag], document).evaluate

        def loop(repetitions: int, evaluate: Any = evaluate) -> None:
            for _ in range(repetitions):
                for user_id, attributes in prepared:
                    evaluate(user_id, attributes)

        loops[flag] = loop

        def answer(case: Context, evaluate: Any = evaluate) -> bool:
            return bool(evaluate(case.user_id, case.attributes).enabled)

        check[flag] = answer
    return Engine(EVALUATOR, loops, check, same_hash=True)


EVALUATOR = "gitconfig (compiled evaluator)"
SERVICE = "gitconfig service (service.flags.evaluate)"


def gitconfig_service_engine(cases: list[Context], workdir: Path) -> Engine:
    """``service.flags.evaluate``: what REST and gRPC call per flag check (typed attributes,
    the lookup, the scoped read authorization, then the compiled evaluator), on a
    repository holding the three flags."""
    from gitconfig.core.model import Kind

    service, reader = bench_service(workdir)
    prepared = [(case.user_id, case.attributes) for case in cases]
    loops: dict[str, Loop] = {}
    check: dict[str, Check] = {}
    for flag in FLAGS:
        name = FLAG_KEYS[flag]
        assert service.reads.lookup(reader, Kind.FLAG, "bench", "PROD", name).flag is not None

        def loop(
            repetitions: int, name: str = name, evaluate: Any = service.flags.evaluate
        ) -> None:
            for _ in range(repetitions):
                for user_id, attributes in prepared:
                    evaluate(reader, "bench", "PROD", name, user_id, attributes)

        loops[flag] = loop

        def answer(case: Context, name: str = name) -> bool:
            _, result = service.flags.evaluate(
                reader, "bench", "PROD", name, case.user_id, case.attributes
            )
            return bool(result.enabled)

        check[flag] = answer
    return Engine(SERVICE, loops, check, True)


def _client_from_cache(workdir: Path) -> Any:
    """The embedded client (gitconfig.client), started from its cache file with no server
    listening (as the peers run from local files): the same state and code as after a
    snapshot read. Its reconnect attempts go to a closed port, seconds apart."""
    from gitconfig.client import Backoff, Client
    from gitconfig.client.cache import save
    from gitconfig.client.state import LocalState, flag_value

    definitions = {
        "a": {"description": "static", "enabled": True},
        "b": {
            "description": "allow-list",
            "enabled": True,
            "rules": [{"attribute": "desk", "operator": "IN", "values": list(DESKS)}],
        },
        "c": {
            "description": "EU, then 25 %",
            "enabled": True,
            "rules": [
                {"attribute": "region", "operator": "IN", "values": ["EU"]},
                {"percentage": ROLLOUT},
            ],
        },
    }
    flags = [
        flag_value(FLAG_KEYS[flag], json.dumps(definition), 1, "0" * 40, flag)
        for flag, definition in definitions.items()
    ]
    path = workdir / "gitconfig-client-cache.json"
    save(path, "bench", "PROD", LocalState.build("0" * 40, [], flags), time.time())
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        target = f"127.0.0.1:{unused.getsockname()[1]}"
    client = Client(
        target, "bench", "bench", "PROD", cache_path=path, timeout=0.5, backoff=Backoff(5.0, 10.0)
    )
    return client.start()


def gitconfig_client_engine(cases: list[Context], workdir: Path) -> Engine:
    """``Client.evaluate(key, user_id, attributes)``: the embedded client's in-process path."""
    client = _client_from_cache(workdir)
    prepared = [(case.user_id, case.attributes) for case in cases]
    loops: dict[str, Loop] = {}
    check: dict[str, Check] = {}
    for flag in FLAGS:
        name = FLAG_KEYS[flag]

        def loop(repetitions: int, name: str = name, evaluate: Any = client.evaluate) -> None:
            for _ in range(repetitions):
                for user_id, attributes in prepared:
                    evaluate(name, user_id, attributes)

        loops[flag] = loop

        def answer(case: Context, name: str = name) -> bool:
            return bool(client.evaluate(name, case.user_id, case.attributes).enabled)

        check[flag] = answer
    return Engine("gitconfig client (Client.evaluate)", loops, check, True, client.close)


def gitconfig_openfeature_engine(cases: list[Context], workdir: Path) -> Engine:
    """The embedded client behind the OpenFeature SDK (GitconfigProvider), as flagd's
    provider row: ``client.get_boolean_value(key, False, EvaluationContext)``."""
    from openfeature import api

    from gitconfig.client.openfeature import GitconfigProvider

    provider = GitconfigProvider(_client_from_cache(workdir))
    api.set_provider_and_wait(provider, "gitconfig-bench")
    client = api.get_client("gitconfig-bench")
    loops, check = _flagd_loops(cases, client.get_boolean_value, bool)

    def close() -> None:
        provider.shutdown()
        provider.client.close()

    return Engine("gitconfig provider (OpenFeature, in-process)", loops, check, True, close)


def _peer(module: str) -> Any:
    """A peer's module: the peers are optional (not gitconfig's dependencies) and untyped;
    ModuleNotFoundError when one is not installed, and its row says so."""
    return importlib.import_module(module)


def unleash_engine(cases: list[Context], workdir: Path) -> Engine:
    FileCache = _peer("UnleashClient.cache").FileCache
    UnleashClient = _peer("UnleashClient.clients.unleash_client").UnleashClient

    def strategy(name: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, **extra}

    desk_in = {"contextName": "desk", "operator": "IN", "values": list(DESKS)}
    region_in = {"contextName": "region", "operator": "IN", "values": ["EU"]}
    rollout = {"rollout": str(ROLLOUT), "stickiness": "userId", "groupId": FLAG_KEYS["c"]}
    features = {
        "version": 2,
        "features": [
            {"name": FLAG_KEYS["a"], "enabled": True, "strategies": [strategy("default")]},
            {
                "name": FLAG_KEYS["b"],
                "enabled": True,
                "strategies": [strategy("default", constraints=[desk_in])],
            },
            {
                "name": FLAG_KEYS["c"],
                "enabled": True,
                "strategies": [
                    strategy("default", constraints=[region_in]),
                    strategy("flexibleRollout", parameters=rollout),
                ],
            },
        ],
    }
    features_file = workdir / "unleash-features.json"
    features_file.write_text(json.dumps(features))
    cache = FileCache("gitconfig-bench", directory=str(workdir / "unleash-cache"))
    cache.bootstrap_from_file(features_file)
    client = UnleashClient(
        url="http://127.0.0.1:9/api",  # never contacted: offline, see the network guard
        app_name="gitconfig-bench",
        disable_metrics=True,
        disable_registration=True,
        refresh_interval=3600,
        cache=cache,
    )
    client.initialize_client(fetch_toggles=False)  # offline: features from the cache only
    prepared = [{"userId": case.user_id, **case.attributes} for case in cases]
    is_enabled = client.is_enabled
    loops: dict[str, Loop] = {}
    check: dict[str, Check] = {}
    for flag in FLAGS:
        name = FLAG_KEYS[flag]

        def loop(repetitions: int, name: str = name) -> None:
            for _ in range(repetitions):
                for context in prepared:
                    is_enabled(name, context)

        loops[flag] = loop

        def answer(case: Context, name: str = name) -> bool:
            return bool(is_enabled(name, {"userId": case.user_id, **case.attributes}))

        check[flag] = answer
    return Engine(
        f"UnleashClient {metadata.version('UnleashClient')}", loops, check, True, client.destroy
    )


def _flagd_flags() -> dict[str, Any]:
    variants = {"on": True, "off": False}
    return {
        "flags": {
            FLAG_KEYS["a"]: {"state": "ENABLED", "variants": variants, "defaultVariant": "on"},
            FLAG_KEYS["b"]: {
                "state": "ENABLED",
                "variants": variants,
                "defaultVariant": "off",
                "targeting": {"if": [{"in": [{"var": "desk"}, list(DESKS)]}, "on"]},
            },
            FLAG_KEYS["c"]: {
                "state": "ENABLED",
                "variants": variants,
                "defaultVariant": "off",
                "targeting": {
                    "if": [
                        {"in": [{"var": "region"}, ["EU"]]},
                        "on",
                        {"fractional": [["on", ROLLOUT], ["off", 100 - ROLLOUT]]},
                    ]
                },
            },
        }
    }


def _flagd_loops(
    cases: list[Context], resolve: Callable[[str, bool, Any], Any], value: Callable[[Any], bool]
) -> tuple[dict[str, Loop], dict[str, Check]]:
    from openfeature.evaluation_context import EvaluationContext

    prepared = [EvaluationContext(case.user_id, dict(case.attributes)) for case in cases]
    loops: dict[str, Loop] = {}
    check: dict[str, Check] = {}
    for flag in FLAGS:
        name = FLAG_KEYS[flag]

        def loop(repetitions: int, name: str = name) -> None:
            for _ in range(repetitions):
                for context in prepared:
                    resolve(name, False, context)

        loops[flag] = loop

        def answer(case: Context, name: str = name) -> bool:
            context = EvaluationContext(case.user_id, dict(case.attributes))
            return value(resolve(name, False, context))

        check[flag] = answer
    return loops, check


def flagd_core_engine(cases: list[Context], workdir: Path) -> Engine:
    """flagd's evaluator itself (what the in-process provider delegates to)."""
    FlagdCore = _peer("openfeature.contrib.tools.flagd.core").FlagdCore

    core = FlagdCore()
    core.set_flags(_flagd_flags())
    loops, check = _flagd_loops(
        cases, core.resolve_boolean_value, lambda details: bool(details.value)
    )
    version = metadata.version("openfeature-flagd-core")
    return Engine(f"flagd core {version} (FlagdCore)", loops, check)


def flagd_provider_engine(cases: list[Context], workdir: Path) -> Engine:
    """flagd as an application uses it: the OpenFeature SDK client, in-process resolver, a
    local flag file (offline mode, no gRPC sync)."""
    from openfeature import api

    FlagdProvider = _peer("openfeature.contrib.provider.flagd").FlagdProvider
    ResolverType = _peer("openfeature.contrib.provider.flagd.config").ResolverType

    flag_file = workdir / "flagd-flags.json"
    flag_file.write_text(json.dumps(_flagd_flags()))
    api.set_provider_and_wait(  # the file is loaded by a watcher thread: wait for READY
        FlagdProvider(
            resolver_type=ResolverType.IN_PROCESS,
            offline_flag_source_path=str(flag_file),
        )
    )
    client = api.get_client()
    loops, check = _flagd_loops(cases, client.get_boolean_value, bool)
    version = metadata.version("openfeature-provider-flagd")
    return Engine(
        f"flagd provider {version} (OpenFeature, in-process)", loops, check, False, api.shutdown
    )


def growthbook_engine(cases: list[Context], workdir: Path) -> Engine:
    GrowthBook = _peer("growthbook").GrowthBook

    desk_in = {"desk": {"$in": list(DESKS)}}
    features = {
        FLAG_KEYS["a"]: {"defaultValue": True},
        FLAG_KEYS["b"]: {"defaultValue": False, "rules": [{"condition": desk_in, "force": True}]},
        FLAG_KEYS["c"]: {
            "defaultValue": False,
            "rules": [
                {"condition": {"region": {"$in": ["EU"]}}, "force": True},
                {"force": True, "coverage": ROLLOUT / 100, "hashAttribute": "id"},
            ],
        },
    }
    growthbook = GrowthBook(features=features)  # no api_host / client_key: never fetches
    prepared = [{"id": case.user_id, **case.attributes} for case in cases]
    set_attributes, is_on = growthbook.set_attributes, growthbook.is_on
    loops: dict[str, Loop] = {}
    check: dict[str, Check] = {}
    for flag in FLAGS:
        name = FLAG_KEYS[flag]

        def loop(repetitions: int, name: str = name) -> None:
            for _ in range(repetitions):
                for attributes in prepared:
                    set_attributes(attributes)
                    is_on(name)

        def answer(case: Context, name: str = name) -> bool:
            set_attributes({"id": case.user_id, **case.attributes})
            return bool(is_on(name))

        loops[flag] = loop
        check[flag] = answer
    return Engine(
        f"GrowthBook {metadata.version('growthbook')}", loops, check, False, growthbook.destroy
    )


ENGINES: tuple[Callable[[list[Context], Path], Engine], ...] = (
    gitconfig_engine,
    gitconfig_service_engine,
    gitconfig_client_engine,
    gitconfig_openfeature_engine,
    unleash_engine,
    flagd_core_engine,
    flagd_provider_engine,
    growthbook_engine,
)


# -- checks, guard, measurement --------------------------------------------------------------


def disagreements(engine: Engine, cases: list[Context]) -> list[str]:
    """Where the engine's answers differ from gitconfig's semantics."""
    problems = []
    for flag in FLAGS:
        answers = [engine.check[flag](case) for case in cases]
        wrong = 0
        split = []
        for case, answer in zip(cases, answers, strict=True):
            want = expected(flag, case)
            if want is None:
                if engine.same_hash:
                    want = bucket(FLAG_KEYS[flag], case.user_id) < ROLLOUT
                else:
                    split.append(answer)
                    continue
            wrong += answer != want
        if wrong:
            problems.append(f"{flag}: {wrong} of {len(cases)} answers differ")
        if split and not 0.18 <= sum(split) / len(split) <= 0.32:  # 25 % +/- 5 sd of ~770
            problems.append(f"{flag}: {sum(split) / len(split):.0%} in the 25 % rollout")
    return problems


@contextmanager
def no_network() -> Iterator[list[str]]:
    """Refuse every TCP/UDP connect while the benchmark runs; yield the refused addresses."""
    refused: list[str] = []
    original = socket.socket.connect, socket.socket.connect_ex

    def guard(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            refused.append(str(address))
            raise ConnectionRefusedError(f"bench_eval: network disabled ({address})")
        return original[0](self, address)

    def guard_ex(self: socket.socket, address: Any) -> int:
        guard(self, address)
        return int(original[1](self, address))

    socket.socket.connect, socket.socket.connect_ex = guard, guard_ex  # type: ignore[method-assign,assignment]
    try:
        yield refused
    finally:
        socket.socket.connect, socket.socket.connect_ex = original  # type: ignore[method-assign]


def timed(loop: Loop, repetitions: int) -> float:
    """Evaluations per second of one run."""
    return repetitions * CONTEXT_COUNT / seconds_gc_off(loop, repetitions)


@dataclass
class Result:
    engines: list[str]
    rates: dict[tuple[str, str], list[float]]  # (engine, flag) -> evaluations/s of each run
    unavailable: dict[str, str]
    problems: dict[str, list[str]]
    refused: list[str]
    pinning: str


def measure(runs: int, seconds: float) -> Result:
    cases = contexts()
    engines: list[Engine] = []
    unavailable: dict[str, str] = {}
    problems: dict[str, list[str]] = {}
    rates: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp, no_network() as refused:
        try:
            for factory in ENGINES:
                label = factory.__name__.removesuffix("_engine")
                try:
                    engine = factory(cases, Path(tmp))
                except Exception as exc:  # noqa: BLE001 - a peer that cannot run offline: say so
                    unavailable[label] = f"{type(exc).__name__}: {exc}"
                    progress(f"{label}: unavailable: {exc}")
                    continue
                engines.append(engine)
                problems[engine.name] = disagreements(engine, cases)
                progress(f"{engine.name}: ready; disagreements: {problems[engine.name] or 'none'}")
            with one_core() as pinning:
                plan = []
                for engine in engines:
                    for flag in FLAGS:
                        repetitions = calibrate(engine.loops[flag], seconds)
                        plan.append((engine.name, flag, engine.loops[flag], repetitions))
                for run in range(1, runs + 1):
                    for name, flag, loop, repetitions in plan:
                        rate = timed(loop, repetitions)
                        rates.setdefault((name, flag), []).append(rate)
                        progress(f"run {run}/{runs} {name} {flag}: {rate:,.0f}/s")
        finally:
            for engine in engines:
                with suppress(Exception):
                    engine.close()
    return Result([e.name for e in engines], rates, unavailable, problems, refused, pinning)


def tables(result: Result, runs: int, seconds: float) -> list[Table]:
    peers = [name for name in result.engines if not name.startswith("gitconfig")]
    evaluator, service = EVALUATOR, SERVICE
    headers = [
        "flag",
        *result.engines,
        "evaluator ÷ fastest peer",
        f"service: {TIMES} evaluator's time",
    ]
    rows = []
    for flag in FLAGS:
        medians = {
            name: statistics.median(result.rates[(name, flag)])
            for name in result.engines
            if (name, flag) in result.rates
        }
        row = [FLAG_TITLES[flag]]
        row += [
            f"{medians[name]:,.0f}" + (" †" if result.problems.get(name) else "")
            for name in result.engines
        ]
        fastest = max((medians[name] for name in peers), default=0.0)
        row.append(ratio(medians[evaluator] / fastest, ".1f") if fastest else "n/a")
        through = medians.get(service)
        row.append(ratio(medians[evaluator] / through, ".1f") if through else "n/a")
        rows.append(row)
    notes = [
        f"evaluations per second, median of {runs} runs of ~{seconds:g} s each over "
        f"{CONTEXT_COUNT:,} prepared contexts, one process {result.pinning}, GC off during a "
        "run, rows interleaved",
        f"TCP connections refused by the no-network guard: {len(result.refused)}",
        "answers checked on every context before timing: (a) and (b) exactly; (c) exactly for "
        "engines with Unleash's hash (gitconfig, Unleash), else the EU rule exactly and a "
        "rollout share of 25 % ± 7 points",
    ]
    for flag in FLAGS:
        fast, slow = result.rates.get((evaluator, flag), []), result.rates.get((service, flag), [])
        if fast and slow:
            ratios = sorted(e / s for e, s in zip(fast, slow, strict=True))
            notes.append(
                f"{FLAG_TITLES[flag].split(')')[0]}) service ÷ evaluator (time) run by run, both "
                f"rows of the same round: median {ratio(statistics.median(ratios))}, "
                f"{span(ratios, '.2f')}{TIMES}"
            )
    for name, problems in result.problems.items():
        verdict = f"† DIFFER: {'; '.join(problems)}" if problems else "as expected"
        notes.append(f"{name} answers: {verdict}")
    for label, reason in result.unavailable.items():
        notes.append(f"{label}: not measured ({reason})")
    return [Table("Flag evaluation in-process (evaluations/s, one core)", headers, rows, notes)]


def run(settings: Settings) -> list[Table]:
    """The ``python -m bench`` suite: shorter runs than HTTP suites need (in-process loops)."""
    runs = max(5, settings.runs)
    seconds = 0.2 if settings.quick else 0.5
    return tables(measure(runs, seconds), runs, seconds) + flag_layers.run(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per row (at least 5)")
    parser.add_argument("--seconds", type=float, default=0.5, help="seconds per run")
    parser.add_argument("--json", type=Path, help="also write the raw rates to this file")
    args = parser.parse_args(argv)
    if args.runs < 5 or not 0.05 <= args.seconds <= 10:
        parser.error("--runs must be >= 5 and --seconds between 0.05 and 10")
    result = measure(args.runs, args.seconds)
    print_tables(tables(result, args.runs, args.seconds))
    if args.json is not None:
        raw = {f"{name} / {flag}": rates for (name, flag), rates in result.rates.items()}
        args.json.write_text(json.dumps(raw, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
