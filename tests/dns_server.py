"""A real DNS server on loopback (dnslib), answering PTR and A/AAAA from a small zone.

The crawler check asks it exactly as it would ask production's resolver (`SITE_CRAWLER_RESOLVER`).
Names in `silent` are answered only after `delay` seconds, later than any client waits: a timeout.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from dnslib import AAAA, PTR, QTYPE, RCODE, RR, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer


def reverse_name(address: str) -> str:
    """`66.249.66.1` → `1.66.249.66.in-addr.arpa.`"""
    return ipaddress.ip_address(address).reverse_pointer + "."


@dataclass
class Zone(BaseResolver):  # type: ignore[misc]
    """PTR records by address, A/AAAA records by name, and names that never answer in time."""

    ptr: dict[str, list[str]] = field(default_factory=dict)
    forward: dict[str, list[str]] = field(default_factory=dict)
    silent: set[str] = field(default_factory=set)  # addresses or names
    delay: float = 3.0
    asked: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def resolve(self, request, handler):  # type: ignore[no-untyped-def]
        """Answer one question from the zone (NXDOMAIN for anything unknown)."""
        reply = request.reply()
        qname = str(request.q.qname).lower()
        qtype = QTYPE[request.q.qtype]
        with self.lock:
            self.asked.append(f"{qtype} {qname}")
        by_ptr = {reverse_name(a): names for a, names in self.ptr.items()}
        silent = {reverse_name(s) if _is_address(s) else s.lower() + "." for s in self.silent}
        if qname in silent:
            time.sleep(self.delay)
        if qtype == "PTR" and qname in by_ptr:
            for name in by_ptr[qname]:
                reply.add_answer(RR(qname, QTYPE.PTR, rdata=PTR(name), ttl=60))
        elif qtype in ("A", "AAAA") and qname.rstrip(".") in self.forward:
            for address in self.forward[qname.rstrip(".")]:
                version = ipaddress.ip_address(address).version
                if (version, qtype) == (4, "A"):
                    reply.add_answer(RR(qname, QTYPE.A, rdata=A(address), ttl=60))
                elif (version, qtype) == (6, "AAAA"):
                    reply.add_answer(RR(qname, QTYPE.AAAA, rdata=AAAA(address), ttl=60))
        else:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


@contextmanager
def dns_server(zone: Zone) -> Iterator[int]:
    """The zone served over UDP on 127.0.0.1; yields the port."""
    server = DNSServer(
        zone,
        address="127.0.0.1",
        port=0,
        logger=DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False),
    )
    # A silent answer may come after the test has finished with the server: drop it quietly.
    server.server.handle_error = lambda request, address: None  # type: ignore[method-assign]
    server.start_thread()
    try:
        yield int(server.server.server_address[1])
    finally:
        server.stop()
        server.server.server_close()


#: The crawlers the tests meet: a real-looking Googlebot and Bingbot, a lookalike, a liar whose
#: forward record points elsewhere, and one whose DNS never answers.
GOOGLEBOT = "127.0.0.3"
BINGBOT = "127.0.0.5"
LOOKALIKE = "127.0.0.4"
LIAR = "127.0.0.6"
SILENT = "127.0.0.7"
GOOGLEBOT_V6 = "2001:db8::3"
GOOGLEBOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
BINGBOT_UA = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"


def crawler_zone() -> Zone:
    """The zone for the crawler tests."""
    return Zone(
        ptr={
            GOOGLEBOT: ["crawl-127-0-0-3.googlebot.com."],
            GOOGLEBOT_V6: ["crawl-v6.googlebot.com."],
            BINGBOT: ["msnbot-127-0-0-5.search.msn.com."],
            LOOKALIKE: ["crawl-127-0-0-4.googlebot.com.evil.example."],
            LIAR: ["crawl-127-0-0-6.googlebot.com."],
        },
        forward={
            "crawl-127-0-0-3.googlebot.com": [GOOGLEBOT],
            "crawl-v6.googlebot.com": [GOOGLEBOT_V6],
            "msnbot-127-0-0-5.search.msn.com": [BINGBOT],
            "crawl-127-0-0-4.googlebot.com.evil.example": [LOOKALIKE],
            "crawl-127-0-0-6.googlebot.com": ["127.0.0.66"],
        },
        silent={SILENT},
    )
