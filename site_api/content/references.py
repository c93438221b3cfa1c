"""The reference library: `content/references.yml` holds each cited work once, by key.

Topics cite an entry as `[@key]` in their body; the build checks the library (identifier syntax,
one key per work) and every citation against it, and renders each entry's citation text from its
fields. Pure: the hook reads the file and hands this module its text.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import yaml
from pydantic import (
    BeforeValidator,
    Field,
    HttpUrl,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from site_api.content.citations import Citation
from site_api.content.model import (
    ContentError,
    SourcePage,
    StrictModel,
    Text,
    TextDates,
    _line_of,
    load_yaml,
)

REFERENCES_FILE = "references.yml"
KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_:-]{0,63}")
#: A DOI as the DOI Handbook defines it: the directory indicator 10, a registrant code of dotted
#: digits, a slash, then any printable suffix (no spaces: a space ends a DOI in running text).
DOI_RE = re.compile(r"10\.[0-9]{4,9}(?:\.[0-9]+)*/\S+")
PMID_RE = re.compile(r"[1-9][0-9]{0,9}")
DOI_URL_PREFIXES = ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "doi:")


def _as_text(value: Any) -> Any:
    """YAML reads `volume: 25` or `pmid: 123` as a number; the library keeps them as written."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Number = Annotated[
    str, BeforeValidator(_as_text), StringConstraints(strip_whitespace=True, min_length=1)
]


