"""The reference library: one entry per work, checked in one pass, rendered as the pages print it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, copy_project, mkdocs_build

from site_api.content.citations import Citation
from site_api.content.references import LibraryEntry, check_citations, load_library

LIB = "content/references.yml"

GOOD = """\
lee2019:
  authors: [Lee DW, Santomasso BD, Locke FL]
  et_al: true
  title: ASTCT consensus grading for cytokine release syndrome
  journal: Biol Blood Marrow Transplant
  year: 2019
  volume: 25
  issue: 4
  pages: 625–638
  doi: 10.1016/j.bbmt.2018.12.758
weinzierl2013:
  authors: [Weinzierl EP, Arber DA]
  title: The differential diagnosis and bone marrow evaluation of new-onset pancytopenia
  journal: Am J Clin Pathol
  year: 2013
  pmid: 23270895
"""


def errors(text: str) -> list[str]:
    _, found = load_library(LIB, text)
    return [str(e) for e in found]


def test_a_valid_library_loads_with_numbers_kept_as_written() -> None:
    library, found = load_library(LIB, GOOD)
    assert found == []
    assert library.lines == {"lee2019": 1, "weinzierl2013": 11}
    lee = library.entries["lee2019"]
    assert (lee.volume, lee.issue, lee.pmid) == ("25", "4", None)
    assert library.entries["weinzierl2013"].pmid == "23270895"


def test_every_library_mistake_is_reported_at_once_with_its_line() -> None:
    """A duplicate key, a DOI with a space, a PMID with letters, one work under two keys (by DOI,
    whatever its case, and by PMID), a misspelt field and a missing title: one pass, each once."""
    text = (
        GOOD
        + """\
spaced:
  authors: [Space S]
  title: A DOI with a space
  journal: J Test
  year: 2020
  doi: 10.1000/ab cd
lettered:
  authors: [Letter L]
  title: A PMID with letters
  journal: J Test
  year: 2020
  pmid: 12a45
again:
  authors: [Lee DW]
  title: The same work again
  journal: Biol Blood Marrow Transplant
  year: 2019
  doi: 10.1016/J.BBMT.2018.12.758
twice:
  authors: [Weinzierl EP]
  title: The same work by its PubMed id
  journal: Am J Clin Pathol
  year: 2013
  pmid: 23270895
sloppy:
  authors: [Sloppy S]
  journal: J Test
  year: 2020
  jounral: J Test
spaced:
  authors: [Someone A]
  title: A second entry under a taken key
  journal: J Test
  year: 2020
