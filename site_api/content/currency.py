"""Keeping topics current: new topics, review dates, update history and What's new. Pure.

The CLI (`site-api new`, `site-api review`) and the MkDocs hook call these; nothing here reads a
file or the clock, so every rule is tested with plain values.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from xml.sax.saxutils import escape, quoteattr

from site_api.content.model import Author, SourcePage, TopicMeta

#: How many changes the What's new page and the feed list.
WHATS_NEW_LIMIT = 50
#: The What's new Atom feed, at the site's root, and the type it is served as (both doors).
FEED_FILE = "whats-new.xml"
FEED_TYPE = "application/atom+xml"


def long_date(value: date) -> str:
    """`25 November 2026`: unambiguous for UK and US readers alike."""
    return f"{value.day} {value:%B %Y}"


def slug_for(title: str) -> str:
    """A stable page id and file name from a title: `Still's disease` -> `stills-disease`."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    ascii_title = re.sub(r"['’]", "", ascii_title.lower())
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title).strip("-")
    return slug[:64].rstrip("-")


def new_topic_text(
    title: str, authors: list[str], section: str, today: date, interval_days: int
) -> str:
    """Front matter and a starting body for a topic that builds strictly as written."""
    slug = slug_for(title)
    quoted_title = title.replace('"', '\\"')
    return (
        "---\n"
        f"id: {slug}\n"
        f'title: "{quoted_title}"\n'
        'summary: "One or two plain sentences saying what this topic covers and for whom."\n'
        f"authors: [{', '.join(authors)}]\n"
        f"section: {section}\n"
        f"reviewed: {today.isoformat()}\n"
        f"next_review: {(today + timedelta(days=interval_days)).isoformat()}\n"
        "aliases: []\n"
        "related: []\n"
        "changes: []\n"
        "---\n"
        "## Overview\n\n"
        "Write the topic here, in your own words. Add each source to content/references.yml\n"
        "and cite its key after the statement it supports (README: Citations).\n"
    )


def overdue_since(meta: TopicMeta, today: date) -> date | None:
    """The date a topic's review fell due, when that is before `today`; else None."""
    return meta.next_review if meta.next_review < today else None


@dataclass(frozen=True)
class DueTopic:
    """One line of `site-api review`."""

    title: str
    path: str
    authors: list[str]  # as shown: `Name (key)`, see author_label
    due: date
    days_overdue: int  # negative: days left


def due_label(days_overdue: int) -> str:
    """`12 days overdue`, `due today`, `due in 30 days`: how `site-api review` and the desk say it."""
    if days_overdue > 0:
        return f"{days_overdue} days overdue"
    return "due today" if days_overdue == 0 else f"due in {-days_overdue} days"


def author_label(key: str, authors: Mapping[str, Author]) -> str:
    """`Rheumatology editor (rheumatology-editor)`: the name a colleague knows, and the key the
    front matter and `--author` use; a key `authors.yml` lacks, as written."""
    author = authors.get(key)
    return f"{author.name} ({key})" if author is not None else key


def due_for_review(
    pages: list[SourcePage],
    today: date,
    within_days: int,
    authors: Mapping[str, Author] | None = None,
) -> list[DueTopic]:
    """Topics overdue or due within `within_days`, soonest (most overdue) first, their authors
    named from `authors` (content/authors.yml)."""
    horizon = today + timedelta(days=within_days)
    known = authors or {}
    due = [
        DueTopic(
            p.meta.title,
            p.path,
            [author_label(a, known) for a in p.meta.authors],
            p.meta.next_review,
            (today - p.meta.next_review).days,
        )
        for p in pages
        if isinstance(p.meta, TopicMeta) and p.meta.next_review <= horizon
    ]
    return sorted(due, key=lambda d: (d.due, d.path))


@dataclass(frozen=True)
class Change:
    """One entry of the site's update history: a topic, a date and what changed."""

    date: date
    summary: str
    title: str
    url: str  # site-absolute, for the feed
    src_uri: str  # the topic's Markdown file, for links between pages
    page_id: str = ""  # the topic's id: with the date, the feed entry's id
    # Older changes of this topic on the same date (its entry id then needs a number too).
    same_day_before: int = 0

    def entry_id(self, site_url: str) -> str:
        """The feed entry's id: the topic's id and the change's date, never its wording, so an
        edited summary is the same entry to a feed reader (and a moved topic too)."""
        number = f"/{self.same_day_before + 1}" if self.same_day_before else ""
        page = self.page_id or self.src_uri
        return f"{site_url.rstrip('/')}/{FEED_FILE}#{page}/{self.date.isoformat()}{number}"


def site_changes(entries: list[Change], limit: int = WHATS_NEW_LIMIT) -> list[Change]:
    """The newest `limit` changes across the site, newest first (ties by title)."""
    return sorted(entries, key=lambda c: (-c.date.toordinal(), c.title, c.summary))[:limit]


def whats_new_markdown(changes: list[Change], from_uri: str = "whats-new.md") -> str:
    """The What's new page body: changes grouped by date, each linking to its topic.

    Links are relative Markdown links, so MkDocs checks and rewrites them like an editor's.
    """
    if not changes:
        return "No topic has recorded a change yet.\n"
    lines: list[str] = []
    current: date | None = None
    for change in changes:
        if change.date != current:
            current = change.date
            lines.append(f"\n### {long_date(change.date)}\n")
        title = _md_text(change.title)
        link = posixpath.relpath(change.src_uri, posixpath.dirname(from_uri) or ".")
        lines.append(f"- [{title}]({link}): {_md_text(change.summary)}")
    return "\n".join(lines).lstrip("\n") + "\n"


def _md_text(text: str) -> str:
    """Plain text that Markdown shows as written (editors' summaries are not markup)."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def atom_feed(changes: list[Change], site_url: str, title: str, updated: date) -> str:
    """An Atom feed of the changes: titles and change summaries only, never a topic's body."""
    base = site_url.rstrip("/")
    entries = []
    for change in changes:
        link = base + change.url
        stamp = f"{change.date.isoformat()}T00:00:00Z"
        entry_id = change.entry_id(base)
        entries.append(
            "  <entry>\n"
            f"    <title>{escape(change.title)}</title>\n"
            f"    <link href={quoteattr(link)}/>\n"
            f"    <id>{escape(entry_id)}</id>\n"
            f"    <updated>{stamp}</updated>\n"
            f'    <summary type="text">{escape(change.summary)}</summary>\n'
            "  </entry>\n"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"  <title>{escape(title)}: what's new</title>\n"
        f"  <link href={quoteattr(base + '/whats-new/')}/>\n"
        f'  <link rel="self" type="{FEED_TYPE}" href={quoteattr(f"{base}/{FEED_FILE}")}/>\n'
        f"  <id>{escape(f'{base}/{FEED_FILE}')}</id>\n"
        f"  <updated>{updated.isoformat()}T00:00:00Z</updated>\n"
        f"  <author><name>{escape(title)} editorial team</name></author>\n"
        + "".join(entries)
        + "</feed>\n"
    )
