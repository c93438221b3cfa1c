"""Links and redirect targets built from user input: one place that encodes them."""

from __future__ import annotations

from urllib.parse import quote, urlencode


def with_query(path: str, **params: str) -> str:
    """`path` with `params` as its query string, every value percent-encoded (`?`, `&`, `#`
    included), so a value such as a `next` URL can neither add a parameter nor lose its own."""
    if not params:
        return path
    return f"{path}?{urlencode(params, quote_via=quote, safe='/')}"


def sign_in_link(next_url: str, path: str = "/sign-in") -> str:
    """The sign-in (or create-account) page that returns the reader to `next_url`."""
    return with_query(path, next=next_url)
