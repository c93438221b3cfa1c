"""In a real Chromium: the page's JavaScript evaluates exactly as the server's Python (every worked
example, and random answers hypothesis makes up), the unit converter agrees both ways, the form
works with and without JavaScript, on a phone, and axe finds nothing serious in either scheme."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import serious_axe_findings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_api.calculators.artifact import read_calculators
from site_api.calculators.checks import example_answers
from site_api.calculators.evaluate import convert_text, evaluate
from site_api.calculators.schema import Calculator, ChoiceInput, NumberInput, YesNoInput

pytestmark = pytest.mark.browser

IDS = ["hscore", "mas-sjia-2016", "isth-overt-dic", "astct-crs-grade"]
JS_EVALUATE = """([id, raw]) => {
  const box = document.querySelector(`div.calculator[data-calculator="${id}"]`);
  const def = JSON.parse(box.querySelector("script.calculator-definition").textContent);
  return window.NotebookCalculators.evaluate(def, raw);
}"""
JS_CONVERT = """([id, input, text, from, to]) => {
  const box = document.querySelector(`div.calculator[data-calculator="${id}"]`);
  const def = JSON.parse(box.querySelector("script.calculator-definition").textContent);
  const spec = def.inputs.find((i) => i.id === input);
  return window.NotebookCalculators.convert(spec, text, from, to);
}"""


@pytest.fixture(scope="module")
def calculators(built_site: Path) -> dict[str, Calculator]:
    return read_calculators(built_site).calculators


@pytest.fixture(scope="module")
def tab(browser: Any, live_server: str) -> Iterator[Any]:
    """One page per module with every calculator loaded (hypothesis calls it many times)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(live_server + "/calculators/hscore/")
    yield page
    context.close()


def js_evaluate(tab: Any, live_server: str, calc_id: str, raw: dict[str, str]) -> dict[str, Any]:
    if f"/calculators/{calc_id}/" not in tab.url:
        tab.goto(f"{live_server}/calculators/{calc_id}/")
    return tab.evaluate(JS_EVALUATE, [calc_id, raw])  # type: ignore[no-any-return]


def same(python: dict[str, Any], js: dict[str, Any]) -> None:
    assert json.loads(json.dumps(python)) == js


@pytest.mark.parametrize("calc_id", IDS)
def test_every_worked_example_evaluates_the_same_in_javascript(
    tab: Any, live_server: str, calculators: dict[str, Calculator], calc_id: str
) -> None:
    calc = calculators[calc_id]
    for example in calc.examples:
        raw = example_answers(calc, example)
        python = evaluate(calc, raw).as_json()
        assert python["score"] == example.score and python["band"] == example.band
        same(python, js_evaluate(tab, live_server, calc_id, raw))


def answer_text(spec: NumberInput | ChoiceInput | YesNoInput) -> st.SearchStrategy[str]:
    """What a reader (or an attacker) might put in one field: mostly plausible, often on an edge."""
    junk = st.text(max_size=30)
    if isinstance(spec, ChoiceInput):
        return st.one_of(st.sampled_from([c.value for c in spec.choices]), junk)
    if isinstance(spec, YesNoInput):
        return st.one_of(st.sampled_from(["yes", "no", " yes", "YES"]), junk)
    edges = sorted({e for b in spec.bands for e in (b.lower, b.upper) if e is not None})
    near = st.sampled_from(edges or [spec.min]).flatmap(
        lambda e: st.sampled_from(
            [e, e - 0.01, e + 0.01, e - 1, e + 1, e * 88.57, e / 88.57, e / 100]
        )
    )
    numbers = st.one_of(
        near,
        st.floats(min_value=spec.min - 10, max_value=spec.max * 2, allow_nan=False),
        st.integers(min_value=-5, max_value=int(spec.max) + 5),
    )
    as_text = numbers.map(lambda v: st.sampled_from([str(v), f"{v:.2f}", f"{v:.1f}", f" {v} "]))
    return st.one_of(
        as_text.flatmap(lambda s: s), junk, st.sampled_from(["", "1.", ".5", "+3", "1e3", "٣"])
    )


