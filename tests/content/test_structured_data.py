"""Paywall structured data: every built page's JSON-LD, checked against the shape Google
documents for paywalled content (isAccessibleForFree, hasPart → WebPageElement + cssSelector)."""

from __future__ import annotations

import json
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml
from conftest import ROOT

from site_api.content.manifest import load_manifest
from site_api.content.model import PageMeta
from site_api.content.structured_data import page_jsonld, script_json

LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


class Classes(HTMLParser):
    """Counts elements by class, to check that a cssSelector selects something real."""

    def __init__(self) -> None:
        super().__init__()
        self.count: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "class" and value:
                for cls in value.split():
                    self.count[cls] = self.count.get(cls, 0) + 1


def front_matter(file: Path) -> dict[str, Any]:
    text = file.read_text(encoding="utf-8")
    return dict(yaml.safe_load(text.split("---", 2)[1]))


def test_every_page_carries_paywall_json_ld(built_site: Path) -> None:
    pages = load_manifest(built_site).pages
    assert any(p.access == "metered" for p in pages) and any(p.access == "free" for p in pages)
    for page in pages:
        html = (built_site / page.file).read_text(encoding="utf-8")
        blocks = LD.findall(html)
        assert len(blocks) == 1, page.file
        data = json.loads(blocks[0])
        assert data["@context"] == "https://schema.org"
        assert data["url"].endswith(page.url) and data["headline"] == page.title
        assert data["description"] == page.summary
        assert data["publisher"]["@type"] == "Organization" and data["publisher"]["name"]
        if page.access == "free":
            assert data["isAccessibleForFree"] is True and "hasPart" not in data
            continue
        assert data["@type"] == "MedicalWebPage"
        assert data["isAccessibleForFree"] is False
        part = data["hasPart"]
        assert part == {
            "@type": "WebPageElement",
            "isAccessibleForFree": False,
            "cssSelector": part["cssSelector"],
        }
        # Google requires a class selector, and it must select the paywalled body.
        assert re.fullmatch(r"\.[a-z][a-z0-9-]*", part["cssSelector"])
        classes = Classes()
        classes.feed(html)
        assert classes.count.get(part["cssSelector"][1:]) == 1, page.file


def test_topic_dates_and_authors_come_from_front_matter(built_site: Path) -> None:
    for page in load_manifest(built_site).pages:
        if not page.url.startswith("/topics/"):
            continue
        source = front_matter(ROOT / "content" / "topics" / f"{page.url.split('/')[2]}.md")
        data = json.loads(LD.findall((built_site / page.file).read_text(encoding="utf-8"))[0])
        reviewed = source["reviewed"]
        assert date.fromisoformat(data["dateModified"]) == reviewed
        assert len(data["author"]) == len(source["authors"])
        assert all(a["name"] and a["description"] for a in data["author"])


def test_json_ld_cannot_close_its_script() -> None:
    meta = PageMeta(id="x", title="A </script><script>alert(1)</script> & co", summary="s")
    text = script_json(
        page_jsonld(meta, "https://example.org/x/", {}, "Site", "https://example.org/")
    )
    assert "</" not in text and "<" not in text and "&" not in text
    assert json.loads(text)["headline"] == meta.title
