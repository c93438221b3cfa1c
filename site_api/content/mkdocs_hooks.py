"""MkDocs hook: validate front matter, add the browsing pages, render citations, write the manifest,
the feed and the search index; render only what changed since the live build. A thin adapter: the
rules live in the content model, `browse`, `currency`, `links`, `search_index` and `incremental`.

Incremental builds (`site-api build` without `--full`) run MkDocs with `--dirty` into a fresh build
directory and name the live build in the environment (`incremental.REUSE_ENV`). After every page
has been validated, `on_nav` hard-links each output whose inputs are unchanged from the live build
and tells MkDocs that file is not modified, so MkDocs neither renders nor writes it; everything
else (the manifest, the feed, the sitemap, the search index's changed rows) is written anew.
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
import zlib
from collections.abc import Callable
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import mkdocs
from jinja2 import Environment, FileSystemBytecodeCache
from mkdocs.commands.build import get_context
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.nav import Navigation
from mkdocs.structure.pages import Page
from pydantic import ValidationError

import site_api
from site_api.calculators.artifact import built, write_calculators
from site_api.calculators.load import (
    CALCULATORS_DIR,
    calculator_citations,
    calculator_ids,
    check_markers,
    load_calculators,
    marker_id,
    markers_in,
)
from site_api.calculators.render import form_html, search_entry
from site_api.calculators.schema import Calculator
from site_api.config import Settings
from site_api.content.approval import (
    ApprovalView,
    approval_of,
    approved_prints,
    check_approvals,
    page_fingerprint,
)
from site_api.content.browse import (
    A_TO_Z_DIR,
    LETTERS_MARKER,
    SECTIONS_DIR,
    SECTIONS_MARKER,
    Catalogue,
    catalogue_of,
    check_a_to_z,
    letter_slug,
)
from site_api.content.citations import Citation, CitationExtension
from site_api.content.currency import (
    FEED_FILE,
    Change,
    atom_feed,
    long_date,
    overdue_since,
    site_changes,
    whats_new_markdown,
)
from site_api.content.drafts import approval_required, is_draft, is_preview_build, scaffold_errors
from site_api.content.engine import running_engine
from site_api.content.incremental import (
    CACHE_ENV,
    REUSE_ENV,
    Deps,
    csp_per_file,
    csp_table,
    digest,
    file_digest,
    kept_digest,
    load_deps,
    not_the_dirty_warning,
    reuse,
    site_fingerprint,
    text_digest,
    write_deps,
)
from site_api.content.links import LinkSource, PageLinks, check_links, page_links
from site_api.content.manifest import (
    EditorialIndex,
    EditorialRow,
    Manifest,
    ManifestPage,
    editorial_path_for,
    manifest_path_for,
)
from site_api.content.model import (
    ContentError,
    SourcePage,
    TopicMeta,
    check_site,
    load_authors,
    load_sections,
    parse_page,
    raw_citations,
    raw_id,
    split_front_matter,
)
from site_api.content.parse_cache import ParseCache, SourceReads, source_key, write_cache
from site_api.content.prepared import take
from site_api.content.references import (
    REFERENCES_FILE,
    Library,
    check_citations,
    cited_entries,
    load_library,
)
from site_api.content.revisions import Revisions
from site_api.content.salvage import Salvaged, salvage
from site_api.content.search_index import (
    SYNONYMS_FILE,
    IndexedPage,
    load_synonyms,
    page_rowid,
    patch_index,
    provided_terms,
    search_index_path_for,
    synonym_terms,
    text_of_html,
    write_index,
)
from site_api.content.structured_data import page_jsonld, script_json

AUTHORS_FILE = "authors.yml"
SECTIONS_FILE = "sections.yml"
WHATS_NEW_MARKER = "<!-- whats-new -->"
SHELL_TEMPLATE = "shell.html"
MARKERS = (LETTERS_MARKER, SECTIONS_MARKER, WHATS_NEW_MARKER)

log = logging.getLogger("mkdocs.hooks.site_api")

# One build at a time per process; reset in on_config so `mkdocs serve` rebuilds start clean.
_state: dict[str, Any] = {}


def _fail(errors: list[ContentError]) -> NoReturn:
    lines = "\n".join(str(e) for e in errors)
    pages = len({e.path for e in errors})
    raise PluginError(f"{len(errors)} content error(s) in {pages} file(s):\n{lines}")


def _display(path: Path | str, here: Path | None = None) -> str:
    """A path as the editor sees it: relative to where the build runs, when it is beneath it."""
    here = here or Path.cwd()
    text, base = str(path), str(here).rstrip(os.sep) + os.sep
    if text.startswith(base) and f"{os.sep}..{os.sep}" not in text:
        return text[len(base) :]  # the usual case, without pathlib's parsing (30,000 a build)
    path = Path(path)
    if not path.is_absolute() or not path.is_relative_to(here):
        path = path.resolve()  # a link or `..` on the way: resolve only then (it costs a stat each)
    try:
        return str(path.relative_to(here))
    except ValueError:
        return str(path)


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    _state.clear()
    # The site's public address is the one pages print and link canonically and the feed links
    # to: the setting the server builds share links and emails from, never mkdocs.yml's own.
    try:
        public_url = Settings().public_url.strip()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "SITE_" + "_".join(str(p) for p in first["loc"]).upper()
        raise PluginError(f"{name}: {first['msg']}") from None
    if public_url.startswith(("http://", "https://")):
        config.site_url = public_url.rstrip("/") + "/"
    if os.environ.get(REUSE_ENV):
        logging.getLogger("mkdocs.commands.build").addFilter(not_the_dirty_warning)
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


def _library(docs: Path) -> tuple[Library, list[ContentError], str]:
    """The reference library, its problems (none when a site has no library: it cites nothing)
    and the digest of its source."""
    path = docs / REFERENCES_FILE
    shown = _display(path)
    if not path.is_file():
        return Library(shown, {}, {}, set()), [], ""
    text = path.read_text(encoding="utf-8")
    return *load_library(shown, text), text_digest(text)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    live = os.environ.get(REUSE_ENV)
    cache = ParseCache.load(Path(live) if live else None)
    pages = _validated(files, config, cache)
    if pages is None:  # an error found with pages from the record: again, with every line
        cache = ParseCache()
        pages = _validated(files, config, cache)
        assert pages is not None  # without a record's pages, errors fail the build
    # Written now (the build directory is removed if the build fails): not held to the end.
    write_cache(Path(config.site_dir), cache)
    return _catalogued(files, config, pages)


def _validated(files: Files, config: MkDocsConfig, cache: ParseCache) -> list[SourcePage] | None:
    """Every page validated, each alone and across the site, all errors at once (they fail the
    build); None when errors were found with pages taken from `cache` (they lack their front
    matter's text, which an error's line comes from)."""
    docs = Path(config.docs_dir)
    authors = _load(docs, AUTHORS_FILE, "topics name their authors from this file", load_authors)
    sections = _load(docs, SECTIONS_FILE, "topics name their section from this file", load_sections)
    _state["authors"] = authors
    _state["sections"] = sections
    library, errors, library_digest = _library(docs)
    _state["library"] = library.entries
    calculators = load_calculators(docs / CALCULATORS_DIR, _display)
    calculator_files = calculator_ids(docs / CALCULATORS_DIR)  # a broken one's markers are fine
    if isinstance(calculators, list):
        errors += calculators
    _state["calculators"] = calculators if isinstance(calculators, dict) else {}
    pages: list[SourcePage] = []
    links: list[PageLinks] = []
    failed_ids: list[str] = []
    salvaged: list[Salvaged] = []
    sources: dict[str, str] = {}
    cited: list[tuple[str, list[Citation]]] = []
    markers: dict[str, list[str]] = {}
    by_uri: dict[str, File] = {}
    parsed_now: list[str] = []
    here = Path.cwd()
    reads = SourceReads()
    for file in files.documentation_pages():
        path = file.abs_src_path
        shown = _display(path or docs / file.src_uri, here)
        # A file this process read before, unchanged since, is not read again (`SourceReads`);
        # one holding markers is, as their check depends on more than its text.
        known = reads.known(path) if path else None
        text: str | None = None
        if known is None or known[1]:
            taken = reads.before_read(path) if path else None
            text = file.content_string
            sources[file.src_uri] = text_digest(text)
            markers[file.src_uri] = [m for m in MARKERS if m in text] + markers_in(text)
            if path:
                reads.record(path, taken, sources[file.src_uri], markers[file.src_uri])
            if markers[file.src_uri] and (parts := split_front_matter(text)) is not None:
                errors += check_markers(shown, parts[1], parts[2], calculator_files)
        else:
            sources[file.src_uri], markers[file.src_uri] = known[0], []
        key = source_key(shown, file.src_uri, sources[file.src_uri])
        cached = cache.get(key)
        if cached is not None:
            pages.append(cached[0])
            links.append(cached[1])
            by_uri[file.src_uri] = file
            cited.append((shown, cached[0].citations))
            continue
        if text is None:  # its parse is not in the record: read it after all
            text = file.content_string
        parsed_now.append(file.src_uri)
        parts = split_front_matter(text)
        found = page_links(LinkSource(shown, file.src_uri, parts[1], parts[2])) if parts else None
        if found is not None:
            links.append(found)
        parsed = parse_page(shown, file.src_uri, text)
        if isinstance(parsed, list):
            errors.extend(parsed)
            failed_ids.extend(filter(None, [raw_id(text)]))
            cited.append((shown, raw_citations(text)))
            rescued = salvage(shown, file.src_uri, text)
            if rescued is not None:
                salvaged.append(rescued)
        else:
            pages.append(parsed)
            by_uri[file.src_uri] = file
            if isinstance(parsed.meta, TopicMeta):
                # Taken while the body is here (it is dropped below; a recorded page has none).
                parsed.fingerprint = page_fingerprint(parsed.meta, parsed.body)
                errors.extend(scaffold_errors([parsed]))
            if found is not None:
                cache.put(key, parsed, found)
            parsed.body = ""  # its links and citations are taken; MkDocs reads the file again
            cited.append((shown, parsed.citations))
    reads.finish()
    for rescued_page in (s.page for s in salvaged):
        if isinstance(rescued_page.meta, TopicMeta):
            rescued_page.fingerprint = page_fingerprint(rescued_page.meta, rescued_page.body)
    # Every check runs whatever the others found, so one build reports every problem at once:
    # pages whose front matter failed are checked too, by the fields that are valid.
    today = date.today()
    checked = pages + [s.page for s in salvaged]
    # What an approval is of: the topic's own text and the library entries it cites.
    prints = approved_prints(checked, library.entries, library_digest)
    problems = check_site(checked, authors, today, sections, failed_ids)
    problems += check_a_to_z(checked, Revisions().newer)
    problems += scaffold_errors(s.page for s in salvaged)
    problems += check_approvals(checked, prints, authors, today, approval_required())
    partial = {s.page.path: s for s in salvaged}
    errors += [e for e in problems if e.path not in partial or partial[e.path].keeps(e)]
    others = [f.src_uri for f in files if not f.is_documentation_page()]
    names = {p.src_uri: [p.meta.title, *getattr(p.meta, "aliases", [])] for p in pages}
    # Drafts are built only into the preview: a published page must not link to one.
    drafts = set() if is_preview_build() else {p.src_uri for p in pages if is_draft(p)}
    errors += check_links(links, others, names, drafts)
    # A calculator's references are the library's keys too, checked with the topics' citations.
    cited += calculator_citations(docs / CALCULATORS_DIR, _display)
    unknown, unused = check_citations(cited, library)
    errors += unknown
    if errors and cache.hits:
        return None
    for warning in unused:
        # Not MkDocs' logger: a strict build fails on its warnings, and an unused entry is not
        # worth refusing a build for.
        sys.stderr.write(f"{warning} (warning)\n")
    if errors:
        _fail(sorted(set(errors), key=lambda e: (e.path, e.line, e.message)))
    approvals = {
        p.src_uri: approval_of(p, authors, prints[p.path]) for p in pages if p.path in prints
    }
    _state["editorial"] = _editorial_rows(pages, authors, approvals)
    _state["approvals"] = approvals
    for uri in drafts:
        files.remove(by_uri.pop(uri))
    _state["sources"] = sources
    _state["markers"] = markers
    _state["files"] = by_uri
    _state["parsed_now"] = parsed_now
    return [p for p in pages if p.src_uri not in drafts]


def _catalogued(files: Files, config: MkDocsConfig, pages: list[SourcePage]) -> Files:
    """Add the generated browsing pages and keep what the rest of the build needs."""
    docs = Path(config.docs_dir)
    sections = _state["sections"]
    sources: dict[str, str] = _state["sources"]
    by_uri: dict[str, File] = _state["files"]
    for page in pages:
        page.front = ""  # checked: only an error needed it
    catalogue = catalogue_of(pages, sections)
    crumbs = dict(catalogue.crumbs)  # the generated pages' are added
    browsing = catalogue.generated
    for generated in browsing:
        taken = files.get_file_from_path(generated.src_uri)
        if taken is not None:
            where = _display(Path(taken.abs_src_path or docs / taken.src_uri))
            _fail([ContentError(where, 1, "this path is reserved for a generated browsing page")])
        file = File.generated(config, generated.src_uri, content=generated.markdown)
        sources[file.src_uri] = text_digest(generated.markdown)
        parsed = parse_page(f"(generated) {generated.src_uri}", file.src_uri, generated.markdown)
        assert isinstance(parsed, SourcePage), parsed
        files.append(file)
        pages.append(parsed)
        by_uri[file.src_uri] = file
        crumbs[file.src_uri] = generated.crumbs

    _state["today"] = date.today()
    _state["catalogue"] = catalogue
    _state["crumbs"] = crumbs
    # Pages that list other pages' titles or changes: not what a search for their words means.
    _state["listings"] = {g.src_uri for g in browsing}
    _state["pages"] = {p.src_uri: p for p in pages}
    _state["ids"] = {p.meta.id: p for p in pages}
    _state["sources"] = sources
    _state["wanted"] = _wanted(docs)
    _state["new_terms"] = {}
    _state["rows"] = {}
    _state["html"] = {}
    return files


def _editorial_rows(
    pages: list[SourcePage], authors: dict[str, Any], approvals: dict[str, ApprovalView]
) -> list[EditorialRow]:
    """Every topic, drafts too, as the desk and the preview list them (by path)."""
    rows = []
    for page in sorted(pages, key=lambda p: p.path):
        meta = page.meta
        if not isinstance(meta, TopicMeta):
            continue
        approval = approvals[page.src_uri]
        # Built from fields the content model has validated: validating them again was most of
        # two seconds of every publish at 30,000 topics (tests/content check the rows).
        rows.append(
            EditorialRow.model_construct(
                id=meta.id,
                path=page.path,
                title=meta.title,
                authors=list(meta.authors),
                author_names=[authors[a].name for a in meta.authors],
                section=meta.section,
                reviewed=meta.reviewed,
                next_review=meta.next_review,
                status=meta.status,
                approval=approval.state,
                approved_by=approval.name,
                approved_on=approval.on,
            )
        )
    return rows


def _inputs(
    config: MkDocsConfig, sources: dict[str, str], previous: Deps | None
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Each page's inputs, readable, with `digest`: of everything the hook hands MkDocs for it;
    and per topic a key of what those inputs are made from.

    A topic's additions come from its own source, the sources of the topics it relates to, the
    library entries it cites, the day (only whether its review is overdue) and what the
    site-wide fingerprint covers. When the
    key of all that is the one `previous` (a build with the same fingerprint) recorded, its
    inputs are taken from there instead of being made again (at 30,000 topics, seconds).
    """
    catalogue: Catalogue = _state["catalogue"]
    ids: dict[str, SourcePage] = _state["ids"]
    lists: dict[str, list[str]] = {}
    for letter, entries in catalogue.by_letter.items():
        lists[f"{A_TO_Z_DIR}/{letter_slug(letter)}.md"] = [e.topic.meta.id for e in entries]
    for key, topics in catalogue.by_section.items():
        lists[f"{SECTIONS_DIR}/{key}.md"] = [t.meta.id for t in topics]
    inputs: dict[str, dict[str, Any]] = {}
    keys: dict[str, str] = {}
    works = {k: digest(e.model_dump(mode="json")) for k, e in _state["library"].items()}
    for uri, source in _state["pages"].items():
        meta_of = source.meta
        if isinstance(meta_of, TopicMeta) and not _state["markers"].get(uri):
            due = overdue_since(meta_of, _state["today"])
            # A related draft is left out of a published build (it is not in `ids` then).
            related = [
                (r, ids[r].src_uri, sources[ids[r].src_uri]) for r in meta_of.related if r in ids
            ]
            cites = [(k, works[k]) for _, k, _ in cited_entries(source, _state["library"])]
            keys[uri] = kept_digest((sources[uri], uri, str(due), tuple(related), tuple(cites)))
            if previous is not None and previous.keys.get(uri) == keys[uri]:
                inputs[uri] = previous.inputs[uri]
                continue
        meta, replacements = _additions(source, _state["files"][uri], config)
        if WHATS_NEW_MARKER in replacements:
            _state["listings"].add(uri)
            lists[uri] = [c.src_uri for c in _changes()]
        readable: dict[str, Any] = {"source": sources[uri]}
        if isinstance(source.meta, TopicMeta):
            readable["related"] = list(source.meta.related)
            readable["section"] = source.meta.section
            readable["overdue"] = meta["topic"]["overdue"]
            readable["references"] = [r["key"] for r in meta["topic"]["references"]]
        if uri in lists:
            readable["lists"] = lists[uri]
        readable["digest"] = digest([sources[uri], meta, replacements])
        inputs[uri] = readable
    return inputs, keys


