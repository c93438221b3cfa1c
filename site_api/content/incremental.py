"""Incremental builds: what each output of a build depends on, and which outputs can be reused.

Every build writes `site-deps.json` beside its manifest: one fingerprint of everything site-wide
(the MkDocs config, the theme, the vocabularies, our own code, the engine's versions, the pages
of the navigation that every page shows) and, per output file, one digest of its inputs. For a
page those inputs are exactly what the build hands MkDocs for it: its source text and what the
hook adds (the related topics' titles and summaries, the crumbs with the section's title, the
review-overdue date, the A–Z and section listings, What's new). All of it comes from the content
model, so the next build knows every digest before it renders anything: an output whose digest
is unchanged, in a build with the same fingerprint, is hard-linked from the live build (no bytes
copied, the live file never opened for writing) and only the rest is rendered.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from site_api.content.csp import html_hashes

#: Set by `site-api build` for MkDocs' run: the live build's site directory, to reuse from.
REUSE_ENV = "SITE_API_REUSE_BUILD"
#: Set by `site-api build`: a directory kept across builds for what only speeds a build up
#: (compiled templates), never for what a page says.
CACHE_ENV = "SITE_API_BUILD_CACHE"
DEPS_VERSION = 1
#: What renders a page besides our code: their versions are part of the fingerprint.
ENGINE_PACKAGES = (
    "mkdocs",
    "properdocs",
    "mkdocs-material",
    "markdown",
    "jinja2",
    "pymdown-extensions",
    "pygments",
    "pyyaml",
)


def not_the_dirty_warning(record: logging.LogRecord) -> bool:
    """MkDocs warns that `--dirty` builds go stale; ours are planned so they do not (and a
    warning would fail the strict build). Defined here, not in the hook, so that a process
    running many builds (the preview) adds it to MkDocs' logger once, not once per build."""
    return not record.getMessage().startswith("A 'dirty' build is being performed")


def deps_path_for(site_dir: Path) -> Path:
    """The dependency record sits beside the site directory, like the manifest."""
    return site_dir.with_name(site_dir.name + "-deps.json")


def digest(value: Any) -> str:
    """A stable digest of JSON-able data (dates and other values by their text)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: Digests a long-lived builder keeps (`kept_digest`): two per page at 30,000 topics.
DIGESTS_KEPT = 1 << 18


@lru_cache(maxsize=DIGESTS_KEPT)
def kept_digest(value: tuple[Any, ...]) -> str:
    """`digest` of a tuple (the same as of the list), kept: a long-lived builder asks for the
    same keys of every unchanged page on every build (0.5 s of JSON at 30,000 topics)."""
    return digest(value)


def text_digest(text: str) -> str:
    """The digest of one source text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_digest(path: Path) -> str:
    """The digest of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree(root: Path, suffixes: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """(relative path, digest) of every file under `root`, sorted; `suffixes` filters."""
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.rglob("*")):
        wanted = suffixes is None or path.suffix in suffixes
        if wanted and path.is_file() and "__pycache__" not in path.parts:
            found.append((path.relative_to(root).as_posix(), file_digest(path)))
    return found


#: The parts of our package a build runs: the hook imports nothing of ours outside them
#: (tests/test_layout.py holds it so). Their every file, templates too, is in the fingerprint;
#: a change elsewhere (the server, the accounts) renders nothing again.
BUILD_CODE = ("__init__.py", "config.py", "content", "calculators")


def build_code(package_dir: Path) -> list[tuple[str, str]]:
    """(relative path, digest) of every file of the package's `BUILD_CODE`, sorted."""
    found: list[tuple[str, str]] = []
    for name in BUILD_CODE:
        path = package_dir / name
        if path.is_dir():
            found += [(f"{name}/{relative}", d) for relative, d in tree(path)]
        elif path.is_file():
            found.append((name, file_digest(path)))
    return found


