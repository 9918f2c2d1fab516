"""The OpenAPI document and ``/docs`` as a user without internet meets them."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def test_docs_load_every_asset_from_this_server(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets, page.text
    for asset in assets:
        assert asset.startswith("/docs/assets/"), f"{asset} is not served by the server"
        response = client.get(asset)
        assert response.status_code == 200
        assert len(response.content) > 100
    assert "cdn" not in page.text.lower()
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text


def undocumented(app: FastAPI) -> list[str]:
    """The documented routes whose decorator gives no ``summary`` or no ``description`` (a
    docstring would do for the latter): each route's OpenAPI text sits beside it."""
    return [
        f"{route.endpoint.__module__}.{route.endpoint.__name__}"
        for route in app.routes
        if isinstance(route, APIRoute)
        and route.include_in_schema
        and not (route.summary and route.description)
    ]


def test_every_route_carries_its_own_summary_and_description(client: TestClient) -> None:
    assert isinstance(client.app, FastAPI)
    assert undocumented(client.app) == []


def test_a_route_without_text_is_named_and_does_not_break_the_document(
    client: TestClient,
) -> None:
    assert isinstance(client.app, FastAPI)

    @client.app.get("/bare", operation_id="bare")
    async def bare() -> dict[str, str]:
        return {}

    assert undocumented(client.app) == [f"{__name__}.bare"]
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["paths"]["/bare"]["get"]["operationId"] == "bare"


def test_every_operation_has_a_summary_a_description_and_no_422(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for method, path, operation in operations(document):
        assert operation.get("summary"), (method, path)
        assert operation.get("description"), (method, path)
        assert "422" not in operation["responses"], (method, path)
        if operation["operationId"] != "live":
            assert "503" in operation["responses"], (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_the_request_body_examples_work_as_they_are_sent(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    examples = {
        operation["operationId"]: (method, path, operation["requestBody"])
        for method, path, operation in operations(document)
        if "requestBody" in operation
    }
    for name, (_, _, body) in examples.items():
        assert "example" in body["content"]["application/json"], name  # openapi.example()

    def send(name: str, path_id: str | None = None) -> Any:
        method, path, body = examples[name]
        example = body["content"]["application/json"]["example"]
        url = re.sub(r"\{[^}]+\}", path_id or "", path)
        response = client.request(method.upper(), url, json=example)
        assert response.status_code in (200, 201), (name, response.json())
        return response.json()

    config = send("createConfiguration")
    send("updateConfiguration", config["id"])
    send("importConfigurations")
    flag = send("createFeatureFlag")
    assert send("evaluateFeatureFlag")["reason"] in ("TARGETING_MATCH", "SPLIT", "DEFAULT")
    send("evaluateAllFeatureFlags")
    send("updateFeatureFlag", flag["id"])
    assert [c["key"] for c in send("promoteEnvironment")["changes"]] == ["max-order-size"]
