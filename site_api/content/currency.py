"""Keeping topics current: new topics, review dates, update history and What's new. Pure.

The CLI (`site-api new`, `site-api review`) and the MkDocs hook call these; nothing here reads a
file or the clock, so every rule is tested with plain values.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from xml.sax.saxutils import escape, quoteattr

from site_api.content.model import SourcePage, TopicMeta

#: How many changes the What's new page and the feed list.
WHATS_NEW_LIMIT = 50


def long_date(value: date) -> str:
    """`25 November 2026`: unambiguous for UK and US readers alike."""
    return f"{value.day} {value:%B %Y}"


def slug_for(title: str) -> str:
    """A stable page id and file name from a title: `Still's disease` -> `stills-disease`."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    ascii_title = re.sub(r"['’]", "", ascii_title.lower())
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title).strip("-")
    return slug[:64].rstrip("-")


#: The placeholder text `site-api new` writes: a build refuses to publish a topic still holding it.
SCAFFOLD_SUMMARY = "One or two plain sentences saying what this topic covers and for whom."
SCAFFOLD_BODY = (
    "Write the topic here, in your own words. List each source under references: in the\n"
    "front matter and cite it after the statement it supports (README: Citations).\n"
)


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
        f'summary: "{SCAFFOLD_SUMMARY}"\n'
        f"authors: [{', '.join(authors)}]\n"
        f"section: {section}\n"
        f"reviewed: {today.isoformat()}\n"
        f"next_review: {(today + timedelta(days=interval_days)).isoformat()}\n"
        "aliases: []\n"
        "related: []\n"
        "changes: []\n"
        "references: []\n"
        "status: draft\n"
        "---\n"
        "## Overview\n\n" + SCAFFOLD_BODY
    )


def overdue_since(meta: TopicMeta, today: date) -> date | None:
    """The date a topic's review fell due, when that is before `today`; else None."""
    return meta.next_review if meta.next_review < today else None


@dataclass(frozen=True)
class DueTopic:
    """One line of `site-api review`."""

    title: str
    path: str
    authors: list[str]
    due: date
    days_overdue: int  # negative: days left


def due_label(days_overdue: int) -> str:
    """`12 days overdue`, `due today`, `due in 30 days`: how `site-api review` and the desk say it."""
    if days_overdue > 0:
        return f"{days_overdue} days overdue"
    return "due today" if days_overdue == 0 else f"due in {-days_overdue} days"


def due_for_review(pages: list[SourcePage], today: date, within_days: int) -> list[DueTopic]:
    """Topics overdue or due within `within_days`, soonest (most overdue) first."""
    horizon = today + timedelta(days=within_days)
    due = [
        DueTopic(
            p.meta.title,
            p.path,
            list(p.meta.authors),
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
        entry_id = f"{link}#{change.date.isoformat()}-{slug_for(change.summary)[:40]}"
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
        f'  <link rel="self" href={quoteattr(base + "/whats-new.xml")}/>\n'
        f"  <id>{escape(base + '/whats-new.xml')}</id>\n"
        f"  <updated>{updated.isoformat()}T00:00:00Z</updated>\n"
        f"  <author><name>{escape(title)} editorial team</name></author>\n"
        + "".join(entries)
        + "</feed>\n"
    )
