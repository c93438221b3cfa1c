"""One tokenizer, by construction: Python's words and FTS5's tokens agree for every code point.

The index is given `index_text()` (our normalised words joined by spaces) and every query quotes
words from the same `words()`; FTS5 (`ascii` tokenizer) must see each of those words as exactly
one token. Checked here over all of Unicode, not a sample. The same check run against FTS5's
`unicode61` tokenizer (what the index used before) finds the code points that turned a query's
words into a phrase (issue 21), which shows the check can fail.
"""

from __future__ import annotations

import sqlite3
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from site_api.content.search_index import (
    TOKENIZER,
    WORD_RE,
    IndexedPage,
    index_text,
    known_terms,
    provided_terms,
    words,
)

#: Every code point a Python str may hold and SQLite may store (surrogates cannot be UTF-8).
CODE_POINTS = [c for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]


def fts_tokens(tokenizer: str, documents: list[str]) -> list[list[str]]:
    """The tokens FTS5 makes of each document, in order."""
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize='{tokenizer}')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    db.executemany("INSERT INTO t (rowid, x) VALUES (?, ?)", enumerate(documents))
    tokens: list[list[str]] = [[] for _ in documents]
    for term, doc in db.execute("SELECT term, doc FROM v ORDER BY doc, offset"):
        tokens[doc].append(term)
    return tokens


def pieces() -> list[str]:
    """For each code point c, the text `x{c}y`: c between two letters, as in a word or a query."""
    return [f"x{chr(c)}y" for c in CODE_POINTS]


def test_every_code_point_is_split_alike_by_python_and_the_index() -> None:
    texts = pieces()
    expected = [words(t) for t in texts]
    # One document per 4,096 code points keeps the table small; a space separates pieces.
    chunks = [texts[i : i + 4096] for i in range(0, len(texts), 4096)]
    got = fts_tokens(TOKENIZER, [" ".join(index_text(t) for t in chunk) for chunk in chunks])
    mismatched = []
    for n, tokens in enumerate(got):
        flat = [w for ws in expected[n * 4096 : (n + 1) * 4096] for w in ws]
        if tokens != flat:
            mismatched.append(n)
    assert mismatched == []
    assert len(CODE_POINTS) == 0x110000 - 0x800


def test_every_word_is_one_token_and_holds_only_word_characters() -> None:
    """What the construction rests on: a normalised word is one run of word characters, and
    ASCII word characters are letters and digits, so FTS5's `ascii` tokenizer keeps it whole."""
    seen: set[str] = set()
    for text in pieces():
        for word in words(text):
            if word not in seen:
                seen.add(word)
                assert WORD_RE.fullmatch(word), ascii(word)
                assert all(c.isalnum() for c in word if ord(c) < 128), ascii(word)
    assert seen


def test_queries_for_each_word_match_it_and_nothing_joined() -> None:
    """The query side: a word quoted as our plans quote it matches the document holding that
    word alone, for every code point that is part of a word; a run of words never does."""
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize='{TOKENIZER}')")
    joined = [t for t in pieces() if len(words(t)) == 1]
    db.executemany(
        "INSERT INTO t (rowid, x) VALUES (?, ?)", enumerate(index_text(t) for t in joined)
    )
    for rowid, text in enumerate(joined[::97]):  # every 97th: each query is a full MATCH
        [word] = words(text)
        rows = [r for (r,) in db.execute("SELECT rowid FROM t WHERE t MATCH ?", (f'"{word}"',))]
        assert rows and all(words(joined[r]) == [word] for r in rows), ascii(text)
        assert rowid * 97 in rows


@pytest.fixture(scope="module")
def unicode61_joiners() -> list[int]:
    """Code points Python calls part of a word that FTS5's unicode61 splits a word at."""
    letters = [c for c in CODE_POINTS if WORD_RE.fullmatch(chr(c))]
    tokens = fts_tokens("unicode61 remove_diacritics 2", [f"x{chr(c)}y" for c in letters])
    return [c for c, t in zip(letters, tokens, strict=True) if len(t) != 1]


def test_the_check_finds_what_unicode61_got_wrong(unicode61_joiners: list[int]) -> None:
    """The same comparison with the old tokenizer fails, at U+19B0 among others."""
    assert 0x19B0 in unicode61_joiners
    texts = [f"x{chr(c)}y" for c in unicode61_joiners]
    assert fts_tokens("unicode61 remove_diacritics 2", texts) != [words(t) for t in texts]
    assert fts_tokens(TOKENIZER, [index_text(t) for t in texts]) == [words(t) for t in texts]


_texts = st.text(alphabet="abc Ab-ésS12·", max_size=30)


@given(
    st.builds(
        lambda pid, title, aliases, headings, summary, body: IndexedPage(
            page_id=pid,
            url="/x/",
            access="metered",
            title=title,
            summary=summary,
            aliases=aliases,
            headings=headings,
            body=body,
            section="",
        ),
        st.text(alphabet="ab-c", min_size=1, max_size=8),
        _texts,
        st.lists(_texts, max_size=2),
        st.lists(_texts, max_size=2),
        _texts,
        _texts,
    ),
    st.sets(st.text(alphabet="abc s", min_size=1, max_size=6)),
)
def test_a_pages_provided_terms_are_those_known_terms_finds(
    page: IndexedPage, wanted: set[str]
) -> None:
    """The build records which synonyms' terms each page provides without `known_terms`' map:
    the same terms, for any page and any wanted set."""
    assert provided_terms(page, wanted) == sorted(wanted.intersection(known_terms([page])))
