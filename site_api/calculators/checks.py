"""The build's proof that a calculator adds up: references between its parts, bands that cover
their ranges without gaps or overlaps, every worked example right, every reachable band edge
worked. Pure: a calculator and its YAML tree in, errors an editor can act on out."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import yaml

from site_api.calculators.evaluate import (
    UNIT_SUFFIX,
    counts,
    evaluate,
    number_text,
    total,
)
from site_api.calculators.schema import (
    Calculator,
    ChoiceInput,
    Example,
    Interval,
    NumberInput,
    YesNoInput,
)
from site_api.content.model import ContentError, yaml_line

#: More combinations of answers than this and the reachable scores are not enumerated.
MAX_COMBINATIONS = 200_000

Err = Callable[[list[int | str], str], ContentError]


def check_calculator(
    path: str, calc: Calculator, node: yaml.Node | None, stem: str
) -> list[ContentError]:
    """Every rule beyond the schema, all errors at once (`stem`: the file name without `.yml`)."""

    def err(loc: list[int | str], message: str) -> ContentError:
        return ContentError(path, yaml_line(node, loc), message)

    errors: list[ContentError] = []
    if calc.id != stem:
        errors.append(err(["id"], f"id: '{calc.id}' must match the file name ('{stem}.yml')"))
    errors += _unique(err, "inputs", [i.id for i in calc.inputs], "input id")
    errors += _unique(err, "bands", [b.id for b in calc.bands], "band id")
    for i, spec in enumerate(calc.inputs):
        if isinstance(spec, ChoiceInput):
            values = [c.value for c in spec.choices]
            errors += _unique(err, f"inputs.{i}.choices", values, "choice value", ["inputs", i])
        if isinstance(spec, NumberInput):
            ids = [b.id for b in spec.bands if b.id is not None]
            errors += _unique(err, f"inputs.{i}.bands", ids, "band id", ["inputs", i])
            errors += _cover_reals(err, ["inputs", i, "bands"], spec)
        errors += _conditions(err, calc, i)
    if errors:
        return errors  # the rest evaluates the calculator, which needs its parts consistent
    reachable = _reachable(calc)
    errors += _cover_scores(err, calc, reachable)
    errors += _examples(err, calc)
    if not errors:
        errors += _edges_worked(err, calc, reachable)
    return errors


def _unique(
    err: Err, where: str, values: Sequence[str], what: str, at: list[int | str] | None = None
) -> list[ContentError]:
    seen: set[str] = set()
    found = []
    for value in values:
        if value in seen:
            found.append(
                err(at or [where.split(".")[0]], f"{where}: {what} '{value}' is used twice")
            )
        seen.add(value)
    return found


def answer_keys(spec: NumberInput | ChoiceInput | YesNoInput) -> list[str | None]:
    """The answers another input's `when` may name: choice values, yes/no, number band ids."""
    if isinstance(spec, YesNoInput):
        return ["yes", "no"]
    if isinstance(spec, ChoiceInput):
        return [c.value for c in spec.choices]
    return [b.id for b in spec.bands]


def _conditions(err: Err, calc: Calculator, i: int) -> list[ContentError]:
    spec = calc.inputs[i]
    found: list[ContentError] = []
    for key, allowed in (spec.when or {}).items():
        other = calc.input(key)
        where: list[int | str] = ["inputs", i, "when", key]
        if other is None or other is spec:
            found.append(err(where, f"inputs.{i}.when: '{key}' is not another input's id"))
            continue
        if other.when is not None:
            found.append(err(where, f"inputs.{i}.when: '{key}' has a `when` of its own"))
        known = [k for k in answer_keys(other) if k is not None]
        found += [
            err(
                where,
                f"inputs.{i}.when: '{value}' is not an answer of '{key}' ({', '.join(known)})",
            )
            for value in allowed
            if value not in known
        ]
    return found


def _edge(band: Interval, side: str) -> tuple[float, bool] | None:
    """(value, included) of a band's lower or upper edge; None when open to the range's end."""
    if side == "lower":
        if band.from_ is not None:
            return band.from_, True
        return (band.above, False) if band.above is not None else None
    if band.to is not None:
        return band.to, True
    return (band.below, False) if band.below is not None else None