@st.composite
def answers(draw: st.DrawFn, calc: Calculator) -> dict[str, str]:
    raw: dict[str, str] = {}
    for spec in calc.inputs:
        if draw(st.integers(0, 9)) > 0:  # now and then a field is left out altogether
            raw[spec.id] = draw(answer_text(spec))
        if isinstance(spec, NumberInput) and draw(st.booleans()):
            raw[spec.id + "_unit"] = draw(
                st.one_of(st.sampled_from(spec.units), st.text(max_size=6))
            )
    if draw(st.integers(0, 9)) == 0:
        raw[draw(st.sampled_from(["__proto__", "constructor", "toString", "x"]))] = "1"
    return raw


@pytest.mark.parametrize("calc_id", IDS)
def test_random_answers_evaluate_the_same_in_both_languages(
    tab: Any, live_server: str, calculators: dict[str, Calculator], calc_id: str
) -> None:
    calc = calculators[calc_id]

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(answers(calc))
    def agree(raw: dict[str, str]) -> None:
        same(evaluate(calc, raw).as_json(), js_evaluate(tab, live_server, calc_id, raw))

    agree()


@pytest.mark.parametrize(
    ("calc_id", "input_id", "text", "unit", "to", "expected"),
    [
        ("hscore", "triglycerides", "1.5", "mmol/L", "mg/dL", "132.855"),
        ("hscore", "triglycerides", "132.855", "mg/dL", "mmol/L", "1.5"),
        ("hscore", "fibrinogen", "2.5", "g/L", "mg/dL", "250"),
        ("hscore", "fibrinogen", "250", "mg/dL", "g/L", "2.5"),
        ("mas-sjia-2016", "triglycerides", "156", "mg/dL", "mmol/L", "1.761"),
        ("mas-sjia-2016", "fibrinogen", "3.6", "g/L", "mg/dL", "360"),
        ("hscore", "ferritin", "684", "ng/mL", "µg/L", "684"),
        ("hscore", "ferritin", "lots", "µg/L", "ng/mL", None),
        ("hscore", "fibrinogen", "99", "g/L", "mg/dL", None),  # out of range: left as typed
    ],
)
def test_the_unit_converter_both_ways_in_both_languages(
    tab: Any,
    live_server: str,
    calculators: dict[str, Calculator],
    calc_id: str,
    input_id: str,
    text: str,
    unit: str,
    to: str,
    expected: str | None,
) -> None:
    spec = calculators[calc_id].input(input_id)
    assert isinstance(spec, NumberInput)
    assert convert_text(spec, text, unit, to) == expected
    js_evaluate(tab, live_server, calc_id, {})
    assert tab.evaluate(JS_CONVERT, [calc_id, input_id, text, unit, to]) == expected


@pytest.mark.parametrize("calc_id", ["hscore", "mas-sjia-2016"])
def test_random_conversions_agree_and_come_back(
    tab: Any, live_server: str, calculators: dict[str, Calculator], calc_id: str
) -> None:
    calc = calculators[calc_id]
    numbers = [s for s in calc.inputs if isinstance(s, NumberInput) and s.other_units]
    js_evaluate(tab, live_server, calc_id, {})

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.sampled_from(numbers).flatmap(
            lambda s: st.tuples(st.just(s), st.floats(s.min, s.max), st.sampled_from(s.other_units))
        )
    )
    def agree(case: tuple[NumberInput, float, Any]) -> None:
        spec, value, other = case
        text = f"{value:.3f}"
        there = convert_text(spec, text, spec.unit, other.unit)
        assert there == tab.evaluate(JS_CONVERT, [calc_id, spec.id, text, spec.unit, other.unit])
        if there is None:  # rounding took it just past the range's edge
            return
        back = convert_text(spec, there, other.unit, spec.unit)
        assert back == tab.evaluate(JS_CONVERT, [calc_id, spec.id, there, other.unit, spec.unit])
        if back is not None:
            factor = other.multiply or (1 / other.divide)
            assert abs(float(back) - float(text)) <= 0.0005 * max(factor, 1 / factor) + 0.0005

    agree()


HSCORE_ANSWERS = [
    ("radio", "immunosuppression", "no"),
    ("text", "temperature", "39.6"),
    ("radio", "organomegaly", "both"),
    ("radio", "cytopenias", "three"),
    ("text", "ferritin", "8000"),
    ("text", "triglycerides", "2.4"),
    ("text", "fibrinogen", "1.9"),
    ("text", "ast", "120"),
    ("radio", "marrow", "yes"),
]
HSCORE_TOTAL = 0 + 49 + 38 + 34 + 50 + 44 + 30 + 19 + 35


