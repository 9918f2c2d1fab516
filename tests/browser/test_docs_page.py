"""``/docs`` in a real browser, as a new user meets it: Swagger UI renders the OpenAPI 3.1
document (REST and OFREP operations) from this server alone, asking nothing of the internet."""

from __future__ import annotations

from pathlib import Path

from tests.support.browser import chromium
from tests.support.serve import Launcher, init_served


def test_the_docs_page_lists_every_operation_offline(launch: Launcher, tmp_path: Path) -> None:
    server = launch(init_served(tmp_path / "config.git"), grpc=False)
    document = server.http.get("/openapi.json").json()
    expected = {
        operation["operationId"]
        for methods in document["paths"].values()
        for operation in methods.values()
    }
    assert {"evaluateFlag", "evaluateFlagsBulk"} <= expected  # OFREP's, from its document
    requested: list[str] = []
    with chromium() as browser:
        page = browser.new_page()
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{server.base}/docs")
        page.wait_for_selector(".opblock", timeout=30_000)
        shown = set(page.locator(".opblock-summary-operation-id").all_inner_texts())
        text = page.locator("body").inner_text()
        page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)
    assert "Unable to render this definition" not in text
    assert shown == expected
    elsewhere = [url for url in requested if not url.startswith(server.base)]
    assert not elsewhere, elsewhere
