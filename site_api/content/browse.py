"""Browsing a catalogue of any size: A–Z letter pages, section pages and the home page's entries.

No page lists the whole catalogue: the home page carries the letters and the sections (both
bounded), each letter and each section has a page of its own, generated at build time from the
content model. Pure: parsed pages in, Markdown out; the MkDocs hook only hands the results over.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache

import yaml

from site_api.content.model import ContentError, Section, SourcePage, TopicMeta

A_TO_Z_DIR = "a-z"
SECTIONS_DIR = "sections"
A_TO_Z_INDEX = f"{A_TO_Z_DIR}/index.md"
SECTIONS_INDEX = f"{SECTIONS_DIR}/index.md"
HOME = "index.md"
#: Home page markers, replaced by the letters and by the sections.
LETTERS_MARKER = "<!-- browse:letters -->"
SECTIONS_MARKER = "<!-- browse:sections -->"
#: Entries that do not start with a letter (digits, symbols) share one page.
OTHER = "#"
OTHER_SLUG = "0-9"
#: Folded labels and A–Z lines kept (made again, they were most of a second of every
#: publish at 30,000 topics: 90,000 lines, for pages an edit rarely changes).
LINES_KEPT = 1 << 18


@lru_cache(maxsize=LINES_KEPT)
def fold(text: str) -> str:
    """Text as the A–Z compares it: accents dropped, case folded (`Ödème` sorts as `odeme`).
    Kept (a build folds each title and alias several times, a long-lived builder every build)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


def sort_key(label: str) -> tuple[str, str]:
    """Order by folded text, then by the label itself, so the order never depends on input order."""
    return fold(label), label


def letter_of(label: str) -> str:
    """The A–Z letter an entry is filed under: its first letter, or `#` for anything else."""
    first = fold(label).lstrip()[:1].upper()
    return first if first in string.ascii_uppercase else OTHER


def letter_slug(letter: str) -> str:
    """The letter page's file name (without `.md`): `m`, or `0-9` for the rest."""
    return OTHER_SLUG if letter == OTHER else letter.lower()


@dataclass(frozen=True)
class Entry:
    """One line of the A–Z: a topic under its title, or under an alias pointing to it."""

    label: str
    topic: SourcePage
    is_alias: bool

    @property
    def letter(self) -> str:
        """The letter page this entry is listed on."""
        return letter_of(self.label)


@dataclass(frozen=True)
class Crumb:
    """One step of a page's breadcrumbs; `src_uri` is None for the page itself."""

    title: str
    src_uri: str | None


@dataclass(frozen=True)
class Generated:
    """A page the build adds: its path under the docs dir, its Markdown and its breadcrumbs."""

    src_uri: str
    markdown: str
    crumbs: tuple[Crumb, ...]


#: A long-lived builder's last catalogue, by what it was made from (`catalogue_of`): one entry.
_last: dict[Hashable, Catalogue] = {}


def catalogue_key(pages: Iterable[SourcePage], sections: Mapping[str, Section]) -> Hashable:
    """Everything of `pages` and `sections` that a `Catalogue` reads: each page's path, kind, id,
    title, aliases and section, and the sections."""
    return (
        tuple(
            (
                p.src_uri,
                p.is_topic,
                p.meta.id,
                p.meta.title,
                tuple(getattr(p.meta, "aliases", ())),
                getattr(p.meta, "section", None),
            )
            for p in pages
        ),
        repr(sorted(sections.items())),
    )


def catalogue_of(pages: list[SourcePage], sections: Mapping[str, Section]) -> Catalogue:
    """`Catalogue(pages, sections)`, or the last one made again when nothing it reads has changed
    (`catalogue_key`): after an edit that moves no title, alias or section, a long-lived builder
    sorts, files and writes out no letter or section again (a second at 30,000 topics). Its pages
    are then the earlier build's objects, alike in everything a catalogue reads."""
    key = catalogue_key(pages, sections)
    found = _last.get(key)
    if found is None:
        found = Catalogue(pages, sections)
        _last.clear()
        _last[key] = found
    return found


def topics_of(pages: Iterable[SourcePage]) -> list[SourcePage]:
    """The clinical topics among `pages`."""
    return [p for p in pages if p.is_topic]


def a_to_z_entries(topics: Iterable[SourcePage]) -> list[Entry]:
    """Every title and alias, sorted case- and accent-insensitively."""
    entries: list[Entry] = []
    for page in topics:
        entries.append(Entry(page.meta.title, page, False))
        meta = page.meta
        assert isinstance(meta, TopicMeta)
        entries.extend(Entry(alias, page, True) for alias in meta.aliases)
    entries.sort(key=lambda e: (*sort_key(e.label), e.is_alias, e.topic.meta.title))
    return entries


