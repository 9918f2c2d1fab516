"""The OpenAPI document and ``/docs`` as a user without internet meets them."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from gitconfig.rest import openapi


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
        assert response.status_code == 200 and len(response.content) > 100
    assert "cdn" not in page.text.lower()
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text


def test_every_operation_has_a_summary_a_description_and_no_422(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    found = operations(document)
    assert len(found) == len(openapi.OPERATIONS)
    for method, path, operation in found:
        assert operation.get("summary") and operation.get("description"), (method, path)
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
    assert examples.keys() == openapi.EXAMPLES.keys()

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
