"""The build's search index, opened read-only, and how a reader's words become an FTS5 query."""

from __future__ import annotations

import bisect
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from site_api.content.manifest import ManifestError
from site_api.content.search_index import (
    COLUMNS,
    SCHEMA_VERSION,
    WEIGHTS,
    search_index_path_for,
    words,
)
from site_api.serving.publishing import LiveSite

log = logging.getLogger("site_api.search")

#: Longer queries are cut here: nobody types more to find a topic, and it bounds the work.
MAX_QUERY_CHARS = 200
#: Words of a query that take part in the match; the rest are ignored.
MAX_WORDS = 8
#: A word this long or longer may carry one typo (`ferritn`, `kawasaky`).
TYPO_MIN_LETTERS = 5
#: Longer words get no typo allowance: no word we index is this long, and edits grow with length.
TYPO_MAX_LETTERS = 30
#: Typo candidates kept per word, so one odd word cannot make a huge query.
MAX_CANDIDATES = 8
MARK_START, MARK_END = "\x02", "\x03"
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_BODY = COLUMNS.index("body")
NAME_COLUMNS = "title aliases headings section"


class SearchIndexError(ManifestError):
    """The search index cannot be used: a message for the operator, not a traceback."""


@dataclass(frozen=True)
class Hit:
    """One page that matched, best first; `snippet` is filled only for readers entitled to it."""

    rowid: int
    page_id: str
    url: str
    access: str
    title: str
    summary: str
    section: str
    snippet: str | None = None


