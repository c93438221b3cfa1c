"""The search index, a build artifact: one SQLite FTS5 file beside the manifest, never in site/.

What a word is, is decided here, once, in Python (`words()`), for the index and for every query:
British and American spellings, accents and case meet in one form. FTS5 is given only those
words, joined by single spaces, and tokenizes with its `ascii` tokenizer, whose rule is one
Python shares exactly: a token is a run of ASCII letters and digits and of any character above
U+007F. A normalised word is one run of characters that Python calls word characters (so its
ASCII ones are letters and digits), so FTS5 sees each of our words as exactly one token, in the
index and in a query alike: it can neither split a word into a phrase nor join two into one
(tests/search/test_tokenizer.py checks every code point). The FTS5 table is contentless; the
editor's own text is kept in `page`, from which snippets are cut in Python with the same words.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import sqlite3
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from lxml import etree

from site_api.content.model import ContentError

SCHEMA_VERSION = "5"
SYNONYMS_FILE = "synonyms.yml"
#: The FTS5 columns, in order; `bm25()` weights follow the same order.
COLUMNS = ("title", "aliases", "headings", "summary", "body", "section")
#: Title and aliases outrank headings, then summary, then body (section sits with headings).
WEIGHTS = (10.0, 10.0, 5.0, 3.0, 1.0, 4.0)
#: The `head` table's columns: everything but the body (what anyone may see of every page).
HEAD_COLUMNS = tuple(c for c in COLUMNS if c != "body")
HEAD_WEIGHTS = tuple(w for c, w in zip(COLUMNS, WEIGHTS, strict=True) if c != "body")
#: Row ids are this many bits of a hash of the page id (see `page_rowid`).
ROWID_BITS = 48
#: A word, for the index and every query alike (see the module's docstring).
WORD_RE = re.compile(r"[^\W_]+")
#: FTS5's tokenizer: its token characters are a superset of a normalised word's characters, and
#: the single space we join words with is one of its separators.
TOKENIZER = "ascii"

# British → one (American) spelling. Applied to every word of the index and of every query, so
# `haemophagocytic` and `hemophagocytic` are the same token. Order matters: longer forms first.
_SPELLING = [
    (re.compile(r"^oe(?=[a-z]{3})"), "e"),  # oedema, oesophagus, oestrogen
    (re.compile(r"aem"), "em"),  # haem-, anaemia, leukaemia, -aemia, septicaemia
    (re.compile(r"aesth"), "esth"),  # anaesthesia
    (re.compile(r"paed"), "ped"),  # paediatric, orthopaedic
    (re.compile(r"gynaec"), "gynec"),
    (re.compile(r"caec"), "cec"),
    (re.compile(r"foet"), "fet"),  # foetal, foetus
    (re.compile(r"oesophag"), "esophag"),  # inside words: gastro-oesophageal is two words anyway
    (re.compile(r"rrhoea"), "rrhea"),  # diarrhoea, amenorrhoea
    (re.compile(r"coeli"), "celi"),  # coeliac
    (re.compile(r"^(tum|hum|col|behavi|fav)our"), r"\1or"),
    (re.compile(r"(?<=[a-z]{2})([iy])z(e|es|ed|ing|ation|ations|er|ers)$"), r"\1s\2"),
    (re.compile(r"(?<=[a-z]{2})tre$"), "ter"),  # centre, litre
]


@lru_cache(maxsize=100_000)  # a catalogue repeats its words: most calls are hits
def normalise_word(word: str) -> str:
    """One word in the index's spelling: no accents, case folded, British → American.

    The result is one run of word characters (or empty, for the rare word that folds to
    nothing): a compatibility form that splits (½ → 1⁄2) or a case fold that adds a mark is
    joined back into one word, so a word stays one token.
    """
    folded = unicodedata.normalize("NFKD", word)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    folded = "".join(WORD_RE.findall(folded))
    for pattern, replacement in _SPELLING:
        folded = pattern.sub(replacement, folded)
    return _singular(folded)


def _singular(word: str) -> str:
    """A plural's singular by Harman's S-stemmer (steroids → steroid, therapies → therapy), for
    words of five letters or more: short words are mostly abbreviations (MAS, CRS, LFTs)."""
    if len(word) < 5 or not word.endswith("s") or not word.isascii():
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if not word.endswith(("us", "ss", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """The normalised words of a text, as the index holds them."""
    return [w for w in map(normalise_word, WORD_RE.findall(text)) if w]


def index_text(text: str) -> str:
    """What FTS5 is given for a text: its normalised words joined by single spaces."""
    return " ".join(words(text))


#: A body's passage record notes where every this many words a word begins (see `passages`).
CHECKPOINT_WORDS = 64
#: A run of up to CHECKPOINT_WORDS words: each match starts at a checkpoint.
_CHECKPOINT_RUN = re.compile(
    rf"{WORD_RE.pattern}(?:[\W_]+{WORD_RE.pattern}){{0,{CHECKPOINT_WORDS - 1}}}"
)


def passages(body: str) -> tuple[bytes, str]:
    """A body's passage record, and what FTS5 is given for it (`index_text`, from the same pass).

    The record is what cutting a snippet needs besides the text, so that a server never runs
    the word pattern over a whole body for each result (a signed-in reader's ten results were
    half of a full search at 30,000 topics): each word's normalised form, in order, separated by
    single spaces ("" for a word that folds to nothing), and where every CHECKPOINT_WORDS-th
    word begins in the text; zlib-compressed (`read_passages` reads it back).
    """
    forms = list(map(normalise_word, WORD_RE.findall(body)))
    starts = _CHECKPOINT_RUN.finditer(body)  # not a match object per word
    record = ",".join(str(m.start()) for m in starts) + "\n" + " ".join(forms)
    return zlib.compress(record.encode("utf-8"), 6), " ".join(filter(None, forms))


def read_passages(record: bytes) -> tuple[list[str], list[int]]:
    """A passage record's forms (one per word of the body) and checkpoints (`passages`)."""
    starts, _, forms = zlib.decompress(record).decode("utf-8").partition("\n")
    return forms.split(" ") if forms else [], [int(n) for n in starts.split(",") if n]


