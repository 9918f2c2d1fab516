"""The embedded OpenFeature provider converts context attributes as OFREP does.

(Issue 23, item 20: ``tier=3.0`` was ``"3.0"`` in process and ``"3"`` over OFREP.)"""

from __future__ import annotations

import json

import pytest
from openfeature.evaluation_context import EvaluationContext, EvaluationContextAttribute

from gitconfig.client.openfeature import context_of
from gitconfig.core import ofrep

CASES: list[EvaluationContextAttribute] = [
    *(3.0, -2.0, 2.5, 0.1, 1e21, 42, True, False, "3.0", ""),
    *(["a"], [], {"os": "ios"}),  # accepted as missing attributes (Issue 23, item 21)
]


@pytest.mark.parametrize("value", CASES)
def test_in_process_attribute_text_is_the_ofrep_one(value: EvaluationContextAttribute) -> None:
    attributes: dict[str, EvaluationContextAttribute] = {"tier": value}
    _, in_process = context_of(EvaluationContext("u-1", attributes))
    body = json.dumps({"context": {"targetingKey": "u-1", **attributes}}).encode()
    over_ofrep = ofrep.parse_request(body).attributes
    assert in_process == dict(over_ofrep)


def test_an_empty_targeting_key_is_a_user_id_in_both() -> None:
    """docs/flags.md: an empty ``userId`` is a value, not a missing attribute."""
    in_process, _ = context_of(EvaluationContext(""))
    over_ofrep = ofrep.parse_request(b'{"context": {"targetingKey": ""}}').targeting_key
    assert in_process == over_ofrep == ""
