"""The one Python evaluation of a calculator: a reader's raw answers in, score and band out.

theme/assets/javascripts/calculators.js mirrors it step for step (the same parse, the same single
unit conversion, the same comparisons); tests/calculators/test_browser_equivalence.py proves the two
agree on every worked example and on random answers. Pure: no I/O, nothing stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from site_api.calculators.schema import (
    Calculator,
    ChoiceInput,
    NumberInput,
    OtherUnit,
    ResultBand,
    YesNoInput,
)

#: A plain decimal number: what both evaluations accept (JavaScript's Number() then agrees).
NUMBER_RE = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")
#: Longer answers are refused before parsing: no value a calculator takes is this long.
MAX_ANSWER = 24
UNIT_SUFFIX = "_unit"
YES_NO = ("yes", "no")
#: What is trimmed from an answer: ASCII white space only, as calculators.js trims (Python's
#: strip() and JavaScript's trim() disagree on other spaces).
SPACES = " \t\n\r\x0b\x0c"


@dataclass
class Outcome:
    """What a calculator made of a reader's answers: a score and band only when nothing is wrong."""

    errors: dict[str, str] = field(default_factory=dict)  # input id -> message for that field
    missing: list[str] = field(default_factory=list)  # input ids left empty
    answers: dict[str, str | None] = field(default_factory=dict)  # choice, yes/no or band id
    points: dict[str, int] = field(default_factory=dict)  # each input's counted points
    score: int | None = None
    band: ResultBand | None = None

    def as_json(self) -> dict[str, Any]:
        """The comparable part, as the JavaScript evaluation reports it."""
        return {
            "errors": self.errors,
            "missing": self.missing,
            "points": self.points if self.score is not None else {},
            "score": self.score,
            "band": self.band.id if self.band is not None else None,
        }


def number_text(value: float) -> str:
    """A number for a reader: 38.4, 2000, 4428.5 (three decimals at most, no float noise)."""
    rounded = round(value, 3)
    return str(int(rounded)) if float(rounded).is_integer() else repr(rounded)


def to_own_unit(value: float, unit: OtherUnit) -> float:
    """An entered value in the input's own unit: exactly one multiplication or division."""
    if unit.multiply is not None:
        return value * unit.multiply
    assert unit.divide is not None
    return value / unit.divide


def from_own_unit(value: float, unit: OtherUnit) -> float:
    """The inverse of `to_own_unit`: a value in the input's own unit, in `unit`."""
    if unit.multiply is not None:
        return value / unit.multiply
    assert unit.divide is not None
    return value * unit.divide


def fixed(value: float) -> str:
    """`value` to three decimals, halves rounded up, trailing zeros dropped: what JavaScript's
    toFixed(3) gives, so a converted value reads the same in both."""
    text = format(Decimal(value).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def convert_text(spec: NumberInput, text: str, unit: str, to: str) -> str | None:
    """A typed value, in `unit`, as it reads in `to` (the form's unit converter); None when it is
    not a number in range, so the reader's text is left as it is."""
    text = text.strip(SPACES)
    units = {u.unit: u for u in spec.other_units}
    if unit not in spec.units or to not in spec.units or not NUMBER_RE.fullmatch(text):
        return None
    if len(text) > MAX_ANSWER:
        return None
    own = to_own_unit(float(text), units[unit]) if unit in units else float(text)
    if not spec.min <= own <= spec.max:
        return None
    return fixed(from_own_unit(own, units[to]) if to in units else own)


def range_in(spec: NumberInput, unit: str) -> tuple[str, str]:
    """The allowed range as text in `unit` (the messages both evaluations show)."""
    other = next((u for u in spec.other_units if u.unit == unit), None)
    if other is None:
        return number_text(spec.min), number_text(spec.max)
    return number_text(from_own_unit(spec.min, other)), number_text(from_own_unit(spec.max, other))


def _number(spec: NumberInput, raw: Mapping[str, str], out: Outcome) -> float | None:
    text = raw.get(spec.id, "").strip(SPACES)
    unit = raw.get(spec.id + UNIT_SUFFIX, "").strip(SPACES) or (spec.first_unit or spec.unit)
    if unit not in spec.units:
        out.errors[spec.id] = f"Choose a unit from the list ({', '.join(spec.offered)})."
        return None
    if not text:
        out.missing.append(spec.id)
        out.errors[spec.id] = f"Enter a value in {unit}."
        return None
    low, high = range_in(spec, unit)
    if len(text) > MAX_ANSWER or not NUMBER_RE.fullmatch(text):
        out.errors[spec.id] = f"Enter a number in {unit}, like {low} or {high}."
        return None
    value = float(text)
    other = next((u for u in spec.other_units if u.unit == unit), None)
    own = to_own_unit(value, other) if other is not None else value
    if not spec.min <= own <= spec.max:
        out.errors[spec.id] = f"Enter a value from {low} to {high} {unit}."
        return None
    return own


def _answer(
    spec: NumberInput | ChoiceInput | YesNoInput, raw: Mapping[str, str], out: Outcome
) -> tuple[str | None, int] | None:
    """(answer key, points) for one input, or None with its error recorded."""
    if isinstance(spec, NumberInput):
        value = _number(spec, raw, out)
        if value is None:
            return None
        band = next((b for b in spec.bands if b.holds(value)), None)
        if band is None:  # the build proves bands cover the range; refuse rather than guess
            out.errors[spec.id] = "This value falls in no band of the calculator."
            return None
        return band.id, band.points
    text = raw.get(spec.id, "").strip(SPACES)
    if not text:
        out.missing.append(spec.id)
        out.errors[spec.id] = "Choose an answer."
        return None
    if isinstance(spec, YesNoInput):
        if text not in YES_NO:
            out.errors[spec.id] = "Choose yes or no."
            return None
        return text, spec.points_if_yes if text == "yes" else spec.points_if_no
    choice = next((c for c in spec.choices if c.value == text), None)
    if choice is None:
        out.errors[spec.id] = "Choose one of the answers listed."
        return None
    return choice.value, choice.points


def counts(spec: NumberInput | ChoiceInput | YesNoInput, answers: Mapping[str, str | None]) -> bool:
    """Whether an input's points count, given the other answers (its `when`)."""
    if spec.when is None:
        return True
    return all(answers.get(key) in allowed for key, allowed in spec.when.items())


def total(calc: Calculator, points: list[int]) -> int:
    """The score from the counted points: their sum, or the highest (a grade)."""
    return sum(points) if calc.method == "sum" else max(points)


def band_for(calc: Calculator, score: int) -> ResultBand | None:
    """The result band holding `score`."""
    return next((b for b in calc.bands if b.holds(score)), None)


def evaluate(calc: Calculator, raw: Mapping[str, str]) -> Outcome:
    """Evaluate a reader's raw answers (form fields: `<id>` and `<id>_unit`)."""
    out = Outcome()
    raw_points: dict[str, int] = {}
    for spec in calc.inputs:
        found = _answer(spec, raw, out)
        if found is not None:
            out.answers[spec.id], raw_points[spec.id] = found
    if out.errors:
        return out
    for spec in calc.inputs:
        out.points[spec.id] = raw_points[spec.id] if counts(spec, out.answers) else 0
    out.score = total(calc, list(out.points.values()))
    out.band = band_for(calc, out.score)
    return out
