"""Request bodies are read as strict JSON: a member named twice in one object is refused
(JSON parsers disagree on which one wins, so the body is ambiguous), as are ``NaN`` and
``Infinity``, which are not JSON. Both answer 400 naming the body.

Routers use ``StrictJsonRoute`` as their ``route_class``; the seed's resources (/configs,
/feature-flags) use ``SeedRoute``, which also leaves ``null`` fields out of answers: the seed's
OpenAPI declares no field nullable (a flag's ``value`` is an object, a ``description`` a
string), so a client generated from it would fail on a null; an absent optional field is what
such a client expects."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise json.JSONDecodeError(f"member {key!r} appears twice in one object", "", 0)
        result[key] = value
    return result


def _not_json(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON number", "", 0)


def loads(data: bytes | str) -> Any:
    """Strict JSON: no duplicate members, no NaN or Infinity (``json.JSONDecodeError``)."""
    return json.loads(data, object_pairs_hook=_unique, parse_constant=_not_json)


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict


class SeedRoute(StrictJsonRoute):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["response_model_exclude_none"] = True
        super().__init__(*args, **kwargs)
