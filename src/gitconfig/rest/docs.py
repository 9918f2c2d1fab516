"""``/docs``: Swagger UI 5 (it reads the OpenAPI 3.1 document this app serves) from the
``fastapi-swagger`` package's assets, served here, so the page works on a machine without
internet: FastAPI's default page loads its assets from a CDN, and the ``swagger-ui-bundle``
package ships Swagger UI 4, which cannot render OpenAPI 3.1 and whose stock ``index.html``
fetches the petstore example from the internet. Nothing on the page leaves this server: the
online validator badge is off (``validatorUrl``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS: Final = "/docs/assets"
_ASSET_FILES: Final = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
PARAMETERS: Final = {
    "deepLinking": True,
    "showExtensions": True,
    "showCommonExtensions": True,
    "persistAuthorization": True,
    "displayOperationId": True,
    "validatorUrl": None,  # Swagger UI's default asks validator.swagger.io (the internet)
}


def assets_folder() -> Path:
    """The folder of Swagger UI's files in the ``fastapi-swagger`` package."""
    return Path(str(resources.files("fastapi_swagger.resources")))


def install(app: FastAPI) -> None:
    """Serve ``/docs`` and its assets (the app must be made with ``docs_url=None``)."""
    app.mount(ASSETS, StaticFiles(directory=assets_folder()), name="docs-assets")

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{ASSETS}/{_ASSET_FILES[0]}",
            swagger_css_url=f"{ASSETS}/{_ASSET_FILES[1]}",
            swagger_favicon_url=f"{ASSETS}/{_ASSET_FILES[2]}",
            swagger_ui_parameters=dict(PARAMETERS),
        )

    app.add_api_route("/docs", swagger_ui, include_in_schema=False)
