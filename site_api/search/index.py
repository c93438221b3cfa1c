"""The build's search index, opened read-only, and how a reader's words become an FTS5 query."""

from __future__ import annotations

import bisect
import itertools
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from site_api.content.manifest import ManifestError
from site_api.content.search_index import (
    CHECKPOINT_WORDS,
    COLUMNS,
    HEAD_WEIGHTS,
    SCHEMA_VERSION,
    WEIGHTS,
    WORD_RE,
    normalise_word,
    read_passages,
    search_index_path_for,
    words,
)
from site_api.serving.meter import page_token
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
NAME_COLUMNS = "title aliases headings section"
#: What anyone may read of every page (the gate shows the summary).
PUBLIC_COLUMNS = "title aliases headings summary section"
#: WEIGHTS with the body's weight 0: a body the reader may not read never moves a rank.
BODY_BLIND = tuple(0.0 if c == "body" else w for c, w in zip(COLUMNS, WEIGHTS, strict=True))
#: A query that begins with one of these is a question in plain words: its QUESTION_WORDS go.
QUESTION_STARTS = frozenset(words("what which who when where why how is are does do can should"))
QUESTION_WORDS = QUESTION_STARTS | frozenset(
    words("the a an of for to in on with be was were i you we my our it its there this that")
)
#: Results ranked in Python after FTS5's BM25, as a multiple of the page asked for.
RERANK_DEPTH = 3
#: At most this many matches of one FTS5 expression are ranked by BM25, read in row-id order (a
#: fixed hash of the page id: the same in every build). A query matching more pages than this
#: (a word in most bodies, where BM25's own weight for it is nearly nothing) ranks the pages it
#: matches outside bodies (the small `head` table) before that sample of body matches: ranking
#: every one of 30,000 bodies holding a common word cost 50-190 ms a query.
RANK_CAP = 500
#: The same for suggestions that fall back to bodies (no title, alias or heading matched):
#: a few pages holding the word are what the box can show.
SUGGEST_CAP = 200
#: Memory-map the index (shared by every worker through the page cache) up to this many bytes.
MMAP_BYTES = 1 << 32
#: "Did you mean": words this long or longer may be corrected by up to this many edits.
SPELL_MIN_LETTERS = 4
SPELL_EDITS = 2
#: A snippet's length in words, and how many words it shows before the first marked one.
SNIPPET_WORDS = 24
SNIPPET_LEAD = 4


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
class Reader:
    """Whose bodies a search may match in full and quote: everything (`reads_all`, a signed-in
    reader), or free pages and the metered pages whose tokens (`serving.meter.page_token`) the
    reader may read now without spending (already counted in their meter)."""

    reads_all: bool = False
    tokens: frozenset[str] = frozenset()

    def may_read(self, hit: Hit) -> bool:
        """Whether this reader may read `hit`'s body now."""
        return self.reads_all or hit.access == "free" or page_token(hit.page_id) in self.tokens


#: A signed-in reader: every body is theirs to search and quote.
EVERY_BODY = Reader(reads_all=True)
#: A visitor who may read no metered body now.
FREE_BODIES_ONLY = Reader()


@dataclass(frozen=True)
class Plan:
    """A query made ready: its normalised words and the FTS5 expressions to try.

    Three kinds of expression, because what a body may be matched with depends on who asks:
    - `match` / `loose`: the full query (a prefix for the word being typed, one-typo
      alternatives, synonyms as phrases), for every column of pages the reader may read;
    - `public_match` / `public_loose`: the same, with typo alternatives drawn only from words of
      titles, aliases, headings, summaries and sections, for those columns of any page;
    - `bag` / `bag_loose`: whole words only (each word, or one of its synonyms' words), for
      bodies the reader may not read: no phrase, adjacency, prefix or column syntax reaches them,
      so a result list tells only whether a body holds every word of a set.
    `loose` variants (any word, not every word) are tried when the strict ones find nothing.
    """

    normalised: str
    match: str
    loose: str
    public_match: str
    public_loose: str
    bag: str
    bag_loose: str
    exact: tuple[str, ...]  # normalised names (titles, aliases) whose pages come first
    typing: bool = False  # the last word may be unfinished
    terms: tuple[str, ...] = ()  # the words searched for (a question's question words dropped)
    groups: tuple[frozenset[str], ...] = ()  # per term: the words that stand for it
    marks: frozenset[str] = frozenset()  # words a snippet marks
    prefix: str = ""  # the unfinished last word, marked where a word begins with it


