"""The What's new feed: links from SITE_PUBLIC_URL, entry ids that survive an edited summary, and
Atom's media type from the embedded server (nginx's is in tests/deploy/test_topology.py)."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, copy_config, mkdocs_build

from site_api.content.currency import FEED_TYPE, Change, atom_feed

NS = {"a": "http://www.w3.org/2005/Atom"}


def change(
    summary: str,
    day: int = 3,
    page_id: str = "kawasaki-disease",
    url: str | None = None,
    same_day_before: int = 0,
) -> Change:
    where = url or f"/topics/{page_id}/"
    return Change(
        date(2026, 11, day), summary, "Kawasaki disease", where, "x.md", page_id, same_day_before
    )


def ids(*changes: Change, base: str = "https://notebook.example.org") -> list[str]:
    root = ET.fromstring(atom_feed(list(changes), base, "Site", date(2026, 11, 30)))
    return [str(e.findtext("a:id", namespaces=NS)) for e in root.findall("a:entry", NS)]


def test_an_entry_id_is_the_topic_and_the_date_whatever_the_summary_or_address() -> None:
    [first] = ids(change("IVIG dose corrected."))
    assert first == "https://notebook.example.org/whats-new.xml#kawasaki-disease/2026-11-03"
    assert ids(change("IVIG dose corrected to 2 g/kg.")) == [first]  # the summary edited
    assert ids(change("IVIG.", url="/topics/paediatrics/kawasaki/")) == [first]  # the page moved
    assert ids(change("IVIG.", day=4)) != [first]
    assert ids(change("IVIG.", page_id="stills-disease")) != [first]


def test_two_changes_of_one_topic_on_one_day_keep_distinct_ids() -> None:
    newer, older = change("Second.", same_day_before=1), change("First.")
    assert ids(newer, older) == [
        "https://notebook.example.org/whats-new.xml#kawasaki-disease/2026-11-03/2",
        "https://notebook.example.org/whats-new.xml#kawasaki-disease/2026-11-03",
    ]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The real content, its mkdocs.yml naming an address that is not the site's."""
    shutil.copytree(ROOT / "content", tmp_path / "content")
    config = copy_config(tmp_path)
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("site_url: http://127.0.0.1:8000/", "site_url: https://stale.example/"),
        encoding="utf-8",
    )
    assert "https://stale.example/" in config.read_text(encoding="utf-8")
    topic = tmp_path / "content" / "topics" / "pancytopenia.md"
    # A second change on the day of the last one: both must stay distinct entries.
    text = topic.read_text(encoding="utf-8")
    first = text.index("  - date: ")
    day = text[first + len("  - date: ") :].split("\n", 1)[0]
    topic.write_text(
        text[:first] + f"  - date: {day}\n    summary: Same-day follow-up.\n" + text[first:],
        encoding="utf-8",
    )
    return tmp_path


@pytest.mark.parametrize(
    ("public_url", "base"),
    [
        ("https://notebook.example.org", "https://notebook.example.org"),
        (None, "http://127.0.0.1:8000"),
    ],
)
def test_feed_links_and_ids_come_from_site_public_url_never_mkdocs_yml(
    project: Path, monkeypatch: pytest.MonkeyPatch, public_url: str | None, base: str
) -> None:
    if public_url is None:
        monkeypatch.delenv("SITE_PUBLIC_URL", raising=False)  # the setting's default
    else:
        monkeypatch.setenv("SITE_PUBLIC_URL", public_url)
    result = mkdocs_build(project / "mkdocs.yml", project / "site")
    assert result.returncode == 0, result.stderr
    feed = (project / "site" / "whats-new.xml").read_text(encoding="utf-8")
    assert "stale.example" not in feed
    root = ET.fromstring(feed)
    links = [e.get("href") for e in root.iter("{http://www.w3.org/2005/Atom}link")]
    assert links and all(str(link).startswith(base + "/") for link in links), links
    entry_ids = [str(e.findtext("a:id", namespaces=NS)) for e in root.findall("a:entry", NS)]
    assert len(set(entry_ids)) == len(entry_ids)
    assert all(i.startswith(f"{base}/whats-new.xml#") for i in entry_ids)
    assert sum(1 for i in entry_ids if i.startswith(f"{base}/whats-new.xml#pancytopenia/")) >= 2


def test_the_embedded_server_serves_the_feed_as_atom(client: httpx.Client) -> None:
    response = client.get("/whats-new.xml")
    assert response.status_code == 200
    assert response.headers["content-type"] == FEED_TYPE == "application/atom+xml"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    other = client.get("/sitemap.xml")
    assert other.status_code == 200 and "atom" not in other.headers["content-type"]
