"""Institutional access: which institution's network ranges a client address falls in. Pure.

Ranges are flattened once, at start, into sorted non-overlapping intervals per address family,
so a lookup is one `bisect` over integers whatever the number of ranges (bench/institutions.py).
CIDR blocks never partly overlap (two are disjoint or one holds the other), so where one range
lies inside another the most specific one names the institution.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass


class RangeError(ValueError):
    """A range that is not a CIDR block; the message names the institution and the entry."""


@dataclass(frozen=True)
class Institution:
    """One institution: the name its readers see, and its network ranges as written."""

    name: str
    ranges: tuple[str, ...]


def parse_range(institution: str, entry: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """`entry` as a network, or `RangeError` naming it: no hostnames, blanks or bad prefixes."""
    where = f"institution {institution!r}: range {entry!r}"
    if not isinstance(entry, str) or not entry.strip():
        raise RangeError(f"{where}: expected an address or CIDR block such as '10.0.0.0/16'")
    try:
        # strict: '10.0.0.1/8' has host bits set, which is nearly always a typo for another block
        return ipaddress.ip_network(entry.strip(), strict=True)
    except ValueError as exc:
        raise RangeError(f"{where}: {exc}") from None


class _Family:
    """Sorted, non-overlapping [start, end] intervals of one address family, each with a name."""

    def __init__(self, blocks: list[tuple[int, int, str]]) -> None:
        # Larger blocks first at the same start, so nested blocks come after their parents.
        blocks.sort(key=lambda b: (b[0], -b[1]))
        out: list[tuple[int, int, str]] = []
        stack: list[tuple[int, str]] = []  # enclosing blocks still open: (end, name)
        pos = 0  # the first address not yet emitted

        def emit(start: int, end: int, name: str) -> None:
            if start > end:
                return
            if out and out[-1][2] == name and out[-1][1] + 1 == start:
                out[-1] = (out[-1][0], end, name)
            else:
                out.append((start, end, name))

        for start, end, name in blocks:
            while stack and stack[-1][0] < start:
                top_end, top_name = stack.pop()
                emit(max(pos, 0), top_end, top_name)
                pos = max(pos, top_end + 1)
            if stack:
                emit(pos, start - 1, stack[-1][1])
            pos = start
            stack.append((end, name))
        while stack:
            top_end, top_name = stack.pop()
            emit(pos, top_end, top_name)
            pos = max(pos, top_end + 1)
        self.starts = [b[0] for b in out]
        self.ends = [b[1] for b in out]
        self.names = [b[2] for b in out]

    def find(self, address: int) -> str | None:
        i = bisect_right(self.starts, address) - 1
        if i >= 0 and address <= self.ends[i]:
            return self.names[i]
        return None


class InstitutionIndex:
    """Finds the institution whose ranges hold an address, in O(log n)."""

    def __init__(self, institutions: Iterable[Institution]) -> None:
        v4: list[tuple[int, int, str]] = []
        v6: list[tuple[int, int, str]] = []
        self.count = 0
        for institution in institutions:
            name = institution.name.strip()
            if not name:
                raise RangeError("institution with an empty name: every institution needs one")
            if not institution.ranges:
                raise RangeError(f"institution {name!r}: no ranges")
            for entry in institution.ranges:
                net = parse_range(name, entry)
                block = (int(net.network_address), int(net.broadcast_address), name)
                (v4 if net.version == 4 else v6).append(block)
                self.count += 1
        self._v4 = _Family(v4)
        self._v6 = _Family(v6)

    def __bool__(self) -> bool:
        return self.count > 0

    def find(self, address: str) -> str | None:
        """The institution `address` belongs to, or None (also for anything not an address)."""
        if not self.count:
            return None
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        if isinstance(ip, ipaddress.IPv6Address):
            mapped = ip.ipv4_mapped  # a dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d
            if mapped is not None:
                return self._v4.find(int(mapped))
            return self._v6.find(int(ip))
        return self._v4.find(int(ip))
