"""The build engine: which one runs (`SITE_BUILD_ENGINE`), its command, the versions this site's
output is verified with, and the checks that a build ran our hook and wrote no static search."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import ValidationError

from site_api.config import BuildEngineName
from site_api.content.manifest import (
    BuildEngine,
    ManifestError,
    ServedManifest,
    manifest_path_for,
)

THEME = "mkdocs-material"
HOOK = "site_api/content/mkdocs_hooks.py"
#: What this site's output has been checked with, byte for byte (README, The build engine).
#: pyproject.toml pins the same ranges (tests/content/test_engine.py holds the two together).
VERIFIED: dict[str, str] = {
    "mkdocs": ">=1.6,<2",
    "properdocs": "==1.6.7",
    THEME: ">=9.8,<9.9",
}
#: A page only our hook writes: the A–Z of the catalogue (site_api/content/browse.py).
HOOK_PAGE = "a-z/index.html"
#: Static search indexes engines write by default (MkDocs' and Material's search plugin, Zensical).
#: Any of them would hand every metered body to anyone who downloads it.
STATIC_SEARCH_FILES = ("search/search_index.json", "search.json")


class EngineError(ManifestError):
    """The engine cannot run, or what it built must not be published; the message says why."""


def engine_command(name: BuildEngineName, python: str = sys.executable) -> list[str]:
    """The engine's command line in `python`'s environment (add "build", "--strict", ...)."""
    return [python, "-m", name]


#: What the engine runs with besides our environment: without the engines' advertising on stderr.
ENGINE_QUIET = {"NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}


def engine_env() -> dict[str, str]:
    """The environment the engine runs in: ours, quietened (`ENGINE_QUIET`)."""
    return {**os.environ, **ENGINE_QUIET}


def require_engine(name: BuildEngineName) -> None:
    """Refuse an engine this Python environment lacks, saying how to install it."""
    if importlib.util.find_spec(name) is not None:
        return
    pin = f"{name}{VERIFIED[name]}"
    venv = Path(sys.prefix)
    raise EngineError(
        f"SITE_BUILD_ENGINE={name}, but {name} is not installed in {venv}. Install it there "
        f"with: {venv / 'bin' / 'pip'} install '{pin}' (the project's extra: pip install -e "
        f"'.[{name}]'), or use its own environment: 'make install-properdocs', then "
        f"SITE_BUILD_ENGINE={name} make build (.venv-properdocs/bin/site-api build)"
    )


def installed_versions(names: tuple[str, ...] = tuple(VERIFIED)) -> dict[str, str | None]:
    """The installed version of each package (None: not installed)."""
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def version_problems(engine: BuildEngineName, installed: Mapping[str, str | None]) -> list[str]:
    """Why the engine and theme installed are not what the site is verified with (none: fine)."""
    problems = []
    for name in (engine, THEME):
        verified = f"{name}{VERIFIED[name]}"
        found = installed.get(name)
        if found is None:
            problems.append(f"{name} is not installed; this site is verified with {verified}")
            continue
        try:
            inside = Version(found) in SpecifierSet(VERIFIED[name])
        except InvalidVersion:
            inside = False
        if not inside:
            problems.append(
                f"{name} {found} is installed, but this site's output is verified only with "
                f"{verified} (site_api/content/engine.py VERIFIED, pyproject.toml): compare "
                "its build with the verified one before widening the range"
            )
    return problems


def running_engine(module_name: str, module_version: str) -> BuildEngine:
    """The hook's record of what is building: `import mkdocs` answers with ProperDocs under it."""
    theme = installed_versions((THEME,))[THEME] or "unknown"
    return BuildEngine(name=module_name, version=module_version, theme=f"{THEME} {theme}")


def check_build(
    site_dir: Path, chosen: BuildEngineName, served: ServedManifest | None = None
) -> BuildEngine:
    """Refuse to publish a build our hook did not make, or one with a static search index.

    `served`: the build's manifest as already read (at 30,000 topics, reading it is a second
    and a half), after `check_outputs`; read from `site_dir` when None."""
    check_outputs(site_dir)
    built = recorded_engine(site_dir) if served is None else engine_record(site_dir, served.engine)
    if built is None or built.name != chosen:
        raise EngineError(
            f"SITE_BUILD_ENGINE={chosen}, but the manifest says the site was built by "
            f"{built or 'an unrecorded engine'}; nothing was published"
        )
    return built


def check_outputs(site_dir: Path) -> None:
    """Refuse a build without what our hook writes, or with a static search index."""
    problems = [
        f"{site_dir / name} exists: the engine wrote a static search index, which would publish "
        "every metered body; keep 'plugins: []' in mkdocs.yml (no search plugin)"
        for name in STATIC_SEARCH_FILES
        if (site_dir / name).exists()
    ]
    written = {
        "no manifest": manifest_path_for(site_dir),
        "no generated A–Z pages": site_dir / HOOK_PAGE,
    }
    missing = [f"{what} ({path})" for what, path in written.items() if not path.is_file()]
    if missing:
        problems.append(
            f"the engine ran without our hook ({HOOK}): {' and '.join(missing)}; "
            "mkdocs.yml's 'hooks:' must name it, and the engine must run hooks"
        )
    if problems:
        raise EngineError("; ".join(problems) + "; nothing was published")


def recorded_engine(site_dir: Path) -> BuildEngine | None:
    """The engine the manifest of `site_dir` records (None: built before it was recorded)."""
    path = manifest_path_for(site_dir)
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{path}: no readable engine record ({exc})") from None
    return engine_record(site_dir, data.get("engine") if isinstance(data, dict) else None)


def engine_record(site_dir: Path, raw: Any) -> BuildEngine | None:
    """The engine record of `site_dir`'s manifest, from its JSON value (None: not recorded)."""
    try:
        return None if raw is None else BuildEngine.model_validate(raw)
    except ValidationError as exc:
        path = manifest_path_for(site_dir)
        raise ManifestError(f"{path}: no readable engine record ({exc})") from None


def built_by(site_dir: Path) -> str:
    """What built the site in `site_dir`, for `site-api build`'s last line."""
    return str(recorded_engine(site_dir) or "an unrecorded engine")
