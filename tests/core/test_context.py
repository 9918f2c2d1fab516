"""Typed evaluation attributes: the one conversion (core.context) and the REST doors."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from gitconfig.core.context import attribute_text, attribute_texts
from gitconfig.core.errors import BadRequest


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("EU", "EU"),
        ("", ""),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (-7, "-7"),
        (3.0, "3"),
        (2.5, "2.5"),
        (0.1, "0.1"),
        (1e21, "1e+21"),
        (-0.0, "0"),
        (None, None),
        # Lists and objects are accepted as missing attributes (Issue 23, item 21).
        (["a"], None),
        ([], None),
        ({"a": 1}, None),
    ],
)
def test_attribute_text(value: object, text: str | None) -> None:
    assert attribute_text(value) == text


@pytest.mark.parametrize("value", [float("nan"), float("inf"), b"x"])
def test_other_values_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match=r"."):  # any message: the type is the contract
        attribute_text(value)


def test_null_is_a_missing_attribute_and_errors_name_the_field() -> None:
    assert attribute_texts({"a": None, "b": 1, "tags": ["a"], "meta": {}}) == {"b": "1"}
    with pytest.raises(BadRequest) as caught:
        attribute_texts({"ok": "x", "nan": float("nan"), "inf": float("inf")})
    assert [e.field for e in caught.value.errors] == ["attributes.nan", "attributes.inf"]


FLAG: dict[str, Any] = {
    "key": "typed",
    "application": "shop",
    "environment": "PROD",
    "description": "Typed rules",
    "enabled": True,
    "rules": [
        {"attribute": "beta", "operator": "EQUALS", "values": ["true"]},
        {"attribute": "age", "operator": "GREATER_THAN", "values": ["40"]},
        {"attribute": "seats", "operator": "IN", "values": ["3"]},
    ],
}
SCOPE = {"application": "shop", "environment": "PROD"}


@pytest.mark.parametrize(
    ("attributes", "enabled", "rule"),
    [
        ({"beta": True}, True, 0),
        ({"beta": False, "age": 41.5}, True, 1),
        ({"seats": 3.0}, True, 2),
        ({"beta": None, "age": 40, "seats": 4}, False, None),
        ({"beta": "true"}, True, 0),
    ],
)
def test_rest_evaluation_accepts_typed_attributes(
    client: TestClient, attributes: dict[str, Any], enabled: bool, rule: int | None
) -> None:
    assert client.post("/feature-flags", json=FLAG).status_code == 201
    one = client.post(
        "/feature-flags/evaluate", json={**SCOPE, "key": "typed", "attributes": attributes}
    )
    assert one.status_code == 200, one.text
    assert (one.json()["enabled"], one.json().get("ruleIndex")) == (enabled, rule)
    every = client.post("/feature-flags/evaluate-all", json={**SCOPE, "attributes": attributes})
    assert every.status_code == 200
    assert every.json()["flags"][0]["enabled"] is enabled


def test_rest_evaluation_takes_structures_as_missing(client: TestClient) -> None:
    """The conversion OFREP uses: a list or object is a missing attribute, never a 400
    (Issue 23, item 21)."""
    assert client.post("/feature-flags", json=FLAG).status_code == 201
    tags: dict[str, Any] = {"tags": ["a", "b"], "device": {"os": "ios"}}
    body = {**SCOPE, "key": "typed", "attributes": {"beta": True, **tags}}
    response = client.post("/feature-flags/evaluate", json=body)
    assert response.status_code == 200
    assert (response.json()["enabled"], response.json()["ruleIndex"]) == (True, 0)
    nothing = client.post(
        "/feature-flags/evaluate", json={**SCOPE, "key": "typed", "attributes": tags}
    )
    assert (nothing.status_code, nothing.json()["enabled"]) == (200, False)