def _quote(term: str) -> str:
    """One phrase: normalised words joined by spaces (words never hold a quote, but escape)."""
    return '"' + term.replace('"', '""') + '"'


def _bag_of(term: str) -> str:
    """A synonym term as whole words, in any order and place."""
    parts = [_quote(w) for w in term.split()]
    return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"


def _join(groups: list[list[str]], operator: str, whole: list[str]) -> str:
    expression = f" {operator} ".join("(" + " OR ".join(g) + ")" for g in groups)
    return " OR ".join([f"({expression})", *whole]) if whole else expression


#: (prefix, public) -> the indexed words (of titles, aliases, headings, summaries and sections
#: when `public`) that begin with `prefix` and are longer, or None when there are too many.
Starting = Callable[[str, bool], list[str] | None]
#: FTS5's prefix indexes cover prefixes of up to this many letters (see search_index.py).
PREFIX_INDEXED = 4
#: A longer prefix is searched as the words it begins, up to this many.
MAX_EXPANSION = 16


def _prefix_of(term: str, starting: Starting | None, public: bool) -> list[str]:
    """The prefix alternatives of a word being typed. FTS5 answers `"term"*` beyond its prefix
    indexes by merging the doclists of every word so beginning, all of them before the first row
    (50 ms for a word in 30,000 bodies); the same words as phrases are read lazily."""
    if len(term) <= PREFIX_INDEXED or starting is None:
        return [_quote(term) + "*"]
    longer = starting(term, public)
    return [_quote(term) + "*"] if longer is None else [_quote(w) for w in longer]


