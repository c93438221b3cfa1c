"""A gate that decides nothing: the same 204 to every question, for `make bench`'s floor row.

nginx with deploy/'s configuration in front of this measures what auth_request, the hop to an
ASGI server (Granian, as `site-api serve` runs) and the slot splice cost on their own, with no
decision, no cookie and no database: the most any gate behind this front door could do.

Like /api/gate, it names the page's file inside the live build (`/<build>/site/topics/...`, see
deploy/nginx.conf): the site link is `NOOP_GATE_SITE` (default: this checkout's `site`), resolved
once at start, as a server resolves it when it loads a build.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from site_api.serving.publishing import page_prefix

SITE = Path(os.environ.get("NOOP_GATE_SITE", Path(__file__).resolve().parent.parent / "site"))
PAGE = "/topics/macrophage-activation-syndrome/index.html"
PAGE_FILE = (page_prefix(SITE, Path(os.path.realpath(SITE))) + PAGE).encode()
COUNTDOWN = (
    b'<p class="meter-countdown" role="status">You can read 4 more topics before signing in.</p>'
)
HEADERS = [(b"x-page-file", PAGE_FILE), (b"x-meter-countdown", COUNTDOWN)]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Every request: 204 naming the MAS page, with a countdown to splice (as a visitor's)."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 204, "headers": HEADERS})
    await send({"type": "http.response.body", "body": b""})