def check_a_to_z(
    topics: Iterable[SourcePage], newer: Callable[[str, str], str | None] | None = None
) -> list[ContentError]:
    """Titles must be told apart in the A–Z: no two topics (or a topic and another's alias)
    whose titles fold to the same text, and no alias that only repeats its own title.

    A clash is blamed on the topic `newer` names (of two paths, the one changed last); when it
    cannot tell, each of the two files gets an error naming the other."""
    errors: list[ContentError] = []
    titles: dict[str, SourcePage] = {}
    ordered = sorted(topics_of(topics), key=lambda p: p.path)

    def blame(page: SourcePage, other: SourcePage) -> list[SourcePage]:
        """Which of two clashing topics to report: the newer, or both when unknown."""
        found = newer(page.path, other.path) if newer is not None else None
        if found is None:
            return [page, other]
        return [page if found == page.path else other]

    for page in ordered:
        key = fold(page.meta.title)
        other = titles.get(key)
        if other is None:
            titles[key] = page
            continue
        for culprit in blame(page, other):
            them = other if culprit is page else page
            errors.append(
                ContentError(
                    culprit.path,
                    culprit.line_of("title"),
                    f"title: '{culprit.meta.title}' collides in the A–Z with "
                    f"'{them.meta.title}' ({them.path}): give one a distinct title",
                )
            )
    for page in ordered:
        meta = page.meta
        assert isinstance(meta, TopicMeta)
        for i, alias in enumerate(meta.aliases):
            other = titles.get(fold(alias))
            if other is None:
                continue
            if other is page:
                message = f"aliases: '{alias}' only repeats the title"
                errors.append(ContentError(page.path, page.line_of("aliases", i), message))
                continue
            for culprit in blame(page, other):
                if culprit is page:
                    message = f"aliases: '{alias}' is the title of another topic ({other.path})"
                    errors.append(ContentError(page.path, page.line_of("aliases", i), message))
                else:
                    message = (
                        f"title: '{other.meta.title}' is an alias of another topic "
                        f"({page.path}): choose another title, or edit that topic's aliases"
                    )
                    errors.append(ContentError(other.path, other.line_of("title"), message))
    return errors


def _link(target: str, from_uri: str) -> str:
    """A relative Markdown link target, as MkDocs resolves and checks it.

    `posixpath.relpath` of the two, without its path normalising: both are clean docs-relative
    paths, and the A–Z pages make one link per topic and alias (seconds at 30,000 topics)."""
    here = from_uri.split("/")[:-1]
    parts = target.split("/")
    shared = 0
    while shared < len(here) and shared < len(parts) - 1 and here[shared] == parts[shared]:
        shared += 1
    return "/".join([".."] * (len(here) - shared) + parts[shared:])


