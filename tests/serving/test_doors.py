"""The doors beside the meter on the embedded server: institutions and verified crawlers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from dns_server import (
    BINGBOT,
    BINGBOT_UA,
    GOOGLEBOT,
    GOOGLEBOT_UA,
    GOOGLEBOT_V6,
    LIAR,
    LOOKALIKE,
    SILENT,
    Zone,
    crawler_zone,
    dns_server,
)
from fastapi.testclient import TestClient
from visitors import GATED_URL, countdown_of, full_cookie

from site_api.config import ConfigError, InstitutionSetting, Settings
from site_api.serving.doors import CrawlerCheck, claimed_engine, in_domains
from site_api.web.app import create_app

INSTITUTIONS = [
    InstitutionSetting(name="St Elsewhere <NHS> Trust", ranges=["10.20.0.0/16", "2001:db8:20::/48"])
]


@pytest.fixture(scope="module")
def zone() -> Iterator[tuple[Zone, int]]:
    z = crawler_zone()
    with dns_server(z) as port:
        yield z, port


def doors_settings(settings: Settings, port: int, **extra: object) -> Settings:
    return settings.model_copy(
        update={
            "institutions": INSTITUTIONS,
            "trusted_proxies": ["127.0.0.1"],
            "crawler_resolver": "127.0.0.1",
            "crawler_resolver_port": port,
            **extra,
        }
    )


def visit(settings: Settings, address: str, url: str, **headers: str) -> httpx.Response:
    with TestClient(create_app(settings), client=(address, 40000)) as client:
        return client.get(url, headers=headers)


def test_institution_reads_past_the_meter_with_its_banner(
    settings: Settings, zone: tuple[Zone, int], body_text: str
) -> None:
    s = doors_settings(settings, zone[1])
    for address in ("10.20.3.4", "2001:db8:20::9", "::ffff:10.20.0.1"):
        response = visit(s, address, GATED_URL, cookie=full_cookie())
        assert response.status_code == 200, address
        assert body_text in response.text
        assert "Access provided by St Elsewhere &lt;NHS&gt; Trust." in response.text
        assert (
            'href="/sign-in?next=/topics/cytokine-release-syndrome/">Sign in</a>' in response.text
        )
        assert "set-cookie" not in response.headers  # no meter spent or written
        assert response.headers["cache-control"] == "private, no-cache"


def test_outside_the_ranges_is_an_ordinary_visitor(
    settings: Settings, zone: tuple[Zone, int], body_text: str
) -> None:
    s = doors_settings(settings, zone[1])
    gate = visit(s, "10.21.0.1", GATED_URL, cookie=full_cookie())
    assert gate.status_code == 403 and body_text not in gate.text
    fresh = visit(s, "10.21.0.1", GATED_URL)
    assert countdown_of(fresh.text) == "You can read 4 more topics before signing in."


def test_x_forwarded_for_believed_only_from_a_trusted_proxy(
    settings: Settings, zone: tuple[Zone, int], body_text: str
) -> None:
    s = doors_settings(settings, zone[1])
    # An untrusted peer's own X-Forwarded-For names an institution's address: not believed.
    forged = visit(
        s, "192.0.2.9", GATED_URL, cookie=full_cookie(), **{"x-forwarded-for": "10.20.0.1"}
    )
    assert forged.status_code == 403 and body_text not in forged.text
    # Through our proxy, a chain whose last untrusted hop is outside: the first hop is a lie.
    chain = visit(
        s,
        "127.0.0.1",
        GATED_URL,
        cookie=full_cookie(),
        **{"x-forwarded-for": "10.20.0.1, 192.0.2.9"},
    )
    assert chain.status_code == 403
    proxied = visit(
        s, "127.0.0.1", GATED_URL, cookie=full_cookie(), **{"x-forwarded-for": "10.20.0.1"}
    )
    assert proxied.status_code == 200 and body_text in proxied.text


def visit_lines(settings: Settings, address: str, lines: list[str]) -> httpx.Response:
    """GET the gated page past the meter with one `X-Forwarded-For` header line per entry."""
    headers = [("cookie", full_cookie()), *(("x-forwarded-for", line) for line in lines)]
    with TestClient(create_app(settings), client=(address, 40000)) as client:
        return client.get(GATED_URL, headers=headers)


#: (peer, X-Forwarded-For lines, whether the institution reads): every line counts, in order.
FORWARDED_LINES = [
    # A proxy that adds its own line after the client's forged one (HAProxy `option forwardfor`).
    ("127.0.0.1", ["10.20.0.1", "192.0.2.9"], False),
    ("127.0.0.1", ["10.20.0.1", "192.0.2.9", "127.0.0.1"], False),
    ("127.0.0.1", ["10.20.0.1", "192.0.2.9, 127.0.0.1", "127.0.0.1"], False),
    # The institution's address appended by our proxies after an outside client's first line.
    ("127.0.0.1", ["192.0.2.9", "10.20.0.1"], True),
    ("127.0.0.1", ["192.0.2.9", "10.20.0.1, 127.0.0.1", "127.0.0.1"], True),
    # From a peer we do not trust, no line is believed however many there are.
    ("192.0.2.9", ["10.20.0.1", "10.20.0.2"], False),
    ("192.0.2.9", ["10.20.0.1", "10.20.0.2", "10.20.0.3"], False),
]


@pytest.mark.parametrize(("peer", "lines", "reads"), FORWARDED_LINES)
def test_every_x_forwarded_for_line_counts(
    settings: Settings,
    zone: tuple[Zone, int],
    body_text: str,
    peer: str,
    lines: list[str],
    reads: bool,
) -> None:
    response = visit_lines(doors_settings(settings, zone[1]), peer, lines)
    assert response.status_code == (200 if reads else 403)
    assert (body_text in response.text) is reads
    assert ("Access provided by" in response.text) is reads


def test_malformed_range_stops_start_up_naming_it(settings: Settings) -> None:
    bad = [InstitutionSetting(name="County General", ranges=["10.0.0.0/8", "10.0.0.0/33"])]
    with pytest.raises(ConfigError, match=r"County General.*'10\.0\.0\.0/33'"):
        create_app(settings.model_copy(update={"institutions": bad}))


@pytest.mark.parametrize(
    ("address", "user_agent"),
    [(GOOGLEBOT, GOOGLEBOT_UA), (BINGBOT, BINGBOT_UA), (GOOGLEBOT_V6, GOOGLEBOT_UA)],
)
def test_verified_crawler_reads_without_meter_or_cookie(
    settings: Settings, zone: tuple[Zone, int], body_text: str, address: str, user_agent: str
) -> None:
    s = doors_settings(settings, zone[1])
    response = visit(s, address, GATED_URL, cookie=full_cookie(), **{"user-agent": user_agent})
    assert response.status_code == 200 and body_text in response.text
    assert "set-cookie" not in response.headers
    assert countdown_of(response.text) == ""
    fresh = visit(s, address, GATED_URL, **{"user-agent": user_agent})
    assert fresh.status_code == 200 and "set-cookie" not in fresh.headers


@pytest.mark.parametrize(
    ("case", "address"),
    [
        ("lookalike PTR googlebot.com.evil.example", LOOKALIKE),
        ("forward record points elsewhere", LIAR),
        ("no PTR at all", "127.0.0.9"),
        ("spoofed user agent from an ordinary address", "192.0.2.1"),
    ],
)
def test_unverified_crawler_is_an_ordinary_visitor(
    settings: Settings, zone: tuple[Zone, int], body_text: str, case: str, address: str
) -> None:
    s = doors_settings(settings, zone[1])
    gate = visit(s, address, GATED_URL, cookie=full_cookie(), **{"user-agent": GOOGLEBOT_UA})
    assert gate.status_code == 403 and body_text not in gate.text, case
    fresh = visit(s, address, GATED_URL, **{"user-agent": GOOGLEBOT_UA})
    assert fresh.headers["set-cookie"].startswith("meter="), case
    assert countdown_of(fresh.text) == "You can read 4 more topics before signing in."


def test_dns_timeout_is_anonymous_within_the_time_limit(
    settings: Settings, zone: tuple[Zone, int], body_text: str
) -> None:
    s = doors_settings(settings, zone[1], crawler_dns_timeout=0.3)
    with TestClient(create_app(s), client=(SILENT, 40000)) as client:
        headers = {"user-agent": GOOGLEBOT_UA, "cookie": full_cookie()}
        started = time.monotonic()
        gate = client.get(GATED_URL, headers=headers)
        waited = time.monotonic() - started
        again = client.get(GATED_URL, headers=headers)
    assert gate.status_code == 403 and body_text not in gate.text
    assert again.status_code == 403
    # Not a timed assertion on speed: the server's DNS deadline is 0.3 s and the silent
    # zone answers after 3 s, so a wait this long would mean the deadline was ignored.
    assert waited < zone[0].delay


def test_the_answer_is_cached_per_address(zone: tuple[Zone, int]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import anyio

    z, port = zone
    check = CrawlerCheck("127.0.0.1", port, timeout=1.0)

    async def twice() -> list[bool]:
        return [await check.verify(BINGBOT, "bingbot"), await check.verify(BINGBOT, "bingbot")]

    before = len(z.asked)
    # In a thread of its own: a browser test earlier in this process may hold this thread's loop.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(anyio.run, twice).result() == [True, True]
    assert len(z.asked) - before == 2  # one PTR and one A question, then the cache


def test_free_pages_ask_no_dns(settings: Settings, zone: tuple[Zone, int]) -> None:
    z, port = zone
    before = len(z.asked)
    response = visit(
        doors_settings(settings, port), "127.0.0.8", "/", **{"user-agent": GOOGLEBOT_UA}
    )
    assert response.status_code == 200 and len(z.asked) == before


def test_user_agent_claims_and_domain_matching() -> None:
    assert claimed_engine(GOOGLEBOT_UA) == "googlebot"
    assert claimed_engine(BINGBOT_UA) == "bingbot"
    assert claimed_engine("Mozilla/5.0 Firefox/130") is None and claimed_engine(None) is None
    assert in_domains("crawl-1.googlebot.com.", ["googlebot.com"])
    assert in_domains("rate-limited-proxy-66-249-90-77.google.com", ["google.com"])
    assert not in_domains("googlebot.com.evil.example.", ["googlebot.com"])
    assert not in_domains("evilgooglebot.com.", ["googlebot.com"])


def test_resolver_must_be_an_address(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="SITE_CRAWLER_RESOLVER"):
        create_app(settings.model_copy(update={"crawler_resolver": "dns.example"}))


def test_decide_with_each_door() -> None:
    from site_api.serving.meter import MeterState, Rules, Visitor, decide, page_token

    rules, now = Rules(5, 30 * 86400), 1_800_000_000
    a, b = page_token("a"), page_token("b")
    full = MeterState(now - 60, tuple(page_token(p) for p in "cdefg"))
    for visitor, door in [
        (Visitor(signed_in=True), "reader"),
        (Visitor(institution="St Elsewhere"), "institution"),
        (Visitor(crawler="googlebot"), "crawler"),
        (Visitor(shared_page=a), "share"),
    ]:
        decision = decide("metered", a, visitor, full, now, rules)
        assert (decision.allow, decision.state, decision.changed, decision.door) == (
            True,
            None,
            False,
            door,
        )
    # A share link opens its own page only: elsewhere the visitor meets the meter.
    elsewhere = decide("metered", b, Visitor(shared_page=a), full, now, rules)
    assert not elsewhere.allow and elsewhere.door is None
    assert decide("metered", b, False, None, now, rules).changed  # a bare bool still works
