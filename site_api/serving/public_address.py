"""Whether `SITE_PUBLIC_URL` is the address readers reach: share links, emails and the printed
address are built from it, so a wrong one sends colleagues to a port nobody serves."""

from __future__ import annotations

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Names of this machine's loopback interface: one address for the comparison.
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
#: A server bound to every interface answers on any host name.
_ANY = {"0.0.0.0", "::"}


def _parts(url: str) -> tuple[str, str, int | None]:
    split = urlsplit(url)
    scheme = split.scheme.lower()
    host = (split.hostname or "").lower()
    try:
        port = split.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number
        port = None
    return scheme, "loopback" if host in _LOOPBACK else host, port


def mismatch(public_url: str, served: str) -> str | None:
    """A sentence saying why `public_url` is not `served` (the address a request reached, or
    the one a server listens on), or None when they agree.

    Loopback names (127.0.0.1, localhost, ::1) agree with one another; a server listening on
    every interface (0.0.0.0) agrees with any host name on its port.
    """
    scheme, host, port = _parts(public_url)
    if not scheme or not host or port is None:
        return f"SITE_PUBLIC_URL is {public_url!r}, which is not an http(s) address with a host."
    s_scheme, s_host, s_port = _parts(served)
    same_host = host == s_host or s_host in _ANY
    if (scheme, port) == (s_scheme, s_port) and same_host:
        return None
    return (
        f"SITE_PUBLIC_URL is {public_url} but this server is reached at {served}: share links, "
        "emails and printed addresses would point elsewhere. Set SITE_PUBLIC_URL to the address "
        "readers use (README: Running in production)."
    )


def reached(
    scheme: str, host_header: str, peer: str, forwarded_proto: str | None, trusted: list[str]
) -> str | None:
    """The address a request reached, as its browser saw it: through one of our trusted proxies,
    the `Host` it passed on and `X-Forwarded-Proto`; without proxies, the request's own. None
    when proxies are configured but this request did not come through one (a probe sent straight
    to the server cannot tell what readers' address is)."""
    if trusted and peer not in trusted:
        return None
    if peer in trusted and forwarded_proto:
        scheme = forwarded_proto.split(",")[0].strip().lower()
    return f"{scheme}://{host_header}" if host_header else None
