"""The topic schema: front matter of every page, defined once for the MkDocs hook and the server."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from site_api.content.citations import Citation, find_citations

PageId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Access = Literal["metered", "free"]
#: A draft is built only into the preview (content/drafts.py); "published" is the default.
Status = Literal["draft", "published"]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)


def _moved_to_library(entries: list[Any]) -> list[Any]:
    if entries:
        raise ValueError(
            "a topic no longer lists its references: move each entry to content/references.yml "
            "(README, The reference library) and cite it by key as [@key]"
        )
    return entries


def _no_duplicates(values: list[str]) -> list[str]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"'{value}' is listed twice")
        seen.add(value)
    return values


# libyaml's parser when PyYAML was built with it (MkDocs reads front matter with it too): the
# pure-Python one was half of a 1,000-topic build's time.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class TextDates(_BaseLoader):  # type: ignore[misc]
    """YAML's safe loader, but a date stays text for the model to parse: an impossible one
    (2026-13-40) is then a field error with its line, where PyYAML would raise ValueError."""

    yaml_implicit_resolvers = {
        first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def load_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """Parse once: the node tree (for the lines of errors) and the data built from it."""
    loader = TextDates(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


M = TypeVar("M", bound=StrictModel)


class Author(StrictModel):
    """A member of an authoring team, from `content/authors.yml`."""

    name: Text
    role: Text
    profession: Text


class Section(StrictModel):
    """A clinical section (specialty) readers browse by, from `content/sections.yml`."""

    title: Text
    summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class ChangeEntry(StrictModel):
    """One line of a topic's update history: when, and what changed, in a sentence."""

    date: date
    summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Approval(StrictModel):
    """A second clinician's approval of a topic's clinical content (`site-api approve`)."""

    by: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    date: date
    # sha256 of the title, summary, body and references approved (content/approval.py).
    fingerprint: Sha256


class PageMeta(StrictModel):
    """Front matter every page carries; `id` is stable across moves and renames."""

    id: PageId
    title: Text
    summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    access: Access = "free"
    # Material's own per-page switch (hide navigation/toc); harmless, so allowed.
    hide: list[Literal["navigation", "toc", "footer", "path", "tags"]] = Field(default_factory=list)


class TopicMeta(PageMeta):
    """Front matter of a clinical topic (any page under `topics/`)."""

    access: Access = "metered"
    authors: Annotated[list[str], Field(min_length=1), AfterValidator(_no_duplicates)]
    section: PageId
    reviewed: date
    next_review: date
    aliases: Annotated[list[Text], AfterValidator(_no_duplicates)] = Field(default_factory=list)
    related: Annotated[list[PageId], AfterValidator(_no_duplicates)] = Field(default_factory=list)
    # Cited works live in the reference library (site_api/content/references.py); a topic cites
    # them by key in its body. Kept only to say where its entries went.
    references: Annotated[list[Any], AfterValidator(_moved_to_library)] = Field(
        default_factory=list
    )
    changes: list[ChangeEntry] = Field(default_factory=list)  # newest first; see _check_changes
    status: Status = "published"
    approval: Approval | None = None

    @model_validator(mode="after")
    def _dates_and_keys(self) -> TopicMeta:
        if self.next_review <= self.reviewed:
            raise ValueError(
                f"next_review: {self.next_review} must be after reviewed ({self.reviewed})"
            )
        return self


