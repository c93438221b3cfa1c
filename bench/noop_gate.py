"""A gate that decides nothing: the same 204 to every question, for `make bench`'s floor row.

nginx with deploy/'s configuration in front of this measures what auth_request, the hop to an
ASGI server (Granian, as `site-api serve` runs) and the slot splice cost on their own, with no
decision, no cookie and no database: the most any gate behind this front door could do.
"""

from __future__ import annotations

from typing import Any

PAGE_FILE = b"/topics/macrophage-activation-syndrome/index.html"
COUNTDOWN = (
    b'<p class="meter-countdown" role="status">You can view 4 more pages before signing in.</p>'
)
HEADERS = [(b"x-page-file", PAGE_FILE), (b"x-meter-countdown", COUNTDOWN)]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Every request: 204 naming the MAS page, with a countdown to splice (as a visitor's)."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 204, "headers": HEADERS})
    await send({"type": "http.response.body", "body": b""})