def _cover_reals(err: Err, loc: list[int | str], spec: NumberInput) -> list[ContentError]:
    """Number bands cover [min, max]: each begins exactly where the one before it ends."""
    where = ".".join(str(p) for p in loc)
    bands = spec.bands
    order = sorted(range(len(bands)), key=lambda j: _sort_key(_edge(bands[j], "lower")))
    found: list[ContentError] = []
    previous: tuple[float, bool] | None = (spec.min, False)  # just below the range
    for n, j in enumerate(order):
        lower, upper = _edge(bands[j], "lower"), _edge(bands[j], "upper")
        here = [*loc, j]
        if lower is None:
            if n:
                found.append(
                    err(here, f"{where}.{j}: only the first band may leave out its lower edge")
                )
                continue
        elif n == 0:
            if lower != (spec.min, True):
                found.append(
                    err(
                        here,
                        f"{where}.{j}: the first band must start at min ({spec.min}) with `from`",
                    )
                )
        else:
            assert previous is not None
            found += _meet(err, here, f"{where}.{j}", previous, lower)
        if (
            lower
            and upper
            and (lower[0] > upper[0] or (lower[0] == upper[0] and not (lower[1] and upper[1])))
        ):
            found.append(
                err(here, f"{where}.{j}: the band is empty (its lower edge is above its upper)")
            )
        if upper is None and n != len(order) - 1:
            found.append(err(here, f"{where}.{j}: only the last band may leave out its upper edge"))
        previous = upper
    last = _edge(bands[order[-1]], "upper")
    if last is not None and last != (spec.max, True):
        found.append(
            err(
                [*loc, order[-1]],
                f"{where}.{order[-1]}: the last band must end at max ({spec.max}) with `to`",
            )
        )
    for j, band in enumerate(bands):
        for edge in (band.lower, band.upper):
            if edge is not None and not spec.min <= edge <= spec.max:
                found.append(
                    err(
                        [*loc, j],
                        f"{where}.{j}: {edge} is outside min..max ({spec.min}..{spec.max})",
                    )
                )
    return found


def _sort_key(edge: tuple[float, bool] | None) -> tuple[float, int]:
    if edge is None:
        return (-math.inf, 0)
    return (edge[0], 0 if edge[1] else 1)


def _meet(
    err: Err,
    here: list[int | str],
    where: str,
    upper: tuple[float, bool],
    lower: tuple[float, bool],
) -> list[ContentError]:
    """The band above ends at `upper`; this one starts at `lower`: exactly one must hold the edge."""
    if upper[0] == lower[0] and upper[1] != lower[1]:
        return []
    if lower[0] < upper[0] or (lower[0] == upper[0] and lower[1]):
        return [err(here, f"{where}: overlaps the band before it at {number_text(lower[0])}")]
    return [
        err(
            here,
            f"{where}: gap between {number_text(upper[0])} and {number_text(lower[0])}: values there score nothing",
        )
    ]


def _options(spec: NumberInput | ChoiceInput | YesNoInput) -> list[tuple[str | None, int]]:
    if isinstance(spec, YesNoInput):
        return [("yes", spec.points_if_yes), ("no", spec.points_if_no)]
    if isinstance(spec, ChoiceInput):
        return [(c.value, c.points) for c in spec.choices]
    return [(b.id, b.points) for b in spec.bands]


def _reachable(calc: Calculator) -> set[int] | None:
    """Every score some combination of answers gives; None when there are too many to try."""
    options = [_options(spec) for spec in calc.inputs]
    if math.prod(len(o) for o in options) > MAX_COMBINATIONS:
        return None
    scores: set[int] = set()
    for combo in itertools.product(*options):
        answers = {spec.id: key for spec, (key, _) in zip(calc.inputs, combo, strict=True)}
        counted = [
            points if counts(spec, answers) else 0
            for spec, (_, points) in zip(calc.inputs, combo, strict=True)
        ]
        scores.add(total(calc, counted))
    return scores


def _integers(band: Interval, low: int, high: int) -> tuple[int, int]:
    """The whole scores a band holds, as (first, last), within low..high."""
    first = (
        low
        if band.lower is None
        else math.ceil(band.lower)
        if band.from_ is not None
        else math.floor(band.lower) + 1
    )
    last = (
        high
        if band.upper is None
        else math.floor(band.upper)
        if band.to is not None
        else math.ceil(band.upper) - 1
    )
    return first, last


