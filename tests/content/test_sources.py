"""Reading topic sources for the review queue: a file is parsed again only when it changed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from site_api.content import sources

CONTENT = Path(__file__).resolve().parents[2] / "content"


def test_only_changed_sources_are_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(CONTENT / "topics", tmp_path / "topics")
    parsed: list[str] = []
    real = sources.parse_page

    def counting(path: str, src_uri: str, text: str) -> object:
        parsed.append(src_uri)
        return real(path, src_uri, text)

    monkeypatch.setattr(sources, "parse_page", counting)
    first, problems = sources.topic_sources(tmp_path)
    assert problems == [] and len(parsed) == len(first) >= 10

    parsed.clear()
    again, _ = sources.topic_sources(tmp_path)
    assert parsed == [] and [p.meta.id for p in again] == [p.meta.id for p in first]

    # An edit (new size and time) is read again; a removed topic is gone; a broken one is a problem.
    kd = tmp_path / "topics" / "kawasaki-disease.md"
    kd.write_text(kd.read_text(encoding="utf-8").replace("title:", "title: ", 1), encoding="utf-8")
    os.utime(kd, ns=(kd.stat().st_atime_ns, kd.stat().st_mtime_ns + 1_000_000))
    (tmp_path / "topics" / "pancytopenia.md").unlink()
    (tmp_path / "topics" / "broken.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
    parsed.clear()
    third, problems = sources.topic_sources(tmp_path)
    assert sorted(parsed) == ["topics/broken.md", "topics/kawasaki-disease.md"]
    assert "pancytopenia" not in {p.meta.id for p in third}
    assert len(third) == len(first) - 1
    assert problems and all("broken.md" in line for line in problems)
