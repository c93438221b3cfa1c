"""Who is asking: the client's address from the socket peer and trusted proxies' X-Forwarded-For."""

from __future__ import annotations

from collections.abc import Iterable

FORWARDED_FOR = b"x-forwarded-for"


def forwarded_for(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """Every `X-Forwarded-For` line of a request joined in order, or None without one.

    Several lines of a list header mean the same as one comma-joined line (RFC 9110 §5.3), and
    a proxy that appends its own line (HAProxy's `option forwardfor`) leaves the client's forged
    line first: reading only the first line would believe the client. `Forwarded` is not read.
    """
    lines = [value.decode("latin-1") for key, value in headers if key.lower() == FORWARDED_FOR]
    return ", ".join(lines) if lines else None


def forwarded_client(peer: str, forwarded: str | None, trusted_proxies: list[str]) -> str:
    """The client's address: `peer`, or the last `X-Forwarded-For` hop that is not one of our
    trusted proxies when `peer` is one. A client's own X-Forwarded-For is never believed, since
    every hop it could write sits before the addresses our proxies appended."""
    if peer not in trusted_proxies:
        return peer
    hops = [h.strip() for h in (forwarded or "").split(",") if h.strip()]
    while hops and hops[-1] in trusted_proxies:
        hops.pop()
    return hops[-1] if hops else peer
