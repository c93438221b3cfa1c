"""`create_app(settings)`: wiring only."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import RedirectResponse, Response

from site_api.config import Settings
from site_api.pages import SiteIndex
from site_api.static import SECURITY_HEADERS, asset_path, asset_response

PAGE_HEADERS = {"cache-control": "private, no-cache", **SECURITY_HEADERS}


def create_app(settings: Settings) -> FastAPI:
    """Build the application; raises `ManifestError` when the site is not built or is corrupt."""
    site = SiteIndex.load(settings.site_dir)
    app = FastAPI(title="Clinical Notebook API", docs_url="/api/docs", openapi_url="/api/openapi.json", redoc_url=None)
    app.state.settings = settings
    app.state.site = site

    @app.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def serve(request: Request) -> Response:
        path = request.url.path
        found = site.lookup(path)
        if found.page is not None:
            if found.redirect is not None:
                return RedirectResponse(found.redirect, status_code=301, headers=SECURITY_HEADERS)
            page = found.page
            return Response(
                page.body,
                media_type="text/html; charset=utf-8",
                headers={**PAGE_HEADERS, "etag": page.etag},
            )
        asset = asset_path(settings.site_dir, path)
        if asset is not None:
            return asset_response(asset)
        return Response(site.not_found, status_code=404, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    return app
