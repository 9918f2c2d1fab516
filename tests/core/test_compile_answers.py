"""``evaluation.compile_answers``: the evaluator with its answers made at compile time."""

from __future__ import annotations

import pytest

from gitconfig.core.evaluation import Evaluation, compile_answers, compile_flag
from gitconfig.core.model import Condition, FlagDocument, FlagRule

EU = FlagRule((Condition("region", "IN", ("EU",)),))
DOCUMENTS = {
    "disabled": FlagDocument("off", enabled=False),
    "static": FlagDocument("on", enabled=True, value={"n": 1}),
    "one rule": FlagDocument("eu", enabled=True, rules=(EU,)),
    "rule, then split": FlagDocument(
        "eu, then half", enabled=True, rules=(EU, FlagRule(percentage=50))
    ),
}
CONTEXTS = [(f"user-{n}", {"region": region}) for n in range(40) for region in ("EU", "US")]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_answers_wrap_the_evaluators_results_and_are_made_once(name: str) -> None:
    document = DOCUMENTS[name]
    evaluate = compile_flag("k", document).evaluate
    made: list[tuple[str, Evaluation]] = []

    def answer(evaluation: Evaluation) -> tuple[str, Evaluation]:
        made.append(("answer", evaluation))
        return made[-1]

    check = compile_answers("k", document, answer)
    count = len(made)  # every possible answer, made while compiling
    for user_id, attributes in CONTEXTS:
        wrapped = check(user_id, attributes)
        assert wrapped[1] == evaluate(user_id, attributes)
        assert any(wrapped is kept for kept in made)  # one of the precreated answers
    assert len(made) == count
    reasons = {check(u, a)[1].reason for u, a in CONTEXTS}
    assert reasons == {evaluate(u, a).reason for u, a in CONTEXTS}