def _unchanged() -> bool:
    """`File.is_modified` of an output reused from the live build: MkDocs' `--dirty` run then
    neither renders nor writes it."""
    return False


def on_nav(nav: Navigation, config: MkDocsConfig, files: Files) -> Navigation:
    """Decide what to render: reuse (hard-link) every output whose inputs are unchanged."""
    docs = Path(config.docs_dir)
    pages: dict[str, SourcePage] = _state["pages"]
    # Every page shows the navigation, so what it shows of its pages is site-wide; those pages
    # themselves are few and always rendered, so their titles are fresh in every rendered page.
    in_nav = {p.file.src_uri for p in nav.pages}
    navigation = [
        (uri, pages[uri].meta.model_dump(mode="json")) for uri in sorted(in_nav) if uri in pages
    ]
    assets = [
        file.src_uri
        for file in files
        if not file.inclusion.is_excluded()
        and not file.is_documentation_page()
        and file.abs_src_path
        and Path(file.abs_src_path).is_relative_to(docs)
    ]
    theme = config.theme.custom_dir
    fingerprint = site_fingerprint(
        Path(config.config_file_path or "mkdocs.yml"),
        Path(theme) if theme else None,
        [docs / AUTHORS_FILE, docs / SECTIONS_FILE, docs / SYNONYMS_FILE],
        Path(site_api.__file__).parent,
        navigation,
        assets,
        type(config).__module__.partition(".")[0],
        {"site_url": config.site_url, "site_name": config.site_name},
        "preview" if is_preview_build() else "published",
    )
    live = os.environ.get(REUSE_ENV)
    previous = load_deps(Path(live)) if live else None
    if previous is not None and previous.fingerprint != fingerprint:
        previous = None
    _state["inputs"], _state["keys"] = _inputs(config, _state["sources"], previous)
    outputs: dict[str, str] = {}
    for file in files:
        if file.inclusion.is_excluded():
            continue
        if file.is_documentation_page():
            outputs[file.dest_uri] = _state["inputs"][file.src_uri]["digest"]
        elif file.abs_src_path and Path(file.abs_src_path).is_relative_to(docs):
            outputs[file.dest_uri] = file_digest(Path(file.abs_src_path))
        else:
            outputs[file.dest_uri] = "theme"  # the fingerprint covers the theme and its version
    reused: set[str] = set()
    # A long-lived builder's directory prepared from the live build: taken before anything is
    # written, and emptied of all it holds that this build does not reuse (none, in full).
    held = take(Path(live), Path(config.site_dir)) if live else None
    if live and (previous is not None or held is not None):
        fresh = {p.file.dest_uri for p in nav.pages}
        had = held.outputs if held is not None else frozenset()
        reused = reuse(Path(live), Path(config.site_dir), outputs, previous, fresh, had)
        for file in files:
            if file.dest_uri in reused:
                setattr(file, "is_modified", _unchanged)  # noqa: B010 (an instance's method)
    _state["fingerprint"] = fingerprint
    _state["outputs"] = outputs
    _state["reused"] = reused
    _state["previous"] = (Path(live), previous) if live and previous and reused else None
    _state["index_copy"] = held.index if held is not None else None
    return nav