"""
    )
    assert errors(text) == [
        f"{LIB}:22: spaced.doi: not a DOI: write it as 10.NNNN/suffix with no spaces, e.g. "
        "10.1002/art.39332 (got '10.1000/ab cd')",
        f"{LIB}:28: lettered.pmid: a PubMed id is digits only, e.g. 28562511 (got '12a45')",
        f"{LIB}:29: again.doi: the same work as 'lee2019' (line 1): keep one entry and cite its key",
        f"{LIB}:35: twice.pmid: the same work as 'weinzierl2013' (line 11): keep one entry and "
        "cite its key",
        f"{LIB}:41: sloppy.title: missing required field",
        f"{LIB}:45: sloppy.jounral: unknown field (see the README's reference library for the "
        "fields)",
        f"{LIB}:46: spaced: duplicate reference key (also on line 17): each work is listed once; "
        "rename one key",
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("doi", "https://doi.org/10.1000/x", "doi: write the DOI alone, without its link prefix"),
        ("doi", "11.1000/x", "doi: not a DOI"),
        ("doi", "10.12/x", "doi: not a DOI"),
        ("pmid", "0123", "pmid: a PubMed id is digits only"),
        ("year", "in press", "year: Input should be a valid integer"),
        ("book", "A book", "journal: give the journal, or for a book chapter the book, not both"),
        ("url", "not a url", "url: Input should be a valid URL"),
    ],
)
def test_field_errors_name_the_entry_and_field(field: str, value: str, message: str) -> None:
    text = GOOD + f"  {field}: {value!r}\n"
    found = errors(text)
    assert (
        len(found) == 1
        and found[0].startswith(f"{LIB}:")
        and f"weinzierl2013.{message}" in (found[0])
    ), found


def test_a_library_that_is_not_a_mapping_or_not_yaml() -> None:
    assert errors("- a\n- b\n") == [f"{LIB}:1: references: must be a mapping of key to work"]
    found = errors("lee2019:\n  title: [unclosed\n")
    assert len(found) == 1 and found[0].startswith(f"{LIB}:3: references: invalid YAML"), found
    assert errors("") == []


def test_citations_of_unknown_or_removed_keys_are_errors_and_unused_entries_warnings() -> None:
    library, _ = load_library(LIB, GOOD)
    cited = [
        ("content/topics/a.md", [Citation(["lee2019"], 12), Citation(["lee2091", "gone"], 14)]),
        ("content/topics/b.md", [Citation(["lee2019"], 20)]),
    ]
    found, unused = check_citations(cited, library)
    assert [str(e) for e in found] == [
        "content/topics/a.md:14: citation: unknown reference key 'lee2091'; did you mean "
        "'@lee2019'?",
        "content/topics/a.md:14: citation: unknown reference key 'gone'; add it to "
        "content/references.yml",
    ]
    assert [str(w) for w in unused] == [
        f"{LIB}:11: weinzierl2013: cited by no topic (cite it, or remove it)"
    ]


def test_a_broken_entry_is_not_also_reported_as_unknown_where_cited() -> None:
    library, found = load_library(LIB, GOOD.replace("pmid: 23270895", "pmid: abc"))
    assert len(found) == 1
    unknown, _ = check_citations([("t.md", [Citation(["weinzierl2013"], 3)])], library)
    assert unknown == []


@pytest.mark.parametrize(
    ("entry", "text"),
    [
        (
            {"authors": ["Fajgenbaum DC", "June CH"], "title": "Cytokine storm"},
            "Fajgenbaum DC, June CH. Cytokine storm. J. 2020;383(23):2255–2273.",
        ),
        (
            {"authors": ["Fautrel B"], "et_al": True, "title": "Why?"},
            "Fautrel B, et al. Why? J. 2020;383(23):2255–2273.",
        ),
        (
            {"authors": ["Taylor FB Jr"], "title": "T", "issue": None, "pages": None},
            "Taylor FB Jr. T. J. 2020;383.",
        ),
        (
            {"authors": ["H M"], "title": "T", "volume": None, "issue": None, "pages": None},
            "H M. T. J. 2020.",
        ),
        (
            {"authors": ["K T"], "title": "T", "note": "In Japanese."},
            "K T. T. J. 2020;383(23):2255–2273. (In Japanese.)",
        ),
        (
            {
                "authors": ["E EM"],
                "title": "T",
                "journal": None,
                "book": "A Book",
                "date": "Mar 13",
                "volume": None,
                "issue": None,
                "pages": "151–82",
            },
            "E EM. T. In: A Book. 2020 Mar 13:151–82.",
        ),
    ],
)
def test_citation_text_in_the_house_style(entry: dict[str, object], text: str) -> None:
    base: dict[str, object] = {
        "journal": "J",
        "year": 2020,
        "volume": "383",
        "issue": "23",
        "pages": "2255–2273",
    }
    fields = {k: v for k, v in {**base, **entry}.items() if v is not None}
    assert LibraryEntry.model_validate(fields).citation() == text


def test_the_library_of_this_site_is_clean_and_every_entry_is_cited() -> None:
    text = (ROOT / "content" / "references.yml").read_text(encoding="utf-8")
    library, found = load_library(LIB, text)
    assert found == []
    cited: set[str] = set()
    for topic in (ROOT / "content" / "topics").glob("*.md"):
        body = topic.read_text(encoding="utf-8").split("---\n", 2)[2]
        for group in re.findall(r"\[(@[^\]]+)\]", body):
            cited.update(k.strip().lstrip("@") for k in group.split(";"))
    for calculator in (ROOT / "content" / "calculators").glob("*.yml"):  # they cite by key too
        cited.update(yaml.safe_load(calculator.read_text(encoding="utf-8"))["references"])
    assert set(library.entries) == cited


def references_of(html: str) -> list[str]:
    listed = re.search(r'<ol class="reference-list">(.*?)</ol>', html, re.S)
    assert listed is not None
    return re.findall(r"<li .*?</li>", listed.group(1), re.S)


def test_a_shared_entry_renders_alike_on_every_page_with_doi_and_pubmed_links(
    built_site: Path,
) -> None:
    kd = references_of((built_site / "topics/kawasaki-disease/index.html").read_text())
    mas = references_of(
        (built_site / "topics/macrophage-activation-syndrome/index.html").read_text()
    )

    def item(items: list[str], key: str) -> str:
        found = next(i for i in items if f'id="ref-{key}"' in i)
        return re.sub(r' value="\d+"| aria-label="[^"]*"', "", found)

    assert item(kd, "garciapavon2017") == item(mas, "garciapavon2017")
    shared = item(kd, "garciapavon2017")
    assert (
        "García-Pavón S, Yamazaki-Nakashimada MA, Báez M, Borjas-Aguilar KL, Murata C. " in shared
    )
    assert '<a class="ref-link" href="https://doi.org/10.1097/MPH.0000000000000872">' in shared
    assert '<a class="ref-link" href="https://pubmed.ncbi.nlm.nih.gov/28562511/">' in shared
    assert not (built_site / "references.yml").exists()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy_project(tmp_path)
    return tmp_path


def test_library_and_citation_errors_fail_one_build_together(project: Path) -> None:
    library = project / "content" / "references.yml"
    text = library.read_text(encoding="utf-8")
    text = text.replace('doi: "10.1309/AJCP50AEEYGREWUZ"', 'doi: "10.1309/AJCP50 AEEYGREWUZ"')
    text = text.replace('pmid: "28562511"', 'pmid: "2856251l"')
    library.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    doi_line = next(n for n, line in enumerate(lines, 1) if "AJCP50 AEE" in line)
    pmid_line = next(n for n, line in enumerate(lines, 1) if "2856251l" in line)
    topic = project / "content" / "topics" / "pancytopenia.md"
    topic.write_text(topic.read_text() + "\nRemoved since [@nigrovic2025].\n")
    last = len(topic.read_text().splitlines())
    result = mkdocs_build(project / "mkdocs.yml", project / "site")
    assert result.returncode != 0
    out = result.stderr
    assert f"content/references.yml:{doi_line}: weinzierl2013.doi: not a DOI" in out
    assert f"content/references.yml:{pmid_line}: garciapavon2017.pmid: a PubMed id is digits" in out
    assert (
        f"content/topics/pancytopenia.md:{last}: citation: unknown reference key 'nigrovic2025'"
        in out
    )
    assert "Traceback" not in out


def test_an_unused_entry_warns_and_the_build_succeeds(project: Path) -> None:
    library = project / "content" / "references.yml"
    text = library.read_text(encoding="utf-8")
    extra = "spare2020:\n  authors: [Spare S]\n  title: Not cited\n  journal: J\n  year: 2020\n"
    library.write_text(text + "\n" + extra, encoding="utf-8")
    line = len(text.splitlines()) + 2
    result = mkdocs_build(project / "mkdocs.yml", project / "site")
    assert result.returncode == 0, result.stderr
    assert (
        f"content/references.yml:{line}: spare2020: cited by no topic (cite it, or remove it) "
        "(warning)" in result.stderr
    )


def test_a_topic_still_listing_its_own_references_is_told_where_they_went(project: Path) -> None:
    topic = project / "content" / "topics" / "pancytopenia.md"
    text = topic.read_text()
    text = text.replace("changes:", 'references:\n  - key: x\n    citation: "X. Y."\nchanges:', 1)
    topic.write_text(text)
    result = mkdocs_build(project / "mkdocs.yml", project / "site")
    assert result.returncode != 0
    assert "pancytopenia.md:" in result.stderr
    assert "references: a topic no longer lists its references: move each entry to " in (
        result.stderr
    )
