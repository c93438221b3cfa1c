"""The build verifies calculators with everything else, embeds them in topics, and indexes them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import copy_project, mkdocs_build

from site_api.calculators.artifact import calculators_path_for, read_calculators
from site_api.content.search_index import search_index_path_for

TOPICS = {
    "haemophagocytic-lymphohistiocytosis": "hscore",
    "macrophage-activation-syndrome": "mas-sjia-2016",
    "disseminated-intravascular-coagulation": "isth-overt-dic",
    "cytokine-release-syndrome": "astct-crs-grade",
}


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A copy of the project's content and config that a test may break."""
    copy_project(tmp_path)
    return tmp_path


def test_each_topic_embeds_its_calculator_and_the_build_writes_them(built_site: Path) -> None:
    for topic, calc_id in TOPICS.items():
        html = (built_site / "topics" / topic / "index.html").read_text(encoding="utf-8")
        body = html[html.index('class="topic-body"') :]
        assert f'<div class="calculator" id="calculator-{calc_id}"' in body, topic
        assert f'action="/calculators/{calc_id}/#{calc_id}-result"' in body
        assert "<!-- calculator:" not in html
    dic = (
        built_site / "topics" / "disseminated-intravascular-coagulation" / "index.html"
    ).read_text()
    assert "Taylor FB Jr, Toh CH, Hoots WK, Wada H, Levi M. Towards definition" in dic
    assert 'href="https://doi.org/10.1055/s-0037-1616068"' in dic
    assert sorted(read_calculators(built_site).calculators) == sorted(TOPICS.values())
    assert not (built_site / "calculators").exists()  # the YAML files are not published


def test_calculators_are_free_rows_of_the_search_index(built_site: Path) -> None:
    db = sqlite3.connect(search_index_path_for(built_site))
    rows = dict(
        db.execute("SELECT url, access FROM page WHERE page_id LIKE 'calculator-%'").fetchall()
    )
    assert rows == {f"/calculators/{c}/": "free" for c in TOPICS.values()}
    # A topic's own text, not the form placed in it (indexed once, as the calculator's page).
    for topic in TOPICS:
        (body, headings) = db.execute(
            "SELECT body, headings FROM page WHERE page_id = ?", (topic,)
        ).fetchone()
        assert "Answer every question" not in body and "Allowed:" not in body, topic
        assert "Calculator:" not in headings, topic
    (body,) = db.execute(
        "SELECT body FROM page WHERE page_id = 'disseminated-intravascular-coagulation'"
    ).fetchone()
    assert "compatible with overt DIC" in body  # the topic's text around the form is kept


def test_a_broken_calculator_and_marker_fail_the_build_with_every_other_error(
    content_copy: Path,
) -> None:
    calc = content_copy / "content" / "calculators" / "isth-overt-dic.yml"
    text = calc.read_text(encoding="utf-8")
    broken = text.replace("    score: 8\n", "    score: 7\n").replace(
        "[taylor2001]", "[taylor2010]"
    )
    calc.write_text(broken, encoding="utf-8")
    other = content_copy / "content" / "calculators" / "hscore.yml"
    other.write_text(
        other.read_text(encoding="utf-8").replace("unit: ng/mL,", "unit: ng/ml,"), encoding="utf-8"
    )
    topic = content_copy / "content" / "topics" / "pancytopenia.md"
    lines = topic.read_text(encoding="utf-8").splitlines()
    lines += ["", "<!-- calculator: isth-dic -->"]
    topic.write_text("\n".join(lines) + "\n", encoding="utf-8")
    kawasaki = content_copy / "content" / "topics" / "kawasaki-disease.md"
    kawasaki.write_text(kawasaki.read_text().replace("reviewed:", "reviewed: soon\nold:", 1))
    result = mkdocs_build(content_copy / "mkdocs.yml", content_copy / "site")
    assert result.returncode != 0
    out = result.stderr
    example_line = text[: text.index('  - name: "Every finding at its worst: 8"')].count("\n") + 1
    assert (
        f"content/calculators/isth-overt-dic.yml:{example_line}: examples.3 "
        "('Every finding at its worst: 8'): evaluates to 8 (overt), the example says 7 (overt)"
    ) in out
    ref_line = text[: text.index("references: [taylor2001]")].count("\n") + 1
    assert (
        f"content/calculators/isth-overt-dic.yml:{ref_line}: citation: unknown reference key "
        "'taylor2010'; did you mean '@taylor2001'?"
    ) in out
    assert "content/calculators/hscore.yml:" in out and "other_units.0.unit: Input should be" in out
    assert (
        f"content/topics/pancytopenia.md:{len(lines)}: calculator: unknown calculator 'isth-dic'"
    ) in out
    assert "content/topics/kawasaki-disease.md:" in out and "reviewed:" in out
    assert "Traceback" not in out
    assert not calculators_path_for(content_copy / "site").exists()
