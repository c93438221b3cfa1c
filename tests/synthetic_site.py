"""A generated site of many small, valid topics, built with the project's real config and theme."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import yaml
from conftest import ROOT, copy_config, mkdocs_build

HOME = """---
id: home
title: Synthetic clinical reference
summary: "A generated site for load tests: many small topics with valid front matter."
hide: [toc]
---
Generated topics for load tests.

## Topics A–Z

<!-- browse:letters -->

## Sections

<!-- browse:sections -->
"""

TOPIC = """---
id: {id}
title: "Synthetic topic {n}"
summary: "Generated topic number {n}, for load tests of the notes API."
authors: [{author}]
section: {section}
reviewed: {reviewed}
next_review: {next_review}
---
## Overview

Generated text for topic {n}. It has no clinical content and cites nothing.

## Notes

A second section, so the page has a table of contents.
"""


def topic_ids(count: int) -> list[str]:
    """The page ids of the generated topics: t001, t002, ..."""
    return [f"t{n:03d}" for n in range(1, count + 1)]


def write_synthetic_project(root: Path, topics: int) -> Path:
    """Copy the config, theme and hook as tests/test_build.py does; write `topics` topics.

    Returns the path of the copied mkdocs.yml.
    """
    content = root / "content"
    (content / "topics").mkdir(parents=True)
    copy_config(root)
    shutil.copy(ROOT / "content" / "authors.yml", content / "authors.yml")
    # The pages the navigation names besides the generated ones (mkdocs.yml `nav`).
    for name in ("sections.yml", "about.md", "terms.md"):
        shutil.copy(ROOT / "content" / name, content / name)
    author = _first_author(content / "authors.yml")
    sections = sorted(yaml.safe_load((content / "sections.yml").read_text(encoding="utf-8")))
    (content / "index.md").write_text(HOME, encoding="utf-8")
    today = date.today()
    for n, page_id in enumerate(topic_ids(topics), start=1):
        (content / "topics" / f"{page_id}.md").write_text(
            TOPIC.format(
                id=page_id,
                n=n,
                author=author,
                section=sections[n % len(sections)],
                reviewed=today - timedelta(days=30),
                next_review=today + timedelta(days=365),
            ),
            encoding="utf-8",
        )
    return root / "mkdocs.yml"


def build_synthetic_site(root: Path, topics: int) -> Path:
    """Write and strictly build a synthetic project under `root`; returns the site directory."""
    config = write_synthetic_project(root, topics)
    site = root / "site"
    result = mkdocs_build(config, site)
    if result.returncode != 0:
        raise RuntimeError(f"the synthetic site did not build:\n{result.stderr}")
    return site


def _first_author(path: Path) -> str:
    return str(next(iter(yaml.safe_load(path.read_text(encoding="utf-8")))))
