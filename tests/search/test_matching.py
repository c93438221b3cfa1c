"""Clinical matching: exact names first, spellings both ways, one typo, prefixes, accents, synonyms."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import copy_project, mkdocs_build

from site_api.content.search_index import (
    IndexedPage,
    index_text,
    known_terms,
    load_synonyms,
    normalise_word,
    write_index,
)
from site_api.search.index import EVERY_BODY, SearchIndex, edits1, plan_query


@pytest.fixture(scope="module")
def index(built_site: Path) -> SearchIndex:
    """The index of the real content, as the build wrote it."""
    return SearchIndex.for_site(built_site)


def found(index: SearchIndex, query: str, limit: int = 10, quick: bool = False) -> list[str]:
    """What a signed-in reader finds (every body searched in full; a spelling correction when
    nothing is found, as the API does)."""
    return [hit.page_id for hit in index.find(query, limit, EVERY_BODY, quick=quick)[0]]


@pytest.mark.parametrize(
    ("query", "topic"),
    [
        ("MAS", "macrophage-activation-syndrome"),
        ("mas", "macrophage-activation-syndrome"),
        ("HLH", "haemophagocytic-lymphohistiocytosis"),
        ("DIC", "disseminated-intravascular-coagulation"),
        ("CRS", "cytokine-release-syndrome"),
        ("SLE", "systemic-lupus-erythematosus"),
        ("ESR", "esr-and-crp"),
        ("KD", "kawasaki-disease"),
        ("Kawasaki disease", "kawasaki-disease"),
        ("lupus", "systemic-lupus-erythematosus"),
        # Secondary HLH from infection or malignancy is the HLH topic's, not the MAS topic's.
        ("secondary HLH", "haemophagocytic-lymphohistiocytosis"),
        ("reactive haemophagocytic syndrome", "haemophagocytic-lymphohistiocytosis"),
    ],
)
def test_an_exact_title_alias_or_abbreviation_comes_first(
    index: SearchIndex, query: str, topic: str
) -> None:
    assert found(index, query)[0] == topic


@pytest.mark.parametrize(
    ("query", "topic"),
    [
        ("hemophagocytic", "haemophagocytic-lymphohistiocytosis"),
        ("haemophagocytic", "haemophagocytic-lymphohistiocytosis"),
        ("hyperferritinemia", "hyperferritinaemia"),
        ("hyperferritinaemia", "hyperferritinaemia"),
        ("pediatric", "kawasaki-disease"),
        ("leukemia", "pancytopenia"),
        ("anemia", "pancytopenia"),
    ],
)
def test_british_and_american_spellings_find_each_other(
    index: SearchIndex, query: str, topic: str
) -> None:
    assert topic in found(index, query)[:3]


@pytest.mark.parametrize(
    ("british", "american"),
    [
        ("haemorrhage", "hemorrhage"),
        ("anaemia", "anemia"),
        ("oedema", "edema"),
        ("paediatric", "pediatric"),
        ("leukaemia", "leukemia"),
        ("oesophageal", "esophageal"),
        ("foetal", "fetal"),
        ("hospitalise", "hospitalize"),
        ("hospitalisation", "hospitalization"),
        ("septicaemia", "septicemia"),
        ("Sjögren", "sjogren"),
        ("STILL", "still"),
        ("diarrhoea", "diarrhea"),
        ("coeliac", "celiac"),
        ("tumour", "tumor"),
        ("anaesthesia", "anesthesia"),
    ],
)
def test_spellings_meet_in_one_form(british: str, american: str) -> None:
    assert normalise_word(british) == normalise_word(american)


def test_unrelated_words_stay_apart() -> None:
    for a, b in [("fetal", "fatal"), ("does", "des"), ("size", "sise"), ("poem", "pem")]:
        assert normalise_word(a) != normalise_word(b)


def test_the_index_is_given_normalised_words_joined_by_spaces() -> None:
    text = "Sjögren's ½ oedema – haemophagocytic, gastro-oesophageal"
    assert index_text(text) == "sjogren s 12 edema hemophagocytic gastro esophageal"


@pytest.mark.parametrize(
    ("query", "topic"),
    [
        ("ferritn", "hyperferritinaemia"),
        ("kawasaky", "kawasaki-disease"),
        ("etoposid", "haemophagocytic-lymphohistiocytosis"),
        ("etopside", "haemophagocytic-lymphohistiocytosis"),
        ("lymphohistiocytosys", "haemophagocytic-lymphohistiocytosis"),
    ],
)
def test_one_typo_is_forgiven_in_words_of_five_letters_or_more(
    index: SearchIndex, query: str, topic: str
) -> None:
    assert topic in found(index, query)[:3]


def test_short_words_get_no_typo_allowance() -> None:
    plan = plan_query("mss", frozenset({"mas", "mss"}), {}, typing=False)
    assert plan is not None and '"mas"' not in plan.match
    plan = plan_query("kawasaky", frozenset({"kawasaki"}), {}, typing=False)
    assert plan is not None and '"kawasaki"' in plan.match


def test_edits1_covers_each_kind_of_typo() -> None:
    near = edits1("ferritin")
    assert {"ferritn", "ferrtiin", "ferritim", "fferritin"} <= near
    assert "ferritin" not in near and "feritn" not in near


@pytest.mark.parametrize(
    ("query", "topic"),
    [
        ("hyperferr", "hyperferritinaemia"),
        ("hyperfer", "hyperferritinaemia"),
        ("kawas", "kawasaki-disease"),
        ("macrophage activ", "macrophage-activation-syndrome"),
        ("dissem", "disseminated-intravascular-coagulation"),
    ],
)
@pytest.mark.parametrize("quick", [False, True], ids=["full", "suggest"])
def test_prefixes_work_while_typing(
    index: SearchIndex, query: str, topic: str, quick: bool
) -> None:
    assert found(index, query, quick=quick)[0] == topic


def test_suggestions_fall_back_to_bodies(index: SearchIndex) -> None:
    """A word only in a body still suggests its topic; names alone would find nothing."""
    assert found(index, "etoposide", quick=True) == found(index, "etoposide")
    assert found(index, "etoposide", quick=True)[0] == "haemophagocytic-lymphohistiocytosis"


@pytest.mark.parametrize(
    ("query", "topic"),
    [
        ("STILL'S", "stills-disease"),
        ("still's disease", "stills-disease"),
        ("Still’s DISEASE", "stills-disease"),
        ("HEMOPHAGOCYTIC LYMPHOHISTIOCYTOSIS", "haemophagocytic-lymphohistiocytosis"),
    ],
)
def test_case_and_punctuation_are_ignored(index: SearchIndex, query: str, topic: str) -> None:
    assert found(index, query)[0] == topic


@pytest.mark.parametrize(
    ("query", "topics"),
    [
        (
            "cytokine storm",
            {
                "cytokine-release-syndrome",
                "macrophage-activation-syndrome",
                "haemophagocytic-lymphohistiocytosis",
            },
        ),
        ("Kineret", {"stills-disease"}),
        ("kineret", {"stills-disease"}),
        ("sed rate", {"esr-and-crp"}),
    ],
)
def test_editors_synonyms(index: SearchIndex, query: str, topics: set[str]) -> None:
    assert topics <= set(found(index, query)[: len(topics) + 1])


@pytest.mark.parametrize(
    "query", ["etoposide", "anakinra", "HScore", "dexamethasone", "canakinumab"]
)
def test_a_word_of_any_body_finds_its_topic(index: SearchIndex, query: str) -> None:
    assert found(index, query), query


def test_accents_are_ignored_both_ways(tmp_path: Path) -> None:
    pages = [
        IndexedPage("sjogren", "/topics/sjogren/", "metered", "Sjögren's syndrome", "Dry eyes."),
        IndexedPage("fetal", "/topics/fetal/", "metered", "Foetal growth", "Growth."),
        IndexedPage("gord", "/topics/gord/", "metered", "GORD", "Reflux.", body="Oesophagitis."),
    ]
    write_index(tmp_path / "index.sqlite", pages, {})
    small = SearchIndex(tmp_path / "index.sqlite")
    assert found(small, "Sjogren") == ["sjogren"]
    assert found(small, "SJÖGREN") == ["sjogren"]
    assert found(small, "fetal") == ["fetal"]
    assert found(small, "esophagitis") == ["gord"]
    hit = small.search(small.plan("esophagitis"), 1, EVERY_BODY)[0]
    # The snippet shows the editor's own spelling, the matched word marked.
    assert hit.snippet == "\x02Oesophagitis\x03."


def test_fts_syntax_is_only_text(index: SearchIndex) -> None:
    for query in ['"', "*", "-", ":", "NEAR", "AND", "(", ")", 'ferritin" OR "x', "a:b", "NOT x"]:
        plan = index.plan(query)
        if plan is not None:
            index.search(plan, 5)  # raises on an FTS5 syntax error


SYNONYMS_OK = "cytokine storm: [CRS, MAS]\nKineret: anakinra\n"


def test_synonyms_load_and_unknown_terms_name_their_line() -> None:
    pages = [
        IndexedPage("crs", "/c/", "metered", "Cytokine release syndrome", "S.", aliases=["CRS"]),
        IndexedPage("mas", "/m/", "metered", "MAS", "S.", body="Give anakinra."),
    ]
    known = known_terms(pages)
    assert load_synonyms("s.yml", SYNONYMS_OK, known) == {
        "cytokine storm": ["crs", "mas"],
        "kineret": ["anakinra"],
    }
    bad = "cytokine storm: [CRS, nope-topic]\nKineret:\n[x]: y\nKineret: anakinra\n"
    errors = [str(e) for e in load_synonyms("s.yml", bad, known)]  # type: ignore[union-attr]
    assert errors == [
        "s.yml:1: 'nope-topic' is no page id, title or alias and occurs in no page",
        "s.yml:2: 'Kineret': give a term or a list",
        "s.yml:3: a synonym must be a word or phrase",
    ]
    assert [str(e) for e in load_synonyms("s.yml", "a: [b", known)][0].startswith(  # type: ignore[union-attr]
        "s.yml:1: not valid YAML"
    )


def test_a_bad_synonym_fails_the_build_with_path_and_line(tmp_path: Path) -> None:
    copy_project(tmp_path)
    synonyms = tmp_path / "content" / "synonyms.yml"
    lines = synonyms.read_text().splitlines()
    lines.append("Tocilizumab brand: [tocilizumab, no-such-drug-xyz]")
    synonyms.write_text("\n".join(lines) + "\n")
    result = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert (
        f"content/synonyms.yml:{len(lines)}: 'no-such-drug-xyz' is no page id, title or alias "
        "and occurs in no page" in result.stderr
    )
    assert "Traceback" not in result.stderr
