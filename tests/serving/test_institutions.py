"""Institutional ranges: parsing (bad entries fail start-up, naming them) and the interval lookup."""

from __future__ import annotations

import ipaddress
import random

import pytest

from site_api.config import ConfigError, Settings
from site_api.serving.doors import load_institutions
from site_api.serving.institutions import Institution, InstitutionIndex, RangeError


def index(*pairs: tuple[str, list[str]]) -> InstitutionIndex:
    return InstitutionIndex(Institution(name, tuple(ranges)) for name, ranges in pairs)


def test_addresses_in_and_out_of_ranges() -> None:
    idx = index(
        ("St Elsewhere", ["10.20.0.0/16", "2001:db8:10::/48"]),
        ("County General", ["192.0.2.7", "10.0.0.0/8"]),
    )
    assert idx.find("10.20.3.4") == "St Elsewhere"  # the most specific block wins
    assert idx.find("10.21.0.1") == "County General"
    assert idx.find("10.255.255.255") == "County General"
    assert idx.find("11.0.0.0") is None
    assert idx.find("9.255.255.255") is None
    assert idx.find("192.0.2.7") == "County General"
    assert idx.find("192.0.2.8") is None
    assert idx.find("2001:db8:10:ffff::1") == "St Elsewhere"
    assert idx.find("2001:db8:11::1") is None
    assert idx.find("::ffff:10.20.0.1") == "St Elsewhere"  # IPv4 seen by a dual-stack socket
    assert idx.find("testclient") is None
    assert idx.find("") is None


def test_nested_blocks_split_their_parent() -> None:
    idx = index(("Outer", ["10.0.0.0/8"]), ("Inner", ["10.1.0.0/16", "10.3.0.0/16"]))
    assert [idx.find(a) for a in ("10.0.255.255", "10.1.0.0", "10.1.255.255", "10.2.0.0")] == [
        "Outer",
        "Inner",
        "Inner",
        "Outer",
    ]
    assert idx.find("10.3.9.9") == "Inner" and idx.find("10.4.0.0") == "Outer"


def test_lookup_agrees_with_a_plain_scan_of_random_ranges() -> None:
    rng = random.Random(18)
    nets = []
    for i in range(400):
        prefix = rng.randint(8, 32)
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        nets.append((f"i{i}", ipaddress.ip_network(f"{address}/{prefix}", strict=False)))
    idx = InstitutionIndex(Institution(name, (str(net),)) for name, net in nets)
    for _ in range(3000):
        probe = ipaddress.IPv4Address(rng.getrandbits(32))
        holders = [(net.prefixlen, name) for name, net in nets if probe in net]
        # the most specific block; among equal blocks, the one listed last
        expected = None
        if holders:
            best = max(h[0] for h in holders)
            expected = [name for plen, name in holders if plen == best][-1]
        assert idx.find(str(probe)) == expected


@pytest.mark.parametrize(
    "entry",
    [
        "10.0.0.0/33",
        "::ffff:1.2.3.4/200",
        "intranet.hospital.example",
        "",
        "   ",
        "10.0.0.1/8",
        42,
        None,
    ],
)
def test_malformed_range_names_the_entry(entry: object) -> None:
    with pytest.raises(RangeError) as raised:
        InstitutionIndex([Institution("St Elsewhere", ("10.1.0.0/16", entry))])  # type: ignore[arg-type]
    assert "St Elsewhere" in str(raised.value) and repr(entry) in str(raised.value)


def test_institution_without_name_or_ranges_is_refused() -> None:
    with pytest.raises(RangeError, match="empty name"):
        InstitutionIndex([Institution(" ", ("10.0.0.0/8",))])
    with pytest.raises(RangeError, match="no ranges"):
        InstitutionIndex([Institution("Nowhere", ())])


def test_settings_from_json_and_yaml(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(
        "SITE_INSTITUTIONS", '[{"name": "St Elsewhere", "ranges": ["10.20.0.0/16"]}]'
    )
    file = tmp_path / "institutions.yml"
    file.write_text("- name: County General\n  ranges: [192.0.2.0/24, '2001:db8::/32']\n")
    monkeypatch.setenv("SITE_INSTITUTIONS_FILE", str(file))
    idx = load_institutions(Settings())
    assert idx.find("10.20.1.1") == "St Elsewhere"
    assert idx.find("2001:db8::1") == "County General"
    file.write_text("- name: County General\n  ranges: [192.0.2.0/33]\n")
    with pytest.raises(ConfigError, match=r"County General.*192\.0\.2\.0/33"):
        load_institutions(Settings())
    file.write_text("just: text\n")
    with pytest.raises(ConfigError, match="expected a list"):
        load_institutions(Settings())
