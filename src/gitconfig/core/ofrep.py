"""The OpenFeature Remote Evaluation Protocol (OFREP 0.3) in gitconfig's terms (pure).

A request body is ``{"context": {"targetingKey": str, <attribute>: <typed value>, ...}}``;
the targeting key is the user id, the other attributes go through ``core.context``. An
answer (``answer``) is ``{key, value?, reason, variant, metadata}``:

    flag without a value   value = enabled (boolean), variant "on" / "off"
    flag with a value      on:  value = the flag's value, variant "on"
                           off: no value (the client's default applies), variant "off"

A flag's ``value`` is a JSON object (the seed's REST object, gRPC Struct). For OpenFeature's
typed flags a value object whose only key is ``value`` stands for that inner value
(``value: {value: 25}`` is the integer flag 25, ``value: {value: Hello}`` the string flag);
any other object is an object flag.

``reason`` is the evaluator's OpenFeature reason (STATIC, TARGETING_MATCH, SPLIT, DEFAULT,
DISABLED); ``metadata`` is ``{commit, version}`` of the flag's served content. Errors are
``OfrepError`` with the protocol's ``errorCode``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from gitconfig.core import text, valuetext
from gitconfig.core.context import attribute_texts
from gitconfig.core.errors import BadRequest
from gitconfig.core.evaluation import USER_ID, Evaluation, Reason
from gitconfig.core.model import FlagDocument

TARGETING_KEY: Final = "targetingKey"
TYPED_KEY: Final = "value"
PARSE_ERROR: Final = "PARSE_ERROR"
INVALID_CONTEXT: Final = "INVALID_CONTEXT"
TARGETING_KEY_MISSING: Final = "TARGETING_KEY_MISSING"
FLAG_NOT_FOUND: Final = "FLAG_NOT_FOUND"
GENERAL: Final = "GENERAL"


class OfrepError(BadRequest):
    """An evaluation the protocol answers with ``{errorCode, errorDetails}`` (400)."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(details)
        self.code = code


@dataclass(frozen=True, slots=True)
class Context:
    """A parsed evaluation context: the targeting key (user id) and attribute texts."""

    targeting_key: str | None
    attributes: Mapping[str, str]


EMPTY_CONTEXT: Final = Context(None, {})


def parse_request(body: bytes) -> Context:
    """The context of a request body. A body without ``context`` (what a provider sends
    when the application set none) is the empty context. Raises OfrepError: PARSE_ERROR for
    a body that is not JSON, INVALID_CONTEXT for a context that is not an object, a
    ``targetingKey`` that is not a string, or an attribute that is not JSON or a non-finite
    number (a list or object attribute is accepted, as a missing attribute), or any text
    in the context holding a lone surrogate (``"\\ud800"``)."""
    try:
        data = json.loads(body, object_pairs_hook=valuetext.unique_object) if body.strip() else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise OfrepError(PARSE_ERROR, f"the request body is not JSON: {exc}") from None
    except RecursionError:
        raise OfrepError(PARSE_ERROR, "the request body is nested too deeply") from None
    if not isinstance(data, dict):
        raise OfrepError(INVALID_CONTEXT, "the request body must be an object")
    context = data.get("context")
    if context is None:
        return EMPTY_CONTEXT
    if not isinstance(context, dict):
        raise OfrepError(INVALID_CONTEXT, "context must be an object")
    not_text = text.surrogate_fields(context, "context")
    if not_text:
        raise OfrepError(
            INVALID_CONTEXT, f"{', '.join(not_text)}: holds a lone surrogate, not text"
        )
    targeting_key = context.pop(TARGETING_KEY, None)
    if targeting_key is not None and not isinstance(targeting_key, str):
        raise OfrepError(INVALID_CONTEXT, "targetingKey must be a string")
    try:
        attributes = attribute_texts(context, field="context")
    except BadRequest as exc:
        details = "; ".join(f"{e.field} {e.message}" for e in exc.errors)
        raise OfrepError(INVALID_CONTEXT, details) from None
    return Context(targeting_key, attributes)


def needs_targeting_key(document: FlagDocument, evaluation: Evaluation, context: Context) -> bool:
    """True when ``evaluation`` fell through to DEFAULT only because the context has no
    targeting key (nor a ``userId`` attribute) and a percentage rule buckets by user id."""
    if context.targeting_key is not None or evaluation.reason != Reason.DEFAULT:
        return False
    if USER_ID in context.attributes:
        return False
    return any(
        rule.percentage is not None and (rule.bucket_by or USER_ID) == USER_ID
        for rule in document.rules
    )


def answer(
    key: str, document: FlagDocument, evaluation: Evaluation, commit: str, version: int
) -> dict[str, Any]:
    """The protocol's success answer of one evaluation (shape in the module docstring)."""
    body: dict[str, Any] = {"key": key}
    if document.value is None:
        body["value"] = evaluation.enabled
    elif evaluation.enabled:
        body["value"] = typed_value(evaluation.value)
    body["reason"] = evaluation.reason
    body["variant"] = "on" if evaluation.enabled else "off"
    body["metadata"] = {"commit": commit, "version": version}
    return body


def typed_value(value: Any) -> Any:
    """The OFREP value of a flag's value object: the inner value of ``{value: X}``, else
    the object itself."""
    if isinstance(value, dict) and len(value) == 1 and TYPED_KEY in value:
        return value[TYPED_KEY]
    return value


def failure(key: str | None, code: str, details: str) -> dict[str, Any]:
    """``{key?, errorCode, errorDetails}``."""
    body: dict[str, Any] = {} if key is None else {"key": key}
    body["errorCode"] = code
    body["errorDetails"] = details
    return body
