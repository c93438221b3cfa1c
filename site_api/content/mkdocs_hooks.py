"""MkDocs hook: validate front matter, add the browsing pages, render citations, write the manifest,
the feed and the search index. A thin adapter: the rules live in the content model, `browse`,
`currency`, `links` and `search_index`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import mkdocs
from mkdocs.commands.build import get_context
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from site_api.content.browse import (
    LETTERS_MARKER,
    SECTIONS_MARKER,
    Catalogue,
    Crumb,
    check_a_to_z,
)
from site_api.content.citations import CitationExtension, order_references
from site_api.content.csp import inline_hashes
from site_api.content.currency import (
    Change,
    atom_feed,
    long_date,
    overdue_since,
    site_changes,
    whats_new_markdown,
)
from site_api.content.engine import running_engine
from site_api.content.links import LinkSource, check_links
from site_api.content.manifest import Manifest, ManifestPage, manifest_path_for
from site_api.content.model import (
    ContentError,
    SourcePage,
    TopicMeta,
    check_site,
    load_authors,
    load_sections,
    parse_page,
    raw_citation_errors,
    raw_id,
    split_front_matter,
)
from site_api.content.search_index import (
    SYNONYMS_FILE,
    IndexedPage,
    known_terms,
    load_synonyms,
    search_index_path_for,
    text_of_html,
    write_index,
)
from site_api.content.structured_data import page_jsonld, script_json

AUTHORS_FILE = "authors.yml"
SECTIONS_FILE = "sections.yml"
WHATS_NEW_MARKER = "<!-- whats-new -->"
FEED_FILE = "whats-new.xml"
SHELL_TEMPLATE = "shell.html"

# One build at a time per process; reset in on_config so `mkdocs serve` rebuilds start clean.
_state: dict[str, Any] = {}


def _fail(errors: list[ContentError]) -> None:
    lines = "\n".join(str(e) for e in errors)
    pages = len({e.path for e in errors})
    raise PluginError(f"{len(errors)} content error(s) in {pages} file(s):\n{lines}")


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    _state.clear()
    citations = CitationExtension()
    config.markdown_extensions.append(citations)  # type: ignore[arg-type]
    _state["citations"] = citations
    return config


def _load(
    docs: Path,
    name: str,
    why: str,
    loader: Callable[[str, str], dict[str, Any] | list[ContentError]],
) -> dict[str, Any]:
    path = docs / name
    if not path.is_file():
        _fail([ContentError(_display(path), 1, f"missing: {why}")])
    found = loader(_display(path), path.read_text(encoding="utf-8"))
    if isinstance(found, list):
        _fail(found)
    assert isinstance(found, dict)
    return found


def on_files(files: Files, config: MkDocsConfig) -> Files:
    docs = Path(config.docs_dir)
    authors = _load(docs, AUTHORS_FILE, "topics name their authors from this file", load_authors)
    sections = _load(docs, SECTIONS_FILE, "topics name their section from this file", load_sections)

    pages: list[SourcePage] = []
    errors: list[ContentError] = []
    by_uri: dict[str, File] = {}
    bodies: list[LinkSource] = []
    failed_ids: list[str] = []
    for file in files.documentation_pages():
        shown = _display(Path(file.abs_src_path or docs / file.src_uri))
        text = file.content_string
        parts = split_front_matter(text)
        if parts is not None:
            bodies.append(LinkSource(shown, file.src_uri, parts[1], parts[2]))
        parsed = parse_page(shown, file.src_uri, text)
        if isinstance(parsed, list):
            errors.extend(parsed)
            failed_ids.extend(filter(None, [raw_id(text)]))
            errors.extend(raw_citation_errors(shown, text))
        else:
            pages.append(parsed)
            by_uri[file.src_uri] = file
    # Every check runs whatever the others found, so one build reports every problem at once.
    errors += check_site(pages, authors, date.today(), sections, failed_ids) + check_a_to_z(pages)
    others = [f.src_uri for f in files if not f.is_documentation_page()]
    names = {p.src_uri: [p.meta.title, *getattr(p.meta, "aliases", [])] for p in pages}
    errors += check_links(bodies, others, names)
    if errors:
        _fail(sorted(set(errors), key=lambda e: (e.path, e.line, e.message)))

    for page in pages:
        # Checked: the YAML trees and bodies are not needed again, and at thousands of topics
        # they were most of the build's memory beyond MkDocs' own.
        page.node, page.body = None, ""
    catalogue = Catalogue(pages, sections)
    crumbs: dict[str, tuple[Crumb, ...]] = {
        p.src_uri: catalogue.topic_crumbs(p) for p in catalogue.topics
    }
    browsing = catalogue.generated()
    for generated in browsing:
        taken = files.get_file_from_path(generated.src_uri)
        if taken is not None:
            where = _display(Path(taken.abs_src_path or docs / taken.src_uri))
            _fail([ContentError(where, 1, "this path is reserved for a generated browsing page")])
        file = File.generated(config, generated.src_uri, content=generated.markdown)
        parsed = parse_page(f"(generated) {generated.src_uri}", file.src_uri, generated.markdown)
        assert isinstance(parsed, SourcePage), parsed
        files.append(file)
        pages.append(parsed)
        by_uri[file.src_uri] = file
        crumbs[file.src_uri] = generated.crumbs

    _state["authors"] = authors
    _state["today"] = date.today()
    _state["sections"] = sections
    _state["catalogue"] = catalogue
    _state["crumbs"] = crumbs
    # Pages that list other pages' titles or changes: not what a search for their words means.
    _state["listings"] = {g.src_uri for g in browsing}
    _state["pages"] = {p.src_uri: p for p in pages}
    _state["ids"] = {p.meta.id: p for p in pages}
    _state["files"] = by_uri
    return files


def _dated(value: date) -> dict[str, str]:
    return {"iso": value.isoformat(), "text": long_date(value)}


def _topic_view(page: SourcePage) -> dict[str, Any]:
    """What the theme shows around a topic's body."""
    meta = page.meta
    assert isinstance(meta, TopicMeta)
    files: dict[str, File] = _state["files"]
    ids: dict[str, SourcePage] = _state["ids"]
    related = [ids[r] for r in meta.related]
    return {
        "authors": [_state["authors"][a].model_dump() for a in meta.authors],
        "reviewed": _dated(meta.reviewed),
        "next_review": _dated(meta.next_review),
        # Decided at build time: a nightly build keeps it true without any request-time logic.
        "overdue": _dated(due) if (due := overdue_since(meta, _state["today"])) else None,
        "changes": [{**_dated(c.date), "summary": c.summary} for c in meta.changes],
        "references": [
            {"n": n, **ref.model_dump(mode="json")}
            for n, ref in order_references(meta.references, page.citations)
        ],
        "related": [
            {"title": r.meta.title, "summary": r.meta.summary, "url": files[r.src_uri].url}
            for r in related
        ],
    }


