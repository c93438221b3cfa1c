"""An edited calculator re-renders the topics that embed it, and an incremental build equals a
full one (the form is part of the topic's inputs; the calculators' file is written anew)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from click.testing import CliRunner
from conftest import ROOT
from synthetic_site import topic_ids, write_synthetic_project

from site_api.calculators.artifact import calculators_path_for
from site_api.cli import main
from site_api.content.incremental import load_deps


def build(root: Path, link: str, full: bool = False) -> None:
    args = ["build", "-f", str(root / "mkdocs.yml"), *(["--full"] if full else [])]
    result = CliRunner().invoke(main, args, env={"SITE_SITE_DIR": str(root / link)})
    assert result.exit_code == 0, result.output


def test_editing_a_calculator_re_renders_its_topic_only(tmp_path: Path) -> None:
    write_synthetic_project(tmp_path, 6)
    calculators = tmp_path / "content" / "calculators"
    calculators.mkdir()
    shutil.copy(ROOT / "content" / "calculators" / "hscore.yml", calculators / "hscore.yml")
    # Its reference is a key of the library (the synthetic topics cite none of it).
    shutil.copy(ROOT / "content" / "references.yml", tmp_path / "content" / "references.yml")
    first = topic_ids(6)[0]
    topic = tmp_path / "content" / "topics" / f"{first}.md"
    topic.write_text(topic.read_text(encoding="utf-8") + "\n<!-- calculator: hscore -->\n")
    build(tmp_path, "site", full=True)

    path = calculators / "hscore.yml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("Probability above 99%", "Probability over 99%")
    )
    build(tmp_path, "site")
    build(tmp_path, "full", full=True)
    incremental = Path(os.path.realpath(tmp_path / "site"))
    full = Path(os.path.realpath(tmp_path / "full"))
    deps = load_deps(incremental)
    assert deps is not None
    assert f"topics/{first}.md" in deps.rendered
    assert not any(uri.startswith("topics/") and first not in uri for uri in deps.rendered)
    page = f"topics/{first}/index.html"
    assert "Probability over 99%" in (incremental / page).read_text(encoding="utf-8")
    assert (incremental / page).read_bytes() == (full / page).read_bytes()
    assert calculators_path_for(incremental).read_bytes() == calculators_path_for(full).read_bytes()
