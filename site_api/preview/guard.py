"""Who may use the preview: `Host` values naming the address it listens on, never another name.

A web page whose name an attacker rebinds to 127.0.0.1 (DNS rebinding) reaches the preview with
its own name in `Host`; answering only loopback names and IP literals with the preview's port
keeps such a page from reading drafts on the editor's machine.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

#: The names a loopback preview answers besides its own address (with its port).
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
#: A `Host` value: a name or a bracketed IPv6 literal, then an optional port; nothing else
#: (no user info, path or second port a lenient parser could read another host from).
HOST_RE = re.compile(r"(?P<name>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(?P<port>[0-9]{1,5}))?")
MESSAGE = (
    "This preview answers only http://127.0.0.1:{port}/, http://localhost:{port}/ and "
    "http://[::1]:{port}/ (or its own IP address when exposed); the Host '{host}' is refused."
)


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or `localhost`) is reachable only from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_allowed(host: str | None, server: Sequence[object] | None) -> bool:
    """Whether a request's `Host` names the address and port the preview listens on.

    Loopback names always; other IP literals only when the preview listens on them (or on every
    address, `--unsafe-expose`); never any other DNS name, which is what rebinding needs.
    """
    if not host or not server or len(server) < 2:
        return False
    match = HOST_RE.fullmatch(host)
    if match is None:
        return False
    listen, listen_port = str(server[0]), str(server[1])
    if int(match["port"] or 80) != int(listen_port):
        return False
    name = match["name"].strip("[]").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if address.is_loopback:
        return str(address) in LOOPBACK_NAMES or address == _address(listen)
    listening = _address(listen)
    return listening is not None and (listening.is_unspecified or address == listening)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return None
