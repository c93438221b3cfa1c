"""Search finds what clinicians type: the shipped query file's figures, ranking rules, and
"did you mean" (never a word only a body the reader may not read holds)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import ROOT

from site_api.content.search_index import IndexedPage, write_index
from site_api.search.index import EVERY_BODY, FREE_BODIES_ONLY, SearchIndex, edit_distance
from site_api.search.quality import read_pairs

QUERIES = ROOT / "content" / "search-queries.tsv"
SITE_API = str(Path(sys.executable).with_name("site-api"))


def report(built_site: Path, queries: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SITE_SITE_DIR": str(built_site)}
    return subprocess.run(
        [SITE_API, "search-report", "--queries", str(queries)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_the_shipped_queries_find_their_topics(built_site: Path) -> None:
    assert len(read_pairs(QUERIES)) >= 100
    result = report(built_site, QUERIES)
    assert result.returncode == 0, result.stderr
    print(result.stdout)
    rows = {}
    for line in result.stdout.splitlines():
        reader, *figures = line.split("\t")
        if reader in {"signed-in", "anonymous"}:
            rows[reader] = [float(f.rstrip("%")) for f in figures[:2]] + [int(figures[2])]
    assert set(rows) == {"signed-in", "anonymous"}
    for reader, (rank1, top3, missing) in rows.items():
        assert rank1 >= 90.0, (reader, rank1)
        assert top3 >= 97.0, (reader, top3)
        assert missing <= 1, (reader, missing)


def test_a_bad_query_file_names_its_lines(built_site: Path, tmp_path: Path) -> None:
    bad = tmp_path / "q.tsv"
    bad.write_text("# fine\nMAS\tmacrophage-activation-syndrome\nno tab here\nHLH\tno-such-topic\n")
    result = report(built_site, bad)
    assert result.returncode == 1
    assert f"{bad}:3: expected 'query<TAB>page id'" in result.stderr
    assert f"{bad}:4: no page 'no-such-topic'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def index(built_site: Path) -> SearchIndex:
    return SearchIndex.for_site(built_site)


def ids(index: SearchIndex, query: str, reader=FREE_BODIES_ONLY, quick=False) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.page_id for h in index.find(query, 10, reader, quick)[0]]


@pytest.mark.parametrize("reader", [FREE_BODIES_ONLY, EVERY_BODY], ids=["anonymous", "signed-in"])
@pytest.mark.parametrize("quick", [False, True], ids=["results", "suggestions"])
def test_topics_outrank_pages_that_only_browse(index: SearchIndex, reader, quick) -> None:  # type: ignore[no-untyped-def]
    for query in ("kawa", "ferritin", "what is the treatment for macrophage activation syndrome"):
        found = ids(index, query, reader, quick)
        topics = [
            i
            for i in found
            if i in index.page_ids()
            and not i.startswith(("a-z", "section"))
            and i not in {"home", "about", "terms", "whats-new"}
        ]
        assert found[: len(topics)] == topics, (query, found)


@pytest.mark.parametrize(("query", "page"), [("sections", "sections"), ("about", "about")])
def test_a_browsing_page_comes_first_when_named(index: SearchIndex, query: str, page: str) -> None:
    assert ids(index, query)[0] == page


def test_questions_drop_their_question_words(index: SearchIndex) -> None:
    question = "what is the treatment for macrophage activation syndrome"
    assert index.plan(question).terms == ("treatment", "macrophage", "activation", "syndrome")  # type: ignore[union-attr]
    assert ids(index, question)[0] == "macrophage-activation-syndrome"
    assert index.plan("what").terms == ("what",)  # type: ignore[union-attr]


def test_a_name_outranks_the_same_word_in_another_topics_body(index: SearchIndex) -> None:
    # "tocilizumab" is in the ESR and CRP body, and a heading-level subject of CRS's treatment;
    # "HScore" is in three bodies; its synonym names the HLH topic's alias.
    # The HScore calculator names it, so comes first; the topic naming it in an alias next.
    assert ids(index, "HScore")[:2] == ["calculator-hscore", "haemophagocytic-lymphohistiocytosis"]
    assert ids(index, "Kineret")[0:3].count("stills-disease") == 1


def test_did_you_mean_corrects_two_edits(index: SearchIndex, client: httpx.Client) -> None:
    hits, corrected = index.find("pancytopnea", 5)
    assert corrected == "pancytopenia" and hits[0].page_id == "pancytopenia"
    answer = client.get("/api/search", params={"q": "pancytopnea"}).json()
    assert answer["did_you_mean"] == "pancytopenia"
    assert answer["results"][0]["url"] == "/topics/pancytopenia/"
    page = client.get("/search", params={"q": "pancytopnea"}).text
    assert "No topics found for “pancytopnea”. Showing" in page
    assert '<a href="/search?q=pancytopenia">pancytopenia</a>' in page
    assert client.get("/api/search", params={"q": "ferritin"}).json()["did_you_mean"] is None


def test_did_you_mean_never_reveals_a_word_only_a_gated_body_holds(tmp_path: Path) -> None:
    pages = [
        IndexedPage("g", "/topics/g/", "metered", "Gated topic", "A summary.", body="zymogenase"),
        IndexedPage("f", "/topics/f/", "metered", "Open words", "Mentions quinolones."),
    ]
    write_index(tmp_path / "i.sqlite", pages, {})
    small = SearchIndex(tmp_path / "i.sqlite")
    assert small.find("zymogenesa", 5) == ([], None)  # anonymous: the word is not theirs
    hits, corrected = small.find("zymogenesa", 5, EVERY_BODY)
    assert corrected == "zymogenase" and [h.page_id for h in hits] == ["g"]
    assert small.find("qunolnoes", 5)[1] == "quinolone"  # public words: corrected for anyone


def test_edit_distance_counts_each_kind_of_edit() -> None:
    assert edit_distance("pancytopnea", "pancytopenia", 2) == 2
    assert edit_distance("ferritn", "ferritin", 2) == 1
    assert edit_distance("ferirtin", "ferritin", 2) == 1  # two neighbours swapped
    assert edit_distance("abcdef", "uvwxyz", 2) == 3  # anything past the limit is limit + 1
