"""The one CSV cell rule every download follows (notes, the CPD log, the desk's reports)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from site_api.content.spreadsheet import FORMULA_START, cell, csv_bytes

CASES = [
    ('=HYPERLINK("http://evil.example","click")', '\'=HYPERLINK("http://evil.example","click")'),
    ("+44 20 7946 0000", "'+44 20 7946 0000"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("Dose = 2 mg/kg", "Dose = 2 mg/kg"),
    ("'quoted already", "'quoted already"),
    ("", ""),
    (None, ""),
    (True, "yes"),
    (False, "no"),
    (3, 3),
    (0.05, 0.05),
]


@pytest.mark.parametrize(("value", "expected"), CASES)
def test_cell(value: Any, expected: Any) -> None:
    assert cell(value) == expected


@pytest.mark.parametrize("start", FORMULA_START)
def test_every_formula_start_becomes_text(start: str) -> None:
    assert cell(start + "1") == "'" + start + "1"


def test_csv_bytes_round_trips_through_a_csv_reader() -> None:
    rows = [{"a": "=1+1", "b": 'line one\nline two, with "quotes"'}, {"a": None, "b": True}]
    data = csv_bytes(("a", "b"), rows)
    assert data.startswith("\ufeff".encode())
    read = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert read == [
        {"a": "'=1+1", "b": 'line one\nline two, with "quotes"'},
        {"a": "", "b": "yes"},
    ]
