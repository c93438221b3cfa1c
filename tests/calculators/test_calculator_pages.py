"""The calculators' own pages: free, server-computed without JavaScript, never a 500, never kept."""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from conftest import TEST_KEY
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from site_api.calculators.artifact import read_calculators
from site_api.calculators.checks import example_answers
from site_api.config import Settings
from site_api.web.app import create_app


@pytest.fixture(scope="module")
def client(built_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """One app over the real build; calculators touch no database, so SQLite's default serves."""
    var = tmp_path_factory.mktemp("var")
    app = create_app(Settings(site_dir=built_site, var_dir=var, secret_key=TEST_KEY))
    with TestClient(app, base_url="http://127.0.0.1:8000") as test_client:
        yield test_client
    shutil.rmtree(var, ignore_errors=True)


def field_error(page: str, calc_id: str, input_id: str) -> str:
    """The message shown next to one field (its error span), unescaped."""
    found = re.search(rf'id="{calc_id}-{input_id}-error">([^<]*)</span>', page)
    assert found, input_id
    return html.unescape(found.group(1))


def test_home_links_the_index_and_the_index_lists_every_calculator(
    client: httpx.Client, built_site: Path
) -> None:
    assert 'href="/calculators/"' in (built_site / "index.html").read_text(encoding="utf-8")
    response = client.get("/calculators/")
    assert response.status_code == 200
    for calc_id, calc in read_calculators(built_site).calculators.items():
        assert f'href="/calculators/{calc_id}/"' in response.text
        assert str(escape(calc.title)) in response.text
    assert client.get("/calculators", follow_redirects=False).status_code == 200


def test_the_empty_form_has_no_errors_and_is_never_cached(client: httpx.Client) -> None:
    response = client.get("/calculators/hscore/")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "Answer every question to see the result." in response.text
    assert 'aria-invalid="true"' not in response.text
    assert '<label for="hscore-ferritin">Ferritin</label>' in response.text
    assert "Allowed: 0 to 1000000 µg/L" in response.text


@pytest.mark.parametrize(
    "calc_id", ["hscore", "mas-sjia-2016", "isth-overt-dic", "astct-crs-grade"]
)
def test_every_worked_example_through_the_form(
    client: httpx.Client, built_site: Path, calc_id: str
) -> None:
    calc = read_calculators(built_site).calculators[calc_id]
    for example in calc.examples:
        response = client.get(
            f"/calculators/{calc_id}/?" + urlencode(example_answers(calc, example))
        )
        assert response.status_code == 200, (example.name, response.text[-2000:])
        band = calc.band(example.band)
        assert band is not None
        assert f'<strong class="calculator__score-value">{example.score}</strong>' in response.text
        assert str(escape(band.label)) in response.text
        assert str(escape(band.text)) in response.text
        # The answers are shown back in the form, so the reader can change one and recalculate.
        for key, value in example_answers(calc, example).items():
            spec = calc.input(key)
            if spec is not None and spec.type == "number":
                assert re.search(rf'name="{key}"[^>]*value="{re.escape(value)}"', response.text)
            elif spec is not None:
                assert f'name="{key}" value="{value}" checked' in response.text


def test_bad_answers_show_next_to_their_field_with_no_result(
    client: httpx.Client, built_site: Path
) -> None:
    calc = read_calculators(built_site).calculators["hscore"]
    answers = example_answers(calc, calc.examples[7])
    answers.update(ferritin="lots", triglycerides="300", marrow="", temperature_unit="°F")
    response = client.get("/calculators/hscore/?" + urlencode(answers))
    assert response.status_code == 422
    page = response.text
    assert field_error(page, "hscore", "ferritin") == "Enter a number in µg/L, like 0 or 1000000."
    assert field_error(page, "hscore", "triglycerides") == "Enter a value from 0 to 60 mmol/L."
    assert field_error(page, "hscore", "marrow") == "Choose an answer."
    assert field_error(page, "hscore", "temperature") == "Choose a unit from the list (°C)."
    assert field_error(page, "hscore", "organomegaly") == ""
    assert "calculator__score-value" not in page
    assert "still to answer: Haemophagocytosis on bone marrow aspirate" in page
    assert "check: Highest temperature, Ferritin, Triglycerides" in page


@pytest.mark.parametrize(
    "query",
    [
        "ferritin=%3Cscript%3Ealert(1)%3C/script%3E",
        "ferritin=1&ferritin=2&ferritin_unit=ng/mL&ferritin_unit=x",
        "ferritin=%FF%FE&temperature=%00",
        "ferritin=" + "9" * 5000,
        "organomegaly[]=both&__proto__=1&constructor=x",
        "ferritin=NaN&temperature=Infinity&triglycerides=1e400&fibrinogen=-0",
        "ast=0x1F&ast_unit=%C2%B5g/L",
    ],
)
def test_crafted_queries_get_messages_never_a_500(client: httpx.Client, query: str) -> None:
    response = client.get("/calculators/hscore/?" + query)
    assert response.status_code in (200, 422)
    assert "<script>alert" not in response.text
    assert "calculator__score-value" not in response.text


def test_unknown_calculator_is_a_404_page(client: httpx.Client) -> None:
    response = client.get("/calculators/nonsense/")
    assert response.status_code == 404
    assert "/calculators/" in response.text


def test_calculator_pages_never_spend_the_meter(client: httpx.Client) -> None:
    client.cookies.clear()
    for _ in range(12):
        response = client.get("/calculators/isth-overt-dic/?platelets=40")
        assert "meter=" not in response.headers.get("set-cookie", "")
    assert "meter" not in client.cookies


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "platelets",
                "platelets_unit",
                "fibrin_marker",
                "pt_prolongation",
                "fibrinogen",
                "fibrinogen_unit",
                "other",
            ]
        ),
        st.text(max_size=30),
        max_size=7,
    )
)
def test_any_answers_at_all_give_a_page(client: httpx.Client, answers: dict[str, str]) -> None:
    response = client.get("/calculators/isth-overt-dic/", params=answers)
    assert response.status_code in (200, 422)
    assert response.headers["cache-control"] == "private, no-store"
