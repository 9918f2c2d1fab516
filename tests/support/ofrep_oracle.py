"""The OFREP OpenAPI document (``src/gitconfig/data/ofrep-openapi.yaml``, also what ``/docs``
shows of OFREP) as a response oracle.

``check(status, body, bulk=False)`` validates one answer against the document's schema
for that operation and status (openapi-schema-validator, OpenAPI 3.1 dialect) and raises
``AssertionError`` listing every violation.

Two corrections are applied to the document as read, each because the document as written
rejects answers it means to allow:

1. ``evaluationSuccess``'s value branches are a ``oneOf`` whose branches overlap: every
   object matches ``codeDefaultFlag`` (it has no required property), and an integer is
   also a ``number`` (``floatFlag``). So no answer with a value can match exactly one
   branch; they are read as ``anyOf``.
2. ``reason`` is OpenFeature's resolution reason (the enum's own description links to the
   list), and OpenFeature names ``DEFAULT`` for "no targeting rule matched"; gitconfig
   answers it (docs/decisions.md), so the enum admits it.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS31Validator

DOCUMENT = Path(__file__).parents[2] / "src" / "gitconfig" / "data" / "ofrep-openapi.yaml"
SINGLE = "/ofrep/v1/evaluate/flags/{key}"
BULK = "/ofrep/v1/evaluate/flags"


@cache
def document() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text())
    spec = copy.deepcopy(spec)
    success = spec["components"]["schemas"]["evaluationSuccess"]["allOf"]
    success[1]["anyOf"] = success[1].pop("oneOf")
    success[0]["properties"]["reason"]["enum"].append("DEFAULT")
    return spec


def schema_of(path: str, status: int) -> dict[str, Any] | None:
    """The response schema of POST ``path`` answering ``status`` (None: no body defined)."""
    response = document()["paths"][path]["post"]["responses"][str(status)]
    content = response.get("content")
    if content is None:
        return None
    schema: dict[str, Any] = content["application/json"]["schema"]
    return schema


def check(status: int, body: Any, bulk: bool = False) -> None:
    """Assert that ``body`` is a valid ``status`` answer of the single or bulk operation."""
    path = BULK if bulk else SINGLE
    assert str(status) in document()["paths"][path]["post"]["responses"], status
    schema = schema_of(path, status)
    if schema is None:
        return
    validator = OAS31Validator({**document(), **schema})
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert not problems, f"{status} {body} violates the OFREP document: {problems}"
