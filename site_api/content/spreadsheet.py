"""Text as a spreadsheet cell: the one rule every CSV download follows (notes, the CPD log, the
desk's problem reports), so a reader's or reporter's words can never run as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """A value as a CSV cell: None empty, booleans yes/no, text that a spreadsheet would run as a
    formula prefixed with an apostrophe (shown as text); anything else unchanged."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_bytes(fields: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> bytes:
    """Rows as CSV with a header (RFC 4180 quoting), every cell through `cell`, UTF-8 with a
    byte order mark."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(fields)
    for row in rows:
        writer.writerow([cell(row[field]) for field in fields])
    # The byte order mark makes Excel read UTF-8 (µmol/L, ≥) instead of the local code page.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