def fill(page: Any, calc_id: str, answers: list[tuple[str, str, str]]) -> None:
    form = page.locator(f"#calculator-{calc_id} form")
    for kind, name, value in answers:
        if kind == "radio":
            form.locator(f'input[name="{name}"][value="{value}"]').check()
        else:
            form.locator(f'input[name="{name}"]').fill(value)


def test_live_result_and_unit_switch_with_javascript(browser: Any, live_server: str) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(live_server + "/calculators/hscore/")
        fill(page, "hscore", HSCORE_ANSWERS[:-1])
        result = page.locator("#hscore-result")
        expect(result).to_contain_text("still to answer: Haemophagocytosis on bone marrow aspirate")
        fill(page, "hscore", HSCORE_ANSWERS[-1:])
        expect(result.locator(".calculator__score-value")).to_have_text(str(HSCORE_TOTAL))
        expect(result).to_contain_text("Probability above 99%")
        # Where the reader is after the last answer, the result shows: no scrolling back up.
        marrow = page.locator('input[name="marrow"][value="yes"]')
        marrow.scroll_into_view_if_needed()
        last, box = marrow.bounding_box(), result.bounding_box()
        assert last is not None and box is not None
        assert box["y"] + box["height"] - last["y"] <= 844, (box, last)
        page.locator("#hscore-result").scroll_into_view_if_needed()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
        # Switching the unit converts what was typed; the score does not move.
        page.locator('select[name="triglycerides_unit"]').select_option("mg/dL")
        expect(page.locator('input[name="triglycerides"]')).to_have_value("212.568")
        expect(page.locator("#hscore-triglycerides-range")).to_have_text(
            "Allowed: 0 to 5314.2 mg/dL"
        )
        expect(result.locator(".calculator__score-value")).to_have_text(str(HSCORE_TOTAL))
        # A wrong value: a message beside the field, and no result.
        page.locator('input[name="ferritin"]').fill("lots")
        expect(page.locator("#hscore-ferritin-error")).to_have_text(
            "Enter a number in µg/L, like 0 or 1000000."
        )
        expect(page.locator('input[name="ferritin"]')).to_have_attribute("aria-invalid", "true")
        expect(result).to_contain_text("No result yet: check: Ferritin.")
        assert page.url.endswith("/calculators/hscore/")  # nothing sent while typing
        assert not errors
    finally:
        context.close()


def test_the_form_without_javascript_is_answered_by_the_server(
    browser: Any, live_server: str
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server + "/topics/disseminated-intravascular-coagulation/")
        page.goto(live_server + "/calculators/isth-overt-dic/")
        form = page.locator("#calculator-isth-overt-dic form")
        form.locator('input[name="platelets"]').fill("45")
        form.locator('input[name="fibrin_marker"][value="strong"]').check()
        form.locator('input[name="pt_prolongation"]').fill("4")
        form.locator('select[name="fibrinogen_unit"]').select_option("mg/dL")
        form.locator('input[name="fibrinogen"]').fill("90")
        form.locator('button[type="submit"]').click()
        page.wait_for_load_state()
        assert "/calculators/isth-overt-dic/?" in page.url and page.url.endswith(
            "#isth-overt-dic-result"
        )
        result = page.locator("#isth-overt-dic-result")
        expect(result.locator(".calculator__score-value")).to_have_text("7")  # 2 + 3 + 1 + 1
        expect(result).to_contain_text("Compatible with overt DIC")
        expect(form.locator('select[name="fibrinogen_unit"]')).to_have_value("mg/dL")
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_calculators_are_accessible_in_both_schemes(
    browser: Any, live_server: str, axe_source: str, scheme: str
) -> None:
    context = browser.new_context(color_scheme=scheme, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        bad = urlencode({"ferritin": "lots", "temperature": "39", "marrow": "maybe"})
        for path in [
            "/calculators/",
            "/calculators/hscore/",
            f"/calculators/hscore/?{bad}",
            "/calculators/astct-crs-grade/?fever=yes&hypotension=none&hypoxia=low_flow",
            "/topics/cytokine-release-syndrome/",
        ]:
            page.goto(live_server + path)
            page.wait_for_load_state("networkidle")
            assert not serious_axe_findings(page, axe_source), (path, scheme)
    finally:
        context.close()