def engine_versions(engine: str) -> dict[str, str | None]:
    """The installed versions of what renders a page, Python's, and which engine runs it."""
    versions: dict[str, str | None] = {"python": sys.version, "engine": engine}
    for name in ENGINE_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def site_fingerprint(
    config_file: Path,
    theme_dir: Path | None,
    vocabularies: Iterable[Path],
    code_dir: Path,
    navigation: Any,
    docs_assets: Iterable[str],
    engine: str,
    settings: Mapping[str, Any] | None = None,
    mode: str = "published",
) -> str:
    """One digest of everything every page may depend on: any change rebuilds every page.

    `navigation` is what the navigation shows of its pages (every page carries it);
    `docs_assets` the names of the non-page files under the docs dir (links are rewritten
    differently to a file that exists and to one that does not); `engine` the package running
    the build (`mkdocs`, or a continuation of it such as `properdocs`); `settings` what the
    configuration says after the environment had its say (the public address every page prints);
    `mode` whether drafts are built (`preview`) or left out (`published`).
    """
    return digest(
        {
            "version": DEPS_VERSION,
            "config": file_digest(config_file),
            "theme": tree(theme_dir) if theme_dir is not None else [],
            "vocabularies": [
                (p.name, file_digest(p) if p.is_file() else None) for p in vocabularies
            ],
            "code": build_code(code_dir),
            "engine": engine_versions(engine),
            "navigation": navigation,
            "docs_assets": sorted(docs_assets),
            "settings": dict(settings or {}),
            "mode": mode,
        }
    )