def _escape(text: str) -> str:
    """Link text that Markdown shows as written (and never as HTML)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return "".join("\\" + c if c in "\\[]*_`" else c for c in text)


def _front_matter(page_id: str, title: str, summary: str) -> str:
    data = {"id": page_id, "title": title, "summary": summary, "hide": ["toc"]}
    return "---\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False) + "---\n"


def letters_bar(letters: Iterable[str], from_uri: str, current: str | None = None) -> str:
    """The row of A–Z letters, each linking to its page, linked relative to `from_uri`."""
    items = []
    for letter in letters:
        shown = "0–9" if letter == OTHER else letter
        if letter == current:
            items.append(f'<strong aria-current="page">{shown}</strong>')
        else:
            target = f"{A_TO_Z_DIR}/{letter_slug(letter)}.md"
            items.append(f"[{shown}]({_link(target, from_uri)})")
    return (
        '<nav class="az-jump" markdown="1" aria-label="Topics by letter">'
        + " · ".join(items)
        + "</nav>"
    )


def sections_list(sections: Mapping[str, Section], counts: Mapping[str, int], from_uri: str) -> str:
    """The sections with topics in them, by title, each linking to its page."""
    lines = []
    for key, section in sorted(sections.items(), key=lambda kv: sort_key(kv[1].title)):
        if counts.get(key):
            target = _link(f"{SECTIONS_DIR}/{key}.md", from_uri)
            lines.append(
                f"- [{_escape(section.title)}]({target}) ({counts[key]}): {_escape(section.summary)}"
            )
    return "\n".join(lines)


def _entry_line(entry: Entry, from_uri: str) -> str:
    title = entry.topic.meta.title if entry.is_alias else ""
    return _line(entry.label, title, entry.topic.src_uri, from_uri)


@lru_cache(maxsize=LINES_KEPT)
def _line(label: str, alias_of: str, src_uri: str, from_uri: str) -> str:
    """One A–Z line: a topic under `label`, or (`alias_of`: its title) a cross-reference."""
    link = _link(src_uri, from_uri)
    shown = _escape(label[:1].upper() + label[1:])
    if alias_of:
        # A cross-reference, not a topic: "MAS → Macrophage activation syndrome" on one line;
        # the arrow is drawn, a screen reader hears "see".
        return (
            f'- <span class="az-alias">{shown}&nbsp;<span class="az-arrow" aria-hidden="true">'
            f'→</span></span><span class="az-see-word">see</span> '
            f"[{_escape(alias_of)}]({link}){{: .az-see }}"
        )
    return f"- [{shown}]({link})"


class Catalogue:
    """The browsing pages of one build: letters, sections and the pages generated for them."""

    def __init__(self, pages: Iterable[SourcePage], sections: Mapping[str, Section]) -> None:
        self.topics = topics_of(pages)
        self.sections = sections
        self.entries = a_to_z_entries(self.topics)
        by_letter: dict[str, list[Entry]] = {}
        for entry in self.entries:
            by_letter.setdefault(entry.letter, []).append(entry)
        # Letters first, then the page for digits and symbols.
        self.by_letter = dict(sorted(by_letter.items(), key=lambda kv: (kv[0] == OTHER, kv[0])))
        self.by_section: dict[str, list[SourcePage]] = {}
        for page in sorted(self.topics, key=lambda p: sort_key(p.meta.title)):
            meta = page.meta
            assert isinstance(meta, TopicMeta)
            self.by_section.setdefault(meta.section, []).append(page)

    def home_letters(self, from_uri: str = HOME) -> str:
        """The home page's A–Z: one link per letter that has topics."""
        return letters_bar(self.by_letter, from_uri)

    def home_sections(self, from_uri: str = HOME) -> str:
        """The home page's list of sections."""
        counts = {key: len(pages) for key, pages in self.by_section.items()}
        return sections_list(self.sections, counts, from_uri)

    def topic_crumbs(self, page: SourcePage) -> tuple[Crumb, ...]:
        """Home › section › topic."""
        meta = page.meta
        assert isinstance(meta, TopicMeta)
        section = self.sections[meta.section]
        return (
            Crumb("Home", HOME),
            Crumb(section.title, f"{SECTIONS_DIR}/{meta.section}.md"),
            Crumb(meta.title, None),
        )

    @cached_property
    def crumbs(self) -> dict[str, tuple[Crumb, ...]]:
        """Each topic's breadcrumbs, by its source path."""
        return {p.src_uri: self.topic_crumbs(p) for p in self.topics}

    @cached_property
    def generated(self) -> list[Generated]:
        """Every page the build adds: the A–Z index and letters, the sections index and sections."""
        home = Crumb("Home", HOME)
        az = Crumb("Topics A–Z", A_TO_Z_INDEX)
        pages = [
            Generated(
                A_TO_Z_INDEX,
                _front_matter(
                    "a-z", "Topics A–Z", "Every topic and its other names, one page per letter."
                )
                + "Choose a letter to see the topics, and their other names, filed under it.\n\n"
                + letters_bar(self.by_letter, A_TO_Z_INDEX)
                + "\n",
                (home, Crumb("Topics A–Z", None)),
            )
        ]
        for letter, entries in self.by_letter.items():
            src = f"{A_TO_Z_DIR}/{letter_slug(letter)}.md"
            shown = "0–9 and symbols" if letter == OTHER else letter
            body = "\n".join(_entry_line(e, src) for e in entries)
            pages.append(
                Generated(
                    src,
                    _front_matter(
                        f"a-z-{letter_slug(letter)}",
                        f"Topics A–Z: {shown}",
                        f"Topics and their other names under {shown}.",
                    )
                    + letters_bar(self.by_letter, src, current=letter)
                    + "\n\n"
                    + body
                    + "\n",
                    (home, az, Crumb(shown, None)),
                )
            )
        counts = {key: len(p) for key, p in self.by_section.items()}
        pages.append(
            Generated(
                SECTIONS_INDEX,
                _front_matter("sections", "Sections", "Topics grouped by clinical section.")
                + (sections_list(self.sections, counts, SECTIONS_INDEX) or "No topics yet.")
                + "\n",
                (home, Crumb("Sections", None)),
            )
        )
        all_sections = Crumb("Sections", SECTIONS_INDEX)
        for key, topics in self.by_section.items():
            section = self.sections[key]
            src = f"{SECTIONS_DIR}/{key}.md"
            body = "\n".join(
                f"- [{_escape(p.meta.title)}]({_link(p.src_uri, src)})" for p in topics
            )
            pages.append(
                Generated(
                    src,
                    _front_matter(f"section-{key}", section.title, section.summary)
                    + _escape(section.summary)
                    + "\n\n"
                    + body
                    + "\n",
                    (home, all_sections, Crumb(section.title, None)),
                )
            )
        return pages