def search_index_path_for(site_dir: Path) -> Path:
    """The index sits beside the site directory (like the manifest), never inside it."""
    return site_dir.with_name(site_dir.name + "-search.sqlite")


@dataclass
class IndexedPage:
    """What the index holds of one page."""

    page_id: str
    url: str
    access: str
    title: str
    summary: str
    aliases: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    body: str = ""
    section: str = ""


#: Elements whose text is not the page's: citation marks, scripts, styles.
_NOT_TEXT = frozenset({"sup", "script", "style"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
#: Elements inside a run of text, as a reader sees it (`<em>anti</em>body` is one word); any
#: other element, one we do not know too, separates the words on either side of it.
_INLINE = frozenset(
    (  # noqa: SIM905 (26 names, one per line as a list, read worse)
        "a abbr b bdi bdo cite code data del dfn em i ins kbd mark q s samp small span strong "
        "sub sup time u var"
    ).split()
)
#: Punctuation that follows a word without a space.
_CLOSING = frozenset(".,;:!?)]")
#: libxml2's HTML parser (lxml): a page body parsed in C, not one Python call per tag; never
#: fetches anything; without the limits on depth and length that would silently drop the text of
#: a topic nested more than 256 elements deep or longer than 10 MB.
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, huge_tree=True)


def _not_text(el: etree._Element) -> bool:
    """A heading's permalink, a citation mark, a script or style, or a calculator placed in a
    topic (`<div class="calculator">`: its form is indexed as the calculator's own free page)."""
    tag = el.tag
    if tag in _NOT_TEXT:
        return True
    if tag == "a" or tag == "div":
        classes = (el.get("class") or "").split()
        return "headerlink" in classes if tag == "a" else "calculator" in classes
    return False


def _heading_text(heading: etree._Element) -> str:
    parts: list[str] = []
    walk = etree.iterwalk(heading, events=("start", "end"))
    for event, el in walk:
        if event == "end":
            if el is not heading:
                parts.append(el.tail or "")
        elif el is not heading and _not_text(el):
            walk.skip_subtree()
        else:
            parts.append(el.text or "")
    return "".join(parts)


def _collect(body: etree._Element, text: list[str], headings: list[str]) -> None:
    """The text and headings under `body`, walked in C (`iterwalk`), not by recursion: an editor's
    HTML may nest deeper than Python's recursion limit."""
    walk = etree.iterwalk(body, events=("start", "end"))
    for event, el in walk:
        if el is body:
            continue
        if event == "end":
            if el.tag not in _INLINE:  # its end ends a run of text too
                text.append(" ")
            if el.tail:
                text.append(el.tail)
        elif _not_text(el):
            walk.skip_subtree()
            if el.tag == "sup" and text and (el.tail or " ")[0] in _CLOSING:
                text[-1] = text[-1].rstrip()  # `overload [1].` reads `overload.` without its mark
        elif el.tag in _HEADINGS:
            walk.skip_subtree()
            headings.append(" ".join(_heading_text(el).split()))
        else:
            if el.tag not in _INLINE:
                text.append(" ")
            if el.text:
                text.append(el.text)


def text_of_html(html: str) -> tuple[list[str], str]:
    """(headings, body text) of a rendered page body, without permalinks, citation marks or
    placed calculators; ValueError when the HTML cannot be read whole."""
    document = etree.fromstring(f"<div>{html}</div>", _PARSER)
    fatal = [e.message for e in _PARSER.error_log if e.level_name == "FATAL"]
    if fatal:  # libxml2 stopped reading (nested more than 2,048 deep): say so, never index less
        reason = fatal[0].split(", use ")[0]  # not libxml2's advice on its own options
        raise ValueError(
            f"its HTML could not be read for the search index ({reason}): "
            "simplify the HTML written into this topic"
        )
    body = document.find("body")
    headings: list[str] = []
    text: list[str] = []
    _collect(body, text, headings)
    return headings, " ".join("".join(text).split())


def load_synonyms(
    path: str, text: str, known: Mapping[str, set[str]]
) -> dict[str, list[str]] | list[ContentError]:
    """Editors' synonyms (`phrase: [term, ...]` or `phrase: term`), validated.

    `known` maps each normalised page id, title and alias to its page ids, plus every indexed
    word (to itself); a term that names no page and occurs in no page is an error.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return [ContentError(path, line, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        return [ContentError(path, root.start_mark.line + 1, "expected 'phrase: [terms]' entries")]
    errors: list[ContentError] = []
    result: dict[str, list[str]] = {}
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode) or not words(str(key_node.value)):
            errors.append(ContentError(path, line, "a synonym must be a word or phrase"))
            continue
        phrase = " ".join(words(key_node.value))
        if isinstance(value_node, yaml.ScalarNode) and value_node.value.strip():
            terms = [(value_node.start_mark.line + 1, value_node.value)]
        elif isinstance(value_node, yaml.SequenceNode) and value_node.value:
            terms = []
            for item in value_node.value:
                if not isinstance(item, yaml.ScalarNode) or not words(str(item.value)):
                    errors.append(
                        ContentError(path, item.start_mark.line + 1, "a term must be text")
                    )
                    continue
                terms.append((item.start_mark.line + 1, item.value))
        else:
            errors.append(ContentError(path, line, f"'{key_node.value}': give a term or a list"))
            continue
        if phrase in result:
            errors.append(ContentError(path, line, f"'{key_node.value}' is listed twice"))
            continue
        found: list[str] = []
        for term_line, term in terms:
            normal = " ".join(words(term))
            if normal not in known and not all(w in known for w in normal.split()):
                errors.append(
                    ContentError(
                        path,
                        term_line,
                        f"'{term}' is no page id, title or alias and occurs in no page",
                    )
                )
            found.append(normal)
        result[phrase] = found
    return errors or result


class _Everything(dict[str, set[str]]):
    """A `known` in which every term is: reads synonyms.yml's terms without judging them."""

    def __contains__(self, key: object) -> bool:
        return True


def synonym_terms(path: str, text: str) -> set[str]:
    """The normalised terms a synonyms file names, and each of their words (what `load_synonyms`
    looks up in `known`); empty when the file is malformed (its own check reports that)."""
    loaded = load_synonyms(path, text, _Everything())
    if not isinstance(loaded, dict):
        return set()
    return {w for terms in loaded.values() for term in terms for w in [term, *term.split()]}


def provided_terms(page: IndexedPage, wanted: set[str]) -> list[str]:
    """Which of the `wanted` terms `known_terms` would find in this one page (its names and its
    words, without building `known_terms`' map: this runs once per page of every build)."""
    if not wanted:
        return []
    names = [page.page_id.replace("-", " "), page.title, *page.aliases]
    text = " ".join([page.title, *page.aliases, *page.headings, page.summary, page.body])
    found = {" ".join(words(name)) for name in names}.union(words(text))
    return sorted(wanted.intersection(found))


def known_terms(pages: Iterable[IndexedPage]) -> dict[str, set[str]]:
    """Normalised page ids, titles, aliases (to their page ids) and every indexed word."""
    known: dict[str, set[str]] = {}
    for page in pages:
        for name in [page.page_id.replace("-", " "), page.title, *page.aliases]:
            known.setdefault(" ".join(words(name)), set()).add(page.page_id)
        text = " ".join([page.title, *page.aliases, *page.headings, page.summary, page.body])
        for word in words(text):
            known.setdefault(word, set())
    return known


def page_rowid(page_id: str) -> int:
    """A page's row id: a hash of its id, so a full and an incremental build number every page
    alike, and FTS5's row-id order (which a search reads a bounded sample of matches in, see
    `site_api.search.index.RANK_CAP`) is the same fixed, content-blind order in every build."""
    digest = hashlib.blake2b(page_id.encode("utf-8"), digest_size=ROWID_BITS // 8).digest()
    return int.from_bytes(digest, "big") + 1


def _row_values(page: IndexedPage) -> tuple[str, ...]:
    """A page's column values as the `page` table keeps them, in COLUMNS order."""
    return (
        page.title,
        " · ".join(page.aliases),
        " · ".join(page.headings),
        page.summary,
        page.body,
        page.section,
    )


def _head_of(given: list[str]) -> list[str]:
    """The `head` table's share of what FTS5 was given for a page's columns."""
    return [text for column, text in zip(COLUMNS, given, strict=True) if column != "body"]


def add_page(db: sqlite3.Connection, page: IndexedPage) -> list[str]:
    """Add one page to an open index (its text, its words, its exact names); returns what FTS5
    was given for each column."""
    rowid = page_rowid(page.page_id)
    taken = db.execute("SELECT page_id FROM page WHERE rowid = ?", (rowid,)).fetchone()
    if taken is not None:  # 1 in 10^6 at 30,000 pages: renaming either page is the way out
        raise ValueError(
            f"page ids '{taken[0]}' and '{page.page_id}' share a search-index row id: "
            "rename one of them"
        )
    cols = ", ".join(COLUMNS)
    values = _row_values(page)
    marks = ", ".join("?" * len(COLUMNS))
    record, body = passages(page.body)
    db.execute(
        f"INSERT INTO page (rowid, page_id, url, access, passages, {cols}) "
        f"VALUES (?, ?, ?, ?, ?, {marks})",
        (rowid, page.page_id, page.url, page.access, record, *values),
    )
    given = [body if c == "body" else index_text(v) for c, v in zip(COLUMNS, values, strict=True)]
    db.execute(f"INSERT INTO search (rowid, {cols}) VALUES (?, {marks})", (rowid, *given))
    if page.access == "free":
        db.execute(f"INSERT INTO free (rowid, {cols}) VALUES (?, {marks})", (rowid, *given))
    head, head_marks = ", ".join(HEAD_COLUMNS), ", ".join("?" * len(HEAD_COLUMNS))
    db.execute(
        f"INSERT INTO head (rowid, {head}) VALUES (?, {head_marks})", (rowid, *_head_of(given))
    )
    # Sorted: a set's order follows the hash seed, and every build of the same input must
    # write the same file (the engines are compared by it).
    names = sorted({" ".join(words(n)) for n in [page.title, *page.aliases]})
    db.executemany("INSERT INTO name (name, rowid) VALUES (?, ?)", [(n, rowid) for n in names if n])
    return given


def remove_page(db: sqlite3.Connection, rowid: int) -> list[str]:
    """Remove one page from an open index (a contentless FTS5 row is deleted by its words);
    returns what FTS5 had been given for each column (nothing when there was no such page)."""
    cols = ", ".join(COLUMNS)
    row = db.execute(f"SELECT access, {cols} FROM page WHERE rowid = ?", (rowid,)).fetchone()
    if row is None:
        return []
    marks = ", ".join("?" * len(COLUMNS))
    given = [index_text(v) for v in row[1:]]
    tables = ["search", "free"] if row[0] == "free" else ["search"]
    for table in tables:
        db.execute(
            f"INSERT INTO {table} ({table}, rowid, {cols}) VALUES ('delete', ?, {marks})",
            (rowid, *given),
        )
    head, head_marks = ", ".join(HEAD_COLUMNS), ", ".join("?" * len(HEAD_COLUMNS))
    db.execute(
        f"INSERT INTO head (head, rowid, {head}) VALUES ('delete', ?, {head_marks})",
        (rowid, *_head_of(given)),
    )
    db.execute("DELETE FROM name WHERE rowid = ?", (rowid,))
    db.execute("DELETE FROM page WHERE rowid = ?", (rowid,))
    return given


def _term_counts(given: list[str]) -> Counter[tuple[str, bool]]:
    """(word, outside the body) once per column holding it: one page's share of `term`."""
    counts: Counter[tuple[str, bool]] = Counter()
    for column, text in zip(COLUMNS, given, strict=False):
        counts.update((word, column != "body") for word in set(text.split()))
    return counts


def _count_terms(db: sqlite3.Connection, delta: Counter[tuple[str, bool]]) -> None:
    """Apply changes in documents per word to the `term` table (rows reaching 0 go)."""
    per_word: dict[str, list[int]] = {}
    for (word, public), n in delta.items():
        both = per_word.setdefault(word, [0, 0])
        both[0] += n
        both[1] += n if public else 0
    db.executemany(
        "INSERT INTO term (term, documents, public) VALUES (?, ?, ?) ON CONFLICT (term) DO "
        "UPDATE SET documents = documents + excluded.documents, public = public + excluded.public",
        [(word, d, p) for word, (d, p) in sorted(per_word.items()) if d or p],
    )
    db.execute("DELETE FROM term WHERE documents <= 0")


def write_index(
    path: Path, pages: Iterable[IndexedPage], synonyms: Mapping[str, list[str]]
) -> None:
    """Write the index to a temporary file and move it into place in one step.

    Pages given in row-id order (`page_rowid`) are written about twice as fast: FTS5 flushes
    its pending words to a new segment whenever a row id goes down."""
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    try:
        cols = ", ".join(COLUMNS)
        db.executescript(
            f"""
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE page (
                rowid INTEGER PRIMARY KEY, page_id TEXT NOT NULL UNIQUE, url TEXT NOT NULL,
                access TEXT NOT NULL, passages BLOB NOT NULL,
                {", ".join(c + " TEXT NOT NULL" for c in COLUMNS)});
            -- Exact titles and aliases (normalised) to their pages: these come first.
            CREATE TABLE name (name TEXT NOT NULL, rowid INTEGER NOT NULL);
            CREATE INDEX name_name ON name (name);
            CREATE INDEX name_rowid ON name (rowid);
            CREATE TABLE synonym (phrase TEXT NOT NULL, term TEXT NOT NULL);
            CREATE INDEX synonym_phrase ON synonym (phrase);
            -- Contentless: FTS5 holds only our words; `page` holds what the editor wrote.
            CREATE VIRTUAL TABLE search USING fts5(
                {cols}, content='', tokenize='{TOKENIZER}', prefix='2 3 4');
            -- The same words but the body's: small, so ranking what anyone may see of every
            -- page (and suggestions) never reads a body's long doclists.
            CREATE VIRTUAL TABLE head USING fts5(
                {", ".join(HEAD_COLUMNS)}, content='', tokenize='{TOKENIZER}', prefix='2 3 4');
            -- Free pages again, whole: what every reader may match in full, without reading
            -- the doclists of every body.
            CREATE VIRTUAL TABLE free USING fts5(
                {cols}, content='', tokenize='{TOKENIZER}', prefix='2 3 4');
            CREATE VIRTUAL TABLE vocab USING fts5vocab(search, 'col');
            -- Per word, the (page, column) pairs holding it, and those outside bodies: what a
            -- server reads at start. Counting them from `vocab` reads every word of every page
            -- (seconds at 30,000 topics); a build counts once and patches keep it right.
            CREATE TABLE term (
                term TEXT PRIMARY KEY, documents INTEGER NOT NULL, public INTEGER NOT NULL
            ) WITHOUT ROWID;
            """
        )
        count = 0
        for page in pages:
            add_page(db, page)
            count += 1
        db.executemany(
            "INSERT INTO synonym (phrase, term) VALUES (?, ?)",
            [(phrase, term) for phrase, terms in synonyms.items() for term in terms],
        )
        db.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [("version", SCHEMA_VERSION), ("pages", str(count))],
        )
        db.execute(
            "INSERT INTO term (term, documents, public) SELECT term, sum(doc), "
            "sum(CASE WHEN col = 'body' THEN 0 ELSE doc END) FROM vocab GROUP BY term"
        )
        db.execute("INSERT INTO search (search) VALUES ('optimize')")
        db.execute("INSERT INTO head (head) VALUES ('optimize')")
        db.execute("INSERT INTO free (free) VALUES ('optimize')")
        db.commit()
    finally:
        db.close()
    os.replace(tmp, path)


#: Linux's ioctl that makes a file share another's blocks (btrfs, XFS): copy-on-write for free.
FICLONE = 0x40049409


def clone_file(source: Path, target: Path) -> None:
    """Copy a file, sharing its blocks where the filesystem can (a reflink: btrfs, XFS), else
    in the kernel (sendfile), never through Python's buffers."""
    with source.open("rb") as src, target.open("wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
            return
        except OSError:
            pass
    shutil.copyfile(source, target)


def patch_index(
    path: Path,
    previous: Path,
    changed: Iterable[IndexedPage],
    kept: set[str],
    copied: Path | None = None,
) -> None:
    """A new index from the live build's: its rows for the `kept` page ids, the `changed` pages
    anew. The live file is only read: the new one is a copy, patched, then moved into place.
    `copied`: a copy of it made already (site_api/content/prepared.py), used up.

    Synonyms are not touched: synonyms.yml is part of the site-wide fingerprint, so a change to
    it means a full build.
    """
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    if copied is not None:
        os.replace(copied, tmp)
    else:
        clone_file(previous, tmp)
    db = sqlite3.connect(tmp)
    try:
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        gone = [r for r, pid in db.execute("SELECT rowid, page_id FROM page") if pid not in kept]
        delta: Counter[tuple[str, bool]] = Counter()
        for rowid in gone:
            delta.subtract(_term_counts(remove_page(db, rowid)))
        for page in changed:
            delta.update(_term_counts(add_page(db, page)))
        _count_terms(db, delta)
        (count,) = db.execute("SELECT count(*) FROM page").fetchone()
        db.execute("UPDATE meta SET value = ? WHERE key = 'pages'", (str(count),))
        db.commit()
    finally:
        db.close()
    os.replace(tmp, path)
