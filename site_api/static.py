"""Static assets of the built site: safe paths, validators, long caching when fingerprinted."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from starlette.responses import FileResponse, Response

# Material names its bundles like main.57a0d79d.min.css: the name changes when the bytes do.
FINGERPRINTED = re.compile(r"\.[0-9a-f]{8,}\.(?:min\.)?(?:css|js|json)$")
# HTML only ever leaves through the page lookup, so a page cannot be fetched as a plain file.
NEVER_AS_FILE = {".html", ".htm", ".md"}

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
}


def asset_path(site_dir: Path, raw_path: str) -> Path | None:
    """The file under `site_dir` a request path names, or None if it is not a servable asset."""
    parts = PurePosixPath(unquote(raw_path)).parts
    if any(part in ("..", ".") or part.startswith(".") for part in parts[1:]):
        return None
    relative = PurePosixPath(*parts[1:]) if len(parts) > 1 else None
    if relative is None or relative.suffix.lower() in NEVER_AS_FILE:
        return None
    candidate = site_dir / relative
    try:
        candidate.resolve().relative_to(site_dir.resolve())
    except ValueError:
        return None
    return candidate if candidate.is_file() else None


def asset_response(path: Path) -> Response:
    """A file with ETag/Last-Modified (Starlette answers Range and conditional requests)."""
    if FINGERPRINTED.search(path.name):
        cache = "public, max-age=31536000, immutable"
    else:
        cache = "public, no-cache"
    return FileResponse(path, headers={"cache-control": cache, **SECURITY_HEADERS})