def _cover_scores(err: Err, calc: Calculator, reachable: set[int] | None) -> list[ContentError]:
    """Result bands cover every possible score, each exactly once, and each can be reached."""
    if reachable is None:
        return [
            err(
                ["inputs"], f"inputs: more than {MAX_COMBINATIONS} combinations of answers to check"
            )
        ]
    low, high = min(reachable), max(reachable)
    spans = sorted((_integers(b, low, high), j) for j, b in enumerate(calc.bands))
    found: list[ContentError] = []
    expected = low
    for (first, last), j in spans:
        if first > expected:
            found.append(
                err(["bands", j], f"bands.{j}: scores {expected} to {first - 1} fall in no band")
            )
        elif first < expected:
            found.append(err(["bands", j], f"bands.{j}: overlaps the band before it at {first}"))
        if not any(first <= s <= last for s in reachable):
            found.append(
                err(["bands", j], f"bands.{j}: no combination of answers scores {first} to {last}")
            )
        expected = max(expected, last + 1)
    if expected <= high:
        found.append(err(["bands"], f"bands: scores {expected} to {high} fall in no band"))
    return found


def _examples(err: Err, calc: Calculator) -> list[ContentError]:
    """Every worked example evaluates to its stated score and band."""
    found: list[ContentError] = []
    for k, example in enumerate(calc.examples):
        where: list[int | str] = ["examples", k]
        name = f"examples.{k} ('{example.name}')"
        unknown = [key for key in [*example.inputs, *example.units] if calc.input(key) is None]
        if unknown:
            found.append(err(where, f"{name}: unknown input(s) {', '.join(unknown)}"))
            continue
        if calc.band(example.band) is None:
            found.append(err([*where, "band"], f"{name}: unknown band '{example.band}'"))
            continue
        outcome = evaluate(calc, example_answers(calc, example))
        if outcome.errors:
            problems = "; ".join(f"{key}: {msg}" for key, msg in outcome.errors.items())
            found.append(err(where, f"{name}: does not evaluate: {problems}"))
        elif (
            outcome.score != example.score
            or outcome.band is None
            or outcome.band.id != example.band
        ):
            got = f"{outcome.score} ({outcome.band.id if outcome.band else 'no band'})"
            found.append(
                err(
                    where,
                    f"{name}: evaluates to {got}, the example says {example.score} ({example.band})",
                )
            )
    return found


def example_answers(calc: Calculator, example: Example) -> dict[str, str]:
    """An example's answers as a form would send them, each number in its own unit unless the
    example names another."""
    raw = {
        key: ("yes" if value else "no") if isinstance(value, bool) else str(value)
        for key, value in example.inputs.items()
    }
    for spec in calc.inputs:
        if isinstance(spec, NumberInput):
            raw[spec.id + UNIT_SUFFIX] = example.units.get(spec.id, spec.unit)
    return raw


def _edges_worked(err: Err, calc: Calculator, reachable: set[int] | None) -> list[ContentError]:
    """Examples reach both ends of every band: each result band's lowest and highest reachable
    score, and each number band's edges (as a value in the input's own unit)."""
    found: list[ContentError] = []
    scores = {e.score for e in calc.examples}
    if reachable is not None:
        low, high = min(reachable), max(reachable)
        for j, band in enumerate(calc.bands):
            first, last = _integers(band, low, high)
            inside = [s for s in reachable if first <= s <= last]
            lacking = sorted({min(inside), max(inside)} - scores)
            if lacking:
                shown = " and ".join(str(s) for s in lacking)
                found.append(
                    err(["bands", j], f"bands.{j}: no worked example scores {shown} (a band edge)")
                )
    for i, spec in enumerate(calc.inputs):
        if not isinstance(spec, NumberInput):
            continue
        given = set()
        for example in calc.examples:
            value = example.inputs.get(spec.id)
            if (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and spec.id not in example.units
            ):
                given.add(float(value))
        edges = {e for b in spec.bands for e in (b.lower, b.upper) if e is not None}
        edges -= {spec.min, spec.max}
        lacking_edges = sorted(edges - given)
        if lacking_edges:
            shown = ", ".join(number_text(e) for e in lacking_edges)
            found.append(
                err(
                    ["inputs", i, "bands"],
                    f"inputs.{i}.bands: no worked example gives {spec.id} = {shown} {spec.unit} (a band edge)",
                )
            )
    return found
