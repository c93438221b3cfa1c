"""Search at catalogue scale: at most RANK_CAP matches of a query are ranked by BM25.

A word in most of 30,000 bodies cannot be ranked over every body in time, so ranking reads the
first RANK_CAP matches in row-id order (a hash of the page id, the same in every build) and,
beyond the cap, ranks the pages matching in titles, aliases, headings, summaries and sections
(the small `head` table) first. These tests lower the cap to a handful of pages so that a small
catalogue takes the capped path.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

import site_api.content.search_index as search_index
import site_api.search.index as search
from site_api.content.search_index import IndexedPage, page_rowid, patch_index, write_index
from site_api.search.index import (
    EVERY_BODY,
    FREE_BODIES_ONLY,
    MAX_EXPANSION,
    Reader,
    SearchIndex,
)
from site_api.serving.meter import page_token

CAP = 4
BODY = "Ferritin was raised in the serum with fever and a rash for days."


@pytest.fixture(autouse=True)
def small_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "RANK_CAP", CAP)
    monkeypatch.setattr(search, "SUGGEST_CAP", CAP)


def common(n: int) -> IndexedPage:
    """One of many topics whose body holds the common words."""
    return IndexedPage(
        f"c{n:02d}", f"/topics/c{n:02d}/", "metered", f"Topic {n}", "Plain.", body=BODY
    )


def late_id(pages: list[IndexedPage]) -> str:
    """A page id whose row comes after the first CAP rows of `pages`: outside the sample."""
    last_sampled = sorted(page_rowid(p.page_id) for p in pages)[CAP - 1]
    return next(
        pid for pid in (f"titled-{n}" for n in itertools.count()) if page_rowid(pid) > last_sampled
    )


def ids(index: SearchIndex, query: str, reader: Reader, quick: bool = False) -> list[str]:
    plan = index.plan(query)
    assert plan is not None
    return [hit.page_id for hit in index.search(plan, 10, reader, quick)]


def test_a_title_match_outside_the_sample_still_comes_first(tmp_path: Path) -> None:
    pages = [common(n) for n in range(30)]
    titled = IndexedPage(
        late_id(pages), "/topics/t/", "metered", "Raised ferritin levels", "S.", body=BODY
    )
    write_index(tmp_path / "i.sqlite", [*pages, titled], {})
    index = SearchIndex(tmp_path / "i.sqlite")
    for reader in (EVERY_BODY, FREE_BODIES_ONLY):
        for quick in (False, True):
            for query in ("ferritin", "raised ferritin", "ferritin rai"):
                found = ids(index, query, reader, quick)
                assert found[0] == titled.page_id, (reader, quick, query)
                # The sample follows; a prefix (`rai`) never reaches a gated body.
                gated_prefix = query.endswith("rai") and not reader.reads_all
                assert len(found) == (1 if gated_prefix else CAP + 1)


def test_an_uncapped_query_ranks_every_match(tmp_path: Path) -> None:
    pages = [common(n) for n in range(CAP - 1)]
    write_index(tmp_path / "i.sqlite", pages, {})
    index = SearchIndex(tmp_path / "i.sqlite")
    assert sorted(ids(index, "ferritin", EVERY_BODY)) == [p.page_id for p in pages]


def test_a_patched_index_answers_as_a_full_build_beyond_the_cap(tmp_path: Path) -> None:
    """The sample is the same pages in both: row ids are a hash of the page id, not an order."""
    pages = [common(n) for n in range(24)]
    write_index(tmp_path / "full.sqlite", pages, {})
    write_index(tmp_path / "half.sqlite", pages[::2], {})
    patch_index(
        tmp_path / "patched.sqlite",
        tmp_path / "half.sqlite",
        pages[1::2],
        {p.page_id for p in pages[::2]},
    )
    full, patched = SearchIndex(tmp_path / "full.sqlite"), SearchIndex(tmp_path / "patched.sqlite")
    for query in ("ferritin", "raised ferritin", "fev", "rash days", "topic"):
        for reader in (EVERY_BODY, FREE_BODIES_ONLY):
            assert ids(full, query, reader) == ids(patched, query, reader), query


def test_a_gated_body_beyond_the_cap_still_matches_only_as_a_bag_of_words(tmp_path: Path) -> None:
    pages = [common(n) for n in range(20)]
    write_index(tmp_path / "i.sqlite", pages, {})
    index = SearchIndex(tmp_path / "i.sqlite")
    baseline = ids(index, "ferritin raised serum", FREE_BODIES_ONLY)
    assert len(baseline) == CAP
    for words in itertools.permutations(["ferritin", "raised", "serum"]):
        assert ids(index, "-".join(words), FREE_BODIES_ONLY) == baseline
    # No prefix reaches a gated body: `ferr` is a word no body holds, as `qqqq` is.
    assert ids(index, "serum ferr", FREE_BODIES_ONLY) == ids(index, "serum qqqq", FREE_BODIES_ONLY)
    assert ids(index, "serum ferr", EVERY_BODY) == ids(index, "serum ferritin", EVERY_BODY)


def test_a_long_prefix_is_searched_as_the_words_it_begins(tmp_path: Path) -> None:
    longer = [f"hyperferritinzz{chr(97 + n)}" for n in range(MAX_EXPANSION + 1)]
    pages = [
        IndexedPage("a", "/topics/a/", "metered", "Hyperferritinaemia", "S.", body="x"),
        IndexedPage("b", "/topics/b/", "metered", "B", "S.", body="hyperferritinaemic"),
        IndexedPage("c", "/topics/c/", "metered", "C", "S.", body=" ".join(longer)),
    ]
    write_index(tmp_path / "i.sqlite", pages, {})
    index = SearchIndex(tmp_path / "i.sqlite")
    plan = index.plan("hyperferritinaem")
    assert plan is not None
    assert '"hyperferritinemia"' in plan.match and '"hyperferritinemic"' in plan.match
    assert "*" not in plan.match
    # Only title words for what anyone may see: a body's word is not a public alternative.
    assert '"hyperferritinemic"' not in plan.public_match
    assert sorted(ids(index, "hyperferritinaem", EVERY_BODY)) == ["a", "b"]
    # Too many words begin with it: FTS5's own prefix query, the same answer.
    plan = index.plan("hyperferritin")
    assert plan is not None and '"hyperferritin"*' in plan.match
    assert sorted(ids(index, "hyperferritin", EVERY_BODY)) == ["a", "b", "c"]


def test_suggestions_carry_no_snippet(tmp_path: Path) -> None:
    write_index(tmp_path / "i.sqlite", [common(1)], {})
    index = SearchIndex(tmp_path / "i.sqlite")
    plan = index.plan("ferritin")
    assert plan is not None
    assert index.search(plan, 10, EVERY_BODY)[0].snippet is not None
    assert index.search(plan, 10, EVERY_BODY, quick=True)[0].snippet is None


def test_row_ids_are_the_page_ids_hash_and_a_clash_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert page_rowid("c01") == page_rowid("c01") != page_rowid("c02")
    assert 0 < page_rowid("c01") <= 2**search_index.ROWID_BITS
    monkeypatch.setattr(search_index, "page_rowid", lambda page_id: 7)
    with pytest.raises(ValueError, match="'c01' and 'c02' share a search-index row id"):
        write_index(tmp_path / "i.sqlite", [common(1), common(2)], {})


def test_a_counted_page_is_searched_in_full_and_a_stale_one_is_ignored(tmp_path: Path) -> None:
    """Metered pages already counted are ranked one by one; a cookie may name a page gone."""
    write_index(tmp_path / "i.sqlite", [common(1), common(2)], {})
    index = SearchIndex(tmp_path / "i.sqlite")
    reader = Reader(tokens=frozenset({page_token("c01"), page_token("gone")}))
    plan = index.plan("serum fev")  # a prefix: only a body the reader may read answers it
    assert plan is not None
    hits = index.search(plan, 10, reader)
    assert [h.page_id for h in hits] == ["c01"] and hits[0].snippet is not None
