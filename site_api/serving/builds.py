"""Kept builds: what each one records about itself (`build-info.json`), listing them, rollback.

Every build directory (see `publishing`) holds, beside its site and manifest, a small
`build-info.json`:

    {"format": 1, "built_at": "2026-12-07T12:41:30Z", "revision": "a1b2c3d4e5f6",
     "previous": "20261207T120000.000000Z",
     "changed": {"added": [...], "changed": [...], "removed": [...]},
     "sources": {"topics/x.md": [size, mtime_ns, "sha256"], ...}}

`changed` compares the sources with those of the build that was live when it was built
(`previous`); `sources` lets the next build do the same without re-reading unchanged files
(their size and time match). Other parts of the build may add their own keys: readers ignore
keys they do not know, and `format` changes only if a key's meaning does.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISREG
from typing import Any

import yaml

from site_api.serving.publishing import build_site_dir, builds_root

BUILD_INFO = "build-info.json"
FORMAT = 1
#: Sources that count as topics in the listing (`topics/…​.md` under the docs dir).
TOPICS_PREFIX = "topics/"


class BuildError(RuntimeError):
    """A build that cannot be listed or switched to; the message says which and why."""


@dataclass(frozen=True)
class Changes:
    """Source files added, changed and removed against the previous build (docs-relative)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def topics(self) -> str:
        """`2 changed, 1 added` for topics only; `none` when no topic moved."""
        parts = []
        for label, names in (
            ("changed", self.changed),
            ("added", self.added),
            ("removed", self.removed),
        ):
            count = sum(1 for n in names if n.startswith(TOPICS_PREFIX))
            if count:
                parts.append(f"{count} {label}")
        return ", ".join(parts) or "none"


@dataclass(frozen=True)
class KeptBuild:
    """One build directory under `<site>-builds/`, as `site-api builds` lists it."""

    stamp: str  # the directory's name: its UTC start time, sortable
    path: Path
    built_at: str  # ISO time, "" for a build from before build-info.json
    revision: str  # the content's git revision, "" when not a git checkout
    changes: Changes | None  # None: unknown (first build, or no record)
    live: bool


class _Tolerant(yaml.SafeLoader):
    """mkdocs.yml may carry `!ENV` or `!!python/name` tags; only `docs_dir` is wanted here."""


_Tolerant.add_multi_constructor("", lambda loader, suffix, node: None)


def docs_dir_of(config_file: Path) -> Path:
    """The sources directory a MkDocs config names (`docs_dir`, relative to the config)."""
    try:
        loaded = yaml.load(config_file.read_text(encoding="utf-8"), Loader=_Tolerant)  # noqa: S506
    except (OSError, yaml.YAMLError):
        loaded = None
    docs = loaded.get("docs_dir") if isinstance(loaded, dict) else None
    return config_file.parent / (docs if isinstance(docs, str) else "docs")