@dataclass(frozen=True)
class ContentError:
    """A problem an editor can act on, reported as `path:line: message`."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class SourcePage:
    """One parsed Markdown file: validated metadata, body and where things are."""

    path: str  # as the editor sees it, e.g. content/topics/x.md
    src_uri: str  # relative to the docs dir, e.g. topics/x.md
    meta: PageMeta
    body: str
    body_line: int  # 1-based line of the first body line
    citations: list[Citation] = field(default_factory=list)
    # The front matter's YAML tree, when a caller has one.
    node: yaml.Node | None = field(default=None, repr=False)
    # The front matter's text: its tree is composed again only when an error needs a line (at
    # 30,000 topics, keeping every tree until the cross-page checks had run took a gigabyte).
    front: str = field(default="", repr=False)
    # A topic's clinical content fingerprint (content/approval.py), taken before the body goes.
    fingerprint: str = field(default="", repr=False)

    def line_of(self, *loc: int | str) -> int:
        """Line of a front matter field (or item), for an error message; 2 when absent."""
        node = self.node
        if node is None and self.front:
            node = load_yaml(self.front)[0]
        return _line_of(node, loc, 2)

    @property
    def is_topic(self) -> bool:
        return isinstance(self.meta, TopicMeta)


def is_topic_path(src_uri: str) -> bool:
    """Pages under `topics/` are clinical topics."""
    return PurePosixPath(src_uri).parts[:1] == ("topics",)


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """Return (yaml, body, body_line) or None when the file has no front matter."""
    match = FRONT_MATTER_RE.match(text)
    if not match:
        return None
    return match.group(1) or "", text[match.end() :], text[: match.end()].count("\n") + 1


def _line_of(node: yaml.Node | None, loc: Iterable[int | str], offset: int) -> int:
    """Line of the YAML node that a pydantic error location points at."""
    best = node
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
        else:
            node = None
        if node is None:
            break
        best = node
    return offset + (best.start_mark.line if best is not None else 0)


def _field_errors(
    exc: ValidationError, node: yaml.Node | None, path: str, offset: int = 2
) -> list[ContentError]:
    errors = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not (isinstance(p, str) and "[" in p)]
        msg = err["msg"].removeprefix("Value error, ")
        named = re.match(r"^(\w+): ", msg)
        if not loc and named:  # a whole-model rule that names its field: point at that line
            loc, msg = [named.group(1)], msg[named.end() :]
        where = ".".join(str(p) for p in loc) or "front matter"
        msg = _with_hint(err["type"], msg, err.get("input"), err.get("ctx") or {})
        errors.append(ContentError(path, _line_of(node, loc, offset), f"{where}: {msg}"))
    return errors


def yaml_field_errors(
    exc: ValidationError, node: yaml.Node | None, path: str
) -> list[ContentError]:
    """A whole YAML file's validation errors as `path:line: field: message` (other content files)."""
    return _field_errors(exc, node, path, 1)


def yaml_line(node: yaml.Node | None, loc: Iterable[int | str]) -> int:
    """Line of a field (or item) in a whole YAML file, for an error message."""
    return _line_of(node, loc, 1)


def _with_hint(kind: str, msg: str, value: Any, ctx: dict[str, Any]) -> str:
    """Pydantic's message, plus what to write instead."""
    if kind == "extra_forbidden":
        return "unknown field (check its spelling; see the README's front matter table)"
    if kind == "missing":
        return "missing required field"
    if kind.startswith("date_") or kind.startswith("datetime_"):
        return f"{msg}: write the date as YYYY-MM-DD, e.g. 2026-11-25 (got {value!r})"
    if kind == "string_too_long" and isinstance(value, str):
        limit = ctx.get("max_length")
        return f"{len(value.strip())} characters, at most {limit} allowed: shorten it"
    if kind == "too_short" and isinstance(value, list) and not value:
        return f"{msg}: list at least one"
    return msg


def _raw_front_matter(text: str) -> dict[str, Any]:
    parts = split_front_matter(text)
    if parts is None:
        return {}
    try:
        data = yaml.load(parts[0], Loader=TextDates)
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def raw_id(text: str) -> str | None:
    """The `id:` a page's front matter names, even when the rest of it is invalid."""
    value = _raw_front_matter(text).get("id")
    return value if isinstance(value, str) else None


def raw_citations(text: str) -> list[Citation]:
    """The citations of a page whose front matter failed validation (they are still checked)."""
    parts = split_front_matter(text)
    return [] if parts is None else find_citations(parts[1], parts[2])


def parse_page(path: str, src_uri: str, text: str) -> SourcePage | list[ContentError]:
    """Parse and validate one page on its own (cross-page rules are in `check_site`)."""
    parts = split_front_matter(text)
    if parts is None:
        return [ContentError(path, 1, "front matter: missing (the file must start with '---')")]
    raw, body, body_line = parts
    try:
        node, data = load_yaml(raw)
        data = data or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = 2 + mark.line if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        return [ContentError(path, line, f"front matter: invalid YAML: {problem}")]
    if not isinstance(data, dict):
        return [ContentError(path, 2, "front matter: must be a mapping of field: value")]
    model: type[PageMeta] = TopicMeta if is_topic_path(src_uri) else PageMeta
    try:
        meta = model.model_validate(data)
    except ValidationError as exc:
        return _field_errors(exc, node, path)
    page = SourcePage(path, src_uri, meta, body, body_line, front=raw)
    page.citations = find_citations(body, body_line)
    return page


def check_site(
    pages: list[SourcePage],
    authors: Mapping[str, Author],
    today: date,
    sections: Mapping[str, Section],
    other_ids: Iterable[str] = (),
) -> list[ContentError]:
    """Rules that need more than one page: ids, authors, sections, related pages, citations, dates.

    `other_ids` are ids of pages whose front matter failed on its own: a link to them is not
    reported as unknown too, so every error of a build shows at once without false ones.
    """
    errors: list[ContentError] = []
    by_id: dict[str, SourcePage] = {}
    known_elsewhere = set(other_ids)
    for page in pages:
        line = page.line_of("id")
        if page.meta.id in by_id:
            other = by_id[page.meta.id].path
            errors.append(
                ContentError(
                    page.path,
                    line,
                    f"id: duplicate page id '{page.meta.id}' (also in {other}): ids must be unique",
                )
            )
        else:
            by_id[page.meta.id] = page
    for page in pages:
        if isinstance(page.meta, TopicMeta):
            errors.extend(
                _check_topic(page, page.meta, by_id, known_elsewhere, authors, today, sections)
            )
    for page in pages:
        if not page.is_topic and page.citations:
            errors.append(
                ContentError(
                    page.path, page.citations[0].line, "citation: only topics may cite references"
                )
            )
    return sorted(errors, key=lambda e: (e.path, e.line))


