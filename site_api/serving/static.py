"""Static assets of the built site: safe paths, validators, long caching when fingerprinted."""

from __future__ import annotations

import os
import re
from pathlib import PurePosixPath

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from site_api.content.currency import FEED_FILE, FEED_TYPE

# Material names its bundles like main.57a0d79d.min.css: the name changes when the bytes do.
FINGERPRINTED = re.compile(r"\.[0-9a-f]{8,}\.(?:min\.)?(?:css|js|json)$")
# HTML only ever leaves through the page lookup, so a page cannot be fetched as a plain file.
NEVER_AS_FILE = {".html", ".htm", ".md", ".yml", ".yaml"}

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
}


def is_asset_path(path: str) -> bool:
    """Whether a (decoded) request path may name a static asset at all."""
    parts = PurePosixPath(path).parts[1:]
    if not parts or any(p in ("..", ".") or p.startswith(".") for p in parts):
        return False
    return PurePosixPath(parts[-1]).suffix.lower() not in NEVER_AS_FILE


class SiteAssets(StaticFiles):
    """Starlette's static files (ETag, Last-Modified, 304, Range) plus our caching policy."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        immutable = FINGERPRINTED.search(os.fspath(full_path))
        response.headers["cache-control"] = (
            "public, max-age=31536000, immutable" if immutable else "public, no-cache"
        )
        response.headers.update(SECURITY_HEADERS)
        if os.path.basename(full_path) == FEED_FILE:
            # Python's types table says application/xml; feed readers and browsers want Atom's.
            response.headers["content-type"] = FEED_TYPE
        return response
