"""Drafts: which topics a build publishes, and the scaffold text no published topic may keep.

A topic with `status: draft` is built only into the preview (`site-api preview` sets
`PREVIEW_ENV` for its builds); a published build leaves it out of every output: its page, the
A–Z, sections, related lists, What's new and its feed, the sitemap, the search index and the
manifest's pages. The manifest's editorial rows still list it, for the desk.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from site_api.content.currency import SCAFFOLD_BODY, SCAFFOLD_SUMMARY
from site_api.content.model import ContentError, SourcePage, TopicMeta

#: Set (to "1") by `site-api preview` for its builds: drafts are built too.
PREVIEW_ENV = "SITE_API_PREVIEW_BUILD"
#: Set by `site-api build` from SITE_REQUIRE_APPROVAL ("1" or "0") for the hook.
REQUIRE_APPROVAL_ENV = "SITE_API_REQUIRE_APPROVAL"


def is_preview_build() -> bool:
    """Whether this build is the preview's (drafts included, approval never required)."""
    return os.environ.get(PREVIEW_ENV) == "1"


def approval_required() -> bool:
    """Whether this build refuses topics changed since approval (never in the preview)."""
    return not is_preview_build() and os.environ.get(REQUIRE_APPROVAL_ENV) == "1"


def is_draft(page: SourcePage) -> bool:
    """A topic whose front matter says `status: draft`."""
    return isinstance(page.meta, TopicMeta) and page.meta.status == "draft"


def _words(text: str) -> str:
    return " ".join(text.split())


#: Each sentence of the scaffold's body, as words: any one left in a body is unfinished work.
_SCAFFOLD_SENTENCES = [
    _words(s) + "." for s in SCAFFOLD_BODY.replace("\n", " ").split(". ") if s.strip()
]


def scaffold_errors(pages: Iterable[SourcePage]) -> list[ContentError]:
    """A published topic whose summary or body still holds `site-api new`'s placeholder text."""
    errors: list[ContentError] = []
    for page in pages:
        if not isinstance(page.meta, TopicMeta) or page.meta.status == "draft":
            continue
        if _words(SCAFFOLD_SUMMARY) in _words(page.meta.summary):
            errors.append(
                ContentError(
                    page.path,
                    page.line_of("summary"),
                    "summary: still the placeholder of site-api new: write the topic's own "
                    "summary (or keep status: draft)",
                )
            )
        body = _words(page.body)
        if any(s.rstrip(".") in body for s in _SCAFFOLD_SENTENCES):
            first = _words(SCAFFOLD_BODY).split(".")[0]
            offset = next(
                (i for i, line in enumerate(page.body.splitlines()) if first[:20] in line), 0
            )
            errors.append(
                ContentError(
                    page.path,
                    page.body_line + offset,
                    "body: still holds the placeholder text of site-api new: write the topic "
                    "(or keep status: draft)",
                )
            )
    return errors
