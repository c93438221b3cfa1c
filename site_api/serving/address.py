"""Who is asking: the client's address from the socket peer and trusted proxies' X-Forwarded-For."""

from __future__ import annotations


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
