"""MkDocs hook: validate front matter, add the browsing pages, render citations, write the manifest,
guard the search index. A thin adapter: the rules live in the content model and `browse`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
from site_api.content.manifest import Manifest, ManifestPage, manifest_path_for
from site_api.content.model import (
    ContentError,
    SourcePage,
    TopicMeta,
    check_site,
    load_authors,
    load_sections,
    parse_page,
)

AUTHORS_FILE = "authors.yml"
SECTIONS_FILE = "sections.yml"
SHELL_TEMPLATE = "shell.html"

# One build at a time per process; reset in on_config so `mkdocs serve` rebuilds start clean.
_state: dict[str, Any] = {}


def _fail(errors: list[ContentError]) -> None:
    lines = "\n".join(str(e) for e in errors)
    raise PluginError(f"{len(errors)} content error(s):\n{lines}")


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
    for file in files.documentation_pages():
        shown = _display(Path(file.abs_src_path or docs / file.src_uri))
        parsed = parse_page(shown, file.src_uri, file.content_string)
        if isinstance(parsed, list):
            errors.extend(parsed)
        else:
            pages.append(parsed)
            by_uri[file.src_uri] = file
    if not errors:
        errors = check_site(pages, authors, date.today(), sections) + check_a_to_z(pages)
    if errors:
        _fail(sorted(errors, key=lambda e: (e.path, e.line)))

    for page in pages:
        # Checked: the YAML trees and bodies are not needed again, and at thousands of topics
        # they were most of the build's memory beyond MkDocs' own.
        page.node, page.body = None, ""
    catalogue = Catalogue(pages, sections)
    crumbs: dict[str, tuple[Crumb, ...]] = {
        p.src_uri: catalogue.topic_crumbs(p) for p in catalogue.topics
    }
    for generated in catalogue.generated():
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
    _state["sections"] = sections
    _state["catalogue"] = catalogue
    _state["crumbs"] = crumbs
    _state["pages"] = {p.src_uri: p for p in pages}
    _state["ids"] = {p.meta.id: p for p in pages}
    _state["files"] = by_uri
    return files


def _long_date(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def _topic_view(page: SourcePage) -> dict[str, Any]:
    """What the theme shows around a topic's body."""
    meta = page.meta
    assert isinstance(meta, TopicMeta)
    files: dict[str, File] = _state["files"]
    ids: dict[str, SourcePage] = _state["ids"]
    related = [ids[r] for r in meta.related]
    return {
        "authors": [_state["authors"][a].model_dump() for a in meta.authors],
        "reviewed": {"iso": meta.reviewed.isoformat(), "text": _long_date(meta.reviewed)},
        "next_review": {"iso": meta.next_review.isoformat(), "text": _long_date(meta.next_review)},
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
    return markdown


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
    for uri, page in sorted(_state["pages"].items()):
        file = files[uri]
        entries.append(
            ManifestPage(
                id=page.meta.id,
                url="/" + file.url.removeprefix("./"),
                file=file.dest_uri,
                title=page.meta.title,
                summary=page.meta.summary,
                access=page.meta.access,
                aliases=list(getattr(page.meta, "aliases", [])),
            )
        )
    manifest = Manifest(pages=entries)
    manifest_path_for(site).write_text(manifest.model_dump_json(indent=1), encoding="utf-8")
    _strip_search_index(site, {e.url.lstrip("/"): e for e in entries if e.access == "metered"})


def _strip_search_index(site: Path, metered: dict[str, ManifestPage]) -> None:
    """Keep metered bodies out of the public search index: title and summary only."""
    index_path = site / "search" / "search_index.json"
    if not index_path.is_file():
        return
    index = json.loads(index_path.read_text(encoding="utf-8"))
    kept = []
    for doc in index.get("docs", []):
        location, _, anchor = doc.get("location", "").partition("#")
        page = metered.get(location)
        if page is None:
            kept.append(doc)
        elif not anchor:
            kept.append({**doc, "text": page.summary})
    index["docs"] = kept
    index_path.write_text(json.dumps(index, separators=(",", ":")), encoding="utf-8")