def edits1(word: str) -> set[str]:
    """Every string one deletion, substitution, insertion or transposition away from `word`."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    subs = {a + c + b[1:] for a, b in splits if b for c in _ALPHABET}
    inserts = {a + c + b for a, b in splits for c in _ALPHABET}
    return (deletes | swaps | subs | inserts) - {word}


def _typos(term: str, vocabulary: frozenset[str] | set[str]) -> list[str]:
    if not TYPO_MIN_LETTERS <= len(term) <= TYPO_MAX_LETTERS or term in vocabulary:
        return []
    return sorted(edits1(term) & vocabulary)[:MAX_CANDIDATES]


def plan_query(
    query: str,
    vocabulary: frozenset[str] | set[str],
    synonyms: dict[str, list[str]],
    typing: bool = True,
    public_vocabulary: frozenset[str] | set[str] | None = None,
    starting: Starting | None = None,
) -> Plan | None:
    """Turn a reader's words into FTS5 expressions; None when there is nothing to search for.

    Only our words reach FTS5, each quoted, so its syntax (`"`, `*`, `NEAR`, `AND`, `:`,
    brackets) is just text here. `typing`: the last word may be unfinished, so it also matches
    as a prefix (never in `bag`). `public_vocabulary` (words outside bodies) gives the typo
    alternatives of `public_match`; by default the whole vocabulary. `starting`, when given,
    names the words a long prefix stands for (see `_prefix_of`).
    """
    text = query[:MAX_QUERY_CHARS]
    asked = words(text)[:MAX_WORDS]
    normalised = " ".join(asked)
    if len(normalised.replace(" ", "")) < 2:
        return None
    # "what is the treatment for MAS": a question's own words would only dilute the match.
    terms = asked
    if len(asked) > 1 and asked[0] in QUESTION_STARTS:
        terms = [t for t in asked if t not in QUESTION_WORDS] or asked
    public = vocabulary if public_vocabulary is None else public_vocabulary
    open_end = typing and not text[-1:].isspace()
    rich: list[list[str]] = []
    public_rich: list[list[str]] = []
    bag: list[list[str]] = []
    marks: set[str] = set()
    standing: list[frozenset[str]] = []
    prefix = ""
    for i, term in enumerate(terms):
        own, public_own = [_quote(term)], [_quote(term)]
        if open_end and i == len(terms) - 1 and len(term) >= 2:
            own += _prefix_of(term, starting, public=False)
            public_own += _prefix_of(term, starting, public=True)
            prefix = term
        near, public_near = _typos(term, vocabulary), _typos(term, public)
        similar = synonyms.get(term, [])
        rich.append(own + [_quote(c) for c in near] + [_quote(s) for s in similar])
        public_rich.append(
            public_own + [_quote(c) for c in public_near] + [_quote(s) for s in similar]
        )
        bag.append([_quote(term)] + [_bag_of(s) for s in similar])
        marks.update([term, *near, *(w for s in similar for w in s.split())])
        standing.append(frozenset([term, *near, *(w for s in similar for w in s.split())]))
    whole_terms = synonyms.get(normalised, [])
    whole = [_quote(s) for s in whole_terms]
    whole_bags = [_bag_of(s) for s in whole_terms]
    marks.update(w for s in whole_terms for w in s.split())
    return Plan(
        normalised,
        match=_join(rich, "AND", whole),
        loose=_join(rich, "OR", whole),
        public_match=_join(public_rich, "AND", whole),
        public_loose=_join(public_rich, "OR", whole),
        bag=_join(bag, "AND", whole_bags),
        bag_loose=_join(bag, "OR", whole_bags),
        exact=tuple(dict.fromkeys((normalised, " ".join(terms), *whole_terms))),
        typing=open_end,
        marks=frozenset(marks),
        prefix=prefix,
        terms=tuple(terms),
        groups=tuple(standing),
    )


#: A full-text query every readable index answers (an unreadable one fails on it).
PROBE = "SELECT rowid FROM search WHERE search MATCH '\"x\"' LIMIT 1"


def _readable_uri(path: Path) -> str:
    """The index file's read-only URI; `SearchIndexError` when there is none."""
    if not path.is_file():
        raise SearchIndexError(f"{path} is missing: rebuild the site with 'make build'")
    return path.resolve().as_uri() + "?mode=ro&immutable=1"


