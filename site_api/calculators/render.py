"""A calculator's form as HTML (one template for topics and its own page) and the definition the
page's JavaScript evaluates, with every message's numbers already written by Python."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from site_api.calculators.evaluate import UNIT_SUFFIX, Outcome, range_in
from site_api.calculators.schema import Calculator, ChoiceInput, NumberInput
from site_api.content.search_index import IndexedPage
from site_api.content.structured_data import script_json

_env = Environment(
    loader=PackageLoader("site_api.calculators", "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
)


def page_url(calc_id: str) -> str:
    """The calculator's own page."""
    return f"/calculators/{calc_id}/"


def search_entry(calc: Calculator) -> IndexedPage:
    """The calculator's page in the search index: a free page named by its title and aliases."""
    return IndexedPage(
        page_id=f"calculator-{calc.id}",
        url=page_url(calc.id),
        access="free",
        title=calc.title,
        summary=calc.summary,
        aliases=[calc.short_title, *calc.aliases],
        # Input labels in the body, not the headings: a search for `ferritin` wants topics first.
        body=" ".join(
            [calc.for_whom, *(s.label for s in calc.inputs), *(b.text for b in calc.bands)]
        ),
        section="Calculators",
    )


def range_text(spec: NumberInput, unit: str) -> str:
    """`Allowed: 30 to 45 °C`: what the field accepts, in `unit`."""
    low, high = range_in(spec, unit)
    return f"Allowed: {low} to {high} {unit}"


def client_definition(calc: Calculator) -> dict[str, Any]:
    """What calculators.js needs to evaluate exactly as `evaluate` does."""
    inputs = []
    for spec in calc.inputs:
        item: dict[str, Any] = {"id": spec.id, "type": spec.type, "when": spec.when}
        if isinstance(spec, NumberInput):
            item.update(
                unit=spec.unit,
                first=spec.first_unit or spec.unit,
                min=spec.min,
                max=spec.max,
                offered=spec.offered,
                units=[
                    {
                        "unit": unit,
                        "multiply": next(
                            (u.multiply for u in spec.other_units if u.unit == unit), None
                        ),
                        "divide": next(
                            (u.divide for u in spec.other_units if u.unit == unit), None
                        ),
                        "low": range_in(spec, unit)[0],
                        "high": range_in(spec, unit)[1],
                        "range": range_text(spec, unit),
                    }
                    for unit in spec.offered
                ],
                bands=[_interval(b) | {"points": b.points, "id": b.id} for b in spec.bands],
            )
        elif isinstance(spec, ChoiceInput):
            item["choices"] = [{"value": c.value, "points": c.points} for c in spec.choices]
        else:
            item.update(yes=spec.points_if_yes, no=spec.points_if_no)
        inputs.append(item)
    return {
        "id": calc.id,
        "method": calc.method,
        "label": calc.result_label,
        "inputs": inputs,
        "labels": {spec.id: spec.label for spec in calc.inputs},
        "bands": [
            _interval(b) | {"id": b.id, "label": b.label, "text": b.text} for b in calc.bands
        ],
    }


def _interval(band: Any) -> dict[str, Any]:
    return {"from": band.from_, "above": band.above, "to": band.to, "below": band.below}


def pending_text(calc: Calculator, outcome: Outcome) -> str:
    """Why there is no result: what is missing and what to correct, by label."""
    labels = {spec.id: spec.label for spec in calc.inputs}
    missing = [labels[m] for m in outcome.missing]
    wrong = [labels[k] for k in outcome.errors if k not in outcome.missing]
    parts = []
    if missing:
        parts.append("still to answer: " + ", ".join(missing))
    if wrong:
        parts.append("check: " + ", ".join(wrong))
    return "; ".join(parts) + "."


def form_html(
    calc: Calculator,
    sources: list[dict[str, Any]],
    raw: Mapping[str, str] | None = None,
    outcome: Outcome | None = None,
    standalone: bool = True,
) -> Markup:
    """The calculator's form (answers and errors filled when `raw` and `outcome` are given);
    `sources`: the reference library's view of the works it cites."""
    raw = raw or {}
    numbers = [s for s in calc.inputs if isinstance(s, NumberInput)]
    units = {}
    for spec in numbers:
        asked = raw.get(spec.id + UNIT_SUFFIX, "")
        units[spec.id] = asked if asked in spec.units else spec.offered[0]
    options = {
        spec.id: [(c.value, c.label) for c in spec.choices]
        if isinstance(spec, ChoiceInput)
        else [("yes", "Yes"), ("no", "No")]
        for spec in calc.inputs
        if not isinstance(spec, NumberInput)
    }
    html = _env.get_template("form.html").render(
        calc=calc,
        sources=sources,
        definition=Markup(script_json(client_definition(calc))),
        standalone=standalone,
        action=page_url(calc.id) + "#" + calc.id + "-result",
        values={k: v[:24] for k, v in raw.items()},
        errors=outcome.errors if outcome else {},
        units=units,
        ranges={s.id: {u: range_text(s, u) for u in s.units} for s in numbers},
        options=options,
        outcome=outcome,
        pending=pending_text(calc, outcome) if outcome else "",
    )
    return Markup(html)
