"""MkDocs hook: validate front matter, render citations, write the manifest, guard the search index."""

from __future__ import annotations

import json
import posixpath
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mkdocs.commands.build import get_context
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from site_api.content.citations import order_references, render_citations
from site_api.content.manifest import Manifest, ManifestPage, manifest_path_for
from site_api.content.model import (
    ContentError,
    SourcePage,
    TopicMeta,
    check_site,
    load_authors,
    parse_page,
)

AUTHORS_FILE = "authors.yml"
A_TO_Z_MARKER = "<!-- topics:a-z -->"
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
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    docs = Path(config.docs_dir)
    authors_path = docs / AUTHORS_FILE
    if not authors_path.is_file():
        _fail(
            [
                ContentError(
                    _display(authors_path), 1, "missing: topics name their authors from this file"
                )
            ]
        )
    authors = load_authors(_display(authors_path), authors_path.read_text(encoding="utf-8"))
    if isinstance(authors, list):
        _fail(authors)
    assert isinstance(authors, dict)

    pages: list[SourcePage] = []
    errors: list[ContentError] = []
    texts: dict[str, str] = {}
    by_uri: dict[str, File] = {}
    for file in files.documentation_pages():
        shown = _display(Path(file.abs_src_path or docs / file.src_uri))
        text = file.content_string
        texts[shown] = text
        parsed = parse_page(shown, file.src_uri, text)
        if isinstance(parsed, list):
            errors.extend(parsed)
        else:
            pages.append(parsed)
            by_uri[file.src_uri] = file
    if not errors:
        errors = check_site(pages, authors, date.today(), texts)
    if errors:
        _fail(sorted(errors, key=lambda e: (e.path, e.line)))

    _state["authors"] = authors
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


def _a_to_z(from_uri: str) -> str:
    """Markdown A–Z list of topics and their aliases, linked relative to `from_uri`."""
    entries: list[tuple[str, str, str | None]] = []
    for page in _state["pages"].values():
        if not page.is_topic:
            continue
        link = posixpath.relpath(page.src_uri, posixpath.dirname(from_uri) or ".")
        entries.append((page.meta.title, link, None))
        for alias in page.meta.aliases:
            entries.append((alias, link, page.meta.title))
    entries.sort(key=lambda e: _fold(e[0]))
    groups: dict[str, list[str]] = {}
    for label, link, target in entries:
        letter = _fold(label)[:1].upper()
        letter = letter if letter.isalpha() else "#"
        shown = label[:1].upper() + label[1:]
        item = f"- [{shown}]({link})" if target is None else f"- {shown}: see [{target}]({link})"
        groups.setdefault(letter, []).append(item)
    jump = " · ".join(f"[{letter}](#az-{letter.lower()})" for letter in groups)
    blocks = [f'<nav class="az-jump" markdown="1" aria-label="Jump to letter">{jump}</nav>']
    for letter, items in groups.items():
        blocks.append(f"### {letter} {{#az-{letter.lower()}}}\n\n" + "\n".join(items))
    return "\n\n".join(blocks)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    source: SourcePage = _state["pages"][page.file.src_uri]
    if source.is_topic:
        view = _topic_view(source)
        page.meta["topic"] = view
        # The topic's own summary for search results and link previews, never its metered body.
        page.meta["description"] = source.meta.summary
        markdown = render_citations(markdown, {r["key"]: r["n"] for r in view["references"]})
    if A_TO_Z_MARKER in markdown:
        markdown = markdown.replace(A_TO_Z_MARKER, _a_to_z(page.file.src_uri))
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
