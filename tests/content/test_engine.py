"""The build engine: its setting, the versions it is verified with, and the guards on its output."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT
from packaging.requirements import Requirement
from servers import SITE_API
from synthetic_site import write_synthetic_project

from site_api.cli import main
from site_api.config import Settings
from site_api.content.engine import (
    STATIC_SEARCH_FILES,
    THEME,
    VERIFIED,
    EngineError,
    check_build,
    installed_versions,
    version_problems,
)
from site_api.content.manifest import BuildEngine, load_manifest, manifest_path_for


def _pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    listed = [*project["dependencies"], *project["optional-dependencies"]["properdocs"]]
    return {(req := Requirement(line)).name: str(req.specifier) for line in listed}


def test_pyproject_pins_what_the_engine_module_verifies() -> None:
    pins = _pyproject_pins()
    for name, verified in VERIFIED.items():
        assert set(pins[name].split(",")) == set(verified.split(",")), name


def test_installed_engine_and_theme_are_the_verified_versions() -> None:
    engine = Settings().build_engine
    installed = installed_versions()
    assert version_problems(engine, installed) == []
    assert installed[THEME] is not None and installed[THEME].startswith("9.8.")


@pytest.mark.parametrize(
    ("engine", "package", "found", "verified"),
    [
        ("mkdocs", "mkdocs", "2.0.0", ">=1.6,<2"),
        ("mkdocs", "mkdocs", "1.5.3", ">=1.6,<2"),
        ("mkdocs", THEME, "9.9.0", ">=9.8,<9.9"),
        ("mkdocs", THEME, "10.0.1", ">=9.8,<9.9"),
        ("properdocs", "properdocs", "1.6.8", "==1.6.7"),
        ("properdocs", THEME, "9.7.6", ">=9.8,<9.9"),
    ],
)
def test_a_version_outside_the_verified_range_is_named(
    engine: str, package: str, found: str, verified: str
) -> None:
    installed = {"mkdocs": "1.6.1", "properdocs": "1.6.7", THEME: "9.8.2", package: found}
    problems = version_problems(engine, installed)  # type: ignore[arg-type]
    assert len(problems) == 1
    assert f"{package} {found} is installed" in problems[0]
    assert f"{package}{verified}" in problems[0]


def test_a_missing_engine_package_is_a_problem_too() -> None:
    problems = version_problems("properdocs", {"properdocs": None, THEME: "9.8.2"})
    assert problems == ["properdocs is not installed; this site is verified with properdocs==1.6.7"]


def test_an_unknown_engine_is_a_clear_error_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SITE_BUILD_ENGINE", "zensical")
    result = CliRunner().invoke(main, ["build"])
    assert result.exit_code == 1
    assert "SITE_BUILD_ENGINE: Input should be 'mkdocs' or 'properdocs'" in result.output
    assert "Traceback" not in result.output and result.exception is not None


def test_properdocs_missing_from_this_environment_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ProperDocs lives in .venv-properdocs, so .venv's mkdocs stays the default build's.
    assert importlib.util.find_spec("properdocs") is None, "properdocs belongs in .venv-properdocs"
    monkeypatch.setenv("SITE_BUILD_ENGINE", "properdocs")
    monkeypatch.setenv("SITE_SITE_DIR", str(tmp_path / "site"))
    result = CliRunner().invoke(main, ["build", "-f", str(ROOT / "mkdocs.yml")])
    assert result.exit_code == 1
    assert "properdocs is not installed" in result.output
    assert "pip install 'properdocs==1.6.7'" in result.output
    assert "make install-properdocs" in result.output
    assert not list(tmp_path.iterdir())  # nothing built, nothing published


def test_the_manifest_records_the_engine_that_built_it(built_site: Path) -> None:
    engine = load_manifest(built_site).engine
    installed = installed_versions()
    chosen = Settings().build_engine
    assert engine == BuildEngine(
        name=chosen, version=str(installed[chosen]), theme=f"{THEME} {installed[THEME]}"
    )


def test_no_build_holds_a_static_search_file(built_site: Path) -> None:
    for name in STATIC_SEARCH_FILES:
        assert not (built_site / name).exists(), name
    assert not list(built_site.rglob("search_index.json"))


def _built_as_if(site: Path, engine: BuildEngine | None) -> Path:
    """A site directory with what our hook writes, to test the guard without a build."""
    (site / "a-z").mkdir(parents=True)
    (site / "a-z" / "index.html").write_text("<h1>Topics A–Z</h1>", encoding="utf-8")
    record = {"pages": [], "engine": engine.model_dump() if engine else None}
    manifest_path_for(site).write_text(json.dumps(record), encoding="utf-8")
    return site


@pytest.mark.parametrize("search_file", STATIC_SEARCH_FILES)
def test_a_static_search_file_is_refused(tmp_path: Path, search_file: str) -> None:
    engine = BuildEngine(name="mkdocs", version="1.6.1", theme="mkdocs-material 9.8.2")
    site = _built_as_if(tmp_path / "site", engine)
    assert check_build(site, "mkdocs") == engine
    (site / search_file).parent.mkdir(parents=True, exist_ok=True)
    (site / search_file).write_text('{"docs": []}', encoding="utf-8")
    with pytest.raises(EngineError, match="static search index") as raised:
        check_build(site, "mkdocs")
    assert str(site / search_file) in str(raised.value)


def test_a_build_by_another_engine_than_the_chosen_one_is_refused(tmp_path: Path) -> None:
    engine = BuildEngine(name="mkdocs", version="1.6.1", theme="mkdocs-material 9.8.2")
    site = _built_as_if(tmp_path / "site", engine)
    with pytest.raises(EngineError, match="SITE_BUILD_ENGINE=properdocs, but .* mkdocs 1.6.1"):
        check_build(site, "properdocs")


def _build(project: Path, config: dict[str, object]) -> subprocess.CompletedProcess[str]:
    (project / "mkdocs.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {**os.environ, "SITE_SITE_DIR": str(project / "site")}
    return subprocess.run(
        [SITE_API, "build"], cwd=project, env=env, capture_output=True, text=True, check=False
    )


def _published(project: Path) -> list[Path]:
    builds = project / "site-builds"
    return [*project.glob("site"), *(builds.iterdir() if builds.is_dir() else [])]


def test_a_build_without_our_hook_fails_before_anything_is_published(tmp_path: Path) -> None:
    config = yaml.safe_load(write_synthetic_project(tmp_path, 3).read_text(encoding="utf-8"))
    del config["hooks"]
    # Without the hook there are no generated pages for the navigation to name.
    config["nav"] = [e for e in config["nav"] if "A–Z" not in str(e) and "Sections" not in str(e)]
    result = _build(tmp_path, config)
    assert result.returncode == 1, result.stderr
    assert "Documentation built" in result.stderr  # the engine itself was content
    assert "the engine ran without our hook (site_api/content/mkdocs_hooks.py)" in result.stderr
    assert "no manifest" in result.stderr and "no generated A–Z pages" in result.stderr
    assert "nothing was published" in result.stderr
    assert _published(tmp_path) == []


def test_a_configuration_the_engine_refuses_is_not_called_a_content_error(tmp_path: Path) -> None:
    config = yaml.safe_load(write_synthetic_project(tmp_path, 3).read_text(encoding="utf-8"))
    config["hooks"] = ["no/such/hook.py"]
    result = _build(tmp_path, config)
    assert result.returncode == 1, result.stderr
    assert "no/such/hook.py" in result.stderr  # the engine's own message reaches the editor
    assert "stopped with status 1 before any topic was checked" in result.stderr
    assert "content error(s)" not in result.stderr
    assert _published(tmp_path) == []


def test_a_build_with_a_search_plugin_is_not_published(tmp_path: Path) -> None:
    config = yaml.safe_load(write_synthetic_project(tmp_path, 3).read_text(encoding="utf-8"))
    config["plugins"] = ["search"]
    result = _build(tmp_path, config)
    assert result.returncode == 1, result.stderr
    assert "search/search_index.json exists: the engine wrote a static search index" in (
        result.stderr
    )
    assert _published(tmp_path) == []