def _check_topic(
    page: SourcePage,
    meta: TopicMeta,
    by_id: dict[str, SourcePage],
    known_elsewhere: set[str],
    authors: Mapping[str, Author],
    today: date,
    sections: Mapping[str, Section],
) -> list[ContentError]:
    def err(loc: list[int | str], message: str) -> ContentError:
        return ContentError(page.path, page.line_of(*loc), message)

    errors = [
        err(["authors", i], f"authors: unknown author '{a}'{_author_hint(a, authors)}")
        for i, a in enumerate(meta.authors)
        if a not in authors
    ]
    if meta.section not in sections:
        known_sections = ", ".join(sorted(sections)) or "none"
        errors.append(
            err(["section"], f"section: unknown section '{meta.section}' (known: {known_sections})")
        )
    for i, rel in enumerate(meta.related):
        if rel in known_elsewhere:
            continue
        if rel not in by_id:
            near = difflib.get_close_matches(rel, list(by_id), n=1, cutoff=0.5)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            errors.append(err(["related", i], f"related: unknown page id '{rel}'{hint}"))
        elif rel == meta.id:
            errors.append(err(["related", i], "related: a page cannot be related to itself"))
    if meta.reviewed > today:
        errors.append(err(["reviewed"], f"reviewed: {meta.reviewed} is in the future"))
    errors.extend(_check_changes(meta, today, err))
    return errors


def _check_changes(
    meta: TopicMeta, today: date, err: Callable[[list[int | str], str], ContentError]
) -> list[ContentError]:
    """Update history: no future dates, newest first, none after the last review."""
    errors = []
    for i, change in enumerate(meta.changes):
        where: list[int | str] = ["changes", i, "date"]
        if change.date > today:
            errors.append(err(where, f"changes: {change.date} is in the future"))
        elif change.date > meta.reviewed:
            errors.append(
                err(
                    where,
                    f"changes: {change.date} is after reviewed ({meta.reviewed}): "
                    "a change is part of a review, so set reviewed to the change's date",
                )
            )
        if i and change.date > meta.changes[i - 1].date:
            errors.append(
                err(
                    where,
                    f"changes: {change.date} is newer than the entry above it "
                    f"({meta.changes[i - 1].date}): list changes newest first",
                )
            )
    return errors


def _author_hint(key: str, authors: Mapping[str, Author]) -> str:
    near = difflib.get_close_matches(key, sorted(authors), n=1, cutoff=0.5)
    return f"; did you mean '{near[0]}'?" if near else "; add them to content/authors.yml"


def load_authors(path: str, text: str) -> dict[str, Author] | list[ContentError]:
    """Parse `authors.yml`: a mapping of key to name, role and profession."""
    return _load_mapping(path, text, Author, "author key to name, role and profession")


def load_sections(path: str, text: str) -> dict[str, Section] | list[ContentError]:
    """Parse `sections.yml`: the fixed list of sections, key to title and summary."""
    found = _load_mapping(path, text, Section, "section key to title and summary")
    if isinstance(found, dict):
        bad = [key for key in found if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", key)]
        if bad:
            return [
                ContentError(path, 1, f"{key}: a section key is lower-case letters, digits and -")
                for key in bad
            ]
    return found


def _load_mapping(
    path: str, text: str, model: type[M], what: str
) -> dict[str, M] | list[ContentError]:
    try:
        node, data = load_yaml(text)
        data = data or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [
            ContentError(
                path,
                1 + (mark.line if mark else 0),
                f"invalid YAML: {getattr(exc, 'problem', exc)}",
            )
        ]
    if not isinstance(data, dict):
        return [ContentError(path, 1, f"must be a mapping of {what}")]
    found: dict[str, M] = {}
    errors: list[ContentError] = []
    for key, value in data.items():
        try:
            found[str(key)] = model.model_validate(value)
        except ValidationError as exc:
            for err in exc.errors():
                loc = [key, *err["loc"]]
                where = ".".join(str(p) for p in loc)
                msg = "missing required field" if err["type"] == "missing" else err["msg"]
                errors.append(ContentError(path, _line_of(node, loc, 1), f"{where}: {msg}"))
    return errors or found