def _sources(docs_dir: Path, before: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Size, time and SHA-256 of every file under `docs_dir`; unchanged files are not re-read.

    os.walk and string paths: at 30,000 topics pathlib's rglob and parsing were a second and a
    half of every publish."""
    found: dict[str, list[Any]] = {}
    root = str(docs_dir)
    for folder, _, names in os.walk(root):
        prefix = folder[len(root) + 1 :].replace(os.sep, "/")
        for file_name in names:
            path = os.path.join(folder, file_name)
            try:
                stat = os.stat(path)
            except OSError:
                continue  # removed while listed
            if not S_ISREG(stat.st_mode):
                continue
            name = f"{prefix}/{file_name}" if prefix else file_name
            old = before.get(name)
            if old and old[0] == stat.st_size and old[1] == stat.st_mtime_ns:
                found[name] = old
                continue
            with open(path, "rb") as source:
                digest = hashlib.file_digest(source, "sha256").hexdigest()
            found[name] = [stat.st_size, stat.st_mtime_ns, digest]
    return dict(sorted(found.items()))


def git_revision(docs_dir: Path) -> str:
    """The git commit the sources are at (`+dirty` with uncommitted changes); "" outside git."""
    try:
        head = subprocess.run(
            ["git", "-C", str(docs_dir), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if head.returncode:
            return ""
        status = subprocess.run(
            ["git", "-C", str(docs_dir), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return head.stdout.strip() + ("+dirty" if status.stdout.strip() else "")


def read_info(build_dir: Path) -> dict[str, Any]:
    """A build's `build-info.json`, or `{}` when it has none or it cannot be read."""
    try:
        loaded = json.loads((build_dir / BUILD_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def live_build(site_link: Path) -> Path | None:
    """The build directory `site_link` points into, or None (no link, or a plain directory)."""
    if not site_link.is_symlink():
        return None
    resolved = Path(os.path.realpath(site_link))
    root = builds_root(site_link).resolve()
    return resolved.parent if resolved.parent.parent == root else None


def record_build(build_dir: Path, docs_dir: Path, previous: Path | None) -> dict[str, Any]:
    """Write `build_dir/build-info.json`: time, revision, and sources against the `previous`
    build (the one live before it; None: the first)."""
    before = read_info(previous) if previous is not None else {}
    old_sources: dict[str, list[Any]] = before.get("sources") or {}
    sources = _sources(docs_dir, old_sources)
    info: dict[str, Any] = {
        "format": FORMAT,
        "built_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "revision": git_revision(docs_dir),
        "previous": previous.name if previous is not None else None,
        "changed": None,
        "sources": sources,
    }
    if before.get("sources") is not None:
        info["changed"] = {
            "added": sorted(set(sources) - set(old_sources)),
            "changed": sorted(
                n for n in set(sources) & set(old_sources) if sources[n][2] != old_sources[n][2]
            ),
            "removed": sorted(set(old_sources) - set(sources)),
        }
    (build_dir / BUILD_INFO).write_text(json.dumps(info, indent=1), encoding="utf-8")
    return info


def kept_builds(site_link: Path) -> list[KeptBuild]:
    """Every kept build that holds a site, newest first, the live one marked."""
    root = builds_root(site_link)
    if not root.is_dir():
        return []
    live = live_build(site_link)
    found = []
    for path in sorted(root.iterdir(), key=lambda p: p.name, reverse=True):
        if not (build_site_dir(path, site_link) / "index.html").is_file():
            continue  # a build under way, or one that failed and is being removed
        info = read_info(path)
        changed = info.get("changed")
        changes = (
            Changes(**{k: list(changed.get(k, [])) for k in ("added", "changed", "removed")})
            if isinstance(changed, dict)
            else None
        )
        found.append(
            KeptBuild(
                stamp=path.name,
                path=path,
                built_at=str(info.get("built_at", "")),
                revision=str(info.get("revision") or ""),
                changes=changes,
                live=live is not None and path.resolve() == live.resolve(),
            )
        )
    return found


def rollback_target(site_link: Path, to: str | None) -> KeptBuild:
    """The build to switch to: `to` by its stamp, else the newest kept build older than the live."""
    builds = kept_builds(site_link)
    stamps = ", ".join(b.stamp for b in builds) or "none"
    if to is not None:
        chosen = next((b for b in builds if b.stamp == to), None)
        if chosen is None:
            raise BuildError(f"no kept build {to!r} (kept: {stamps}; see 'site-api builds')")
        if chosen.live:
            raise BuildError(f"{to} is already live")
        return chosen
    live = next((b for b in builds if b.live), None)
    if live is None:
        raise BuildError(f"{site_link} is not a link to a kept build: nothing to roll back from")
    older = [b for b in builds if b.stamp < live.stamp]
    if not older:
        raise BuildError(f"no build older than the live one ({live.stamp}) is kept")
    return older[0]