def _dated(value: date) -> dict[str, str]:
    return {"iso": value.isoformat(), "text": long_date(value)}


def _topic_view(page: SourcePage) -> dict[str, Any]:
    """What the theme shows around a topic's body."""
    meta = page.meta
    assert isinstance(meta, TopicMeta)
    files: dict[str, File] = _state["files"]
    ids: dict[str, SourcePage] = _state["ids"]
    # A related draft is not built (but in the preview): the list leaves it out.
    related = [ids[r] for r in meta.related if r in ids]
    approval: ApprovalView = _state["approvals"][page.src_uri]
    return {
        "authors": [_state["authors"][a].model_dump() for a in meta.authors],
        "reviewed": _dated(meta.reviewed),
        "next_review": _dated(meta.next_review),
        # Decided at build time: a nightly build keeps it true without any request-time logic.
        "overdue": _dated(due) if (due := overdue_since(meta, _state["today"])) else None,
        "changes": [{**_dated(c.date), "summary": c.summary} for c in meta.changes],
        # Shown only while the content is what was approved.
        "approval": (
            {"name": approval.name, **_dated(approval.on)}
            if approval.state == "approved" and approval.on is not None
            else None
        ),
        # The cited entries' text itself: a page depends on exactly the entries it cites.
        "references": [
            {"n": n, **entry.view(key)} for n, key, entry in cited_entries(page, _state["library"])
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


def _additions(
    source: SourcePage, file: File, config: MkDocsConfig
) -> tuple[dict[str, Any], dict[str, str]]:
    """Everything the hook adds to a page: its metadata for the theme, and the text that
    replaces each marker in its Markdown. With its source, all a page's own inputs."""
    meta: dict[str, Any] = {}
    if source.is_topic:
        meta["topic"] = _topic_view(source)
        # The topic's own summary for search results and link previews, never its metered body.
        meta["description"] = source.meta.summary
    meta["crumbs"] = _crumbs(source.src_uri)
    site_url = config.site_url or "/"
    url = site_url.rstrip("/") + "/" + file.url.removeprefix("./")
    data = page_jsonld(source.meta, url, _state["authors"], config.site_name, site_url)
    meta["jsonld"] = script_json(data)
    catalogue: Catalogue = _state["catalogue"]
    present = _state["markers"].get(source.src_uri, ())
    replacements: dict[str, str] = {}
    if LETTERS_MARKER in present:
        replacements[LETTERS_MARKER] = catalogue.home_letters(source.src_uri)
    if SECTIONS_MARKER in present:
        replacements[SECTIONS_MARKER] = catalogue.home_sections(source.src_uri)
    if WHATS_NEW_MARKER in present:
        replacements[WHATS_NEW_MARKER] = whats_new_markdown(_changes(), source.src_uri)
    calculators: dict[str, Calculator] = _state["calculators"]
    for written in present:
        if (calc := calculators.get(marker_id(written))) is not None:
            # Part of the body, so a gated topic gates its calculator with it.
            sources = built({calc.id: calc}, _state["library"]).sources(calc)
            replacements[written] = f"\n\n{form_html(calc, sources, standalone=False)}\n\n"
    return meta, replacements


def on_env(env: Environment, config: MkDocsConfig, files: Files) -> Environment:
    """Compiled templates kept between builds (Jinja checks each against its source), so a
    one-page build does not compile the theme again."""
    kept = os.environ.get(CACHE_ENV)
    if kept:
        directory = Path(kept) / "templates"
        directory.mkdir(parents=True, exist_ok=True)
        env.bytecode_cache = FileSystemBytecodeCache(str(directory))
    return env


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    source: SourcePage = _state["pages"][page.file.src_uri]
    meta, replacements = _additions(source, page.file, config)
    page.meta.update(meta)
    citations: CitationExtension = _state["citations"]
    citations.numbers = (
        {r["key"]: r["n"] for r in meta["topic"]["references"]} if source.is_topic else {}
    )
    for marker, text in replacements.items():
        markdown = markdown.replace(marker, text)
    return markdown


def _changes() -> list[Change]:
    """The newest changes across the site (What's new and its feed)."""
    files: dict[str, File] = _state["files"]
    entries = [
        Change(
            c.date,
            c.summary,
            page.meta.title,
            "/" + files[uri].url,
            uri,
            page.meta.id,
            sum(1 for older in page.meta.changes[i + 1 :] if older.date == c.date),
        )
        for uri, page in _state["pages"].items()
        if isinstance(page.meta, TopicMeta)
        for i, c in enumerate(page.meta.changes)
    ]
    return site_changes(entries)


def _entry(page: SourcePage, file: File) -> ManifestPage:
    """A page's row of the manifest (of fields the content model has validated: validating
    them again was a second of every publish at 30,000 topics; tests/content check the rows)."""
    return ManifestPage.model_construct(
        id=page.meta.id,
        url="/" + file.url.removeprefix("./"),
        file=file.dest_uri,
        title=page.meta.title,
        summary=page.meta.summary,
        access=page.meta.access,
        aliases=list(getattr(page.meta, "aliases", [])),
    )


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Take each page's search-index row (headings and text, not of pages listing others) and
    set its HTML aside, compressed, until its template is rendered.

    MkDocs converts every page before it renders any template, so every page's Markdown and HTML
    would otherwise be held at once: at 30,000 topics that was most of a full build's memory.
    """
    uri = page.file.src_uri
    source: SourcePage = _state["pages"][uri]
    try:
        headings, text = text_of_html(html)
    except ValueError as exc:
        _fail([ContentError(source.path, source.body_line, str(exc))])
    if uri in _state["listings"]:
        headings, text = [], ""
    entry = _entry(source, page.file)
    row = IndexedPage(
        page_id=entry.id,
        url=entry.url,
        access=entry.access,
        title=entry.title,
        summary=entry.summary,
        aliases=entry.aliases,
        headings=headings,
        body=text,
        section=_section_title(source),
    )
    if found := provided_terms(row, _state["wanted"]):
        _state["new_terms"][entry.id] = found
    _state["rows"][uri] = zlib.compress(pickle.dumps(row, pickle.HIGHEST_PROTOCOL), 1)
    _state["html"][uri] = zlib.compress(html.encode("utf-8"), 1)
    page.markdown = ""  # converted: MkDocs does not read it again
    return ""


def on_page_context(
    context: dict[str, Any], page: Page, config: MkDocsConfig, nav: Navigation
) -> dict[str, Any]:
    """The page's HTML back, just before its template is rendered."""
    page.content = zlib.decompress(_state["html"].pop(page.file.src_uri)).decode("utf-8")
    return context


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    """Written once this returns: let go of the page's HTML."""
    page.content = None
    return output


def on_template_context(context: Any, template_name: str, config: MkDocsConfig) -> Any:
    """Server-rendered pages (the gate at the gated page's own URL) need absolute URLs."""
    if template_name != SHELL_TEMPLATE:
        return context
    base = urlsplit(config.site_url or "/").path
    return get_context(context["nav"], context["pages"], config, base_url=base)


def on_post_build(config: MkDocsConfig) -> None:
    site = Path(config.site_dir)
    files: dict[str, File] = _state["files"]
    rendered: dict[str, bytes] = _state["rows"]
    previous: tuple[Path, Deps] | None = _state["previous"]
    entries = []
    kept: set[str] = set()  # ids of the pages whose index rows the live build's index holds
    for uri, page in sorted(_state["pages"].items()):
        entry = _entry(page, files[uri])
        entries.append(entry)
        if uri not in rendered:
            kept.add(entry.id)
    calculators: dict[str, Calculator] = _state["calculators"]
    # One row at a time (never every page's text at once), in row-id order: FTS5 writes out a
    # segment whenever a row id goes down, and merging those was half of writing a full index.
    rows: list[tuple[int, bytes | IndexedPage]] = [
        (page_rowid(_state["pages"][uri].meta.id), row) for uri, row in rendered.items()
    ]
    # Calculators' pages are the server's, so their rows are written anew by every build.
    rows += [(page_rowid(r.page_id), r) for r in map(search_entry, calculators.values())]
    rows.sort(key=itemgetter(0))
    indexed = (
        row if isinstance(row, IndexedPage) else pickle.loads(zlib.decompress(row))  # noqa: S301
        for _, row in rows
    )
    write_calculators(site, built(calculators, _state["library"]))
    docs = Path(config.docs_dir)
    terms = dict(_state["new_terms"])
    if previous is not None:
        terms.update({pid: found for pid, found in previous[1].terms.items() if pid in kept})
    terms = dict(sorted(terms.items()))
    synonyms = _synonyms(docs, {t: set() for found in terms.values() for t in found})
    html: list[str] | None = None
    if previous is not None:  # walking 30,000 folders for them was 1.5 s of a publish
        html = [name for name in _state["outputs"] if name.endswith(".html")]
        html += [n for n in config.theme.static_templates if n.endswith(".html")]
        html = [n for n in html if n in _state["reused"] or (site / n).is_file()]
    per_file = csp_per_file(site, _state["reused"], previous[1] if previous else None, html)
    scripts = sorted(set().union(*(s for s, _ in per_file.values())))
    styles = sorted(set().union(*(c for _, c in per_file.values())))
    # Under ProperDocs `import mkdocs` is ProperDocs itself, so this names what really ran.
    engine = running_engine(mkdocs.__name__, mkdocs.__version__)
    manifest = Manifest(pages=entries, csp_scripts=scripts, csp_styles=styles, engine=engine)
    manifest_path_for(site).write_text(manifest.model_dump_json(indent=1), encoding="utf-8")
    editorial = EditorialIndex(topics=_state["editorial"])
    editorial_path_for(site).write_text(editorial.model_dump_json(), encoding="utf-8")
    feed = atom_feed(_changes(), config.site_url or "/", config.site_name, _state["today"])
    (site / FEED_FILE).write_text(feed, encoding="utf-8")
    index = search_index_path_for(site)
    copied: Path | None = _state["index_copy"]
    if previous is None:
        if copied is not None:
            copied.unlink()  # prepared for a patch, but this index is written anew
        write_index(index, indexed, synonyms)
    else:
        patch_index(index, search_index_path_for(previous[0]), indexed, kept, copied)
    table, hashes = csp_table(per_file)
    deps = Deps(
        fingerprint=_state["fingerprint"],
        outputs=_state["outputs"],
        inputs=_state["inputs"],
        keys=_state["keys"],
        csp=table,
        hashes=hashes,
        terms=terms,
        rendered=sorted(rendered),
        parsed=sorted(_state["parsed_now"]),
        reused_from=str(previous[0]) if previous else None,
    )
    write_deps(site, deps)
    if previous is not None:
        log.info(
            "incremental build: parsed %d and rendered %d of %d pages, reused the rest from %s",
            len(_state["parsed_now"]),
            len(rendered),
            len(entries),
            previous[0],
        )


def _wanted(docs: Path) -> set[str]:
    """The terms synonyms.yml names: which of them each page provides is recorded, so the file
    is checked exactly as against every indexed word, without the reused pages' text."""
    path = docs / SYNONYMS_FILE
    if not path.is_file():
        return set()
    return synonym_terms(_display(path), path.read_text(encoding="utf-8"))


def _section_title(page: SourcePage) -> str:
    section = _state["sections"].get(getattr(page.meta, "section", None))
    return section.title if section is not None else ""


def _synonyms(docs: Path, known: dict[str, set[str]]) -> dict[str, list[str]]:
    """The editors' synonyms, validated against what the index holds (errors fail the build)."""
    path = docs / SYNONYMS_FILE
    if not path.is_file():
        return {}
    loaded = load_synonyms(_display(path), path.read_text(encoding="utf-8"), known)
    if isinstance(loaded, list):
        _fail(loaded)
    assert isinstance(loaded, dict)
    return loaded
