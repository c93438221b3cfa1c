"""Search finds calculators by name, before the topics that mention them; not by a word of text."""

from __future__ import annotations

from pathlib import Path

import pytest

from site_api.search.index import EVERY_BODY, FREE_BODIES_ONLY, Reader, SearchIndex


@pytest.fixture(scope="module")
def index(built_site: Path) -> SearchIndex:
    return SearchIndex.for_site(built_site)


@pytest.mark.parametrize("reader", [FREE_BODIES_ONLY, EVERY_BODY], ids=["anonymous", "signed-in"])
@pytest.mark.parametrize(
    ("query", "calculator", "topic"),
    [
        ("hscore", "hscore", "haemophagocytic-lymphohistiocytosis"),
        ("HScore", "hscore", "haemophagocytic-lymphohistiocytosis"),
        ("DIC score", "isth-overt-dic", "disseminated-intravascular-coagulation"),
        ("MAS criteria", "mas-sjia-2016", "macrophage-activation-syndrome"),
        ("CRS grade", "astct-crs-grade", "cytokine-release-syndrome"),
    ],
)
def test_a_calculator_named_comes_first_and_its_topic_next(
    index: SearchIndex, query: str, calculator: str, topic: str, reader: Reader
) -> None:
    hits, _ = index.find(query, 10, reader)
    found = [h.page_id for h in hits]
    assert found[:2] == [f"calculator-{calculator}", topic], found
    assert hits[0].url == f"/calculators/{calculator}/"


@pytest.mark.parametrize("query", ["ferritin", "tocilizumab", "D-dimer", "fibrinogen"])
def test_a_word_of_a_calculators_text_finds_topics_first(index: SearchIndex, query: str) -> None:
    hits, _ = index.find(query, 10)
    assert hits and not hits[0].page_id.startswith("calculator-"), [h.page_id for h in hits]