@dataclass(frozen=True)
class Plan:
    """A query made ready: its normalised words, the FTS5 expressions to try, exact matches."""

    normalised: str
    match: str  # every word must match (one of its alternatives)
    loose: str  # any word may match: tried when `match` finds nothing
    exact: tuple[str, ...]  # normalised names (titles, aliases) whose pages come first
    typing: bool = False  # the last word may be unfinished


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def edits1(word: str) -> set[str]:
    """Every string one deletion, substitution, insertion or transposition away from `word`."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    subs = {a + c + b[1:] for a, b in splits if b for c in _ALPHABET}
    inserts = {a + c + b for a, b in splits for c in _ALPHABET}
    return (deletes | swaps | subs | inserts) - {word}


def plan_query(
    query: str,
    vocabulary: frozenset[str] | set[str],
    synonyms: dict[str, list[str]],
    typing: bool = True,
) -> Plan | None:
    """Turn a reader's words into FTS5 expressions; None when there is nothing to search for.

    Only words reach FTS5, each quoted, so its syntax (`"`, `*`, `NEAR`, `AND`, `:`, brackets)
    is just text here. `typing`: the last word may be unfinished, so it also matches as a prefix.
    """
    text = query[:MAX_QUERY_CHARS]
    terms = words(text)[:MAX_WORDS]
    normalised = " ".join(terms)
    if len(normalised.replace(" ", "")) < 2:
        return None
    groups: list[str] = []
    open_end = typing and not text[-1:].isspace()
    for i, term in enumerate(terms):
        alternatives = [_quote(term)]
        if open_end and i == len(terms) - 1 and len(term) >= 2:
            alternatives.append(_quote(term) + "*")
        if TYPO_MIN_LETTERS <= len(term) <= TYPO_MAX_LETTERS and term not in vocabulary:
            near = sorted(edits1(term) & vocabulary)[:MAX_CANDIDATES]
            alternatives += [_quote(c) for c in near]
        alternatives += [_quote(s) for s in synonyms.get(term, [])]
        groups.append("(" + " OR ".join(alternatives) + ")")
    whole = [_quote(s) for s in synonyms.get(normalised, [])]
    match = " AND ".join(groups)
    loose = " OR ".join(groups)
    if whole:
        match = " OR ".join([f"({match})", *whole])
        loose = " OR ".join([f"({loose})", *whole])
    exact = (normalised, *synonyms.get(normalised, []))
    return Plan(normalised, match, loose, exact, open_end)


class SearchIndex:
    """The read-only index of one build; each thread gets its own connection to the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise SearchIndexError(f"{path} is missing: rebuild the site with 'make build'")
        self._uri = path.resolve().as_uri() + "?mode=ro&immutable=1"
        self._local = threading.local()
        try:
            db = self._db()
            version = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            if version is None or version[0] != SCHEMA_VERSION:
                raise SearchIndexError(
                    f"{path} is from another version of the site: rebuild with 'make build'"
                )
            self.vocabulary = frozenset(t for (t,) in db.execute("SELECT term FROM vocab"))
            self.synonyms: dict[str, list[str]] = {}
            for phrase, term in db.execute("SELECT phrase, term FROM synonym"):
                self.synonyms.setdefault(phrase, []).append(term)
            self.names: dict[str, list[int]] = {}
            for name, rowid in db.execute("SELECT name, rowid FROM name ORDER BY rowid"):
                self.names.setdefault(name, []).append(rowid)
            self._sorted_names = sorted(self.names)
            self.pages = db.execute("SELECT count(*) FROM page").fetchone()[0]
            db.execute("SELECT rowid FROM search WHERE search MATCH '\"x\"' LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            raise SearchIndexError(
                f"{path} is corrupt ({exc}): rebuild the site with 'make build'"
            ) from None

    @classmethod
    def for_site(cls, site_dir: Path) -> SearchIndex:
        """The index the build wrote beside `site_dir`."""
        return cls(search_index_path_for(site_dir))

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self._uri, uri=True, check_same_thread=False)
            self._local.db = db
        return db

    def names_starting(self, prefix: str, limit: int) -> list[int]:
        """Pages with a title or alias that begins with `prefix` (shortest names first)."""
        start = bisect.bisect_left(self._sorted_names, prefix)
        matched: list[str] = []
        for name in self._sorted_names[start:]:
            if not name.startswith(prefix) or len(matched) >= 4 * limit:
                break
            matched.append(name)
        rowids: list[int] = []
        for name in sorted(matched, key=len):
            rowids += [r for r in self.names[name] if r not in rowids]
        return rowids[:limit]

    def plan(self, query: str, typing: bool = True) -> Plan | None:
        """The FTS5 plan for a reader's query (see `plan_query`)."""
        return plan_query(query, self.vocabulary, self.synonyms, typing)

    def search(
        self,
        plan: Plan,
        limit: int,
        may_read: Callable[[Hit], bool] = lambda hit: False,
        quick: bool = False,
    ) -> list[Hit]:
        """Best pages first: exact title or alias, then BM25; snippets only where `may_read`.

        `quick` (suggestions while typing): when titles, aliases, headings and sections alone
        give `limit` pages, bodies are not ranked at all.
        """
        db = self._db()
        exact: list[int] = []
        for name in plan.exact:
            exact += [r for r in self.names.get(name, []) if r not in exact]
        if plan.typing and len(plan.normalised) >= 3:
            # While typing, a title or alias that begins with what was typed is what is meant.
            started = self.names_starting(plan.normalised, limit)
            exact += [r for r in started if r not in exact]
        weights = ", ".join(str(w) for w in WEIGHTS)
        sql = (
            "SELECT page.rowid, page_id, url, access, page.title, page.summary, page.section "
            f"FROM search JOIN page ON page.rowid = search.rowid WHERE search MATCH ? "
            f"ORDER BY bm25(search, {weights}) LIMIT ?"
        )
        rows = []
        if quick:
            # Suggestions show titles: pages that match in their names and headings are what is
            # meant, and ranking those few is far cheaper than every body that holds the words.
            rows = db.execute(sql, (f"{{{NAME_COLUMNS}}} : ({plan.match})", limit)).fetchall()
        if len(rows) < limit:
            rows = db.execute(sql, (plan.match, limit)).fetchall()
        if not rows and plan.loose != plan.match:
            rows = db.execute(sql, (plan.loose, limit)).fetchall()
        found = {row[0]: row for row in rows}
        missing = [r for r in exact if r not in found]
        if missing:
            marks = ", ".join("?" * len(missing))
            for row in db.execute(
                "SELECT rowid, page_id, url, access, title, summary, section FROM page "
                f"WHERE rowid IN ({marks})",
                missing,
            ):
                found[row[0]] = row
        order = exact + [row[0] for row in rows if row[0] not in exact]
        hits = [Hit(*found[r]) for r in order[:limit]]
        return [self._with_snippet(db, plan, hit) if may_read(hit) else hit for hit in hits]

    def _with_snippet(self, db: sqlite3.Connection, plan: Plan, hit: Hit) -> Hit:
        """The hit with the body's best passage, matched words between MARK_START and MARK_END."""
        snippet: str | None = None
        for expression in dict.fromkeys((plan.match, plan.loose)):
            row = db.execute(
                f"SELECT snippet(search, {_BODY}, ?, ?, '…', 24) FROM search "
                "WHERE search MATCH ? AND rowid = ?",
                (MARK_START, MARK_END, expression, hit.rowid),
            ).fetchone()
            if row and MARK_START in (row[0] or ""):
                snippet = row[0]
                break
        return Hit(**{**hit.__dict__, "snippet": snippet})

    def close(self) -> None:
        """Close this thread's connection (others close with their threads)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def page_ids(hits: Iterable[Hit]) -> list[str]:
    """The page ids of some hits, in order (for tests and reports)."""
    return [hit.page_id for hit in hits]


class LiveSearch:
    """The search index of the build a server answers with, opened again when a build is published."""

    def __init__(self, live: LiveSite) -> None:
        self.live = live
        self._lock = threading.Lock()
        self._path = live.current().path
        self._index = SearchIndex.for_site(self._path)  # a missing index fails start-up

    def current(self) -> SearchIndex:
        """The index of the live build; cheap unless the build just changed."""
        path = self.live.current().path
        if path == self._path:
            return self._index
        with self._lock:
            if path != self._path:
                try:
                    self._index = SearchIndex.for_site(path)
                    self._path = path
                except SearchIndexError as exc:  # keep answering from the last good index
                    log.error("search index of %s not loaded: %s", path, exc)
            return self._index