@dataclass
class Deps:
    """What one build recorded: its fingerprint and, per output, the digest of its inputs."""

    fingerprint: str
    #: Output file (relative to the site directory) -> digest of its inputs.
    outputs: dict[str, str] = field(default_factory=dict)
    #: Page source (docs-relative) -> its inputs, readable: source digest, topics it relates to
    #: or lists, its section, its review-overdue date.
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Topic page source -> a digest of what its inputs are made from (see the hook's `_inputs`).
    keys: dict[str, str] = field(default_factory=dict)
    #: HTML output -> indexes into `hashes` (its inline scripts' and styles' CSP hashes).
    csp: dict[str, list[int]] = field(default_factory=dict)
    hashes: list[str] = field(default_factory=list)
    #: Page id -> the synonyms' terms its text provides (synonyms.yml is checked against these).
    terms: dict[str, list[str]] = field(default_factory=dict)
    #: The pages this build rendered (the others were reused).
    rendered: list[str] = field(default_factory=list)
    #: The sources this build parsed (the others' front matter came from the live build's record).
    parsed: list[str] = field(default_factory=list)
    #: The build reused from, if any (its site directory).
    reused_from: str | None = None

    def to_json(self) -> str:
        """The record as written beside the manifest (compact: one line per build)."""
        return json.dumps(
            {"version": DEPS_VERSION, **self.__dict__}, ensure_ascii=False, separators=(",", ":")
        )


#: The record this process wrote last, by its site directory (see `write_deps`).
_written: tuple[str, Deps] | None = None
#: Within `deferring_writes`: the build records' file writes, kept for after the publish.
_deferred: list[Callable[[], None]] | None = None


@contextmanager
def deferring_writes() -> Iterator[list[Callable[[], None]]]:
    """Within: the build records (`write_deps`, `parse_cache.write_cache`) are kept in memory at
    once and their files written only when the caller runs what this yields, after publishing.

    For a long-lived builder, which reads them back from memory: at 30,000 topics, encoding them
    was three seconds between a save and its publication. A one-shot build writes them at once
    (its next build, another process, reads the files)."""
    global _deferred
    _deferred = []
    try:
        yield _deferred
    finally:
        _deferred = None


def write_record(path: Path, encode: Callable[[], bytes]) -> None:
    """Write a build record's file in one step (a reader sees all of it or none), or keep the
    write for later within `deferring_writes`."""

    def write() -> None:
        temporary = path.with_name(path.name + f".tmp{os.getpid()}")
        try:
            temporary.write_bytes(encode())
            os.replace(temporary, path)
        except OSError:
            temporary.unlink(missing_ok=True)
            raise

    if _deferred is None:
        write()
    else:
        _deferred.append(write)


def write_deps(site_dir: Path, deps: Deps) -> None:
    """Write the record beside the site directory, and keep it in this process's memory: a
    long-lived process (the preview, `site-api build --watch`) reads it back from there."""
    global _written
    write_record(deps_path_for(site_dir), lambda: deps.to_json().encode("utf-8"))
    _written = (str(site_dir), deps)


def load_deps(site_dir: Path) -> Deps | None:
    """The record of the build in `site_dir`; None when it has none usable (build it in full)."""
    if _written is not None and _written[0] == str(site_dir) and site_dir.is_dir():
        return _written[1]  # this process wrote it (its file may still be on its way)
    try:
        data = json.loads(deps_path_for(site_dir).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.pop("version", None) != DEPS_VERSION:
        return None
    try:
        return Deps(**data)
    except TypeError:
        return None


def csp_table(
    per_file: Mapping[str, tuple[Iterable[str], Iterable[str]]],
) -> tuple[dict[str, list[int]], list[str]]:
    """Per-file CSP hashes as indexes into one list of distinct hashes (most pages share them).

    A hash is kept as `s:<expr>` for a script and `c:<expr>` for a style.
    """
    hashes: dict[str, int] = {}
    table: dict[str, list[int]] = {}
    for name, (scripts, styles) in sorted(per_file.items()):
        keys = [f"s:{h}" for h in sorted(scripts)] + [f"c:{h}" for h in sorted(styles)]
        table[name] = [hashes.setdefault(k, len(hashes)) for k in keys]
    return table, list(hashes)


def csp_of(deps: Deps, name: str) -> tuple[set[str], set[str]]:
    """The CSP hashes the record holds for one HTML output."""
    keys = [deps.hashes[i] for i in deps.csp.get(name, [])]
    return {k[2:] for k in keys if k[0] == "s"}, {k[2:] for k in keys if k[0] == "c"}


def reuse(
    live: Path,
    site_dir: Path,
    outputs: Mapping[str, str],
    previous: Deps | None,
    fresh: set[str],
    held: frozenset[str] = frozenset(),
) -> set[str]:
    """Hard-link into `site_dir` every output whose inputs the live build had too, except
    those in `fresh` (always rendered); returns the outputs reused.

    `held`: what `site_dir` already holds, prepared as links to the live build's outputs
    (site_api/content/prepared.py). Every one of them this build does not reuse is removed
    first, with the folders left empty, so that what MkDocs writes is always a new file.
    Plain strings: at 30,000 topics pathlib's parsing of each path cost more than the calls.
    """
    kept = {
        dest
        for dest, key in outputs.items()
        if previous is not None and dest not in fresh and previous.outputs.get(dest) == key
    }
    target = str(site_dir)
    for dest in held - kept:
        os.unlink(f"{target}/{dest}")
        folder = dest.rpartition("/")[0]
        while folder and dest not in outputs:  # a page gone: its folder goes too, if empty
            try:
                os.rmdir(f"{target}/{folder}")
            except OSError:
                break
            folder = folder.rpartition("/")[0]
    return (kept & held) | link_all(str(live), target, sorted(kept - held))


def link_all(source: str, target: str, names: Iterable[str]) -> set[str]:
    """Hard-link each of `names` from `source` into `target`, making folders as needed; returns
    the names linked (one that cannot be is left out)."""
    linked: set[str] = set()
    made: set[str] = set()
    for name in names:
        folder = name.rpartition("/")[0]
        if folder not in made:
            os.makedirs(f"{target}/{folder}" if folder else target, exist_ok=True)
            made.add(folder)
        try:
            os.link(f"{source}/{name}", f"{target}/{name}")
        except OSError:
            continue
        linked.add(name)
    return linked


def csp_per_file(
    site_dir: Path, reused: set[str], previous: Deps | None, names: Iterable[str] | None = None
) -> dict[str, tuple[set[str], set[str]]]:
    """Each HTML file's inline-script and style hashes: read from the files this build wrote,
    taken from the live build's record for the files it reused (never read again).

    `names`: the build's HTML files, when it knows them (an incremental build: its outputs and
    the theme's static pages); else the site directory is walked (a full build, whose record the
    equality tests compare with the incremental builds')."""
    found: dict[str, tuple[set[str], set[str]]] = {}
    root = str(site_dir)
    for name in _html_files(root) if names is None else names:
        if previous is not None and name in reused:
            found[name] = csp_of(previous, name)
        else:
            found[name] = html_hashes(Path(root, name).read_text(encoding="utf-8"))
    return found


def _html_files(root: str) -> Iterator[str]:
    # os.walk and string paths: at 30,000 topics pathlib's rglob was seconds of a publish.
    for folder, _, names in os.walk(root):
        prefix = folder[len(root) + 1 :].replace(os.sep, "/")
        for file_name in names:
            if file_name.endswith(".html"):
                yield f"{prefix}/{file_name}" if prefix else file_name
