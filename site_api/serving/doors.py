"""The doors beside the meter, resolved before `decide()`: institutions by client address and
search engines' crawlers verified by DNS. Everything here is checked by the server; a claim the
server cannot verify (a User-Agent, an X-Forwarded-For from an untrusted peer) opens nothing."""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import anyio
import dns.asyncresolver
import dns.exception
import dns.resolver
import dns.reversename
import yaml

from site_api.config import ConfigError, Settings
from site_api.serving.address import forwarded_client
from site_api.serving.institutions import Institution, InstitutionIndex, RangeError
from site_api.serving.meter import Visitor

log = logging.getLogger("site_api.doors")

#: Search engines whose crawlers may read past the meter: the User-Agent token they send, and the
#: domains their published reverse DNS names end in (Google's and Bing's own instructions).
ENGINES: dict[str, tuple[str, tuple[str, ...]]] = {
    "googlebot": ("googlebot", ("googlebot.com", "google.com")),
    "bingbot": ("bingbot", ("search.msn.com",)),
}
DAY = 86400.0
#: An answer that never came is retried after this long, not after a day: the DNS may be back.
RETRY_AFTER_TIMEOUT = 300.0


def load_institutions(settings: Settings) -> InstitutionIndex:
    """`SITE_INSTITUTIONS` and the YAML file `SITE_INSTITUTIONS_FILE` as one index, or
    `ConfigError` naming the entry that is wrong."""
    entries: list[Any] = [i.model_dump() for i in settings.institutions]
    source = "SITE_INSTITUTIONS"
    if settings.institutions_file is not None:
        source = f"SITE_INSTITUTIONS / {settings.institutions_file}"
        try:
            loaded = yaml.safe_load(Path(settings.institutions_file).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"SITE_INSTITUTIONS_FILE: cannot read it: {exc}") from None
        items = loaded.get("institutions") if isinstance(loaded, dict) else loaded
        if not isinstance(items, list):
            raise ConfigError(
                f"{settings.institutions_file}: expected a list of institutions, each with "
                "'name' and 'ranges'"
            )
        entries += items
    institutions = []
    for n, item in enumerate(entries, 1):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ConfigError(f"{source}: entry {n}: expected {{name: ..., ranges: [...]}}")
        ranges = item.get("ranges")
        if not isinstance(ranges, list):
            raise ConfigError(f"{source}: institution {item['name']!r}: ranges must be a list")
        institutions.append(Institution(item["name"], tuple(ranges)))
    try:
        return InstitutionIndex(institutions)
    except RangeError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def claimed_engine(user_agent: str | None) -> str | None:
    """The search engine a User-Agent claims to be: a claim only, to be verified by DNS."""
    if not user_agent:
        return None
    lowered = user_agent.lower()
    for engine, (token, _) in ENGINES.items():
        if token in lowered:
            return engine
    return None


def in_domains(name: str, domains: Iterable[str]) -> bool:
    """Whether a DNS name is one of `domains` or below one, label by label:
    `crawl-1.googlebot.com.` is, `googlebot.com.evil.example.` and `evilgooglebot.com` are not."""
    name = name.rstrip(".").lower()
    return any(name == d or name.endswith("." + d) for d in domains)


class CrawlerCheck:
    """Verifies a crawler's address: its PTR name in the engine's domains, and that name's
    A/AAAA records back to the same address. Results are kept per address for a day."""

    def __init__(
        self,
        resolver: str = "",
        port: int = 53,
        timeout: float = 1.0,
        ttl: float = DAY,
        max_entries: int = 10_000,
    ) -> None:
        self.timeout = timeout
        self.ttl = ttl
        self.max_entries = max_entries
        self._cache: OrderedDict[tuple[str, str], tuple[bool, float]] = OrderedDict()
        if resolver:
            self.resolver = dns.asyncresolver.Resolver(configure=False)
            self.resolver.nameservers = [resolver]
            self.resolver.port = port
        else:
            self.resolver = dns.asyncresolver.Resolver()  # the system's /etc/resolv.conf
        self.resolver.lifetime = timeout
        self.resolver.timeout = timeout

    async def verify(self, address: str, engine: str) -> bool:
        """Whether `address` is `engine`'s crawler; False within `timeout` when DNS is silent."""
        key = (address, engine)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[1] > now:
            self._cache.move_to_end(key)
            return hit[0]
        ok: bool | None = None
        with anyio.move_on_after(self.timeout):
            ok = await self._check(address, ENGINES[engine][1])
        ttl = self.ttl if ok is not None else RETRY_AFTER_TIMEOUT
        self._cache[key] = (bool(ok), now + ttl)
        self._cache.move_to_end(key)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        log.debug(
            "crawler check: %s %s %s",
            engine,
            address,
            "verified" if ok else ("timed out" if ok is None else "refused"),
        )
        return bool(ok)

    async def _check(self, address: str, domains: tuple[str, ...]) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        try:
            answer = await self.resolver.resolve(dns.reversename.from_address(str(ip)), "PTR")
        except (dns.exception.DNSException, OSError):
            return False
        names = [r.target.to_text() for r in answer if in_domains(r.target.to_text(), domains)]
        rdtype = "A" if ip.version == 4 else "AAAA"
        for name in names:
            try:
                forward = await self.resolver.resolve(name, rdtype)
            except (dns.exception.DNSException, OSError):
                continue
            if any(ipaddress.ip_address(r.address) == ip for r in forward):
                return True
        return False


class Doors:
    """Resolves who a visitor is besides a session: institution, verified crawler."""

    def __init__(
        self,
        institutions: InstitutionIndex,
        trusted_proxies: list[str],
        crawlers: CrawlerCheck | None,
    ) -> None:
        self.institutions = institutions
        self.trusted_proxies = trusted_proxies
        self.crawlers = crawlers

    @classmethod
    def from_settings(cls, settings: Settings) -> Doors:
        """The doors the settings open; `ConfigError` for a malformed institution range."""
        if settings.crawler_resolver:
            try:
                ipaddress.ip_address(settings.crawler_resolver)
            except ValueError:
                raise ConfigError(
                    f"SITE_CRAWLER_RESOLVER: {settings.crawler_resolver!r} is not an IP address"
                ) from None
        crawlers = (
            CrawlerCheck(
                settings.crawler_resolver,
                settings.crawler_resolver_port,
                settings.crawler_dns_timeout,
            )
            if settings.verify_crawlers
            else None
        )
        return cls(load_institutions(settings), settings.trusted_proxies, crawlers)

    async def identify(
        self, peer: str, forwarded: str | None, user_agent: str | None, metered: bool
    ) -> Visitor:
        """The visitor's doors; DNS is asked only for a metered page and a claimed crawler."""
        address = forwarded_client(peer, forwarded, self.trusted_proxies)
        institution = self.institutions.find(address)
        if institution is not None:
            return Visitor(institution=institution)
        engine = claimed_engine(user_agent) if metered else None
        if (
            engine is not None
            and self.crawlers is not None
            and await self.crawlers.verify(address, engine)
        ):
            return Visitor(crawler=engine)
        return Visitor()