def _crumbs(src_uri: str) -> list[dict[str, str | None]]:
    files: dict[str, File] = _state["files"]
    return [
        {"title": c.title, "url": files[c.src_uri].url if c.src_uri else None}
        for c in _state["crumbs"].get(src_uri, ())
    ]


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    source: SourcePage = _state["pages"][page.file.src_uri]
    if source.is_topic:
        view = _topic_view(source)
        page.meta["topic"] = view
        # The topic's own summary for search results and link previews, never its metered body.
        page.meta["description"] = source.meta.summary
    citations: CitationExtension = _state["citations"]
    citations.numbers = (
        {r["key"]: r["n"] for r in page.meta["topic"]["references"]} if source.is_topic else {}
    )
    page.meta["crumbs"] = _crumbs(source.src_uri)
    catalogue: Catalogue = _state["catalogue"]
    if LETTERS_MARKER in markdown:
        markdown = markdown.replace(LETTERS_MARKER, catalogue.home_letters(source.src_uri))
    if SECTIONS_MARKER in markdown:
        markdown = markdown.replace(SECTIONS_MARKER, catalogue.home_sections(source.src_uri))
    if WHATS_NEW_MARKER in markdown:
        _state["listings"].add(source.src_uri)
        markdown = markdown.replace(
            WHATS_NEW_MARKER, whats_new_markdown(_changes(), page.file.src_uri)
        )
    site_url = config.site_url or "/"
    url = site_url.rstrip("/") + "/" + page.file.url.removeprefix("./")
    data = page_jsonld(source.meta, url, _state["authors"], config.site_name, site_url)
    page.meta["jsonld"] = script_json(data)
    return markdown


