"""The read side's caches: bounded, keyed by identity where they hold entries, and free of
reference cycles (an entry they dropped is freed by its reference count alone)."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator
from functools import partial

import pytest

from gitconfig.core.evaluation import Evaluation, compile_flag
from gitconfig.core.model import FlagDocument, FlagRule
from gitconfig.core.ofrep import parse_request
from gitconfig.readside import (
    Bounded,
    EntryChecks,
    EvaluationRenderings,
    FlagChecks,
    OfrepContexts,
    SortedEntries,
    StreamUpdates,
    UpdateMessages,
)


class Thing:
    """An entry-like value: hashed and compared by identity."""

    __slots__ = ("__weakref__", "flag")

    def __init__(self) -> None:
        self.flag = compile_flag(
            "k", FlagDocument("a flag", enabled=True, rules=(FlagRule(percentage=50),))
        )


@pytest.fixture
def frozen() -> Iterator[None]:
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def test_a_full_map_is_emptied_by_the_next_new_key() -> None:
    kept = Bounded[int, str](3)
    for n in range(3):
        kept[n] = str(n)
    kept[1] = "one"  # a key it holds: no room needed
    assert dict(kept) == {0: "0", 1: "one", 2: "2"}
    assert kept.put(3, "3") == "3"
    assert dict(kept) == {3: "3"}


def test_a_map_filled_by_threads_keeps_its_bound() -> None:
    kept = Bounded[tuple[int, int], int](100)

    def fill(worker: int) -> None:
        for n in range(5_000):
            kept[(worker, n)] = n
            assert len(kept) <= 100

    threads = [threading.Thread(target=fill, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 1 <= len(kept) <= 100


def test_a_bound_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Bounded[int, int](0)


def test_an_entry_check_answers_precreated_pairs_of_its_entry() -> None:
    checks = EntryChecks[Thing]()
    thing = Thing()
    assert thing.flag is not None
    check = checks.check(thing, thing.flag)
    assert checks.check(thing, thing.flag) is check  # made once per entry
    found, evaluation = check("u-1", {})
    assert found is thing
    assert evaluation == thing.flag.evaluate("u-1", {})
    assert check("u-1", {}) is check("u-1", {})
    assert checks.check(Thing(), thing.flag) is not check  # another entry: its own pairs


@pytest.mark.usefixtures("frozen")
def test_an_entry_dropped_by_a_full_map_is_freed_in_a_frozen_heap() -> None:
    checks = EntryChecks[Thing](limit=1)
    thing = Thing()
    assert thing.flag is not None
    check = weakref.ref(checks.check(thing, thing.flag))
    gone = weakref.ref(thing)
    gc.freeze()  # the entry and its check, frozen as the server freezes its first index
    other = Thing()
    assert other.flag is not None
    checks.check(other, other.flag)  # the map is full: emptied
    del thing
    assert gone() is None
    assert check() is None


def test_flag_checks_are_kept_per_commit_and_bounded() -> None:
    checks = FlagChecks[str](limit=2)
    checks[("c1", 1, "a", "PROD", "k")] = "check"
    assert checks.get(("c1", 1, "a", "PROD", "k")) == "check"
    assert checks.get(("c2", 1, "a", "PROD", "k")) is None  # never another commit's
    checks[("c2", 1, "a", "PROD", "k")] = "newer"
    checks[("c2", 2, "a", "PROD", "k")] = "other principal"
    assert len(checks) == 1  # full: emptied


def test_an_evaluation_rendering_is_made_once_per_evaluation_object() -> None:
    renderings = EvaluationRenderings[str]()
    entry = object()
    one = Evaluation(True, None, "STATIC", None)
    equal = Evaluation(True, None, "STATIC", None)
    made: list[Evaluation] = []

    def render(evaluation: Evaluation) -> str:
        made.append(evaluation)
        return evaluation.reason

    for evaluation in (one, one, equal, equal):
        assert renderings.rendering(entry, evaluation, partial(render, evaluation)) == "STATIC"
    assert made == [one, equal]
    assert made[1] is equal


def test_a_stream_update_is_rendered_once_per_change_and_audience() -> None:
    updates = StreamUpdates[list[str]](limit=2)
    first = updates.rendered(("c1", "p", None), lambda: ["a"])
    assert updates.rendered(("c1", "p", None), lambda: ["b"]) is first
    assert updates.rendered(("c1", "p", "reveal"), lambda: ["c"]) == ["c"]
    updates.rendered(("c2", "p", None), lambda: ["d"])
    assert len(updates) == 1  # emptied when full


def test_an_update_message_is_kept_by_the_update_object() -> None:
    messages = UpdateMessages[str]()
    update, equal = ["u"], ["u"]
    assert messages.message(update, False, lambda: "m1") == "m1"
    assert messages.message(update, False, lambda: "m2") == "m1"
    assert messages.message(update, True, lambda: "end") == "end"
    assert messages.message(equal, False, lambda: "m3") == "m3"  # identity, not equality


def test_only_small_ofrep_bodies_are_kept() -> None:
    contexts = OfrepContexts(limit=8)
    small = b'{"context": {"targetingKey": "u1"}}'
    large = b'{"context": {"targetingKey": "u2", "note": "' + b"x" * 5000 + b'"}}'
    for body in (small, large):
        assert contexts.keep(body, parse_request(body)).targeting_key
    assert list(contexts) == [small]


def test_sorted_entries_are_sorted_once_per_snapshot_and_filter() -> None:
    listings = SortedEntries[int]()
    first, second = "c1", "c2"
    sorts: list[str] = []

    def sort(name: str) -> list[int]:
        sorts.append(name)
        return [1, 2]

    kept = listings.entries(first, ("config", None), lambda: sort("a"))
    assert listings.entries(first, ("config", None), lambda: sort("b")) is kept
    assert listings.entries(second, ("config", None), lambda: sort("c")) is not kept
    assert sorts == ["a", "c"]
    listings.clear()  # the index moved
    assert listings.get((second, ("config", None))) is None
