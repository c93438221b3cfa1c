"""Where the build's page manifest lives and how the server loads it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from site_api.content.model import Access, PageId, Status, StrictModel


class ManifestPage(StrictModel):
    """What the server needs to know of one built page."""

    id: PageId
    url: str  # canonical, site-absolute: "/topics/x/"
    file: str  # the built HTML, relative to the site directory
    title: str
    summary: str
    access: Access
    aliases: list[str] = Field(default_factory=list)


class BuildEngine(StrictModel):
    """What built the site: the engine that ran our hook, and the theme."""

    name: str  # "mkdocs" or "properdocs": the module that answered `import mkdocs`
    version: str
    theme: str  # "mkdocs-material 9.8.2"

    def __str__(self) -> str:
        return f"{self.name} {self.version} with {self.theme}"


class Manifest(StrictModel):
    """Every page of a build, written by the MkDocs hook and read by the server."""

    version: Literal[1] = 1
    pages: list[ManifestPage]
    # sha256 source expressions of the inline scripts and styles (content/csp.py), so the
    # embedded server sends the Content-Security-Policy nginx sends without reading every page.
    csp_scripts: list[str] = Field(default_factory=list)
    csp_styles: list[str] = Field(default_factory=list)
    # None only in manifests written before the engine was recorded.
    engine: BuildEngine | None = None


class ManifestError(RuntimeError):
    """The built site cannot be served: a message for the operator, not a traceback."""


def manifest_path_for(site_dir: Path) -> Path:
    """The manifest sits beside the site directory, never inside it, so no server can publish it."""
    return site_dir.with_name(site_dir.name + "-manifest.json")


def _manifest_file(site_dir: Path) -> Path:
    path = manifest_path_for(site_dir)
    if not (site_dir / "index.html").is_file():
        raise ManifestError(
            f"no built site in {site_dir}/: run 'make build' (site-api build) first"
        )
    if not path.is_file():
        raise ManifestError(f"{path} is missing: rebuild the site with 'make build'")
    return path


def load_manifest(site_dir: Path) -> Manifest:
    """Read and validate the whole manifest of a built site (every field, for tools and tests)."""
    path = _manifest_file(site_dir)
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "manifest"
        raise ManifestError(
            f"{path} is corrupt ({where}: {first['msg']}): rebuild the site with 'make build'"
        ) from None


@dataclass(frozen=True, slots=True)
class PageEntry:
    """What a server keeps of one page: the fields a page view and the gate page need, compact."""

    id: str
    url: str
    file: str
    title: str
    summary: str
    access: Access


_ENTRY_FIELDS = ("id", "url", "file", "title", "summary")
_ACCESS = {"metered": "metered", "free": "free"}


def _entry(obj: dict[str, Any]) -> PageEntry | dict[str, Any]:
    """json.loads's object hook: a page becomes an entry at once, so the parsed dicts do not
    outlive it (a 30,000-page manifest as dicts would be most of a worker's memory)."""
    if "url" not in obj:
        return obj
    values = [obj.get(field) for field in _ENTRY_FIELDS]
    access = _ACCESS.get(obj.get("access"))  # type: ignore[arg-type]
    if access is None or not all(isinstance(v, str) for v in values):
        return obj  # not a page: reported as corrupt below
    return PageEntry(*values, access)  # type: ignore[arg-type,call-arg]


@dataclass(frozen=True)
class ServedManifest:
    """What a server reads of the manifest: its pages, compact, and the build's CSP hashes."""

    pages: list[PageEntry]
    csp_scripts: list[str]
    csp_styles: list[str]
    #: The engine record as written (checked by `content.engine`); None in older manifests.
    engine: Any = None


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def load_page_entries(site_dir: Path) -> ServedManifest:
    """The manifest's pages as a server keeps them, read once at start; fast and compact."""
    path = _manifest_file(site_dir)
    try:
        data = json.loads(path.read_bytes(), object_hook=_entry)
    except ValueError as exc:
        raise ManifestError(
            f"{path} is corrupt ({exc}): rebuild the site with 'make build'"
        ) from None
    pages = data.get("pages") if isinstance(data, dict) else None
    problem = None
    if not isinstance(data, dict) or data.get("version") != 1:
        problem = "version: expected 1"
    elif not isinstance(pages, list):
        problem = "pages: expected a list"
    else:
        bad = next((i for i, page in enumerate(pages) if not isinstance(page, PageEntry)), None)
        if bad is not None:
            problem = f"pages.{bad}: not a page (id, url, file, title, summary, access)"
    if problem:
        raise ManifestError(f"{path} is corrupt ({problem}): rebuild the site with 'make build'")
    assert isinstance(pages, list) and isinstance(data, dict)
    return ServedManifest(
        pages,
        _strings(data.get("csp_scripts")),
        _strings(data.get("csp_styles")),
        data.get("engine"),
    )


class EditorialRow(StrictModel):
    """What the desk and the preview know of one topic, drafts included (never served)."""

    id: PageId
    path: str  # the source, as the editor sees it: content/topics/x.md
    title: str
    authors: list[str]  # keys of authors.yml
    author_names: list[str]
    section: str
    reviewed: date
    next_review: date
    status: Status
    # "none", "approved" (the content approved), or "changed" (since its approval).
    approval: Literal["none", "approved", "changed"] = "none"
    approved_by: str = ""
    approved_on: date | None = None


class EditorialIndex(StrictModel):
    """The build's editorial rows, beside the manifest: the desk reads these, never sources."""

    version: Literal[1] = 1
    topics: list[EditorialRow]


def editorial_path_for(site_dir: Path) -> Path:
    """The editorial rows sit beside the manifest (and like it, outside the published site)."""
    return site_dir.with_name(site_dir.name + "-editorial.json")


@dataclass(frozen=True, slots=True)
class EditorialEntry:
    """One editorial row as a server keeps it: compact, and only the rows it asked for."""

    id: str
    path: str
    title: str
    authors: tuple[str, ...]
    author_names: tuple[str, ...]
    section: str
    reviewed: date
    next_review: date
    status: str
    approval: str
    approved_by: str
    approved_on: date | None


def _row(obj: dict[str, Any]) -> EditorialEntry:
    on = obj.get("approved_on")
    return EditorialEntry(
        str(obj["id"]),
        str(obj["path"]),
        str(obj["title"]),
        tuple(obj["authors"]),
        tuple(obj["author_names"]),
        str(obj["section"]),
        date.fromisoformat(obj["reviewed"]),
        date.fromisoformat(obj["next_review"]),
        str(obj["status"]),
        str(obj.get("approval", "none")),
        str(obj.get("approved_by", "")),
        date.fromisoformat(on) if on else None,
    )


def read_editorial(
    site_dir: Path, wanted: Callable[[EditorialEntry], bool] = lambda _: True
) -> list[EditorialEntry]:
    """The editorial rows of the build in `site_dir` that `wanted` keeps, in path order.

    Each row is judged as it is parsed, so a 30,000-topic file never stands in memory whole
    (the desk wants the few rows due for review or not yet approved)."""
    path = editorial_path_for(Path(os.path.realpath(site_dir)))
    kept: list[EditorialEntry] = []

    def hook(obj: dict[str, Any]) -> Any:
        if "next_review" not in obj:
            return obj
        try:
            row = _row(obj)
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(f"{path} is corrupt ({exc!r}): rebuild the site") from None
        if wanted(row):
            kept.append(row)
        return None

    try:
        data = json.loads(path.read_bytes(), object_hook=hook)
    except OSError:
        raise ManifestError(
            f"{path} is missing: rebuild the site with 'make build' (site-api build)"
        ) from None
    except ValueError as exc:
        raise ManifestError(f"{path} is corrupt ({exc}): rebuild the site") from None
    if not isinstance(data, dict) or data.get("version") != 1:
        raise ManifestError(f"{path} is corrupt (version: expected 1): rebuild the site")
    return kept


def load_editorial(site_dir: Path) -> list[EditorialEntry]:
    """Every editorial row of a build (for tools and tests; the desk reads only what it shows)."""
    return read_editorial(site_dir)
