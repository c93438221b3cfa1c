"""Calculator files: the real four load and check; every kind of mistake is `path:line: field: message`."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT

from site_api.calculators.checks import example_answers
from site_api.calculators.evaluate import evaluate
from site_api.calculators.load import check_markers, load_calculator, load_calculators, markers_in
from site_api.calculators.schema import Calculator

CALCULATORS = ROOT / "content" / "calculators"
HSCORE = (CALCULATORS / "hscore.yml").read_text(encoding="utf-8")
PATH = "content/calculators/hscore.yml"


def load(text: str, path: str = PATH) -> Calculator | list[str]:
    found = load_calculator(path, text)
    return [str(e) for e in found] if isinstance(found, list) else found


def line_of(text: str, needle: str, after: str = "") -> int:
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


def test_the_four_calculators_load_and_every_example_holds() -> None:
    found = load_calculators(CALCULATORS)
    assert isinstance(found, dict), [str(e) for e in found]
    assert sorted(found) == ["astct-crs-grade", "hscore", "isth-overt-dic", "mas-sjia-2016"]
    for calc in found.values():
        for example in calc.examples:
            outcome = evaluate(calc, example_answers(calc, example))
            assert (outcome.score, outcome.band and outcome.band.id) == (
                example.score,
                example.band,
            ), (calc.id, example.name)


def test_hscore_maximum_and_a_hand_worked_case() -> None:
    calc = load(HSCORE)
    assert isinstance(calc, Calculator)
    answers = {
        "immunosuppression": "no",
        "temperature": "39.5",  # 49
        "organomegaly": "one",  # 23
        "cytopenias": "two",  # 24
        "ferritin": "3000",  # 35
        "triglycerides": "2.1",  # 44
        "fibrinogen": "3",  # 0
        "ast": "31",  # 19
        "marrow": "no",
    }
    outcome = evaluate(calc, answers)
    assert outcome.score == 49 + 23 + 24 + 35 + 44 + 19
    assert outcome.band is not None and outcome.band.id == "above_cutoff"


def test_a_wrong_example_stops_the_build_naming_it() -> None:
    text = HSCORE.replace("    score: 337\n", "    score: 336\n")
    errors = load(text)
    line = line_of(HSCORE, '  - name: "Every finding at its highest: 337"')
    assert (
        f"{PATH}:{line}: examples.7 ('Every finding at its highest: 337'): evaluates to 337 "
        "(very_likely), the example says 336 (very_likely)"
    ) in errors


def test_overlapping_and_gapped_bands_fail_with_their_lines() -> None:
    overlap = HSCORE.replace("{above: 39.4, points: 49}", "{from: 39.4, points: 49}")
    errors = load(overlap)
    line = line_of(HSCORE, "{above: 39.4")
    assert any(e.startswith(f"{PATH}:{line}: inputs.1.bands.2: overlaps") for e in errors), errors
    gap = HSCORE.replace("{above: 39.4, points: 49}", "{from: 39.5, points: 49}")
    errors = load(gap)
    assert (
        f"{PATH}:{line}: inputs.1.bands.2: gap between 39.4 and 39.5: values there score nothing"
        in errors
    )


def test_result_bands_must_cover_every_score() -> None:
    text = HSCORE.replace("    from: 91\n    to: 168\n", "    from: 92\n    to: 168\n")
    errors = load(text)
    line = line_of(HSCORE, "  - id: below_cutoff")
    assert f"{PATH}:{line}: bands.1: scores 91 to 91 fall in no band" in errors
    text = HSCORE.replace("    from: 91\n    to: 168\n", "    from: 90\n    to: 168\n")
    assert f"{PATH}:{line}: bands.1: overlaps the band before it at 90" in load(text)


def test_a_band_edge_without_an_example_fails() -> None:
    text = HSCORE.replace("ferritin: 2000,", "ferritin: 2001,")
    errors = load(text)
    line = line_of(HSCORE, "- {below: 2000", after="  - id: ferritin")  # the list's first item
    assert (
        f"{PATH}:{line}: inputs.4.bands: no worked example gives ferritin = 2000 µg/L (a band edge)"
        in errors
    )


def test_unknown_unit_and_unknown_field_and_bad_condition() -> None:
    text = HSCORE.replace("{unit: ng/mL, multiply: 1}", "{unit: ng/ml, multiply: 1}")
    text = text.replace("    points_if_yes: 18\n", "    points_if_yes: 18\n    weight: 2\n")
    text = text.replace(
        "    label: Organomegaly\n", "    label: Organomegaly\n    when: {marrow: [maybe]}\n"
    )
    errors = load(text)
    assert any(
        e.startswith(
            f"{PATH}:{line_of(text, '{unit: ng/ml')}: inputs.4.other_units.0.unit: Input should be"
        )
        for e in errors
    ), errors
    assert (
        f"{PATH}:{line_of(text, 'weight: 2')}: inputs.0.yesno.weight: unknown field (check its spelling; see the README's front matter table)"
        in errors
        or any("weight: unknown field" in e for e in errors)
    )
    fixed = text.replace("{unit: ng/ml,", "{unit: ng/mL,").replace("    weight: 2\n", "")
    errors = load(fixed)
    assert (
        f"{PATH}:{line_of(fixed, 'when: {marrow')}: inputs.2.when: 'maybe' is not an answer of 'marrow' (yes, no)"
        in errors
    )


def test_id_must_match_the_file_and_yaml_errors_have_lines() -> None:
    errors = load(HSCORE, "content/calculators/h-score.yml")
    assert (
        "content/calculators/h-score.yml:3: id: 'hscore' must match the file name ('h-score.yml')"
        in errors
    )
    broken = HSCORE.replace("method: sum", "method: [sum")
    errors = load(broken)
    assert len(errors) == 1 and errors[0].startswith(f"{PATH}:") and "invalid YAML" in errors[0]


def test_markers_must_name_a_calculator(tmp_path: Path) -> None:
    body = "Text.\n\n<!-- calculator: hscroe -->\n\n<!--calculator:hscore-->\n"
    errors = [str(e) for e in check_markers("content/topics/x.md", body, 10, ["hscore"])]
    assert errors == [
        "content/topics/x.md:12: calculator: unknown calculator 'hscroe'; did you mean 'hscore'?",
        "content/topics/x.md:14: calculator: write the marker as '<!-- calculator: hscore -->'",
    ]
    assert markers_in(body) == ["<!-- calculator: hscroe -->", "<!--calculator:hscore-->"]


def test_every_error_of_a_directory_at_once(tmp_path: Path) -> None:
    (tmp_path / "hscore.yml").write_text(HSCORE.replace("score: 0\n", "score: 1\n"))
    (tmp_path / "other.yml").write_text("id: other\n")
    (tmp_path / "notes.txt").write_text("x")
    found = load_calculators(tmp_path)
    assert isinstance(found, list)
    text = [str(e) for e in found]
    assert any("hscore.yml" in e and "evaluates to 0" in e for e in text)
    assert any("other.yml:1: title: missing required field" in e for e in text)
    assert any("notes.txt:1: calculators: only <id>.yml files belong here" in e for e in text)


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ({"ferritin": "lots"}, "ferritin", "Enter a number in µg/L, like 0 or 1000000."),
        ({"ferritin": "-5"}, "ferritin", "Enter a value from 0 to 1000000 µg/L."),
        ({"ferritin": "1e5"}, "ferritin", "Enter a number in µg/L, like 0 or 1000000."),
        ({"ferritin": ""}, "ferritin", "Enter a value in µg/L."),
        ({"ferritin_unit": "mmol/L"}, "ferritin", "Choose a unit from the list (µg/L, ng/mL)."),
        ({"triglycerides": "400"}, "triglycerides", "Enter a value from 0 to 60 mmol/L."),
        ({"organomegaly": "huge"}, "organomegaly", "Choose one of the answers listed."),
        ({"marrow": "perhaps"}, "marrow", "Choose yes or no."),
        ({"temperature": "9" * 30}, "temperature", "Enter a number in °C, like 30 or 45."),
    ],
)
def test_bad_answers_give_a_message_next_to_the_field_and_no_result(
    answers: dict[str, str], field: str, message: str
) -> None:
    calc = load(HSCORE)
    assert isinstance(calc, Calculator)
    good = example_answers(calc, calc.examples[7])
    outcome = evaluate(calc, {**good, **answers})
    assert outcome.errors == {field: message}
    assert outcome.score is None and outcome.band is None


def test_a_unit_mix_up_is_caught_by_the_range() -> None:
    """Triglycerides of 300 typed as mmol/L (meant mg/dL): out of range, not a wrong score."""
    calc = load(HSCORE)
    assert isinstance(calc, Calculator)
    good = example_answers(calc, calc.examples[7])
    assert evaluate(calc, {**good, "triglycerides": "300"}).score is None
    converted = evaluate(calc, {**good, "triglycerides": "300", "triglycerides_unit": "mg/dL"})
    assert converted.points["triglycerides"] == 44  # 300 / 88.57 = 3.39 mmol/L
    assert converted.score == 337 - 64 + 44
