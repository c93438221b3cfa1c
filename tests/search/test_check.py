"""Publishing checks a build's search index as a server opening it would, without loading it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import copy_build

from site_api.content.search_index import search_index_path_for
from site_api.search.index import SearchIndex, SearchIndexError


def _sql(statement: str) -> Callable[[Path], None]:
    def damage(index: Path) -> None:
        with sqlite3.connect(index) as db:
            db.execute(statement)

    return damage


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda index: index.write_bytes(data)


DAMAGES: dict[str, Callable[[Path], None]] = {
    "missing": lambda index: index.unlink(),
    "not a database": _bytes(b"not a database"),
    "an empty database": _bytes(b"SQLite format 3\x00" + b"\x00" * 200),
    "another version": _sql("UPDATE meta SET value = 'old' WHERE key = 'version'"),
    "no word counts": _sql("DROP TABLE term"),
    "no names": _sql("DROP TABLE name"),
    "no synonyms": _sql("DROP TABLE synonym"),
    "no pages": _sql("DROP TABLE page"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_the_check_refuses_what_opening_the_index_refuses(
    built_site: Path, tmp_path: Path, damage: str
) -> None:
    site = tmp_path / "site"
    copy_build(built_site, site)
    SearchIndex.check(site)  # the build as written passes
    DAMAGES[damage](search_index_path_for(site))
    with pytest.raises(SearchIndexError) as opening:
        SearchIndex.for_site(site)
    with pytest.raises(SearchIndexError) as checking:
        SearchIndex.check(site)
    assert str(checking.value) == str(opening.value)


def test_the_check_accepts_what_opening_the_index_accepts_whatever_the_row_ids(
    built_site: Path, tmp_path: Path
) -> None:
    """Row ids come from page ids' digests: large enough that their SQL `sum` overflows (it did
    at 30,000 topics), which must not refuse a good index."""
    site = tmp_path / "site"
    copy_build(built_site, site)
    with sqlite3.connect(search_index_path_for(site)) as db:
        for n, (rowid,) in enumerate(db.execute("SELECT rowid FROM page LIMIT 3").fetchall()):
            big = 2**62 + n
            db.execute("UPDATE name SET rowid = ? WHERE rowid = ?", (big, rowid))
            db.execute("UPDATE page SET rowid = ? WHERE rowid = ?", (big, rowid))
    SearchIndex.for_site(site)
    SearchIndex.check(site)
