"""`create_app(settings)`: wiring only."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from site_api.config import Settings
from site_api.pages import SiteIndex
from site_api.static import SECURITY_HEADERS, SiteAssets, is_asset_path

PAGE_HEADERS = {"cache-control": "private, no-cache", **SECURITY_HEADERS}


def create_app(settings: Settings) -> FastAPI:
    """Build the application; raises `ManifestError` when the site is not built or is corrupt."""
    site = SiteIndex.load(settings.site_dir)
    app = FastAPI(
        title="Clinical Notebook API",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.site = site
    assets = SiteAssets(directory=settings.site_dir, follow_symlink=False)

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
        if is_asset_path(path):
            try:
                return await assets.get_response(path.lstrip("/"), request.scope)
            except HTTPException:
                pass  # not a file: fall through to the site's own 404 page
        return Response(
            site.not_found,
            status_code=404,
            media_type="text/html; charset=utf-8",
            headers=PAGE_HEADERS,
        )

    return app