def _changes() -> list[Change]:
    """The newest changes across the site (What's new and its feed)."""
    files: dict[str, File] = _state["files"]
    entries = [
        Change(c.date, c.summary, page.meta.title, "/" + files[uri].url, uri)
        for uri, page in _state["pages"].items()
        if isinstance(page.meta, TopicMeta)
        for c in page.meta.changes
    ]
    return site_changes(entries)


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Keep each page's headings and text for the search index (not of pages listing others)."""
    headings, text = text_of_html(html)
    if page.file.src_uri in _state["listings"]:
        headings, text = [], ""
    _state.setdefault("text", {})[page.file.src_uri] = (headings, text)
    return html


def on_template_context(context: Any, template_name: str, config: MkDocsConfig) -> Any:
    """Server-rendered pages (the gate at the gated page's own URL) need absolute URLs."""
    if template_name != SHELL_TEMPLATE:
        return context
    base = urlsplit(config.site_url or "/").path
    return get_context(context["nav"], context["pages"], config, base_url=base)


def on_post_build(config: MkDocsConfig) -> None:
    site = Path(config.site_dir)
    files: dict[str, File] = _state["files"]
    entries = []
    indexed = []
    for uri, page in sorted(_state["pages"].items()):
        file = files[uri]
        entry = ManifestPage(
            id=page.meta.id,
            url="/" + file.url.removeprefix("./"),
            file=file.dest_uri,
            title=page.meta.title,
            summary=page.meta.summary,
            access=page.meta.access,
            aliases=list(getattr(page.meta, "aliases", [])),
        )
        entries.append(entry)
        headings, text = _state.get("text", {}).get(uri, ([], ""))
        indexed.append(
            IndexedPage(
                page_id=entry.id,
                url=entry.url,
                access=entry.access,
                title=entry.title,
                summary=entry.summary,
                aliases=entry.aliases,
                headings=headings,
                body=text,
                section=_section_title(page),
            )
        )
    synonyms = _synonyms(Path(config.docs_dir), indexed)
    scripts, styles = inline_hashes(site)
    # Under ProperDocs `import mkdocs` is ProperDocs itself, so this names what really ran.
    engine = running_engine(mkdocs.__name__, mkdocs.__version__)
    manifest = Manifest(pages=entries, csp_scripts=scripts, csp_styles=styles, engine=engine)
    manifest_path_for(site).write_text(manifest.model_dump_json(indent=1), encoding="utf-8")
    feed = atom_feed(_changes(), config.site_url or "/", config.site_name, _state["today"])
    (site / FEED_FILE).write_text(feed, encoding="utf-8")
    write_index(search_index_path_for(site), indexed, synonyms)


def _section_title(page: SourcePage) -> str:
    section = _state["sections"].get(getattr(page.meta, "section", None))
    return section.title if section is not None else ""


def _synonyms(docs: Path, pages: list[IndexedPage]) -> dict[str, list[str]]:
    """The editors' synonyms, validated against what the index holds (errors fail the build)."""
    path = docs / SYNONYMS_FILE
    if not path.is_file():
        return {}
    loaded = load_synonyms(_display(path), path.read_text(encoding="utf-8"), known_terms(pages))
    if isinstance(loaded, list):
        _fail(loaded)
    assert isinstance(loaded, dict)
    return loaded