class LibraryEntry(StrictModel):
    """One work: enough to print its citation in the house (Vancouver) style and find it."""

    authors: Annotated[list[Text], Field(min_length=1)]
    et_al: bool = False  # the list above is the first few authors: print "et al." after them
    title: Text
    journal: Text | None = None
    book: Text | None = None  # a chapter's book, printed "In: <book>." in place of a journal
    year: Annotated[int, Field(ge=1800, le=2100)]
    date: Text | None = None  # month and day after the year, as the source prints them
    volume: Number | None = None
    issue: Number | None = None
    pages: Number | None = None
    note: Text | None = None  # printed in brackets at the end, e.g. "In Japanese."
    doi: Annotated[str, BeforeValidator(_as_text)] | None = None
    pmid: Annotated[str, BeforeValidator(_as_text)] | None = None
    url: HttpUrl | None = None

    @field_validator("doi")
    @classmethod
    def _doi(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.lower().startswith(DOI_URL_PREFIXES):
            raise ValueError(f"write the DOI alone, without its link prefix (got {value!r})")
        if not DOI_RE.fullmatch(value):
            raise ValueError(
                f"not a DOI: write it as 10.NNNN/suffix with no spaces, e.g. 10.1002/art.39332 "
                f"(got {value!r})"
            )
        return value

    @field_validator("pmid")
    @classmethod
    def _pmid(cls, value: str | None) -> str | None:
        if value is not None and not PMID_RE.fullmatch(value):
            raise ValueError(f"a PubMed id is digits only, e.g. 28562511 (got {value!r})")
        return value

    @model_validator(mode="after")
    def _one_container(self) -> LibraryEntry:
        if (self.journal is None) == (self.book is None):
            raise ValueError("journal: give the journal, or for a book chapter the book, not both")
        return self

    def citation(self) -> str:
        """The citation text readers see, e.g. `Lee DW, et al. Title. Journal. 2019;25(4):625–638.`"""
        names = ", ".join(self.authors)
        people = f"{names}, et al." if self.et_al else _stop(names)
        where = f"In: {self.book}" if self.book is not None else str(self.journal)
        locator = str(self.year)
        locator += f" {self.date}" if self.date else ""
        locator += f";{self.volume}" if self.volume else ""
        locator += f"({self.issue})" if self.issue else ""
        locator += f":{self.pages}" if self.pages else ""
        text = f"{people} {_stop(self.title)} {_stop(where)} {locator}."
        return f"{text} ({self.note})" if self.note else text

    def view(self, key: str) -> dict[str, Any]:
        """What the theme's reference list shows of this entry."""
        return {
            "key": key,
            "citation": self.citation(),
            "doi": self.doi,
            "pmid": self.pmid,
            "url": str(self.url) if self.url is not None else None,
        }


def _stop(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else f"{text}."


@dataclass
class Library:
    """The parsed library: entries by key, each key's line, and the keys whose entry is broken
    (cited keys that are then neither unknown nor rendered: the build has already failed)."""

    path: str
    entries: dict[str, LibraryEntry]
    lines: dict[str, int]
    broken: set[str]

    def known(self) -> set[str]:
        """Every key the library defines, valid or not."""
        return set(self.entries) | self.broken


def load_library(path: str, text: str) -> tuple[Library, list[ContentError]]:
    """Parse `references.yml`; every problem in it at once, each with its line."""
    library = Library(path, {}, {}, set())
    try:
        node, data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = 1 + (mark.line if mark else 0)
        return library, [
            ContentError(path, line, f"references: invalid YAML: {getattr(exc, 'problem', exc)}")
        ]
    if data is None:
        return library, []
    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        return library, [ContentError(path, 1, "references: must be a mapping of key to work")]
    errors: list[ContentError] = []
    # Pair by pair from the YAML tree, not from the mapping PyYAML built: it keeps only the last
    # of two entries under one key, and both must be checked and the second reported.
    for key_node, value_node in node.value:
        key = str(key_node.value)
        line = 1 + key_node.start_mark.line
        if key in library.lines:
            errors.append(
                ContentError(
                    path,
                    line,
                    f"{key}: duplicate reference key (also on line {library.lines[key]}): "
                    "each work is listed once; rename one key",
                )
            )
            continue
        library.lines[key] = line
        if not KEY_RE.fullmatch(key):
            library.broken.add(key)
            errors.append(
                ContentError(
                    path,
                    line,
                    f"{key}: a reference key is letters, digits, _ : and - (e.g. lee2019)",
                )
            )
            continue
        try:
            entry = LibraryEntry.model_validate(construct(value_node))
        except ValidationError as exc:
            library.broken.add(key)
            errors.extend(_entry_errors(path, key, exc, value_node, line))
            continue
        library.entries[key] = entry
    errors.extend(_duplicate_works(library))
    return library, sorted(errors, key=lambda e: e.line)


def _entry_errors(
    path: str, key: str, exc: ValidationError, node: yaml.Node, key_line: int
) -> list[ContentError]:
    errors = []
    for err in exc.errors():
        loc: list[int | str] = list(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        named = re.match(r"^(\w+): ", msg)
        if not loc and named:  # a rule across fields that names the one to fix
            loc, msg = [named.group(1)], msg[named.end() :]
        line = _line_of(node, loc, 1) if loc else key_line
        if err["type"] == "missing":
            msg, line = "missing required field", key_line
        elif err["type"] == "extra_forbidden":
            msg = "unknown field (see the README's reference library for the fields)"
        where = ".".join(str(p) for p in [key, *loc])
        errors.append(ContentError(path, line, f"{where}: {msg}"))
    return errors


def construct(node: yaml.Node) -> Any:
    """The data of one node of the tree, read as the rest of the content is (dates as text)."""
    loader = TextDates("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _duplicate_works(library: Library) -> list[ContentError]:
    """The same DOI (DOIs ignore case) or PubMed id under two keys: one work listed twice."""
    errors = []
    first: dict[tuple[str, str], str] = {}
    for key, entry in library.entries.items():
        for field, value in (("doi", (entry.doi or "").lower()), ("pmid", entry.pmid or "")):
            if not value:
                continue
            other = first.setdefault((field, value), key)
            if other != key:
                errors.append(
                    ContentError(
                        library.path,
                        library.lines[key],
                        f"{key}.{field}: the same work as '{other}' (line "
                        f"{library.lines[other]}): keep one entry and cite its key",
                    )
                )
    return errors


def check_citations(
    pages: Iterable[tuple[str, list[Citation]]], library: Library
) -> tuple[list[ContentError], list[ContentError]]:
    """Citations of keys the library lacks (errors), and entries no page cites (warnings).

    `pages` are (path, citations) of every page, including those whose front matter failed:
    their citations are checked too, so one build reports every problem."""
    errors: list[ContentError] = []
    cited: set[str] = set()
    known = library.known()
    for path, citations in pages:
        for citation in citations:
            for key in citation.keys:
                cited.add(key)
                if key not in known:
                    errors.append(unknown_key(path, citation.line, key, known))
    warnings = [
        ContentError(library.path, line, f"{key}: cited by no topic (cite it, or remove it)")
        for key, line in library.lines.items()
        if key not in cited
    ]
    return errors, warnings


def unknown_key(path: str, line: int, key: str, known: Iterable[str]) -> ContentError:
    """A citation of a key the library does not hold, with the nearest key if one is close."""
    near = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.5)
    hint = f"; did you mean '@{near[0]}'?" if near else f"; add it to content/{REFERENCES_FILE}"
    return ContentError(path, line, f"citation: unknown reference key '{key}'{hint}")


def cited_entries(
    page: SourcePage, entries: Mapping[str, LibraryEntry]
) -> list[tuple[int, str, LibraryEntry]]:
    """A page's references numbered by order of first citation: (number, key, entry)."""
    order: list[str] = []
    for citation in page.citations:
        for key in citation.keys:
            if key in entries and key not in order:
                order.append(key)
    return [(n, key, entries[key]) for n, key in enumerate(order, start=1)]
