"""Institution lookup with 10,000 ranges: the bisect index against a plain loop over every range.

Run: .venv/bin/python bench/institutions.py  (prints both, and their ratio, from the same run)
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import time

from site_api.serving.institutions import Institution, InstitutionIndex

RANGES = 10_000
LOOKUPS = 20_000


def main() -> None:
    """Build 10,000 random IPv4/IPv6 ranges, then time lookups of random addresses both ways."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranges", type=int, default=RANGES)
    parser.add_argument("--lookups", type=int, default=LOOKUPS)
    args = parser.parse_args()
    ranges, lookups = args.ranges, args.lookups
    rng = random.Random(18)
    institutions = []
    nets: list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = []
    for i in range(ranges):
        if i % 4:
            net: ipaddress.IPv4Network | ipaddress.IPv6Network = ipaddress.IPv4Network(
                (rng.getrandbits(32), rng.randint(12, 32)), strict=False
            )
        else:
            net = ipaddress.IPv6Network((rng.getrandbits(128), rng.randint(32, 64)), strict=False)
        nets.append((f"institution {i}", net))
        institutions.append(Institution(f"institution {i}", (str(net),)))
    started = time.perf_counter()
    index = InstitutionIndex(institutions)
    build = time.perf_counter() - started
    probes = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(lookups)]

    started = time.perf_counter()
    for p in probes:
        index.find(p)
    indexed = (time.perf_counter() - started) / lookups

    sample = probes[: max(lookups // 100, 1)]  # the loop is slow: a hundredth of the probes
    started = time.perf_counter()
    for p in sample:
        ip = ipaddress.ip_address(p)
        next((name for name, n in nets if ip in n), None)
    looped = (time.perf_counter() - started) / len(sample)

    print(f"ranges: {ranges} (3/4 IPv4, 1/4 IPv6); build once at start: {build * 1000:.1f} ms")
    print(f"bisect index: {indexed * 1e6:.2f} µs per lookup ({lookups} lookups)")
    print(f"loop over every range (reference): {looped * 1e6:.0f} µs per lookup ({len(sample)})")
    print(f"ratio: the index is {looped / indexed:.0f}× faster")


if __name__ == "__main__":
    main()
