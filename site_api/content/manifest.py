"""Where the build's page manifest lives and how the server loads it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from site_api.content.model import Access, PageId, StrictModel


class ManifestPage(StrictModel):
    """What the server needs to know of one built page."""

    id: PageId
    url: str  # canonical, site-absolute: "/topics/x/"
    file: str  # the built HTML, relative to the site directory
    title: str
    summary: str
    access: Access
    aliases: list[str] = Field(default_factory=list)


class Manifest(StrictModel):
    """Every page of a build, written by the MkDocs hook and read by the server."""

    version: Literal[1] = 1
    pages: list[ManifestPage]


class ManifestError(RuntimeError):
    """The built site cannot be served: a message for the operator, not a traceback."""


def manifest_path_for(site_dir: Path) -> Path:
    """The manifest sits beside the site directory, never inside it, so no server can publish it."""
    return site_dir.with_name(site_dir.name + "-manifest.json")


def load_manifest(site_dir: Path) -> Manifest:
    """Read and validate the manifest of a built site."""
    path = manifest_path_for(site_dir)
    if not (site_dir / "index.html").is_file():
        raise ManifestError(
            f"no built site in {site_dir}/: run 'make build' (site-api build) first"
        )
    if not path.is_file():
        raise ManifestError(f"{path} is missing: rebuild the site with 'make build'")
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "manifest"
        raise ManifestError(
            f"{path} is corrupt ({where}: {first['msg']}): rebuild the site with 'make build'"
        ) from None