def _check_version(db: sqlite3.Connection, path: Path) -> None:
    version = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    if version is None or version[0] != SCHEMA_VERSION:
        raise SearchIndexError(
            f"{path} is from another version of the site: rebuild with 'make build'"
        )


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """An unreadable index as `SearchIndexError`, saying what to do."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise SearchIndexError(
            f"{path} is corrupt ({exc}): rebuild the site with 'make build'"
        ) from None


class SearchIndex:
    """The read-only index of one build; each thread gets its own connection to the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._uri = _readable_uri(path)
        self._local = threading.local()
        with _reading(path):
            db = self._db()
            _check_version(db, path)
            #: Documents holding each word: anywhere, and outside bodies (what anyone may see).
            self._documents: dict[str, int] = {}
            self._public_documents: dict[str, int] = {}
            for term, documents, public in db.execute("SELECT term, documents, public FROM term"):
                self._documents[term] = documents
                if public:
                    self._public_documents[term] = public
            self.vocabulary = frozenset(self._documents)
            #: Words outside bodies: typo alternatives for readers who may not read a body.
            self.public_vocabulary = frozenset(self._public_documents)
            self._sorted_vocabulary = sorted(self.vocabulary)
            self._sorted_public = sorted(self.public_vocabulary)
            self.synonyms: dict[str, list[str]] = {}
            for phrase, term in db.execute("SELECT phrase, term FROM synonym"):
                self.synonyms.setdefault(phrase, []).append(term)
            self.names: dict[str, list[int]] = {}
            # Ties between pages go by page id, never by rowid: an incremental build numbers
            # rows differently from a full one, and must answer the same.
            for name, rowid in db.execute(
                "SELECT name, name.rowid FROM name JOIN page ON page.rowid = name.rowid "
                "ORDER BY page.page_id"
            ):
                self.names.setdefault(name, []).append(rowid)
            self._sorted_names = sorted(self.names)
            self._rowid_of_token = {
                page_token(page_id): rowid
                for rowid, page_id in db.execute(
                    "SELECT rowid, page_id FROM page WHERE access != 'free'"
                )
            }
            #: Pages that are not topics (home, A–Z, sections, about…): after topics, unless named.
            self._browsing = frozenset(
                r for (r,) in db.execute("SELECT rowid FROM page WHERE url NOT LIKE '/topics/%'")
            )
            #: Calculators: before topics when the query names one (`hscore`, `DIC score`), else
            #: after them like the browsing pages (a word of a calculator's text means a topic).
            self._calculators = frozenset(
                r for (r,) in db.execute("SELECT rowid FROM page WHERE url LIKE '/calculators/%'")
            )
            #: Each row's place in page-id order: equal scores go by page id (see `names`).
            self._order = {
                rowid: n
                for n, (rowid,) in enumerate(db.execute("SELECT rowid FROM page ORDER BY page_id"))
            }
            self.pages = len(self._order)
            db.execute(PROBE).fetchall()

    @classmethod
    def for_site(cls, site_dir: Path) -> SearchIndex:
        """The index the build wrote beside `site_dir`."""
        return cls(search_index_path_for(site_dir))

    @staticmethod
    def check(site_dir: Path) -> None:
        """Raise `SearchIndexError` where opening the build's index would: missing, of another
        version, or a table a server reads at start unreadable. Every row and column it reads is
        read here too, in SQLite rather than into Python's dictionaries (at 30,000 topics those
        were most of a second of every publish); `total`, as `sum` of row ids overflows."""
        path = search_index_path_for(site_dir)
        db = sqlite3.connect(_readable_uri(path), uri=True)
        try:
            with _reading(path):
                _check_version(db, path)
                for query in (
                    "SELECT total(length(term)), total(documents), total(public) FROM term",
                    "SELECT total(length(phrase)), total(length(term)) FROM synonym",
                    "SELECT total(length(name)), total(page.rowid) FROM name "
                    "JOIN page ON page.rowid = name.rowid",
                    "SELECT total(length(page_id)), total(length(access)), total(length(url)) "
                    "FROM page",
                    PROBE,
                ):
                    db.execute(query).fetchall()
        finally:
            db.close()

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        # A worker forked from `site-api serve` inherits the index its master opened, and this
        # thread's connection with it: SQLite forbids using a connection across fork, so each
        # process opens its own (dropping the inherited one is safe: immutable, it holds no lock).
        if db is None or self._local.pid != os.getpid():
            db = sqlite3.connect(self._uri, uri=True, check_same_thread=False)
            db.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            self._local.db, self._local.pid = db, os.getpid()
        return db

    def names_starting(self, prefix: str, limit: int) -> list[int]:
        """Pages with a title or alias that begins with `prefix` (shortest names first)."""
        start = bisect.bisect_left(self._sorted_names, prefix)
        matched: list[str] = []
        # A bounded slice: islice would step over every name before `start` (90,000 names at
        # 30,000 topics: most of a suggestion's time).
        for name in self._sorted_names[start : start + 4 * limit]:
            if not name.startswith(prefix):
                break
            matched.append(name)
        rowids: list[int] = []
        for name in sorted(matched, key=len):
            rowids += [r for r in self.names[name] if r not in rowids]
        return rowids[:limit]

    def page_ids(self) -> set[str]:
        """The id of every page in the index."""
        return {page_id for (page_id,) in self._db().execute("SELECT page_id FROM page")}

    def plan(self, query: str, typing: bool = True) -> Plan | None:
        """The FTS5 plan for a reader's query (see `plan_query`)."""
        return plan_query(
            query, self.vocabulary, self.synonyms, typing, self.public_vocabulary, self._starting
        )

    def _starting(self, prefix: str, public: bool) -> list[str] | None:
        """The known words that begin with `prefix` and are longer (see `Starting`)."""
        ordered = self._sorted_public if public else self._sorted_vocabulary
        found: list[str] = []
        for word in itertools.islice(ordered, bisect.bisect_right(ordered, prefix), None):
            if not word.startswith(prefix):
                return found
            if len(found) == MAX_EXPANSION:
                return None
            found.append(word)
        return found

    def _ranked(
        self,
        expression: str,
        weights: tuple[float, ...],
        limit: int,
        head: str | None = None,
        cap: int = RANK_CAP,
        rank_sample: bool = True,
    ) -> list[tuple[int, tuple[int, float, int]]]:
        """(rowid, (tier, score, place in page-id order)) best first, of `expression` on
        `search` ranked with `weights`.

        Every match is ranked (tier 1) up to `cap`; beyond, the first `cap` in row-id order
        are, after the best matches of `head` (the query for the `head` table, when given) in
        that table, ranked the same way (tier 0). Not `rank_sample`: that sample is not ranked
        but taken in page-id order.
        """
        rows, sampled = self._capped("search", expression, weights, limit, cap, rank_sample)
        ranked = [(r, (1, score, self._order[r])) for r, score in rows]
        if sampled and head is not None:
            heads, _ = self._capped("head", head, HEAD_WEIGHTS, limit, cap)
            first = {r: (0, score, self._order[r]) for r, score in heads}
            ranked = [*first.items(), *((r, key) for r, key in ranked if r not in first)]
        return ranked[:limit]

    #: One page's BM25 for an expression, for the few metered pages a reader may read.
    _one_sql = (
        f"SELECT bm25(search, {', '.join(map(str, WEIGHTS))}) FROM search "
        "WHERE search MATCH ? AND rowid = ?"
    )

    def _capped(
        self,
        table: str,
        expression: str,
        weights: tuple[float, ...],
        limit: int,
        cap: int = RANK_CAP,
        rank_sample: bool = True,
    ) -> tuple[list[tuple[int, float]], bool]:
        """The best `limit` (rowid, BM25) of the first `cap` matches of `expression` in
        `table` (row-id order: FTS5 stops reading doclists there, however common a word), equal
        scores in page-id order; and whether the cap was reached (the rows are then a sample).

        Not `rank_sample`: a sample is taken in page-id order, unranked (score 0). BM25 itself
        reads every row of each word's doclist to weigh it, which is most of its cost for a word
        in most pages, so the matches are first counted up to the cap without it.
        """
        if not rank_sample:
            probe = f"SELECT rowid FROM {table} WHERE {table} MATCH ? LIMIT ?"
            found = [r for (r,) in self._db().execute(probe, (expression, cap))]
            if len(found) >= cap:
                return [(r, 0.0) for r in sorted(found, key=self._order.__getitem__)[:limit]], True
        bm25 = f"bm25({table}, {', '.join(str(w) for w in weights)})"
        matches = f"SELECT rowid, {bm25} AS score FROM {table} WHERE {table} MATCH ? LIMIT ?"
        args: tuple[Any, ...] = (expression, cap)
        # Ranked in SQL; every row tied with the last one kept is fetched, then ordered here.
        sql = (
            "SELECT rowid, score, total FROM (SELECT rowid, score, rank() OVER (ORDER BY score) "
            f"AS place, count(*) OVER () AS total FROM ({matches})) WHERE place <= ?"
        )
        rows = self._db().execute(sql, (*args, limit)).fetchall()
        ordered = sorted(rows, key=lambda row: (row[1], self._order[row[0]]))[:limit]
        return [(r, score) for r, score, _ in ordered], bool(rows) and rows[0][2] >= cap

    def _matches(
        self,
        plan: Plan,
        limit: int,
        reader: Reader,
        strict: bool,
        cap: int = RANK_CAP,
        rank_sample: bool = True,
    ) -> list[int]:
        """Rowids of the pages the plan matches for `reader`, best first (see `_ranked`)."""
        match = plan.match if strict else plan.loose
        if reader.reads_all:
            ranked = self._ranked(match, WEIGHTS, limit, match, cap, rank_sample)
            return [r for r, _ in ranked]
        public = plan.public_match if strict else plan.public_loose
        bag = plan.bag if strict else plan.bag_loose
        # Any page through what anyone may see of it, in full (the `head` table holds nothing
        # else) first; then through its body only as a bag of whole words, ranked as if its body
        # were empty (so two bodies with the same words tie). Beyond the cap the sample is taken
        # in page-id order: that ranking weighs only what anyone may see, ranked by the head.
        heads, _ = self._capped("head", public, HEAD_WEIGHTS, limit, cap)
        scores = {r: (0, score, self._order[r]) for r, score in heads}
        for r, key in self._ranked(bag, BODY_BLIND, limit, cap=cap, rank_sample=False):
            scores.setdefault(r, key)
        # Pages whose body this reader may read, the full query, the body counted in the rank:
        # free pages from their own small table, metered ones already counted one by one.
        found, _ = self._capped("free", match, WEIGHTS, limit, cap)
        # A meter cookie may name pages this build no longer has: those are not searched.
        counted = sorted(
            {self._rowid_of_token[t] for t in reader.tokens if t in self._rowid_of_token}
        )
        for r in counted:
            row = self._db().execute(self._one_sql, (match, r)).fetchone()
            found += [(r, row[0])] if row else []
        for r, score in found:
            # The body counted in the rank, unless a head match already put the page first.
            key = (1, score, self._order[r])
            if r not in scores or scores[r][0] >= key[0]:
                scores[r] = key
        return sorted(scores, key=lambda r: scores[r])

    def search(
        self,
        plan: Plan,
        limit: int,
        reader: Reader = FREE_BODIES_ONLY,
        quick: bool = False,
    ) -> list[Hit]:
        """Best pages first; snippets only where `reader` may read the body.

        The order: a page whose title or alias is the whole query; then topics before pages
        that only browse (home, A–Z, sections: unless named), and among those, pages one of
        whose titles or aliases is named in the query, then pages holding every word in their
        titles, aliases or headings, then BM25. `quick` (suggestions while typing): when
        titles, aliases, headings and sections alone give `limit` pages, bodies are not ranked.
        """
        db = self._db()
        exact: list[int] = []
        for name in plan.exact:
            exact += [r for r in self.names.get(name, []) if r not in exact]
        if plan.typing and len(plan.normalised) >= 3:
            # While typing, a title or alias that begins with what was typed is what is meant.
            started = self.names_starting(plan.normalised, limit)
            exact += [r for r in started if r not in exact]
        depth = limit * RERANK_DEPTH
        rowids: list[int] = []
        if quick:
            # Suggestions show titles: pages that match in their names and headings are what is
            # meant, and ranking those few is far cheaper than every body that holds the words.
            # They come from the small `head` table alone: no body's doclist is read.
            names = plan.match if reader.reads_all else plan.public_match
            found, _ = self._capped(
                "head", f"{{{NAME_COLUMNS}}} : ({names})", HEAD_WEIGHTS, depth, SUGGEST_CAP
            )
            rowids = [r for r, _ in found]
        # Suggestions falling back to bodies show some pages that hold the words: beyond the
        # cap, those are not ranked (full results rank theirs).
        cap = SUGGEST_CAP if quick else RANK_CAP
        if len(rowids) < limit:
            rowids = self._matches(plan, depth, reader, True, cap, rank_sample=not quick)
        if not rowids:
            rowids = self._matches(plan, depth, reader, False, cap, rank_sample=not quick)
        rows = self._rows(list(dict.fromkeys(exact + rowids)))
        order = exact + self._reranked([r for r in rowids if r not in exact], plan, rows)
        hits = [Hit(*rows[r][:7]) for r in order[:limit] if r in rows]  # type: ignore[arg-type]
        if quick:  # the search box lists titles: no snippet is cut
            return hits
        return [self._with_snippet(db, plan, hit) if reader.may_read(hit) else hit for hit in hits]

    def _rows(self, rowids: list[int]) -> dict[int, tuple[Any, ...]]:
        """Each page's hit fields, then its aliases and headings (for ranking)."""
        if not rowids:
            return {}
        marks = ", ".join("?" * len(rowids))
        return {
            row[0]: row
            for row in self._db().execute(
                "SELECT rowid, page_id, url, access, title, summary, section, aliases, headings "
                f"FROM page WHERE rowid IN ({marks})",
                rowids,
            )
        }

    def _reranked(
        self, rowids: list[int], plan: Plan, rows: dict[int, tuple[Any, ...]]
    ) -> list[int]:
        """`rowids` (BM25 order) in the order `search` documents; uses public columns only."""
        named: set[int] = set()
        terms = plan.terms
        for i in range(len(terms)):
            for j in range(i + 1, len(terms) + 1):
                named.update(self.names.get(" ".join(terms[i:j]), ()))
            tail = " ".join(terms[i:])
            if plan.typing and len(tail) >= 3:  # the words being typed begin a name
                named.update(self.names_starting(tail, RERANK_DEPTH))

        def in_names(rowid: int) -> bool:
            title, aliases, headings = rows[rowid][4], rows[rowid][7], rows[rowid][8]
            held = set(words(f"{title} {aliases} {headings}"))
            last = len(plan.groups) - 1
            return all(
                group & held
                or (i == last and plan.prefix and any(w.startswith(plan.prefix) for w in held))
                for i, group in enumerate(plan.groups)
            )

        def key(item: tuple[int, int]) -> tuple[bool, bool, bool, int]:
            position, rowid = item
            after = rowid in self._browsing and not (rowid in self._calculators and rowid in named)
            return (after, rowid not in named, not in_names(rowid), position)

        present = [(p, r) for p, r in enumerate(rowids) if r in rows]
        return [rowid for _, rowid in sorted(present, key=key)]

    def find(
        self, query: str, limit: int, reader: Reader = FREE_BODIES_ONLY, quick: bool = False
    ) -> tuple[list[Hit], str | None]:
        """(hits, corrected query): the query's results or, when it finds nothing and a spelling
        correction (`did_you_mean`) does, the correction's results and the correction."""
        plan = self.plan(query)
        return self.find_planned(plan, limit, reader, quick) if plan else ([], None)

    def find_planned(
        self, plan: Plan, limit: int, reader: Reader = FREE_BODIES_ONLY, quick: bool = False
    ) -> tuple[list[Hit], str | None]:
        """`find` for a query already planned (`plan`)."""
        hits = self.search(plan, limit, reader, quick)
        if hits:
            return hits, None
        corrected = self.did_you_mean(plan, reader)
        better = self.plan(corrected, typing=False) if corrected else None
        if better is None:
            return [], None
        return self.search(better, limit, reader, quick), corrected

    def did_you_mean(self, plan: Plan, reader: Reader = FREE_BODIES_ONLY) -> str | None:
        """The query with each word the index does not know replaced by the most common known
        word up to SPELL_EDITS edits away, or None. Known means, for a reader who may not read
        every body, a word of some title, alias, heading, summary or section: a suggestion never
        reveals a word that occurs only in a body the reader may not read."""
        documents = self._documents if reader.reads_all else self._public_documents
        changed = False
        corrected: list[str] = []
        for term in plan.terms:
            if term in documents or len(term) < SPELL_MIN_LETTERS or not term.isalpha():
                corrected.append(term)
                continue
            best: tuple[int, int, str] | None = None
            for candidate in self._spelling_candidates(term, documents):
                distance = edit_distance(term, candidate, SPELL_EDITS)
                if distance <= SPELL_EDITS:
                    key = (distance, -documents[candidate], candidate)
                    best = key if best is None or key < best else best
            if best is None:
                corrected.append(term)
            else:
                corrected.append(best[2])
                changed = True
        return " ".join(corrected) if changed else None

    def _spelling_candidates(self, term: str, documents: dict[str, int]) -> list[str]:
        """Known words that could be SPELL_EDITS edits from `term`: same first letter, length
        within SPELL_EDITS (a bounded set, from a per-letter and length index built once)."""
        public = documents is self._public_documents
        buckets = self._public_buckets if public else self._all_buckets
        found: list[str] = []
        for length in range(len(term) - SPELL_EDITS, len(term) + SPELL_EDITS + 1):
            found += buckets.get((term[0], length), [])
        return found

    @cached_property
    def _all_buckets(self) -> dict[tuple[str, int], list[str]]:
        return _buckets(self._documents)

    @cached_property
    def _public_buckets(self) -> dict[tuple[str, int], list[str]]:
        return _buckets(self._public_documents)

    def _with_snippet(self, db: sqlite3.Connection, plan: Plan, hit: Hit) -> Hit:
        """The hit with the body's best passage, matched words between MARK_START and MARK_END."""
        row = db.execute("SELECT body, passages FROM page WHERE rowid = ?", (hit.rowid,)).fetchone()
        snippet = best_passage(row[0], plan.marks, plan.prefix, row[1]) if row else None
        return Hit(**{**hit.__dict__, "snippet": snippet})

    def close(self) -> None:
        """Close this thread's connection (others close with their threads)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def _buckets(documents: dict[str, int]) -> dict[tuple[str, int], list[str]]:
    """Words by (first letter, length), for spelling suggestions."""
    buckets: dict[tuple[str, int], list[str]] = {}
    for word in documents:
        if word.isalpha():
            buckets.setdefault((word[0], len(word)), []).append(word)
    return buckets


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (insertions, deletions, substitutions, swaps of two
    neighbours) between `a` and `b`; any figure above `limit` is returned as `limit + 1`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


def best_passage(
    text: str, marks: frozenset[str], prefix: str = "", record: bytes | None = None
) -> str | None:
    """The run of SNIPPET_WORDS words of `text` holding the most distinct marked words, as the
    editor wrote it, each marked word between MARK_START and MARK_END; None when none occurs.

    Words are found with the index's own `WORD_RE` and `normalise_word`, so what is marked is
    exactly what matched. `record`: the body's passage record from the index (`passages`),
    which saves running the word pattern over the whole text; the result is the same.
    """
    if record is None:
        forms, starts = list(map(normalise_word, WORD_RE.findall(text))), [0]
    else:
        forms, starts = read_passages(record)
    wanted = {f for f in set(forms) if f in marks or (prefix and f and f.startswith(prefix))}
    if not wanted:
        return None
    # Over every word in C (map, compress, bisect): Python loops over a 1,500-word body, for
    # each of a signed-in reader's results, were most of a full search at 30,000 topics.
    hit = list(itertools.compress(range(len(forms)), map(wanted.__contains__, forms)))
    hit_forms = [forms[i] for i in hit]
    count = len(forms)
    best: tuple[int, int, int] | None = None  # (-distinct, -count, start)
    for anchor in hit:
        start = max(0, min(anchor - SNIPPET_LEAD, count - SNIPPET_WORDS))
        first = bisect.bisect_left(hit, start)
        last = bisect.bisect_left(hit, start + SNIPPET_WORDS, first)
        key = (-len(set(hit_forms[first:last])), first - last, start)
        if best is None or key < best:
            best = key
    assert best is not None
    start = best[2]
    end = min(start + SNIPPET_WORDS, count)
    # The passage's words in the text, from the nearest checkpoint before it: the same
    # pattern, so the n-th match from a word's start is the n-th word from it.
    checkpoint = min(start // CHECKPOINT_WORDS, len(starts) - 1)  # [0] without a record
    skip = start - checkpoint * CHECKPOINT_WORDS
    found = WORD_RE.finditer(text, starts[checkpoint])
    spans = [m.span() for m in itertools.islice(found, skip, skip + end - start)]
    begin_at = 0 if start == 0 else spans[0][0]
    end_at = len(text) if end == count else spans[-1][1]
    marked = set(hit)
    out = ["" if start == 0 else "…"]
    position = begin_at
    for i, (first_char, last_char) in enumerate(spans, start=start):
        if i in marked:
            out += [text[position:first_char], MARK_START, text[first_char:last_char], MARK_END]
            position = last_char
    out += [text[position:end_at], "" if end == count else "…"]
    return "".join(out)


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
